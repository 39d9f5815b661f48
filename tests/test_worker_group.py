"""Two workers in one consumer group split the partitions and together send one worker's alerts."""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from stream.alerts import alerts_for
from stream.kafka import ensure_topics, home_partition, producer_config
from stream.parsing import parse_obj
from stream.pipeline import score_results
from stream.scoring.detector import load_detector
from stream.settings import Settings
from tests.conftest import TopicReader, WorkerProcess, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _user(event: Any) -> str:
    return str((event[0] if isinstance(event, list) else event)["user_id"])


def _owned(worker: WorkerProcess) -> dict[str, list[int]]:
    """Changelog partitions per worker URL, as Faust's router sees the group."""
    try:
        body = orjson.loads(urllib.request.urlopen(f"{worker.web_url}/router/", timeout=3).read())
    except OSError:
        return {}
    return {
        url: sorted({p for topic, parts in topics.items() if "user-state" in topic for p in parts})
        for url, topics in body.items()
    }


def test_two_workers_split_partitions_and_emit_the_single_worker_alert_set(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    from model_export.simulate import simulate

    detector = load_detector()
    events: list[Any] = list(simulate(8, 1, seed=24).events)
    users = {_user(e) for e in events}
    assert len({home_partition(u, 4) for u in users}) == 4  # every partition has work
    clean = score_results((parse_obj(e, None) for e in events), detector, detector.grid)
    expected = {a.alert_id: a.to_dict() for a in alerts_for(clean.verdicts, detector.version)}
    assert expected

    tag = f"wg-{uuid.uuid4().hex[:6]}"
    env = worker_env(kafka_bootstrap, tag, tmp_path, LIFEUP_IDLE_FLUSH_SECONDS="3")
    settings = Settings.model_validate({"kafka_bootstrap": kafka_bootstrap})
    events_topic, alerts_topic = env["LIFEUP_EVENTS_TOPIC"], env["LIFEUP_ALERTS_TOPIC"]
    ensure_topics(settings, [events_topic, alerts_topic, env["LIFEUP_DLQ_TOPIC"]], 4)
    reader = TopicReader(kafka_bootstrap, [alerts_topic])
    one = WorkerProcess(env, tmp_path / "one.log").start()
    other_env = worker_env(kafka_bootstrap, tag, tmp_path, LIFEUP_IDLE_FLUSH_SECONDS="3")
    two = WorkerProcess(other_env, tmp_path / "two.log").start()
    try:
        split = reader.wait_for(
            lambda: (
                sorted(len(p) for p in _owned(one).values()) == [2, 2]
                and _owned(one) == _owned(two)
            ),
            timeout_s=60,
        )
        assert split, f"{_owned(one)}\n{one.log()}\n{two.log()}"

        producer = Producer(producer_config(settings))
        for event in events:
            producer.produce(events_topic, key=_user(event).encode(), value=orjson.dumps(event))
            producer.poll(0)
        assert producer.flush(30) == 0

        def alert_ids() -> set[str]:
            return {orjson.loads(v)["alert_id"] for _, v in reader.of(alerts_topic)}

        assert reader.wait_for(lambda: alert_ids() >= set(expected), 90), two.log()
        reader.wait_for(lambda: False, 2.0)
        got = [orjson.loads(v) for _, v in reader.of(alerts_topic)]
        assert {a["alert_id"] for a in got} == set(expected)
        for alert in got:
            assert alert["score"] == expected[alert["alert_id"]]["score"]

        def scored() -> list[float]:
            return [w.metrics()["lifeup_windows_scored_total"] for w in (one, two)]

        # the last quiet windows are scored by the idle flush, after the last alert
        reader.wait_for(lambda: sum(scored()) >= clean.windows_scored, 20)
        assert sum(scored()) == clean.windows_scored
        assert all(n > 0 for n in scored())

        # each worker answers for every user: Faust routes the request to the owner
        for user in sorted({a["user_id"] for a in expected.values()}):
            want = sorted(k for k, a in expected.items() if a["user_id"] == user)
            for worker in (one, two):
                url = f"{worker.web_url}/lifeup/users/{user}/alerts"
                body = orjson.loads(urllib.request.urlopen(url, timeout=5).read())
                assert sorted(a["alert_id"] for a in body["alerts"]) == want[-50:]
    finally:
        reader.close()
        one.stop()
        two.stop()
