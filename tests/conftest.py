"""Shared fixtures: one embedded Kafka-compatible broker (Tansu) for every broker test."""

from __future__ import annotations

from collections.abc import Iterator

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
