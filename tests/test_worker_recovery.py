"""Crash recovery on the embedded broker: SIGKILL mid-stream, restart, nothing lost or renamed.

Faust restores a table by reading its changelog up to the high watermark that ListOffsets
reports; Tansu reports the last *batch*'s base offset + 1, so with multi-record batches the newest
state records would be skipped and a user's buffer silently rolled back. The first test pins that
broker fact and the one-record-per-batch remedy the worker uses there; the second proves the
whole chain: every alert of the clean run arrives with the same id and the same score, which a
rolled-back buffer would not give; and the restarted worker says it is ready only once its
alerts view holds every alert raised before the crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from stream.alerts import alerts_for
from stream.kafka import ensure_topics, producer_config
from stream.parsing import parse_obj
from stream.pipeline import score_results
from stream.scoring.detector import load_detector
from stream.settings import Settings
from tests.conftest import TopicReader, WorkerProcess, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _high_watermark(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "hw"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, 0), 10, cached=False)[1])
    finally:
        consumer.close()


async def _produce_with_aiokafka(bootstrap: str, topic: str, n: int, max_batch_size: int) -> None:
    from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, max_batch_size=max_batch_size, linger_ms=50
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, b"v%d" % i, partition=0) for i in range(n)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@pytest.mark.parametrize(("max_batch_size", "exact"), [(16384, False), (1, True)])
def test_tansu_high_watermark_is_exact_only_with_single_record_batches(
    kafka_bootstrap: str, max_batch_size: int, exact: bool
) -> None:
    topic = f"hw-{uuid.uuid4().hex[:8]}"
    ensure_topics(Settings.model_validate({"kafka_bootstrap": kafka_bootstrap}), [topic], 1)
    asyncio.run(_produce_with_aiokafka(kafka_bootstrap, topic, 10, max_batch_size))
    assert (_high_watermark(kafka_bootstrap, topic) == 10) is exact


def _user(event: Any) -> str:
    """The user of an event (a list of Health Connect records: its first record's)."""
    return str((event[0] if isinstance(event, list) else event)["user_id"])


def _alerts(reader: TopicReader, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(v) for _, v in reader.of(topic)]


def _until_ready(worker: WorkerProcess, timeout_s: float) -> list[int]:
    """Polls the worker's ``/lifeup/readyz`` from its start; the status codes it answered."""
    answers: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and worker.alive():
        with contextlib.suppress(httpx.HTTPError):  # not listening yet
            answers.append(httpx.get(f"{worker.web_url}/lifeup/readyz", timeout=2).status_code)
        if answers and answers[-1] == 200:
            return answers
        time.sleep(0.05)
    raise AssertionError(f"never ready: {answers[-5:]}\n{worker.log()}")


def test_sigkill_mid_stream_then_restart_loses_nothing_and_renames_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    from model_export.simulate import simulate

    detector = load_detector()
    events: list[Any] = list(simulate(10, 2, seed=5).events)
    clean = score_results((parse_obj(e, None) for e in events), detector, detector.grid)
    expected = {a.alert_id: a.to_dict() for a in alerts_for(clean.verdicts, detector.version)}
    cut = len(events) // 2
    head = score_results((parse_obj(e, None) for e in events[:cut]), detector, detector.grid)
    assert len(expected) >= 3

    tag = f"wr-{uuid.uuid4().hex[:6]}"
    # The first worker never idles out (its state must come back from the changelog, not from
    # a replay); the second flushes idle users soon, to finish the test.
    env = worker_env(kafka_bootstrap, tag, tmp_path, LIFEUP_IDLE_FLUSH_SECONDS="600")
    settings = Settings.model_validate({"kafka_bootstrap": kafka_bootstrap})
    events_topic, alerts_topic = env["LIFEUP_EVENTS_TOPIC"], env["LIFEUP_ALERTS_TOPIC"]
    ensure_topics(settings, [events_topic, alerts_topic, env["LIFEUP_DLQ_TOPIC"]], 4)
    reader = TopicReader(kafka_bootstrap, [alerts_topic])
    producer = Producer(producer_config(settings))

    def publish(part: list[Any]) -> None:
        for event in part:
            producer.produce(events_topic, key=_user(event).encode(), value=orjson.dumps(event))
            producer.poll(0)
        assert producer.flush(30) == 0

    def processed(worker: WorkerProcess) -> float:
        try:
            return worker.metrics().get('lifeup_events_total{outcome="accepted"}', 0.0)
        except OSError:
            return 0.0

    first = WorkerProcess(env, tmp_path / "first.log").start()
    second = WorkerProcess({**env, "LIFEUP_IDLE_FLUSH_SECONDS": "3"}, tmp_path / "second.log")
    try:
        publish(events[:cut])
        done = reader.wait_for(lambda: processed(first) >= head.outcomes.accepted, 90)
        assert done, first.log()
        time.sleep(3.5)  # past Faust's commit interval: the first half is committed
        first.kill()
        before_alerts = _alerts(reader, alerts_topic)
        before = {a["alert_id"] for a in before_alerts}
        publish(events[cut:])
        second.start()
        answers = _until_ready(second, 120)
        # Ready means restored: every alert raised before the crash is in the owner's view.
        for user in {a["user_id"] for a in before_alerts}:
            view = httpx.get(f"{second.web_url}/lifeup/users/{quote(user, safe='')}/alerts")
            held = {a["alert_id"] for a in view.json()["alerts"]}
            assert {a["alert_id"] for a in before_alerts if a["user_id"] == user} <= held
        arrived = reader.wait_for(
            lambda: {a["alert_id"] for a in _alerts(reader, alerts_topic)} >= set(expected), 120
        )
        assert arrived, second.log()
        reader.wait_for(lambda: False, 2.0)
    finally:
        reader.close()
        first.kill()
        second.stop()

    got = _alerts(reader, alerts_topic)
    assert answers[0] == 503, answers  # seen not ready while it started
    assert 0 < len(before) < len(expected)  # the crash really was mid-stream
    assert {a["alert_id"] for a in got} == set(expected)  # none lost, none with a new id
    for alert in got:  # re-sent or not, each says what the clean run says
        want = expected[alert["alert_id"]]
        assert (alert["window_start"], alert["score"], alert["reasons"], alert["channels"]) == (
            want["window_start"],
            want["score"],
            want["reasons"],
            want["channels"],
        )
