"""Shared fixtures: one embedded Kafka-compatible broker (Tansu) for every broker test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stream.broker import BrokerError, EmbeddedBroker, tansu_binary


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    """The session's Tansu broker on a free loopback port; stopped when the session ends."""
    try:
        tansu_binary()
    except BrokerError as exc:
        pytest.skip(f"no embedded broker: {exc}")
    broker = EmbeddedBroker().start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(embedded_broker: EmbeddedBroker) -> str:
    """``"127.0.0.1:PORT"`` of the session's embedded broker. Use fresh topic names per test."""
    return embedded_broker.bootstrap


# --------------------------------------------------------------------------- worker processes
@dataclass
class WorkerProcess:
    """A ``lifeup worker`` subprocess on the session broker, with its own ports and log."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.env['LIFEUP_METRICS_PORT']}/metrics"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.env['LIFEUP_WORKER_WEB_PORT']}"

    def start(self) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stream.cli", "worker", "--loglevel", "warning"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(Path(__file__).resolve().parents[1]),
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def metrics(self) -> dict[str, float]:
        """Samples of the ``lifeup_*`` metrics, keyed like ``name{label="v"}``."""
        text = urllib.request.urlopen(self.metrics_url, timeout=5).read().decode()
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("lifeup_"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def worker_env(bootstrap: str, tag: str, datadir: Path, **overrides: str) -> dict[str, str]:
    """Environment of a test worker: its own topics, group, ports; memory store; fast idle flush."""
    from stream.broker import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEUP_")}
    env.update(
        {
            "LIFEUP_KAFKA_BOOTSTRAP": bootstrap,
            "LIFEUP_EVENTS_TOPIC": f"{tag}.events",
            "LIFEUP_ALERTS_TOPIC": f"{tag}.alerts",
            "LIFEUP_DLQ_TOPIC": f"{tag}.dlq",
            "LIFEUP_WORKER_APP_ID": f"{tag}-worker",
            "LIFEUP_WORKER_STORE": "memory://",
            "LIFEUP_WORKER_DATADIR": str(datadir),
            "LIFEUP_METRICS_PORT": str(free_port()),
            "LIFEUP_WORKER_WEB_PORT": str(free_port()),
            "LIFEUP_IDLE_FLUSH_SECONDS": "4",
        }
    )
    env.update(overrides)
    return env


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Whether ``predicate`` came true within ``timeout_s`` (asked every 0.2 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


class TopicReader:
    """Reads topics from the beginning in a thread (assign, no group: no 3 s join)."""

    def __init__(self, bootstrap: str, topics: list[str], partitions: int = 4) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        self.messages: list[tuple[str | None, bytes | None, bytes]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "fetch.queue.backoff.ms": 10,
            }
        )
        self._consumer.assign(
            [TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(partitions)]
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for message in self._consumer.consume(500, timeout=0.2):
                if message.error() is None:
                    with self._lock:
                        self.messages.append(
                            (message.topic(), message.key(), message.value() or b"")
                        )
        self._consumer.close()

    def of(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        with self._lock:
            return [(k, v) for t, k, v in self.messages if t == topic]

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        return wait_for(predicate, timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
