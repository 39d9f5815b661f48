"""Liveness, readiness and the API's Prometheus metrics; none needs an API key."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from stream.api.models import Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process answers; says nothing about Kafka or the model (see /readyz)."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: Kafka and the model",
    responses={503: {"model": Readiness, "description": "Kafka or the model is unavailable."}},
)
async def readyz(request: Request) -> Response:
    """503 while the model is not loaded or Kafka does not answer a metadata request."""
    services = request.app.state.services
    kafka = await asyncio.shield(services.kafka_check())
    checks = {"model": services.model_check(), "kafka": kafka}
    ready = all(c.ok for c in checks.values())
    body = Readiness(status="ready" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text exposition."}},
)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
