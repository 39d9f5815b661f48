"""Between HTTP bodies and the detection chain: decode, parse, and render verdicts.

Kept free of FastAPI so that the same functions serve ``/v1/score``, the Takeout upload, the
earlier API's ``/detect_anomalies/`` and the benchmark.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import orjson

from stream.api.errors import ApiError
from stream.api.models import (
    ChannelSeries,
    EventCounts,
    RejectionOut,
    ScoreResponse,
    TotalsOut,
    WindowVerdict,
)
from stream.api.services import model_version
from stream.points import ParseResult, PointBatch
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
    events: Sequence[Any], default_user: str | None = None
) -> tuple[list[ParseResult], list[RejectionOut]]:
    """Parses every event with the worker's parser; rejections keep the event's index."""
    from stream.parsing import parse_obj

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
    if math.isnan(value):
        return 0.0
    return max(-MAX_SCORE, min(MAX_SCORE, value))


def series_of(window: Window, bin_s: int) -> ChannelSeries:
    values = window.values.astype(np.float64)
    speed_mask = window.mask[2]
    return ChannelSeries(
        bin_seconds=bin_s,
        steps=[finite(v) for v in values[0].tolist()],
        distance_m=[finite(v) for v in values[1].tolist()],
        speed_mps=[
            finite(v) if m else None for v, m in zip(values[2].tolist(), speed_mask, strict=True)
        ],
    )


def alert_id_for(window: Window, score: WindowScore, model_version: str) -> str | None:
    """The id the worker's alert for this window carries (``stream.alerts``), if it is known."""
    try:
        alerts = importlib.import_module("stream.alerts")
    except ImportError:
        return None
    make = getattr(alerts, "alert_id", None)
    if not callable(make):
        return None
    return str(make(window.user_id, window.start_ns, window.end_ns, model_version))


def verdict(
    window: Window, score: WindowScore, model_version: str, *, series: bool, bin_s: int
) -> WindowVerdict:
    return WindowVerdict(
        user_id=window.user_id,
        window_start=window.start,
        window_end=window.end,
        score=finite(score.score),
        threshold=THRESHOLD,
        anomalous=score.anomalous,
        reasons=list(score.reasons),
        channels={k: finite(v) for k, v in score.channels.items()},
        totals=TotalsOut(
            steps=window.totals.steps,
            distance_m=finite(window.totals.distance_m),
            speed_samples=window.totals.speed_samples,
        ),
        manual_points=window.manual_points,
        alert_id=alert_id_for(window, score, model_version) if score.anomalous else None,
        series=series_of(window, bin_s) if series else None,
    )


def in_window_order(results: Sequence[ParseResult], window_ns: int) -> list[ParseResult]:
    """The same points, fed window by window in time order.

    The buffer drops a point as late once the user's watermark has passed its window's end plus
    the lateness. A request (or a Takeout export, one file per source, each spanning the whole
    day) arrives all at once, so its own order must not decide what counts: split into
    per-window pieces and ordered by window, no point of the request is late to another.
    """
    pieces: list[tuple[int, int, ParseResult]] = []
    order = 0
    for result in results:
        if result.ignored or result.rejections:
            pieces.append(
                (-1, order, ParseResult(ignored=result.ignored, rejections=result.rejections))
            )
            order += 1
        for batch in result.batches:
            windows = batch.start_ns // window_ns
            for window in np.unique(windows).tolist():
                keep = windows == window
                piece = PointBatch(
                    batch.user_id,
                    batch.channel,
                    batch.source,
                    batch.start_ns[keep],
                    batch.end_ns[keep],
                    batch.value[keep],
                    batch.manual,
                )
                pieces.append((int(window), order, ParseResult(batches=[piece])))
                order += 1
    pieces.sort(key=lambda p: (p[0], p[1]))
    return [piece for _, _, piece in pieces]


def score_response(
    results: Sequence[ParseResult],
    detector: Any,
    *,
    series: bool,
    rejections: Sequence[RejectionOut] = (),
) -> ScoreResponse:
    """Runs the offline chain (``stream.pipeline``), exactly as ``lifeup score`` does."""
    from stream.grid import DEFAULT_GRID
    from stream.pipeline import score_results

    grid = getattr(detector, "grid", DEFAULT_GRID)
    run = score_results(in_window_order(results, grid.window_ns), detector, grid)
    version = model_version(detector)
    windows = [verdict(w, s, version, series=series, bin_s=grid.bin_s) for w, s in run.verdicts]
    counts = run.outcomes.as_labels()
    return ScoreResponse(
        model_version=version,
        threshold=THRESHOLD,
        anomalous_windows=sum(w.anomalous for w in windows),
        windows=windows,
        events=EventCounts(**counts),
        rejections=list(rejections)[:100],
    )
