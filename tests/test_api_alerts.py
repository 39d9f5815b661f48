"""``GET /v1/users/{user_id}/alerts``: the worker's own state, through its web view."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from stream.alerts import Alert, rfc3339
from stream.api.app import create_app
from stream.api.models import AlertOut
from tests.test_api_support import AUTH, client, closed_port, settings, walk_hour

HOUR = 1_709_301_600


# any text is a user id (the events' user_id): "/" and a line break reach the route, not a 404
@pytest.mark.parametrize("user_id", ["u-1", "org/7", '\x0f\nö"½'])
def test_unreachable_worker_is_503_saying_what_to_check(user_id: str) -> None:
    with client() as c:
        answer = c.get(f"/v1/users/{quote(user_id, safe='')}/alerts", headers=AUTH)
    assert answer.status_code == 503
    body = answer.json()
    assert body["error"] == "worker_unavailable"
    assert "LIFEUP_WORKER_URL" in body["detail"]


def test_an_alert_read_back_is_the_text_the_worker_sent() -> None:
    sent = Alert(
        alert_id="9f2c", user_id="org/7", window_start="2024-03-01T14:00:00Z",
        window_end="2024-03-01T15:00:00Z", score=3.7, reasons=("cadence_above_human_limit",),
        channels={"steps": 0.81, "distance": 0.12, "speed": 0.07}, model_version="ae-1",
        detected_at="2026-11-24T10:00:00.120Z",
    )  # fmt: skip
    assert orjson.loads(AlertOut.model_validate_json(sent.to_json()).model_dump_json()) == (
        orjson.loads(sent.to_json())
    )


@pytest.fixture()
def worker(kafka_bootstrap: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real ``lifeup worker`` on the embedded broker, with fresh topics and a free web port."""
    run = uuid.uuid4().hex[:8]
    port = closed_port()
    env = {
        "LIFEUP_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LIFEUP_EVENTS_TOPIC": f"api-e2e-events-{run}",
        "LIFEUP_ALERTS_TOPIC": f"api-e2e-alerts-{run}",
        "LIFEUP_DLQ_TOPIC": f"api-e2e-dlq-{run}",
        "LIFEUP_WORKER_APP_ID": f"api-e2e-{run}",
        "LIFEUP_WORKER_WEB_HOST": "127.0.0.1",
        "LIFEUP_WORKER_WEB_PORT": str(port),
        "LIFEUP_WORKER_STORE": "memory://",
        "LIFEUP_WORKER_DATADIR": str(tmp_path / "worker"),
        "LIFEUP_METRICS_PORT": "0",
        "LIFEUP_IDLE_FLUSH_SECONDS": "2",
    }
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "stream.cli", "worker"],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port}/lifeup/readyz", timeout=1).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "worker.log").read_text()[-3000:])
            time.sleep(0.3)
        yield {**env, "url": f"http://127.0.0.1:{port}", "log": str(tmp_path / "worker.log")}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.broker
@pytest.mark.slow
def test_posted_events_come_back_as_the_expected_alert(
    kafka_bootstrap: str, worker: dict[str, str]
) -> None:
    # a "/" and a line break in the id: routed whole, by the API and by the worker's view
    user = f"org/shaker\n{uuid.uuid4().hex[:6]}"
    events = walk_hour(user, HOUR, 100, 30) + walk_hour(user, HOUR + 3600, 330, 20)
    url = f"/v1/users/{quote(user, safe='')}/alerts"
    app_settings = settings(
        kafka_bootstrap=kafka_bootstrap,
        events_topic=worker["LIFEUP_EVENTS_TOPIC"],
        worker_url=worker["url"],
    )
    with TestClient(create_app(app_settings)) as c:
        expected = c.post("/v1/score", headers=AUTH, content=orjson.dumps(events)).json()
        flagged = [w for w in expected["windows"] if w["anomalous"]]
        assert len(flagged) == 1
        before = c.get(url, headers=AUTH)  # the worker is ready: it holds its partitions
        assert before.status_code == 200, (before.text, Path(worker["log"]).read_text()[-3000:])
        assert before.json()["alerts"] == []
        published = c.post("/v1/events", headers=AUTH, content=orjson.dumps(events))
        assert published.status_code == 202, published.text
        alerts: list[Any] = []
        deadline = time.monotonic() + 90
        while not alerts and time.monotonic() < deadline:
            answer = c.get(url, headers=AUTH)
            assert answer.status_code == 200, answer.text
            alerts = answer.json()["alerts"]
            time.sleep(0.5)
    assert [a["alert_id"] for a in alerts] == [flagged[0]["alert_id"]]
    (alert,) = alerts
    assert alert["user_id"] == user
    assert alert["window_start"] == flagged[0]["window_start"]
    assert alert["reasons"] == flagged[0]["reasons"]
    assert alert["score"] == pytest.approx(flagged[0]["score"], abs=1e-4)  # alerts: 4 places
    # written as the alerts topic writes it (milliseconds), not re-formatted by the API
    assert rfc3339(datetime.fromisoformat(alert["detected_at"])) == alert["detected_at"]
