"""Between HTTP bodies and the detection chain: decode, parse, and render verdicts.

Kept free of FastAPI so that the same functions serve ``/v1/score``, the Takeout upload, the
earlier API's ``/detect_anomalies/`` and the benchmark.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import orjson

from stream.alerts import alert_id, ns_to_rfc3339
from stream.api.errors import ApiError
from stream.api.models import RejectionOut
from stream.api.services import model_version
from stream.grid import NS_PER_S, GridSpec
from stream.parsing import MAX_POINTS
from stream.parsing.order import merged
from stream.points import ParseResult, cut_by_start
from stream.scoring.base import THRESHOLD, WindowScore
from stream.windows import Window

MAX_SCORE = 1e9  # a finite stand-in for an infinite score: JSON has no Infinity


def decode_events(body: bytes) -> list[Any]:
    """The body as a list of events; raises 422 when it is not a JSON object or array.

    An element that is itself an array is one message (a list of Health Connect records).
    """
    if not body.strip():
        raise ApiError(422, "empty_body", "the body is empty: send one event or a JSON array")
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(422, "invalid_json", f"the body is not valid UTF-8 JSON: {exc}", ()) from exc
    events = decoded if isinstance(decoded, list) else [decoded]
    for index, event in enumerate(events):
        if not isinstance(event, dict | list):
            raise ApiError(
                422,
                "invalid_events",
                "every event must be a JSON object (or an array of Health Connect records)",
                [RejectionOut(index=index, code="unknown_shape", detail="not a JSON object")],
            )
    return events


def parse_events(
    events: Sequence[Any], default_user: str | None = None, *, per_event: bool = False
) -> tuple[list[ParseResult], list[RejectionOut]]:
    """Parses every event with the worker's parser; rejections keep the event's index.

    Without ``per_event`` the events are parsed in one call (the parser then reads arrays of
    single points column-wise) and one result comes back, unless some event is rejected.
    """
    from stream.parsing import parse_obj

    if not per_event:
        streams = by_stream(events, default_user)
        whole = parse_obj(list(events) if streams is None else streams, default_user)
        if not whole.rejections:
            return [whole], []
    results: list[ParseResult] = []
    rejections: list[RejectionOut] = []
    for index, event in enumerate(events):
        result = parse_obj(event, default_user)
        results.append(result)
        rejections.extend(
            RejectionOut(index=index, code=r.code, detail=r.detail, user_id=r.user_id)
            for r in result.rejections
        )
    return results, rejections


def by_stream(events: Sequence[Any], default_user: str | None) -> list[Any] | None:
    """The points of REST Datasets regrouped as one Dataset per (user, stream), in order.

    A phone syncs every few minutes, so a user-day is dozens of Datasets of a few points from
    the same three streams; parsing three long ones costs a fraction of parsing each. None
    unless every event is a Dataset naming its stream (anything else is parsed event by event).
    """
    if len(events) < 2:
        return None
    groups: dict[tuple[str, str], list[Any]] = {}
    for event in events:
        if type(event) is not dict:
            return None
        points, source, user = event.get("point"), event.get("dataSourceId"), event.get("user_id")
        if user is None or user == "":
            user = default_user
        if type(points) is not list or type(source) is not str or not source:
            return None
        if type(user) is not str or not user:
            return None
        group = groups.setdefault((user, source), [])
        group.extend(points)
        if len(group) > MAX_POINTS:
            return None
    return [{"user_id": u, "dataSourceId": s, "point": p} for (u, s), p in groups.items()]


def check_points(results: Iterable[ParseResult], max_points: int) -> int:
    """The number of points; raises 413 above the configured limit."""
    points = sum(r.point_count + r.ignored for r in results)
    if points > max_points:
        raise ApiError(
            413,
            "too_many_points",
            f"the request carries {points:,} data points; the limit is {max_points:,} "
            "(LIFEUP_API_MAX_POINTS): split the events into several requests, "
            "or raise the limit on the server",
        )
    return points


def refuse_rejections(rejections: Sequence[RejectionOut], total: int) -> None:
    """Raises 422 listing every rejection: a request is scored or published whole, or not."""
    if rejections:
        events = len({r.index for r in rejections})
        raise ApiError(
            422,
            "invalid_events",
            f"{events} of {total} events were rejected (codes: "
            f"{', '.join(sorted({r.code for r in rejections}))}); "
            "fix them and send the request again",
            rejections[:100],
        )


def finite(value: float) -> float:
    """A JSON-safe float (NaN as 0, infinities clamped); numpy scalars become Python floats."""
    number = float(value)
    if math.isnan(number):
        return 0.0
    return max(-MAX_SCORE, min(MAX_SCORE, number))


def _finite_list(values: Any) -> list[float]:
    """A row of bins as finite floats (NaN as 0, clamped), in numpy rather than bin by bin."""
    clean = np.clip(np.nan_to_num(values.astype(np.float64), nan=0.0), -MAX_SCORE, MAX_SCORE)
    return list(clean.tolist())


def series_of(window: Window, bin_s: int) -> dict[str, Any]:
    """``ChannelSeries`` as JSON: speed is null where the bin holds no sample."""
    speed = _finite_list(window.values[2])
    return {
        "bin_seconds": bin_s,
        "steps": _finite_list(window.values[0]),
        "distance_m": _finite_list(window.values[1]),
        "speed_mps": [
            v if m else None for v, m in zip(speed, window.mask[2].tolist(), strict=True)
        ],
    }


def utc_text(ns: int) -> str:
    """``stream.alerts.ns_to_rfc3339`` (the alerts' own format), a third of its cost for the
    whole seconds every window edge falls on."""
    seconds, rest = divmod(ns, NS_PER_S)
    if rest:
        return ns_to_rfc3339(ns)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def verdict(
    window: Window, score: WindowScore, model_version: str, *, series: bool, bin_s: int
) -> dict[str, Any]:
    """``WindowVerdict`` as JSON, built directly: validating what this module just computed
    through pydantic cost more than the rest of the answer (tests check it against the model)."""
    totals = window.totals
    return {
        "user_id": window.user_id,
        "window_start": utc_text(window.start_ns),
        "window_end": utc_text(window.end_ns),
        "score": finite(score.score),
        "threshold": THRESHOLD,
        "anomalous": bool(score.anomalous),
        "reasons": list(score.reasons),
        "channels": {k: finite(v) for k, v in score.channels.items()},
        "totals": {
            "steps": int(totals.steps),
            "distance_m": finite(totals.distance_m),
            "speed_samples": int(totals.speed_samples),
        },
        "manual_points": int(window.manual_points),
        "alert_id": (
            alert_id(window.user_id, window.start_ns, window.end_ns, model_version)
            if score.anomalous
            else None
        ),
        "carried_reasons": list(score.reasons) if score.carried else [],
        "series": series_of(window, bin_s) if series else None,
    }


SINGLE_PASS_SPAN_NS = 8 * 86_400 * NS_PER_S  # a request up to 8 days is buffered whole


def in_window_order(result: ParseResult, window_ns: int) -> list[ParseResult]:
    """The same points, fed window by window in time order."""
    pieces: list[tuple[int, int, ParseResult]] = [
        (-1, 0, ParseResult(ignored=result.ignored, rejections=result.rejections))
    ]
    for order, batch in enumerate(result.batches, start=1):
        for window, piece in cut_by_start(batch, window_ns):
            pieces.append((window, order, ParseResult(batches=[piece])))
    pieces.sort(key=lambda p: (p[0], p[1]))
    return [piece for _, _, piece in pieces]


def request_plan(
    results: Sequence[ParseResult], grid: GridSpec
) -> tuple[list[ParseResult], GridSpec]:
    """How to feed one request to the buffers so that its own order decides nothing.

    The buffer drops a point as late once the user's watermark has passed its window's end plus
    the lateness. A request (or a Takeout export: one file per source, each spanning the whole
    day) arrives all at once, so no point of it is late to another: a request spanning up to
    ``SINGLE_PASS_SPAN_NS`` is buffered whole with a lateness covering its span (windows are then
    emitted by the final flush, in order); a longer one is fed window by window in time order.
    """
    whole = merged(results)
    if not whole.batches:
        return [whole], grid
    first = min(int(b.start_ns.min()) for b in whole.batches)
    last = max(int(b.end_ns.max()) for b in whole.batches)
    span = last - first
    if span <= SINGLE_PASS_SPAN_NS:
        return [whole], grid.covering(span)
    return in_window_order(whole, grid.window_ns), grid


def score_response(
    results: Sequence[ParseResult],
    detector: Any,
    *,
    series: bool,
    rejections: Sequence[RejectionOut] = (),
) -> dict[str, Any]:
    """``ScoreResponse`` as JSON, from the offline chain (``stream.pipeline``) run exactly as
    ``lifeup score`` runs it."""
    from stream.grid import DEFAULT_GRID
    from stream.pipeline import score_results

    grid = getattr(detector, "grid", DEFAULT_GRID)
    plan, buffer_grid = request_plan(results, grid)
    run = score_results(plan, detector, buffer_grid)
    version = model_version(detector)
    windows = [verdict(w, s, version, series=series, bin_s=grid.bin_s) for w, s in run.verdicts]
    return {
        "model_version": version,
        "threshold": THRESHOLD,
        "anomalous_windows": sum(1 for w in windows if w["anomalous"]),
        "windows": windows,
        "events": run.outcomes.as_labels(),
        "rejections": [r.model_dump(mode="json") for r in rejections[:100]],
    }
