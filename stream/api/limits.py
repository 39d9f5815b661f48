"""The request-body size limit, enforced before a byte of an oversized body is buffered.

A pure ASGI middleware rather than a route check: FastAPI would otherwise read the whole body
into memory first. It honours ``Content-Length`` and also counts chunked bodies as they stream.
"""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` while a chunked body streams past the limit; FastAPI's body
    reading re-raises HTTP exceptions, so the error handler renders it as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(None, limit))


def too_large_detail(size: int | None, limit: int) -> str:
    got = f"is {size:,} bytes" if size is not None else "grew past it as it streamed"
    return (
        f"the limit is {limit:,} bytes (LIFEUP_API_MAX_BODY_BYTES) and the request body {got}: "
        "split the events into several requests, or raise the limit on the server"
    )


class BodyLimit:
    """Answers 413 when a request body exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _reject(send, too_large_detail(declared, self.max_bytes))
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, detail: str) -> None:
    body = orjson.dumps({"error": "too_large", "detail": detail, "rejections": []})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
