"""The contract's alert: what the worker sends to ``lifeup.fit-alerts`` and ``lifeup score`` prints.

``alert_id`` is a UUID5 of (user, window start, window end, model version): a worker that
re-sends an alert after a crash sends the same id, so consumers drop repeats; a new model
version judging the same window is a new finding and gets a new id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from stream.grid import NS_PER_S
from stream.scoring.base import THRESHOLD, WindowScore
from stream.windows import Window

ALERT_NAMESPACE = uuid.UUID("6f1b3c52-8a1e-5d7e-9c1a-2b7f4e0d9a31")


def rfc3339(moment: datetime) -> str:
    """UTC with a ``Z`` and milliseconds only when they are not zero (``2024-03-01T14:00:00Z``)."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def ns_to_rfc3339(ns: int) -> str:
    seconds, rest = divmod(ns, NS_PER_S)
    return rfc3339(datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=rest // 1000))


def alert_id(user_id: str, start_ns: int, end_ns: int, model_version: str) -> str:
    """Deterministic id of one finding (same user, window and model → same id)."""
    return str(
        uuid.uuid5(ALERT_NAMESPACE, f"{user_id}\x1f{start_ns}\x1f{end_ns}\x1f{model_version}")
    )


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert, field for field as in CONTRACT.md."""

    alert_id: str
    user_id: str
    window_start: str
    window_end: str
    score: float
    reasons: tuple[str, ...]
    channels: dict[str, float]
    model_version: str
    detected_at: str
    threshold: float = THRESHOLD
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "user_id": self.user_id,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "score": self.score,
            "threshold": self.threshold,
            "reasons": list(self.reasons),
            "channels": dict(self.channels),
            "model_version": self.model_version,
            "detected_at": self.detected_at,
            **self.extra,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Alert:
        known = set(cls.__dataclass_fields__) - {"extra"}
        return cls(
            alert_id=str(data["alert_id"]),
            user_id=str(data["user_id"]),
            window_start=str(data["window_start"]),
            window_end=str(data["window_end"]),
            score=float(data["score"]),
            threshold=float(data.get("threshold", THRESHOLD)),
            reasons=tuple(str(r) for r in data.get("reasons", ())),
            channels={str(k): float(v) for k, v in dict(data.get("channels", {})).items()},
            model_version=str(data["model_version"]),
            detected_at=str(data["detected_at"]),
            extra={k: v for k, v in data.items() if k not in known},
        )


class Span(Protocol):
    """What an alert names of its window: a ``Window``, or the span of one scored earlier (a
    retroactive alert, ``stream.scoring.retro``)."""

    @property
    def user_id(self) -> str: ...

    @property
    def start_ns(self) -> int: ...

    @property
    def end_ns(self) -> int: ...


def make_alert(
    window: Span, verdict: WindowScore, model_version: str, detected_at: datetime | None = None
) -> Alert:
    """The alert for one anomalous window (the caller decides it is anomalous)."""
    return Alert(
        alert_id=alert_id(window.user_id, window.start_ns, window.end_ns, model_version),
        user_id=window.user_id,
        window_start=ns_to_rfc3339(window.start_ns),
        window_end=ns_to_rfc3339(window.end_ns),
        score=round(float(verdict.score), 4),
        reasons=verdict.reasons,
        channels={k: round(float(v), 4) for k, v in verdict.channels.items()},
        model_version=model_version,
        detected_at=rfc3339(detected_at or datetime.now(tz=UTC)),
    )


def alerts_for(
    verdicts: Iterable[tuple[Window, WindowScore]],
    model_version: str,
    detected_at: datetime | None = None,
) -> list[Alert]:
    """Alerts of the anomalous windows among ``verdicts``, in their order."""
    return [
        make_alert(window, verdict, model_version, detected_at)
        for window, verdict in verdicts
        if verdict.anomalous
    ]
