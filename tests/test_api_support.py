"""Helpers shared by the API tests (no tests here): apps on real settings, ports, sample events."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from stream.api.app import create_app
from stream.settings import Settings

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TAKEOUT = DATA / "google-fit-takeout"


def closed_port() -> int:
    """A loopback port nothing listens on (bound to 0, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_keys": KEY,
        "kafka_bootstrap": f"127.0.0.1:{closed_port()}",
        "worker_url": f"http://127.0.0.1:{closed_port()}",
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def client(**overrides: Any) -> Iterator[TestClient]:
    """A client of a fresh app; its lifespan (model loading) runs inside the block."""
    with TestClient(create_app(settings(**overrides))) as test_client:
        yield test_client


@contextmanager
def scoring_client() -> Iterator[TestClient]:
    """``client`` for tests that score: skipped when no model loads (the model file is missing
    or does not match this runtime), which ``/readyz`` reports on its own."""
    with client() as test_client:
        if not test_client.app.state.services.model_check().ok:  # type: ignore[attr-defined]
            pytest.skip("no loadable model")
        yield test_client


def step_point(user: str, start_s: int, seconds: int, steps: int) -> dict[str, Any]:
    """One Google Fit step delta as a phone's REST sync sends it (string nanos)."""
    return {
        "user_id": user,
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": str(start_s * 1_000_000_000),
        "endTimeNanos": str((start_s + seconds) * 1_000_000_000),
        "value": [{"intVal": steps}],
        "originDataSourceId": (
            "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
        ),
    }


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app under a real uvicorn on a free loopback port (in a thread); yields its base URL."""
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def walk_hour(user: str, hour_s: int, cadence: int, minutes: int = 40) -> list[dict[str, Any]]:
    """A user's minute step deltas for part of an hour at a steady ``cadence`` (± a little)."""
    return [
        step_point(user, hour_s + 60 * m, 60, cadence + (m * 7) % 11 - 5) for m in range(minutes)
    ]
