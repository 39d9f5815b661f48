"""One router per concern; ``stream.api.app`` includes them all."""

from __future__ import annotations

from typing import Any

from stream.api.models import ErrorResponse


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer."""
    meaning = {
        400: "The body could not be read (malformed multipart or JSON framing).",
        401: "Missing or invalid API key.",
        404: "Not found.",
        413: "The body or the number of points is over the configured limit.",
        422: "The body is not valid: the rejections say what to fix.",
        503: "A dependency (model, Kafka or the worker) is unavailable.",
    }
    return {c: {"model": ErrorResponse, "description": meaning[c]} for c in codes}
