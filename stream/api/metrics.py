"""The API's own Prometheus metrics: requests and latency by route and status code.

They live in a registry of their own (one per app), so they never clash with the worker's
``stream.metrics`` names in a process that imports both, and tests can build many apps.
The route label is the route's path template (``/v1/users/{user_id}/alerts``), never the raw
path, so a scan of random URLs cannot blow up the label set; a parameter's converter
(``{user_id:path}``) is left out, so the label does not change with how a route is matched.
"""

from __future__ import annotations

import re
import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "<unmatched>"

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


_CONVERTER = re.compile(r":\w+}")


class ApiMetrics:
    """``lifeup_http_requests_total`` and ``lifeup_http_request_duration_seconds``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        labels = ("route", "method", "status")
        self.requests = Counter(
            "lifeup_http_requests",
            "HTTP requests answered by the API, by route template, method and status code.",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "lifeup_http_request_duration_seconds",
            "Time from request to the end of the response, by route template and status code.",
            labels,
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        self.requests.labels(*key).inc()
        self.latency.labels(*key).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request; the route is known only after the router has run."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            path = getattr(scope.get("route"), "path", None)
            name = _CONVERTER.sub("}", path) if isinstance(path, str) and path else UNMATCHED
            self.metrics.observe(name, scope["method"], status, time.perf_counter() - started)
