"""One error shape for every 4xx/5xx answer: ``{"error", "detail", "rejections"}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stream.api.models import ErrorResponse, RejectionOut

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}


class ApiError(Exception):
    """Raised by routes; rendered as an ``ErrorResponse`` with the given status."""

    def __init__(
        self,
        status_code: int,
        error: str,
        detail: str,
        rejections: Sequence[RejectionOut] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.body = ErrorResponse(error=error, detail=detail, rejections=list(rejections))
        self.headers = headers


def error_response(status_code: int, error: str, detail: str) -> JSONResponse:
    body = ErrorResponse(error=error, detail=detail)
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)


def _describe(errors: Sequence[Any]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every raised error into the shared shape."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse(
            exc.body.model_dump(mode="json"), status_code=exc.status_code, headers=exc.headers
        )

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _CODES.get(exc.status_code, "error")
        body = ErrorResponse(error=code, detail=str(exc.detail))
        return JSONResponse(
            body.model_dump(mode="json"), status_code=exc.status_code, headers=exc.headers
        )

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if broken is not None:  # as the routes that decode their own bodies answer
            reason = (broken.get("ctx") or {}).get("error") or broken.get("msg", "")
            at = broken.get("loc", ())[-1:]
            where = f" at character {at[0]}" if at and isinstance(at[0], int) else ""
            return error_response(
                422, "invalid_json", f"the body is not valid JSON: {reason}{where}"
            )
        return error_response(422, "invalid_request", _describe(errors))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
