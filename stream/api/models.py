"""Typed request and response bodies of the HTTP API.

They are the OpenAPI document users integrate against, so every field carries a description and
every model an example. Event bodies themselves are not modelled field by field here: the parser
accepts five shapes and is the single judge of them (see ``EVENTS_BODY_SCHEMA``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from stream.alerts import rfc3339

MAX_TIMESTAMP_NS = 9_000_000_000_000_000_000  # leaves room for a span in int64

Instant = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A moment written as alerts write it (``2024-03-01T14:00:00Z``, milliseconds when not zero):
an alert read back through the API is the same text as on the alerts topic."""

_EXAMPLE_EVENT: dict[str, Any] = {
    "user_id": "u-42",
    "dataTypeName": "com.google.step_count.delta",
    "startTimeNanos": "1709302115648590535",
    "endTimeNanos": "1709302175648590535",
    "value": [{"intVal": 20}],
    "originDataSourceId": (
        "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
    ),
}

EVENTS_BODY_SCHEMA: dict[str, Any] = {
    "description": (
        "One event or a JSON array of events, in any shape of the contract: a Google Fit data "
        "point, a Google Fit REST Dataset, a Google Takeout 'All Data' body or a Health Connect "
        "record, each with its user_id."
    ),
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "object", "additionalProperties": True},
                    {"type": "array", "items": {"type": "object", "additionalProperties": True}},
                ]
            },
            "example": [_EXAMPLE_EVENT],
        }
    },
    "required": True,
}


class RejectionOut(BaseModel):
    """Why (part of) an event was refused, with the parser's stable code."""

    index: int | None = Field(
        default=None, description="Position of the event in the posted array."
    )
    code: str = Field(description="Stable rejection code, e.g. negative_value (see the README).")
    detail: str = Field(description="What was wrong, for a person.")
    user_id: str | None = None


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer: a code, what to change, and the rejections if any."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "error": "invalid_events",
                "detail": "1 of 3 events were rejected; fix them and send the request again.",
                "rejections": [{"index": 2, "code": "negative_value", "detail": "steps < 0"}],
            }
        }
    )

    error: str = Field(description="Machine-readable error code.")
    detail: str = Field(description="What went wrong and what to change.")
    rejections: list[RejectionOut] = Field(default_factory=list)


class ChannelSeries(BaseModel):
    """A window's per-bin values as LifeUp saw them after de-duplication (for charts)."""

    bin_seconds: int
    steps: list[float] = Field(description="Steps per bin.")
    distance_m: list[float] = Field(description="Metres per bin.")
    speed_mps: list[float | None] = Field(description="Speed in m/s; null where missing.")


class TotalsOut(BaseModel):
    steps: int
    distance_m: float
    speed_samples: int


class WindowVerdict(BaseModel):
    """One scored window: the alert the worker would send when ``anomalous`` is true."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "user_id": "u-42",
                "window_start": "2024-03-01T14:00:00Z",
                "window_end": "2024-03-01T15:00:00Z",
                "score": 3.7,
                "threshold": 1.0,
                "anomalous": True,
                "reasons": ["cadence_above_human_limit"],
                "channels": {"steps": 0.81, "distance": 0.12, "speed": 0.07},
                "totals": {"steps": 9120, "distance_m": 40.5, "speed_samples": 0},
                "manual_points": 0,
                "alert_id": "9f2c4b1e-0d6a-5c55-9b0e-3f7f3b8a1c2d",
            }
        }
    )

    user_id: str
    window_start: Instant
    window_end: Instant
    score: float = Field(description="Anomaly score, normalised so that the threshold is 1.0.")
    threshold: float
    anomalous: bool = Field(description="score >= threshold: the worker would send an alert.")
    reasons: list[str] = Field(description="Machine-readable reason codes (see the README).")
    channels: dict[str, float] = Field(description="Each channel's share of the score.")
    totals: TotalsOut
    manual_points: int = Field(default=0, description="Manually entered points in the window.")
    alert_id: str | None = Field(
        default=None, description="The worker's alert id, for anomalous windows."
    )
    carried_reasons: list[str] = Field(
        default_factory=list,
        description="Reasons carried back from the next window: a bout that began in this "
        "window and was judged whole in the next (a retroactive alert; see the README).",
    )
    series: ChannelSeries | None = Field(
        default=None, description="Per-bin values, with ?series=true."
    )


class EventCounts(BaseModel):
    """Points by outcome, as in the metric lifeup_events_total."""

    accepted: int = 0
    ignored: int = 0
    duplicate: int = 0
    late: int = 0
    rejected: int = 0


class ScoreResponse(BaseModel):
    """Every window the posted events fill, scored."""

    model_version: str
    threshold: float
    anomalous_windows: int
    windows: list[WindowVerdict]
    events: EventCounts
    rejections: list[RejectionOut] = Field(
        default_factory=list, description="Only for uploads, which are scored despite bad points."
    )


class LegacySeries(BaseModel):
    """One series of the earlier API: values with their nanosecond timestamps."""

    model_config = ConfigDict(strict=True)  # JSON true is not 1 step, "5" is not 5 m

    values: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=list, description="Steps, metres or m/s; never negative."
    )
    timestamps: list[Annotated[int, Field(ge=0, le=MAX_TIMESTAMP_NS)]] = Field(
        default_factory=list, description="Unix nanoseconds."
    )


class DetectAnomaliesRequest(BaseModel):
    """The earlier LifeUp API's request, unchanged (``user_id`` is an optional addition)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "example": {
                "speed": {
                    "values": [1.4, 1.5],
                    "timestamps": [1709302193648590026, 1709302223648590026],
                },
                "distance": {"values": [12.1], "timestamps": [1709302175648590535]},
                "step_count": {
                    "values": [20, 19],
                    "timestamps": [1709302115648590535, 1709302175648590535],
                },
            }
        },
    )

    speed: LegacySeries = Field(default_factory=LegacySeries, description="m/s samples.")
    distance: LegacySeries = Field(default_factory=LegacySeries, description="Metre deltas.")
    step_count: LegacySeries = Field(default_factory=LegacySeries, description="Step deltas.")
    user_id: str | None = Field(default=None, description="Names the user in the answer; optional.")


class DetectAnomaliesResponse(BaseModel):
    """The earlier API's answer, with LifeUp's windows added."""

    anomalies_detected: Literal[0, 1] = Field(description="1 when any window is anomalous.")
    model_version: str
    windows: list[WindowVerdict]


class EventsAccepted(BaseModel):
    accepted: int = Field(description="Events published to the events topic.")
    points: int = Field(description="Data points those events carry.")
    topic: str


class AlertOut(BaseModel):
    """The contract's alert object."""

    model_config = ConfigDict(extra="allow")

    alert_id: str
    user_id: str
    window_start: Instant
    window_end: Instant
    score: float
    threshold: float
    reasons: list[str]
    channels: dict[str, float]
    model_version: str
    detected_at: Instant


class AlertsResponse(BaseModel):
    user_id: str
    alerts: list[AlertOut] = Field(description="The user's recent alerts, newest last.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, Check]
