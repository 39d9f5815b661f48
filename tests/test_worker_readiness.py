"""A restarted worker restoring its tables answers "not ready", never a user's partial alerts.

Faust serves web views while it reads the changelogs back; a user's alerts read then are missing,
and the API would pass "no alerts" on. The changelog here is filled directly (as a long-running
worker would have filled it) so that restoring takes long enough to be watched.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import pytest
from confluent_kafka import Producer

from stream.kafka import ensure_topics, producer_config
from stream.settings import Settings
from stream.worker.app import ALERTS_TABLE
from tests.conftest import WorkerProcess, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]

FILLER_USERS = 150_000
PARTITIONS = 2


def test_alerts_view_says_not_ready_while_restoring_and_ready_means_restored(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tag = f"rd-{uuid.uuid4().hex[:6]}"
    env = worker_env(kafka_bootstrap, tag, tmp_path, LIFEUP_TOPIC_PARTITIONS=str(PARTITIONS))
    settings = Settings.model_validate({"kafka_bootstrap": kafka_bootstrap})
    changelog = f"{env['LIFEUP_WORKER_APP_ID']}-{ALERTS_TABLE}-changelog"
    ensure_topics(settings, [env["LIFEUP_EVENTS_TOPIC"], changelog], PARTITIONS)

    producer = Producer(
        producer_config(settings, **{"linger.ms": 50, "queue.buffering.max.messages": 1_000_000})
    )
    filler = orjson.dumps([{"alert_id": "f", "reasons": ["manual_entry"]}])
    for i in range(FILLER_USERS):
        producer.produce(changelog, key=f"filler-{i}".encode(), value=filler)
        if i % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    # Last, in a batch of its own on each partition (the embedded broker's high watermark is
    # the last batch's base offset + 1: see tests/test_worker_recovery.py).
    user = "restored/user"
    alert = {"alert_id": f"a-{tag}", "user_id": user, "reasons": ["manual_entry"]}
    for partition in range(PARTITIONS):
        producer.produce(
            changelog, key=user.encode(), value=orjson.dumps([alert]), partition=partition
        )
        assert producer.flush(30) == 0

    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    seen: list[tuple[int, int]] = []  # (alerts view status, alerts it held)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and worker.alive():
            try:
                view = httpx.get(f"{worker.web_url}/lifeup/users/{quote(user, safe='')}/alerts")
                ready = httpx.get(f"{worker.web_url}/lifeup/readyz").status_code
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            held = len(view.json().get("alerts", [])) if view.status_code == 200 else -1
            seen.append((view.status_code, held))
            if ready == 200:
                break
            time.sleep(0.02)
        else:
            raise AssertionError(f"never ready: {seen[-5:]}\n{worker.log()}")
        final = httpx.get(f"{worker.web_url}/lifeup/users/{quote(user, safe='')}/alerts")
    finally:
        worker.stop()

    assert final.status_code == 200 and [a["alert_id"] for a in final.json()["alerts"]] == [
        alert["alert_id"]
    ]
    # While restoring, the view answered 503 (Faust's own before the partitions were assigned,
    # then "not ready"); never a 200 without the user's alert.
    assert all(status == 503 or held == 1 for status, held in seen), seen
    assert sum(status == 503 for status, _ in seen) >= 3, seen  # restoring was watched
