"""The FastAPI façade, wired: ``create_app(settings)`` and nothing else of substance.

Run it with ``lifeup api`` or ``uvicorn --factory stream.api.app:create_app``.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from stream.api import errors
from stream.api.auth import KeyRing
from stream.api.limits import BodyLimit
from stream.api.metrics import ApiMetrics, MetricsMiddleware
from stream.api.routes import alerts, events, health, legacy, score, web
from stream.api.services import Services
from stream.settings import Settings, get_settings

DESCRIPTION = """Scores Google Fit, Takeout and Health Connect events for cheating, publishes
events to the worker and reads its alerts. Every endpoint but health and metrics needs
`Authorization: Bearer <key>` (keys from LIFEUP_API_KEYS or LIFEUP_API_KEYS_FILE)."""


def freeze_startup_objects() -> None:
    """Puts what start-up left alive (modules, the model, the routes: ~80,000 objects) out of
    the garbage collector's reach. A full collection walked them all, ~30 ms landing inside some
    unlucky request (the p99); a collection first, so no garbage is frozen with them."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.start()
        freeze_startup_objects()
        yield
        await services.close()

    app = FastAPI(
        title="LifeUp",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.keys = KeyRing(settings)
    app.state.metrics = ApiMetrics()
    errors.install(app)
    for module in (score, legacy, events, alerts, health, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=web.WEB_DIR), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: sees 413s
    return app
