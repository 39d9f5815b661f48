"""Kafka client configuration, built once from ``Settings`` for every client LifeUp runs.

Three client stacks talk to Kafka here: confluent-kafka (``lifeup publish``, the API, benchmarks),
aiokafka under Faust (the worker), and the admin client that creates topics. They must agree on
two things besides credentials: where a user's events land (the Java client's murmur2 partitioner,
which aiokafka uses; librdkafka's default is CRC32, so producers here set ``murmur2_random``) and
how many partitions each topic has (Faust co-partitions tables with their source topics).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from stream.settings import Settings

SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
SSL_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})


def client_config(settings: Settings) -> dict[str, Any]:
    """librdkafka settings shared by producers, consumers and the admin client."""
    protocol = settings.kafka_security_protocol.upper()
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "security.protocol": protocol,
    }
    if protocol in SASL_PROTOCOLS:
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        if settings.kafka_sasl_username is not None:
            config["sasl.username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if protocol in SSL_PROTOCOLS and settings.kafka_ssl_cafile is not None:
        config["ssl.ca.location"] = str(settings.kafka_ssl_cafile)
    return config


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """A confluent-kafka producer that places keyed events where the worker expects them."""
    config = client_config(settings)
    config.update(
        {
            "partitioner": "murmur2_random",  # Java/aiokafka: same user, same partition
            "linger.ms": 20,
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": "lz4",
            "message.max.bytes": max(settings.max_message_bytes * 2, 1_000_000),
        }
    )
    config.update(overrides)
    return config


def consumer_config(settings: Settings, group_id: str, **overrides: Any) -> dict[str, Any]:
    """A confluent-kafka consumer; low ``fetch.queue.backoff.ms`` (the default halves the rate)."""
    config = client_config(settings)
    config.update(
        {
            "group.id": group_id,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "session.timeout.ms": int(settings.broker_session_timeout_s * 1000),
            "fetch.queue.backoff.ms": 10,
        }
    )
    config.update(overrides)
    return config


def faust_broker_url(settings: Settings) -> str:
    """Faust's broker list: ``kafka://host1:port1;host2:port2``."""
    return ";".join(f"kafka://{host}" for host in settings.kafka_bootstrap.split(","))


def faust_credentials(settings: Settings) -> Any:
    """Faust (aiokafka) credentials for the configured protocol, or None for PLAINTEXT."""
    import faust

    protocol = settings.kafka_security_protocol.upper()
    context: ssl.SSLContext | None = None
    if protocol in SSL_PROTOCOLS:
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        context = ssl.create_default_context(cafile=cafile)
    if protocol in SASL_PROTOCOLS:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password is not None else None,
            mechanism=settings.kafka_sasl_mechanism or "PLAIN",
            ssl_context=context,
        )
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return None


class KafkaUnreachable(RuntimeError):
    """No broker answered at the bootstrap address."""


def require_reachable(settings: Settings, timeout_s: float = 5.0) -> None:
    """Fails fast, naming the address, when no broker answers: otherwise librdkafka retries for
    the whole operation timeout and logs every failed connection attempt."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    quiet = {**client_config(settings), "log_level": 0}  # the reason is in the exception
    try:
        AdminClient(quiet).list_topics(timeout=timeout_s)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        reason = error.str() if isinstance(error, KafkaError) else str(exc)
        raise KafkaUnreachable(
            f"no Kafka broker answered at {settings.kafka_bootstrap} within {timeout_s:g} s "
            f"({reason}). Start one with `lifeup broker` and set LIFEUP_KAFKA_BOOTSTRAP (or "
            "--bootstrap) to the address it prints, or point them at your Kafka"
        ) from exc


def ensure_topics(
    settings: Settings,
    topics: Iterable[str],
    partitions: int | None = None,
    configs: Mapping[str, str] | None = None,
    timeout_s: float = 15.0,
) -> None:
    """Creates missing topics with ``partitions`` (default: the settings'); keeps existing ones."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(client_config(settings))
    count = partitions or settings.topic_partitions
    new = [
        NewTopic(name, num_partitions=count, replication_factor=-1, config=dict(configs or {}))
        for name in topics
    ]
    if not new:
        return
    for name, future in admin.create_topics(new, operation_timeout=timeout_s).items():
        try:
            future.result(timeout_s)
        except Exception as exc:
            error = exc.args[0] if exc.args else None
            if getattr(error, "code", lambda: None)() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"cannot create topic {name!r}: {exc or repr(exc)}") from exc


def is_embedded_broker(settings: Settings, timeout_s: float = 10.0) -> bool:
    """True for Tansu (``lifeup broker``, ``lifeup demo``), which names its cluster ``tansu_*``."""
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient(client_config(settings)).list_topics(timeout=timeout_s)
    return str(metadata.cluster_id or "").startswith("tansu")


def single_record_batches(settings: Settings) -> bool:
    """Whether producers must send one record per batch (``LIFEUP_KAFKA_SINGLE_RECORD_BATCHES``).

    Tansu answers ListOffsets(latest) with the last batch's base offset + 1, and Faust recovers a
    table by reading its changelog up to that offset; with multi-record batches the last records
    of a partition could be skipped after a restart. In practice Faust's reader receives the whole
    last batch in the fetch that reaches that offset and applies it (tests/test_worker_recovery.py
    restarts a SIGKILLed worker with multi-record batches and finds every buffer intact), while one
    record per batch makes every send wait for the previous one to be acknowledged: seconds of
    alert latency and a fraction of the throughput. So it is off unless asked for (None = off).
    """
    return bool(settings.kafka_single_record_batches)


def topic_partitions(settings: Settings, topic: str, timeout_s: float = 10.0) -> int | None:
    """How many partitions ``topic`` has, or None if it does not exist."""
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient(client_config(settings)).list_topics(topic, timeout=timeout_s)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        return None
    return len(found.partitions)


@lru_cache(maxsize=65_536)
def home_partition(user_id: str, partitions: int) -> int:
    """The partition of ``user_id``'s events: murmur2 of the UTF-8 key, as Java and aiokafka do."""
    from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]

    digest: int = murmur2(user_id.encode("utf-8"))
    return (digest & 0x7FFFFFFF) % partitions
