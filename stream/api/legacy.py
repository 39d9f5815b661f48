"""The earlier LifeUp API's request, read as Google Fit points.

The earlier API took three series of ``values`` with one nanosecond ``timestamp`` each. Its users
built them from Google Fit / Takeout data points, one value per point: a step or distance point's
own delta (``intVal``/``fpVal``, not a running total) and a speed sample's m/s, stamped with the
point's ``startTimeNanos``. A point's end was dropped, so LifeUp rebuilds it:

* a step or distance value covers ``[t_i, min(t_{i+1}, t_i + 60 s))``: in Takeout's step and
  distance streams consecutive points abut (each ends where the next starts), so this restores
  the original points exactly; before a gap the point is given at most one grid bin (Google Fit
  points are rarely longer than a minute), never smeared over the gap, which would hide a burst;
* a speed value is an instantaneous sample at ``t_i``.

The points then go through the same parser and detector as every other event (as one Google Fit
REST ``Dataset`` per series), so the old API's users get the contract's rejection codes too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stream.api.models import DetectAnomaliesRequest, LegacySeries, RejectionOut
from stream.grid import NS_PER_S

LEGACY_USER = "detect-anomalies"
MAX_DELTA_NS = 60 * NS_PER_S

_SERIES: tuple[tuple[str, str, str], ...] = (
    ("step_count", "com.google.step_count.delta", "intVal"),
    ("distance", "com.google.distance.delta", "fpVal"),
    ("speed", "com.google.speed", "fpVal"),
)


def length_errors(request: DetectAnomaliesRequest) -> list[RejectionOut]:
    """Series whose values and timestamps do not pair up."""
    errors = []
    for name, _, _ in _SERIES:
        series: LegacySeries = getattr(request, name)
        if len(series.values) != len(series.timestamps):
            errors.append(
                RejectionOut(
                    code="length_mismatch",
                    detail=f"{name}: {len(series.values)} values but "
                    f"{len(series.timestamps)} timestamps; send one timestamp per value",
                )
            )
    return errors


def delta_spans(
    timestamps: np.ndarray[Any, np.dtype[np.int64]],
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """End of each delta, for sorted start timestamps: the next start, at most one bin later."""
    ends = timestamps + MAX_DELTA_NS
    if timestamps.size > 1:
        ends[:-1] = np.minimum(ends[:-1], timestamps[1:])
    return ends


def _value(kind: str, value: float) -> dict[str, Any]:
    if kind == "intVal" and float(value).is_integer():
        return {"intVal": int(value)}
    return {"fpVal": value}


def to_events(request: DetectAnomaliesRequest) -> list[dict[str, Any]]:
    """One Google Fit REST ``Dataset`` per non-empty series."""
    user = request.user_id or LEGACY_USER
    events: list[dict[str, Any]] = []
    for name, data_type, kind in _SERIES:
        series: LegacySeries = getattr(request, name)
        if not series.values:
            continue
        order = np.argsort(np.asarray(series.timestamps, dtype=np.int64), kind="stable")
        starts = np.asarray(series.timestamps, dtype=np.int64)[order]
        values = [series.values[i] for i in order.tolist()]
        ends = starts.copy() if name == "speed" else delta_spans(starts)
        points = [
            {
                "dataTypeName": data_type,
                "startTimeNanos": str(s),
                "endTimeNanos": str(e),
                "value": [_value(kind, v)],
            }
            for s, e, v in zip(starts.tolist(), ends.tolist(), values, strict=True)
        ]
        source = f"derived:{data_type}:lifeup:detect_anomalies"
        events.append({"user_id": user, "dataSourceId": source, "point": points})
    return events
