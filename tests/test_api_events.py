"""``POST /v1/events`` publishes to the embedded broker's events topic, keyed by user id."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from stream.kafka import consumer_config, home_partition, topic_partitions
from tests.test_api_support import AUTH, client, settings, step_point

HOUR = 1_709_301_600


def _consume(bootstrap: str, topic: str, expected: int, timeout_s: float = 20.0) -> list[Any]:
    config = consumer_config(settings(kafka_bootstrap=bootstrap), f"api-test-{uuid.uuid4()}")
    consumer = Consumer(config)
    try:
        partitions = topic_partitions(settings(kafka_bootstrap=bootstrap), topic) or 0
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        got: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            got.extend(m for m in consumer.consume(100, timeout=0.5) if m.error() is None)
        return got
    finally:
        consumer.close()


@pytest.mark.broker
def test_posted_events_land_on_the_events_topic_keyed_by_user(kafka_bootstrap: str) -> None:
    topic = f"api-events-{uuid.uuid4().hex[:8]}"
    events = [step_point("u-a", HOUR + 60 * i, 60, 70 + i) for i in range(3)]
    events.append(
        {
            "user_id": "u-b",
            "dataSourceId": "derived:com.google.distance.delta:com.google.android.gms:merged",
            "point": [
                {
                    "dataTypeName": "com.google.distance.delta",
                    "startTimeNanos": str(HOUR * 10**9),
                    "endTimeNanos": str((HOUR + 60) * 10**9),
                    "value": [{"fpVal": 55.5}],
                }
            ],
        }
    )
    with client(kafka_bootstrap=kafka_bootstrap, events_topic=topic) as c:
        answer = c.post("/v1/events", headers=AUTH, content=orjson.dumps(events))
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": 4, "points": 4, "topic": topic}

    messages = _consume(kafka_bootstrap, topic, expected=4)
    got = sorted((m.key().decode(), m.value()) for m in messages)
    sent = [("u-a", e) for e in events[:3]] + [("u-b", events[3])]
    assert got == sorted((user, orjson.dumps(e)) for user, e in sent)
    partitions = topic_partitions(settings(kafka_bootstrap=kafka_bootstrap), topic)
    assert partitions
    for message in messages:  # where the worker expects each user (murmur2, as aiokafka)
        assert message.partition() == home_partition(message.key().decode(), partitions)


@pytest.mark.broker
def test_rejected_request_publishes_nothing(kafka_bootstrap: str) -> None:
    topic = f"api-events-{uuid.uuid4().hex[:8]}"
    bad = step_point("u-a", HOUR, 60, -3)
    with client(kafka_bootstrap=kafka_bootstrap, events_topic=topic) as c:
        answer = c.post(
            "/v1/events", headers=AUTH, content=orjson.dumps([step_point("u-a", HOUR, 60, 3), bad])
        )
    assert answer.status_code == 422
    assert _consume(kafka_bootstrap, topic, expected=1, timeout_s=3.0) == []


def test_unreachable_kafka_is_503_with_retry_advice() -> None:
    with client() as c:
        c.app.state.services.publish_timeout_s = 1.0  # type: ignore[attr-defined]
        answer = c.post(
            "/v1/events", headers=AUTH, content=orjson.dumps(step_point("u", HOUR, 60, 5))
        )
    assert answer.status_code == 503
    assert answer.json()["error"] == "kafka_unavailable"
    assert "retry" in answer.json()["detail"]
    assert answer.headers["retry-after"] == "5"
