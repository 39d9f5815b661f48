"""``lifeup demo``: broker, worker, API and a replay of simulated users with injected cheats.

Everything runs on this machine, bound to loopback, in a temporary folder that is removed at the
end; every process started here is stopped here, also on Ctrl-C. The replay is generated on the
spot (``model_export.simulate``, seeded), so the demo needs no data files.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from stream.broker import EmbeddedBroker, free_port
from stream.kafka import ensure_topics, producer_config
from stream.parsing import parse_obj
from stream.settings import Settings

NS = 1_000_000_000


@dataclass
class DemoOptions:
    users: int = 12
    days: int = 2
    duration_s: float = 60.0
    seed: int = 7
    api: bool = True
    idle_flush_s: float = 5.0


@dataclass
class DemoReport:
    events: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    cheats: int = 0
    cheats_caught: int = 0
    legit_unusual: int = 0
    legit_flagged: int = 0


def _event_time(event: Any) -> int:
    result = parse_obj(event, None)
    return max((int(b.end_ns.max()) for b in result.batches if len(b)), default=0)


def _user(event: Any) -> str:
    return str((event[0] if isinstance(event, list) else event)["user_id"])


class _Processes:
    """The demo's child processes; ``stop_all`` ends each by its own pid."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "stream.cli", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
            )
        self.children.append((name, process))
        return process

    def stop_all(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
        for _name, process in reversed(self.children):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_http(url: str, timeout_s: float, alive: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            time.sleep(0.2)
    return False


def _describe(alert: dict[str, Any]) -> str:
    start = str(alert["window_start"]).replace("T", " ").removesuffix(":00Z") + "Z"
    reasons = ", ".join(alert["reasons"]) or "unusual pattern"
    return f"ALERT {alert['user_id']:<12} {start}  score {alert['score']:5.2f}  {reasons}"


def run_demo(options: DemoOptions, out: TextIO = sys.stdout) -> DemoReport:
    """Runs the whole pipeline; returns what it saw."""
    from model_export.simulate import simulate

    folder = Path(tempfile.mkdtemp(prefix="lifeup-demo-"))
    processes = _Processes(folder)
    report = DemoReport()
    stop = threading.Event()
    broker = EmbeddedBroker(log_path=folder / "broker.log")
    try:
        print(
            f"lifeup demo: simulating {options.users} users over {options.days} days "
            f"(seed {options.seed}) with injected cheats ...",
            file=out,
            flush=True,
        )
        sim = simulate(options.users, options.days, options.seed)
        events = sorted(sim.events, key=_event_time)
        broker.start()
        bootstrap = broker.bootstrap
        settings = Settings.model_validate({"kafka_bootstrap": bootstrap})
        ensure_topics(settings, [settings.events_topic, settings.alerts_topic, settings.dlq_topic])
        print(f"broker   {bootstrap} (embedded Tansu)", file=out, flush=True)

        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEUP_")}
        worker_web = free_port()
        env.update(
            {
                "LIFEUP_KAFKA_BOOTSTRAP": bootstrap,
                "LIFEUP_WORKER_STORE": "memory://",
                "LIFEUP_WORKER_DATADIR": str(folder / "worker"),
                "LIFEUP_WORKER_WEB_PORT": str(worker_web),
                "LIFEUP_WORKER_URL": f"http://127.0.0.1:{worker_web}",
                "LIFEUP_METRICS_PORT": str(free_port()),
                "LIFEUP_IDLE_FLUSH_SECONDS": str(options.idle_flush_s),
            }
        )
        worker = processes.start("worker", ["worker"], env)
        print(
            f"worker   metrics http://127.0.0.1:{env['LIFEUP_METRICS_PORT']}/metrics, "
            f"alerts view http://127.0.0.1:{worker_web}/lifeup/users/<id>/alerts",
            file=out,
            flush=True,
        )
        if options.api:
            key = f"demo-{secrets.token_hex(8)}"
            api_port = free_port()
            api = processes.start(
                "api",
                ["api", "--port", str(api_port), "--log-level", "warning"],
                {**env, "LIFEUP_API_KEYS": key},
            )
            if _wait_http(f"http://127.0.0.1:{api_port}/healthz", 30, lambda: api.poll() is None):
                print(
                    f"api      http://127.0.0.1:{api_port}/  (Authorization: Bearer {key})",
                    file=out,
                    flush=True,
                )
            else:
                print(f"api      did not start; see {folder / 'api.log'}", file=out, flush=True)

        reader = threading.Thread(
            target=_read_output, args=(bootstrap, settings, report, stop, out), daemon=True
        )
        reader.start()
        # ready: the worker holds its partitions, so the replay's clock starts with consuming
        ready = _wait_http(
            env["LIFEUP_WORKER_URL"] + "/lifeup/readyz", 90, lambda: worker.poll() is None
        )
        if not ready:
            raise RuntimeError(f"the worker did not get ready; see {folder / 'worker.log'}")
        _replay(settings, events, options.duration_s, report, out, worker)
        quiet_until = time.monotonic() + options.idle_flush_s + 4.0
        while time.monotonic() < quiet_until and worker.poll() is None:
            time.sleep(0.2)  # the idle flush scores every user's last window
        _score_against_labels(report, sim.spans)
        return report
    finally:
        stop.set()
        processes.stop_all()
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _replay(
    settings: Settings,
    events: list[Any],
    duration_s: float,
    report: DemoReport,
    out: TextIO,
    worker: subprocess.Popen[bytes],
) -> None:
    from confluent_kafka import Producer

    producer = Producer(producer_config(settings))
    pace = duration_s / max(1, len(events))
    print(f"replaying {len(events)} events over ~{duration_s:.0f} s ...", file=out, flush=True)
    started = time.perf_counter()
    for i, event in enumerate(events):
        if worker.poll() is not None:
            raise RuntimeError("the worker stopped; see its log")
        producer.produce(
            settings.events_topic, key=_user(event).encode(), value=orjson.dumps(event)
        )
        producer.poll(0)
        report.events += 1
        delay = started + (i + 1) * pace - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    producer.flush(30)


def _read_output(
    bootstrap: str, settings: Settings, report: DemoReport, stop: threading.Event, out: TextIO
) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "lifeup-demo-viewer",
            "enable.auto.commit": False,
            "fetch.queue.backoff.ms": 10,
        }
    )
    topics = (settings.alerts_topic, settings.dlq_topic)
    consumer.assign(
        [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t in topics
            for p in range(settings.topic_partitions)
        ]
    )
    seen: set[str] = set()
    try:
        while not stop.is_set():
            for message in consumer.consume(100, timeout=0.2):
                if message.error() is not None:
                    continue
                body = orjson.loads(message.value() or b"{}")
                if message.topic() == settings.dlq_topic:
                    report.rejected += 1
                    print(f"DLQ   {body.get('error')}: {body.get('detail')}", file=out, flush=True)
                elif body.get("alert_id") not in seen:
                    seen.add(body["alert_id"])
                    report.alerts.append(body)
                    print(_describe(body), file=out, flush=True)
    finally:
        consumer.close()


def _score_against_labels(report: DemoReport, spans: list[Any]) -> None:
    """How many injected cheats an alert window overlapped, and how many legit bouts."""
    from datetime import datetime

    windows: dict[str, list[tuple[int, int]]] = {}
    for alert in report.alerts:
        start = datetime.fromisoformat(str(alert["window_start"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(alert["window_end"]).replace("Z", "+00:00"))
        windows.setdefault(alert["user_id"], []).append(
            (int(start.timestamp()) * NS, int(end.timestamp()) * NS)
        )
    for span in spans:
        hit = any(s < span.end_ns and span.start_ns < e for s, e in windows.get(span.user_id, []))
        if span.cheat:
            report.cheats += 1
            report.cheats_caught += hit
        else:
            report.legit_unusual += 1
            report.legit_flagged += hit


def summary(report: DemoReport) -> str:
    reasons = Counter(r for a in report.alerts for r in a["reasons"])
    users = {a["user_id"] for a in report.alerts}
    lines = [
        "",
        "summary",
        f"  events published     {report.events}",
        f"  alerts               {len(report.alerts)} on {len(users)} users",
        f"  injected cheats      {report.cheats_caught} of {report.cheats} overlapped by an alert",
        f"  legit unusual bouts  {report.legit_flagged} of {report.legit_unusual} flagged",
        f"  dead-lettered        {report.rejected}",
    ]
    lines += [f"  reason {name:<30} {count}" for name, count in reasons.most_common()]
    return "\n".join(lines)
