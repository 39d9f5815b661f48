"""``POST /v1/events``: validated events to the events topic, keyed by user id."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, status
from starlette.concurrency import run_in_threadpool

from stream.api import convert
from stream.api.auth import api_key
from stream.api.errors import ApiError
from stream.api.models import EVENTS_BODY_SCHEMA, EventsAccepted, RejectionOut
from stream.api.routes import errors
from stream.api.services import Services
from stream.points import ParseResult

router = APIRouter(tags=["events"], dependencies=[Depends(api_key)])


def _user_of(event: Any, result: ParseResult) -> str:
    """The Kafka key: the user the parser found (an event of ignored types has no batches)."""
    if result.batches:
        return result.batches[0].user_id
    first = event[0] if isinstance(event, list) and event else event
    user = first.get("user_id") if isinstance(first, dict) else None
    return user if isinstance(user, str) else ""


def prepare(body: bytes, services: Services) -> tuple[list[tuple[bytes, bytes]], int]:
    """(key, value) messages for the events, or a 4xx saying what is wrong with them."""
    settings = services.settings
    events = convert.decode_events(body)
    results, rejections = convert.parse_events(events, per_event=True)
    points = convert.check_points(results, settings.api_max_points)
    messages: list[tuple[bytes, bytes]] = []
    for index, (event, result) in enumerate(zip(events, results, strict=True)):
        value = orjson.dumps(event)
        if len(value) > settings.max_message_bytes:
            rejections.append(
                RejectionOut(
                    index=index,
                    code="too_large",
                    detail=f"the event is {len(value):,} bytes; the limit is "
                    f"{settings.max_message_bytes:,} (LIFEUP_MAX_MESSAGE_BYTES): split it",
                )
            )
        user = _user_of(event, result)
        if not user and not result.rejections:
            rejections.append(
                RejectionOut(index=index, code="missing_user_id", detail="the event has no user_id")
            )
        messages.append((user.encode(), value))
    convert.refuse_rejections(sorted(rejections, key=lambda r: r.index or 0), len(events))
    return messages, points


def publish(services: Services, messages: list[tuple[bytes, bytes]]) -> None:
    """Sends and waits for every acknowledgement; 503 when Kafka does not confirm them all."""
    producer = services.producer()
    topic = services.settings.events_topic
    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    try:
        for key, value in messages:
            producer.produce(topic, value=value, key=key, on_delivery=delivered)
            producer.poll(0)
    except BufferError as exc:
        raise ApiError(
            503, "kafka_unavailable", f"the producer queue is full: {exc}; retry"
        ) from exc
    left = producer.flush(services.publish_timeout_s)
    if failures or left:
        unconfirmed = len(failures) + left
        reason = failures[0] if failures else "timed out"
        raise ApiError(
            503,
            "kafka_unavailable",
            f"Kafka at {services.settings.kafka_bootstrap} did not confirm {unconfirmed} of "
            f"{len(messages)} events ({reason}); retry: the worker counts a point once however "
            "often it arrives",
            headers={"Retry-After": "5"},
        )


@router.post(
    "/v1/events",
    response_model=EventsAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Publish events to the events topic",
    openapi_extra={"requestBody": EVENTS_BODY_SCHEMA},
    responses=errors(400, 401, 413, 422, 503),
)
async def post_events(request: Request) -> EventsAccepted:
    """Each event becomes one message keyed by its user id; the worker scores it as it comes.

    Events are validated by the worker's own parser first, and the request is published whole
    or refused whole.
    """
    services: Services = request.app.state.services
    body = await request.body()
    messages, points = await run_in_threadpool(prepare, body, services)
    await run_in_threadpool(publish, services, messages)
    return EventsAccepted(
        accepted=len(messages), points=points, topic=services.settings.events_topic
    )
