"""What the routes depend on: the detector, the Kafka producer and the worker's web views.

Each is created once per app and checked by ``/readyz``. The detector is loaded at start-up (a
missing model makes the API not ready rather than crash-loop); the producer is created on first
use so that an API used only for scoring never needs Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from stream.api.errors import ApiError
from stream.api.models import Check
from stream.scoring.base import WindowScorer
from stream.settings import Settings

log = logging.getLogger("lifeup.api")

KAFKA_CHECK_TTL_S = 5.0
KAFKA_TIMEOUT_S = 3.0
PUBLISH_TIMEOUT_S = 10.0


Detector = WindowScorer


def model_version(detector: WindowScorer) -> str:
    """The version written into alerts (``model_version``, or the detector's ``version``)."""
    for name in ("model_version", "version"):
        value = getattr(detector, name, None)
        if isinstance(value, str) and value:
            return value
    return "unknown"


def producer_config(settings: Settings) -> dict[str, Any]:
    """The shared producer config (``stream.kafka``), tuned for a request waiting on it."""
    from stream.kafka import producer_config as shared

    return shared(
        settings,
        **{
            "linger.ms": 5,
            # Give up on a message before the request does: a refused request is never
            # published later behind the client's back.
            "message.timeout.ms": int(PUBLISH_TIMEOUT_S * 1000) - 500,
            "logger": logging.getLogger("lifeup.api.kafka"),
        },
    )


class Services:
    """The long-lived clients one API process holds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.publish_timeout_s = PUBLISH_TIMEOUT_S
        self._detector: Detector | None = None
        self._detector_error = "the model has not been loaded yet"
        self._producer: Any = None
        self._producer_lock = threading.Lock()
        self._kafka_check: tuple[float, Check] | None = None
        self.worker = self._worker_client()

    def _worker_client(self) -> httpx.AsyncClient:
        s = self.settings
        base = s.worker_url or f"http://{s.worker_web_host}:{s.worker_web_port}"
        return httpx.AsyncClient(base_url=base.rstrip("/"), timeout=5.0)

    async def start(self) -> None:
        """Start-up (each lifespan): the model once, a worker client bound to this event loop."""
        if self._detector is None:
            await run_in_threadpool(self.load_detector)
        if self.worker.is_closed:
            self.worker = self._worker_client()

    # -- model -------------------------------------------------------------------------------
    def load_detector(self) -> None:
        try:
            from stream.scoring.detector import load_detector

            self._detector = load_detector(self.settings.model_path)
        except Exception as exc:  # any failure leaves the API up but not ready
            self._detector = None
            self._detector_error = f"the model could not be loaded: {exc}"
            log.error("%s", self._detector_error)

    def detector(self) -> Detector:
        if self._detector is None:
            raise ApiError(503, "model_unavailable", f"{self._detector_error}; see /readyz")
        return self._detector

    def model_check(self) -> Check:
        if self._detector is None:
            return Check(ok=False, detail=self._detector_error)
        return Check(ok=True, detail=f"model {model_version(self._detector)} loaded")

    # -- kafka -------------------------------------------------------------------------------
    def producer(self) -> Any:
        with self._producer_lock:
            if self._producer is None:
                from confluent_kafka import Producer

                self._producer = Producer(producer_config(self.settings))
            return self._producer

    async def kafka_check(self) -> Check:
        """Asks the cluster for its metadata, at most once every few seconds."""
        now = time.monotonic()
        if self._kafka_check is not None and now - self._kafka_check[0] < KAFKA_CHECK_TTL_S:
            return self._kafka_check[1]
        try:
            meta = await run_in_threadpool(self._metadata)
            check = Check(ok=True, detail=f"{len(meta.brokers)} broker(s) reachable")
        except Exception as exc:
            check = Check(ok=False, detail=f"Kafka at {self.settings.kafka_bootstrap}: {exc}")
        self._kafka_check = (now, check)
        return check

    def _metadata(self) -> Any:
        return self.producer().list_topics(timeout=KAFKA_TIMEOUT_S)

    async def close(self) -> None:
        await self.worker.aclose()
        if self._producer is not None:
            await asyncio.to_thread(self._producer.flush, KAFKA_TIMEOUT_S)
