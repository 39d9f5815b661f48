"""``POST /detect_anomalies/``: the earlier LifeUp API, answered by LifeUp's detector."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from stream.api import convert, legacy
from stream.api.auth import api_key
from stream.api.errors import ApiError
from stream.api.models import DetectAnomaliesRequest, DetectAnomaliesResponse
from stream.api.routes import errors
from stream.api.services import Detector
from stream.settings import Settings

router = APIRouter(tags=["earlier API"], dependencies=[Depends(api_key)])


def detect(body: DetectAnomaliesRequest, detector: Detector, settings: Settings) -> bytes:
    mismatched = legacy.length_errors(body)
    if mismatched:
        raise ApiError(422, "invalid_request", "values and timestamps differ in length", mismatched)
    events = legacy.to_events(body)
    results, rejections = convert.parse_events(events)
    convert.check_points(results, settings.api_max_points)
    convert.refuse_rejections(rejections, len(events))
    scored = convert.score_response(results, detector, series=False)
    return orjson.dumps(
        {
            "anomalies_detected": 1 if scored["anomalous_windows"] else 0,
            "model_version": scored["model_version"],
            "windows": scored["windows"],
        }
    )


@router.post(
    "/detect_anomalies/",
    response_model=DetectAnomaliesResponse,
    summary="The earlier API's anomaly check",
    responses=errors(400, 401, 413, 422, 503),
)
async def detect_anomalies(request: Request, body: DetectAnomaliesRequest) -> Response:
    """The earlier request, unchanged; ``anomalies_detected`` is 1 when any hour-window the series
    fill is anomalous for LifeUp's detector (see ``stream.api.legacy`` for how values are read)."""
    services = request.app.state.services
    detector = services.detector()
    answer = await run_in_threadpool(detect, body, detector, services.settings)
    return Response(answer, media_type="application/json")
