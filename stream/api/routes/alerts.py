"""``GET /v1/users/{user_id}/alerts``: read from the worker's own state, never a copy."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, Path, Request
from starlette.convertors import Convertor, register_url_convertor

from stream.api.auth import api_key
from stream.api.errors import ApiError
from stream.api.models import AlertOut, AlertsResponse
from stream.api.routes import errors
from stream.api.services import Services


class _AnyText(Convertor[str]):
    """A user id as the events carry it: any text, "/" and line breaks too (Starlette's
    ``path`` convertor is ``.*``, which stops at a line break, so such a user got a 404)."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("any_text", _AnyText())
router = APIRouter(tags=["alerts"], dependencies=[Depends(api_key)])


def _alerts_in(payload: Any) -> list[Any]:
    if isinstance(payload, dict):
        payload = payload.get("alerts", [])
    return payload if isinstance(payload, list) else []


def _not_ready(answer: httpx.Response) -> str | None:
    """The worker's reason when it answered "not ready" (joining the group, restoring state:
    ``stream.worker.app._not_ready_answer``)."""
    if answer.status_code != 503:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("status") == "not_ready":
        return str(body.get("detail", "not ready"))
    return None


@router.get(
    # a user id may hold "/" (sent as %2F, which the server decodes before routing)
    "/v1/users/{user_id:any_text}/alerts",
    response_model=AlertsResponse,
    summary="A user's recent alerts",
    responses=errors(401, 503),
)
async def user_alerts(
    request: Request,
    user_id: str = Path(description="The user id, as in the events' user_id or Kafka key."),
) -> AlertsResponse:
    """The worker keeps each user's recent alerts in a table; this asks the worker's web view
    (``LIFEUP_WORKER_URL``), which routes the read to the worker that owns the user."""
    services: Services = request.app.state.services
    path = f"/lifeup/users/{quote(user_id, safe='')}/alerts"
    unreachable = (
        f"the worker's web view at {services.worker.base_url} is unreachable; is `lifeup worker` "
        "running and LIFEUP_WORKER_URL (or LIFEUP_WORKER_WEB_HOST/PORT) pointing at it?"
    )
    try:
        answer = await services.worker.get(path)
    except httpx.HTTPError as exc:
        raise ApiError(503, "worker_unavailable", f"{unreachable} ({exc!r})") from exc
    if answer.status_code == 404:
        return AlertsResponse(user_id=user_id, alerts=[])
    waiting = _not_ready(answer)
    if waiting is not None:
        raise ApiError(
            503,
            "worker_not_ready",
            f"the worker that owns this user is not ready ({waiting}); its alerts are "
            "answered once it is: try again in a few seconds",
            headers={"Retry-After": "5"},
        )
    if answer.status_code != 200:
        raise ApiError(
            503,
            "worker_unavailable",
            f"the worker answered {answer.status_code}: {answer.text[:200]}",
        )
    try:
        alerts = [AlertOut.model_validate(a) for a in _alerts_in(answer.json())]
    except ValueError as exc:
        raise ApiError(
            503, "worker_unavailable", f"the worker sent unreadable alerts: {exc}"
        ) from exc
    return AlertsResponse(user_id=user_id, alerts=alerts)
