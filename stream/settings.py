"""All configuration in one typed object, read from ``LIFEUP_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """LifeUp's settings; every field is ``LIFEUP_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="LIFEUP_", frozen=True, extra="ignore")

    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", description="Comma-separated host:port list of Kafka brokers."
    )
    kafka_security_protocol: str = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = Field(
        None, description="PLAIN, SCRAM-SHA-256/512, OAUTHBEARER."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user (or API key).")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (or secret).")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle for SSL/SASL_SSL.")

    events_topic: str = Field("lifeup.fit-events", description="Google Fit events, keyed by user.")
    alerts_topic: str = Field("lifeup.fit-alerts", description="Alerts the worker sends.")
    dlq_topic: str = Field("lifeup.fit-events.dlq", description="Rejected events, with a reason.")
    topic_partitions: int = Field(4, ge=1, description="Partitions for topics LifeUp creates.")

    model_path: Path | None = Field(
        None, description="ONNX model file; default: the model shipped in the package."
    )
    idle_flush_seconds: float = Field(
        300.0,
        gt=0,
        description="Wall-clock seconds without events before a user's windows are scored.",
    )
    state_expiry_seconds: float = Field(
        86_400.0,
        gt=0,
        description="Wall-clock seconds after which an idle user's state is dropped.",
    )

    api_keys: SecretStr | None = Field(None, description="Comma-separated API keys.")
    api_keys_file: Path | None = Field(None, description="File with one API key per line.")
    api_max_body_bytes: int = Field(
        10_000_000, gt=0, description="Largest request body the API reads; 413 beyond."
    )
    api_max_points: int = Field(
        200_000, gt=0, description="Most data points in one request; 413 beyond."
    )

    metrics_port: int = Field(
        9102, ge=0, le=65535, description="Worker's Prometheus port; 0 = off."
    )
    metrics_host: str = Field("127.0.0.1", description="Address of the worker's metrics port.")
    worker_web_host: str = Field("127.0.0.1", description="Address of the worker's web views.")
    worker_web_port: int = Field(6066, ge=1, le=65535, description="Port of the web views.")
    worker_url: str | None = Field(
        None,
        description="Base URL the API uses to reach the worker's web views (behind a Service); "
        "default http://LIFEUP_WORKER_WEB_HOST:LIFEUP_WORKER_WEB_PORT.",
    )
    worker_datadir: Path = Field(
        Path("./.lifeup-data"), description="Faust's data folder (RocksDB tables, offsets)."
    )
    worker_store: str = Field(
        "rocksdb://", description="Faust table store: rocksdb:// or memory://."
    )
    broker_session_timeout_s: float = Field(
        6.0,
        gt=0,
        description="Kafka group session timeout; low values start faster on small clusters.",
    )
    max_message_bytes: int = Field(1_000_000, gt=0, description="Larger events go to the DLQ.")
    worker_app_id: str = Field(
        "lifeup-worker", description="Faust app id: the consumer group and internal topic prefix."
    )
    kafka_single_record_batches: bool | None = Field(
        None,
        description="Produce one record per batch: a guard against Tansu's ListOffsets high "
        "watermark, wrong for multi-record batches (see stream.kafka.single_record_batches); off.",
    )

    @field_validator("kafka_bootstrap")
    @classmethod
    def _no_scheme(cls, value: str) -> str:
        return ",".join(
            part.strip().removeprefix("kafka://") for part in value.split(",") if part.strip()
        )

    def api_key_list(self) -> list[str]:
        """Keys from ``LIFEUP_API_KEYS`` and ``LIFEUP_API_KEYS_FILE`` together."""
        keys: list[str] = []
        if self.api_keys is not None:
            keys += [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]
        if self.api_keys_file is not None:
            lines = self.api_keys_file.read_text(encoding="utf-8").splitlines()
            keys += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        return keys


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
