"""``POST /v1/score`` and the page's upload ``POST /v1/score/takeout``."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from stream.api import convert, takeout
from stream.api.auth import api_key
from stream.api.errors import ApiError
from stream.api.models import EVENTS_BODY_SCHEMA, RejectionOut, ScoreResponse
from stream.api.routes import errors
from stream.api.services import Detector
from stream.points import ParseResult, Rejection
from stream.settings import Settings

JSON = "application/json"
INLINE_MAX_BYTES = 128 * 1024
"""Bodies up to this size (a user-day of phone syncs is ~70 KB, ~5 ms) are scored on the event
loop: handing one to a worker thread and back cost about as much as writing its answer. The
worst such body (~500 one-point windows) holds the loop under 0.1 s; larger ones go to a thread, so
health checks and metrics stay answered meanwhile."""

router = APIRouter(tags=["scoring"], dependencies=[Depends(api_key)])

Series = Annotated[
    bool, Query(description="Add each window's per-bin steps, distance and speed (for charts).")
]


def score_body(body: bytes, detector: Detector, settings: Settings, series: bool) -> bytes:
    """The answer's JSON bytes, written here rather than by FastAPI (no second validation)."""
    events = convert.decode_events(body)
    results, rejections = convert.parse_events(events)
    convert.check_points(results, settings.api_max_points)
    convert.refuse_rejections(rejections, len(events))
    return orjson.dumps(convert.score_response(results, detector, series=series))


@router.post(
    "/v1/score",
    response_model=ScoreResponse,
    summary="Score events synchronously",
    openapi_extra={"requestBody": EVENTS_BODY_SCHEMA},
    responses=errors(400, 401, 413, 422, 503),
)
async def score(request: Request, series: Series = False) -> Response:
    """Every window the events fill, scored as the worker would score it (``lifeup score``).

    The request is scored whole or refused whole: any rejected event or point answers 422 with
    the parser's codes, so nothing is silently dropped.
    """
    services = request.app.state.services
    detector = services.detector()
    body = await request.body()
    if len(body) <= INLINE_MAX_BYTES:
        answer = score_body(body, detector, services.settings, series)
    else:
        answer = await run_in_threadpool(score_body, body, detector, services.settings, series)
    return Response(answer, media_type=JSON)


def score_uploads(
    files: list[takeout.UploadedFile],
    user: str | None,
    detector: Detector,
    settings: Settings,
    series: bool,
) -> bytes:
    from stream.parsing import parse_obj

    default_user = user or takeout.default_user(files)
    results: list[ParseResult] = []
    for decoded in takeout.decode(files, settings.api_max_body_bytes):
        if decoded.error is not None:
            results.append(ParseResult(rejections=[Rejection("invalid_json", decoded.error)]))
        else:
            results.append(parse_obj(decoded.obj, default_user))
    convert.check_points(results, settings.api_max_points)
    rejections = [
        RejectionOut(code=r.code, detail=r.detail, user_id=r.user_id)
        for result in results
        for r in result.rejections
    ]
    if not any(r.point_count for r in results):
        raise ApiError(
            422,
            "no_points",
            "the upload holds no step, distance or speed points: upload the Takeout archive or the "
            "JSON files of Takeout/Fit/All Data",
            rejections[:100],
        )
    return orjson.dumps(
        convert.score_response(results, detector, series=series, rejections=rejections)
    )


@router.post(
    "/v1/score/takeout",
    response_model=ScoreResponse,
    summary="Score a Google Takeout upload",
    responses=errors(400, 401, 413, 422, 503),
)
async def score_takeout(
    request: Request,
    files: Annotated[
        list[UploadFile],
        File(description="A Takeout archive (zip or tgz), or JSON files of Fit/All Data."),
    ],
    user: Annotated[str | None, Form(description="User id; default: the archive's name.")] = None,
    series: Series = True,
) -> Response:
    """For people: points that cannot be read are listed in ``rejections`` and the rest scored,
    since nobody can fix Google's export by hand."""
    services = request.app.state.services
    detector = services.detector()
    uploads = [takeout.UploadedFile(f.filename or "upload.json", await f.read()) for f in files]
    answer = await run_in_threadpool(
        score_uploads, uploads, user or None, detector, services.settings, series
    )
    return Response(answer, media_type=JSON)
