"""The embedded broker: starts on a free port, serves Kafka, stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
from confluent_kafka import Consumer, Message, Producer

from stream.broker import EmbeddedBroker, kafka_ready
from stream.kafka import consumer_config, ensure_topics, home_partition, producer_config
from stream.settings import Settings

pytestmark = pytest.mark.broker


def test_session_broker_round_trips_keyed_messages_to_the_murmur2_partition(
    kafka_bootstrap: str,
) -> None:
    settings = Settings.model_validate({"kafka_bootstrap": kafka_bootstrap})
    topic = f"t-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings, [topic], partitions=4)
    ensure_topics(settings, [topic], partitions=4)  # existing topics are fine
    producer = Producer(producer_config(settings))
    delivered: dict[str, int] = {}
    users = [f"user-{i}" for i in range(20)]

    def on_delivery(err: object, msg: Message) -> None:
        delivered[(msg.key() or b"").decode()] = msg.partition() or 0

    for user in users:
        producer.produce(topic, key=user.encode(), value=user.encode(), on_delivery=on_delivery)
    assert producer.flush(10) == 0
    assert delivered == {user: home_partition(user, 4) for user in users}

    consumer = Consumer(consumer_config(settings, f"g-{topic}", **{"session.timeout.ms": 2000}))
    consumer.subscribe([topic])
    seen: list[bytes] = []
    try:
        while len(seen) < len(users):
            for message in consumer.consume(100, timeout=1.0):
                assert message.error() is None
                seen.append(message.value() or b"")
    finally:
        consumer.close()
    assert sorted(seen) == sorted(u.encode() for u in users)


def test_a_stopped_broker_no_longer_serves() -> None:
    broker = EmbeddedBroker().start()
    bootstrap, pid = broker.bootstrap, broker.pid
    assert kafka_ready(bootstrap)
    broker.stop()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not kafka_ready(bootstrap, timeout_s=0.5)


def test_lifeup_broker_prints_its_address_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stream.cli", "broker"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("127.0.0.1:")
        assert kafka_ready(line)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert not kafka_ready(line, timeout_s=0.5)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
