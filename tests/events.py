"""Google Fit events for tests, in the contract's single-point shape."""

from __future__ import annotations

from typing import Any

NS = 1_000_000_000
MINUTE = 60 * NS
T0 = 1_772_398_800 * NS  # 2026-03-01T21:00:00Z, an hour boundary
ESTIMATED_STEPS = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"


def step_point(
    start_ns: int, end_ns: int, count: int, source: str = ESTIMATED_STEPS, user_id: str = "u"
) -> dict[str, Any]:
    """``count`` steps over ``[start_ns, end_ns)``."""
    return {
        "user_id": user_id,
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": start_ns,
        "endTimeNanos": end_ns,
        "value": [{"intVal": count}],
        "originDataSourceId": source,
    }


def step_minute(minute: int, count: int, source: str = ESTIMATED_STEPS) -> dict[str, Any]:
    """``count`` steps in minute ``minute`` after ``T0``."""
    return step_point(T0 + minute * MINUTE, T0 + (minute + 1) * MINUTE, count, source)
