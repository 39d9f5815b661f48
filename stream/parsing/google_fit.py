"""Google Fit shapes: a single point, a REST ``Dataset``, a Takeout body, an aggregate response.

A well-formed Dataset or Takeout body (one data type, valid times and values) is converted column by
column: a few list comprehensions feed ``numpy.array`` and the checks run vectorised, so a 100-point
message costs little more than decoding it. Anything unusual (mixed types, a bad point) falls back
to the per-point path, which rejects only the broken points and keeps the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import itemgetter, methodcaller
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from stream.parsing import errors, times
from stream.parsing.collect import Collector
from stream.points import DATA_TYPE_CHANNELS, Channel, ParseResult, PointBatch, SinglePoint

MANUAL_MARK: Final = "user_input"  # Google Fit names manually entered streams ``...:user_input``
UNKNOWN_SOURCE: Final = "unknown"

_STEP_TYPES: Final = frozenset({int})
_REAL_TYPES: Final = frozenset({int, float})
_STEPS: Final = Channel.STEPS
_MIN_NS: Final = times.MIN_NS
_MAX_AHEAD_NS: Final = times.MAX_AHEAD_NS
_MAX_START_AHEAD_NS: Final = times.MAX_START_AHEAD_NS
_INF: Final = math.inf
_TYPE_NAME: Final = itemgetter("dataTypeName")
_START: Final = itemgetter("startTimeNanos")
_END: Final = itemgetter("endTimeNanos")
_VALUE: Final = itemgetter("value")
_FIT_VALUE: Final = itemgetter("fitValue")
_WRAPPED: Final = itemgetter("value")
_FIRST: Final = itemgetter(0)
_INT_VAL: Final = itemgetter("intVal")
_FP_VAL: Final = itemgetter("fpVal")
_ORIGIN: Final = methodcaller("get", "originDataSourceId")
_SMALL: Final = 32  # points up to which the column checks run in plain Python
_TEXT: Final = {str}
_WHOLE: Final = {int}
_FAST_ERRORS: Final = (KeyError, TypeError, IndexError, ValueError, OverflowError, AttributeError)


def stream_data_type(source: str | None) -> str | None:
    """The data type named inside a data stream id (``derived:<type>:<app>:...``)."""
    if source is None:
        return None
    parts = source.split(":", 2)
    return parts[1] if len(parts) > 2 and parts[0] in ("raw", "derived") else None


def parse_point(point: dict[str, Any], user_id: str, now_ns: int) -> ParseResult:
    """One single-point event: the lean path, with the careful one as its fallback."""
    try:
        lean = _lean_point(point, user_id, now_ns)
    except _FAST_ERRORS:
        lean = None
    if lean is not None:
        return lean
    try:
        parsed = _point(point, None, None, now_ns)
    except errors.PointError as exc:
        return ParseResult(rejections=[exc.rejection(user_id)])
    if parsed is None:
        return ParseResult(ignored=1)
    channel, source, manual, start, end, value = parsed
    return ParseResult([SinglePoint(user_id, channel, source, start, end, value, manual)])


def _lean_point(point: dict[str, Any], user_id: str, now_ns: int) -> ParseResult | None:
    """The common case in a few lookups; None (or an exception) sends the point to ``_point``."""
    channel = DATA_TYPE_CHANNELS[point["dataTypeName"]]
    start = point["startTimeNanos"]
    if type(start) is str:
        start = int(start)
    elif type(start) is not int:
        return None
    end = point["endTimeNanos"]
    if type(end) is str:
        end = int(end)
    elif type(end) is not int:
        return None
    entry = point["value"][0] if "value" in point else point["fitValue"][0]["value"]
    raw = entry["intVal"] if channel is _STEPS else entry["fpVal"]
    kind = type(raw)
    if kind is not int and (kind is not float or channel is _STEPS):
        return None
    value = float(raw)
    if not (
        _MIN_NS <= start <= end <= now_ns + _MAX_AHEAD_NS
        and start <= now_ns + _MAX_START_AHEAD_NS
        and 0.0 <= value < _INF
    ):
        return None
    origin = point.get("originDataSourceId", "")
    source = point.get("dataSourceId") or origin
    if type(source) is not str or type(origin) is not str or not source:
        return None
    manual = MANUAL_MARK in source or MANUAL_MARK in origin
    return ParseResult([SinglePoint(user_id, channel, source, start, end, value, manual)])


def parse_points(
    points: Sequence[Any],
    user_id: str,
    stream_source: str | None,
    now_ns: int,
    maybe_manual: bool = True,
) -> ParseResult:
    """The points of one data stream (a Dataset's ``point`` or a Takeout body's ``Data Points``)."""
    if not points:
        return ParseResult()
    if stream_source is not None:
        try:
            fast = _columns(points, user_id, stream_source, now_ns, maybe_manual)
        except _FAST_ERRORS:
            fast = None
        if fast is not None:
            return fast
    return _one_by_one(points, user_id, stream_source, now_ns)


def _columns(
    points: Sequence[Any], user_id: str, source: str, now_ns: int, maybe_manual: bool
) -> ParseResult | None:
    """Column-wise conversion of a clean stream; None when the per-point path must decide."""
    first = points[0]
    data_type = first["dataTypeName"]
    count = len(points)
    if list(map(_TYPE_NAME, points)).count(data_type) != count:
        return None
    channel = DATA_TYPE_CHANNELS.get(data_type)
    if channel is None:
        return ParseResult(ignored=count)
    steps = channel is _STEPS
    # map(itemgetter) walks the points in C: the same lookups (and errors) as comprehensions
    if "value" in first:
        entries = map(_FIRST, map(_VALUE, points))
    else:
        entries = map(_WRAPPED, map(_FIRST, map(_FIT_VALUE, points)))
    values = list(map(_INT_VAL if steps else _FP_VAL, entries))
    if not set(map(type, values)) <= (_STEP_TYPES if steps else _REAL_TYPES):
        return None
    starts = list(map(_START, points))
    ends = list(map(_END, points))
    if count <= _SMALL:
        checked = _small_columns(starts, ends, values, now_ns)
        if checked is None:
            return None
        start, end, value = checked
    else:
        start_a, end_a = _times(starts), _times(ends)
        if start_a is None or end_a is None:
            return None
        start, end = start_a, end_a
        value = np.array(values, dtype=np.float64)
        # reductions short-circuit; NaN fails both value tests
        if not (
            start.min() >= _MIN_NS
            and end.max() <= now_ns + _MAX_AHEAD_NS
            and start.max() <= now_ns + _MAX_START_AHEAD_NS
            and bool((end >= start).all())
            and value.min() >= 0.0
            and (steps or value.max() < _INF)
        ):
            return None
    manual = MANUAL_MARK in source
    if maybe_manual and not manual:
        origins = set(map(_ORIGIN, points))
        if any(MANUAL_MARK in o for o in origins if type(o) is str):
            flags = np.array([MANUAL_MARK in str(p.get("originDataSourceId")) for p in points])
            keep = ~flags
            return ParseResult(
                batches=[
                    PointBatch(user_id, channel, source, start[keep], end[keep], value[keep]),
                    PointBatch(
                        user_id, channel, source, start[flags], end[flags], value[flags], True
                    ),
                ]
            )
    return ParseResult([PointBatch(user_id, channel, source, start, end, value, manual)])


def _small_columns(
    starts: list[Any], ends: list[Any], values: list[Any], now_ns: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]] | None:
    """The checks of the vector path in plain Python: for a phone's sync of a few points, a
    dozen numpy calls cost more than the points. Same acceptance (``int`` on text times)."""
    kinds = set(map(type, starts))
    kinds.update(map(type, ends))
    if kinds == _TEXT:
        starts = [int(t) for t in starts]
        ends = [int(t) for t in ends]
    elif kinds != _WHOLE:
        return None  # mixed or other types: the per-point path decides, point by point
    if not (
        min(starts) >= _MIN_NS
        and max(ends) <= now_ns + _MAX_AHEAD_NS
        and max(starts) <= now_ns + _MAX_START_AHEAD_NS
        and all(e >= s for s, e in zip(starts, ends, strict=True))
        and all(0.0 <= v < _INF for v in values)  # NaN fails every comparison
    ):
        return None
    return (
        np.array(starts, dtype=np.int64),
        np.array(ends, dtype=np.int64),
        np.array(values, dtype=np.float64),
    )


def _times(column: list[Any]) -> npt.NDArray[np.int64] | None:
    """Integer nanoseconds, or decimal strings (parsed by numpy with ``int``); else None."""
    if type(column[0]) is str:
        return np.array(column, dtype=np.int64)
    array = np.array(column)
    return array if array.dtype == np.int64 else None


def _one_by_one(
    points: Sequence[Any], user_id: str, stream_source: str | None, now_ns: int
) -> ParseResult:
    collector = Collector(user_id)
    default_type = stream_data_type(stream_source)
    for index, point in enumerate(points):
        try:
            parsed = _point(point, stream_source, default_type, now_ns)
        except errors.PointError as exc:
            collector.result.rejections.append(exc.rejection(user_id, f"point {index}"))
            continue
        if parsed is None:
            collector.result.ignored += 1
        else:
            collector.add(*parsed)
    return collector.finish()


def _point(
    point: object, stream_source: str | None, default_type: str | None, now_ns: int
) -> tuple[Channel, str, bool, int, int, float] | None:
    """One point checked field by field; None for a data type LifeUp does not use."""
    if type(point) is not dict:
        raise errors.PointError(errors.BAD_TYPE, f"a point is a {type(point).__name__}")
    data_type = point.get("dataTypeName", default_type)
    if data_type is None:
        raise errors.PointError(errors.MISSING_FIELD, "dataTypeName is missing")
    if type(data_type) is not str:
        raise errors.PointError(errors.BAD_TYPE, "dataTypeName is not text")
    channel = DATA_TYPE_CHANNELS.get(data_type)
    if channel is None:
        return None
    start = times.to_ns(_required(point, "startTimeNanos"), "startTimeNanos")
    end = times.to_ns(_required(point, "endTimeNanos"), "endTimeNanos")
    times.check_span(start, end, now_ns)
    value = _value(point, channel)
    origin = point.get("originDataSourceId")
    origin = origin if type(origin) is str else ""
    source = stream_source
    if source is None:
        own = point.get("dataSourceId")
        source = own if type(own) is str and own else origin or UNKNOWN_SOURCE
    manual = MANUAL_MARK in source or MANUAL_MARK in origin
    return channel, source, manual, start, end, value


def _required(point: dict[str, Any], field: str) -> object:
    value = point.get(field)
    if value is None:
        raise errors.PointError(errors.MISSING_FIELD, f"{field} is missing")
    return value


def _value(point: dict[str, Any], channel: Channel) -> float:
    """The point's number: ``value[0]`` (REST) or ``fitValue[0].value`` (Takeout)."""
    if "value" in point:
        entries, wrapped = point["value"], False
    elif "fitValue" in point:
        entries, wrapped = point["fitValue"], True
    else:
        raise errors.PointError(errors.MISSING_FIELD, "value is missing")
    if type(entries) is not list or not entries:
        raise errors.PointError(errors.BAD_TYPE, "value is not a non-empty list")
    entry = entries[0]
    if wrapped and type(entry) is dict:
        entry = entry.get("value")
    if type(entry) is not dict:
        raise errors.PointError(errors.BAD_TYPE, "value[0] is not an object")
    steps = channel is Channel.STEPS
    first, second = ("intVal", "fpVal") if steps else ("fpVal", "intVal")
    raw = entry.get(first, entry.get(second))
    if raw is None:
        raise errors.PointError(errors.MISSING_FIELD, f"value[0] has no {first}")
    return errors.checked_number(raw, "steps" if steps else "value", whole=steps)


def stream_points(
    obj: dict[str, Any], points_key: str, source_key: str
) -> tuple[list[Any], str | None]:
    """The point list and stream id of a Dataset or Takeout body, checked for type.

    Without a stream id each point's own ``dataSourceId``/``originDataSourceId`` names its source.
    """
    points = obj.get(points_key)
    if type(points) is not list:
        raise errors.PointError(errors.BAD_TYPE, f"{points_key!r} is not a list")
    source = obj.get(source_key)
    if source == "":
        source = None
    elif source is not None and type(source) is not str:
        raise errors.PointError(errors.BAD_TYPE, f"{source_key!r} is not text")
    return points, source


def aggregate_datasets(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The datasets of an aggregate response (``bucket`` → ``dataset``), checked for type."""
    buckets = obj.get("bucket")
    if type(buckets) is not list:
        raise errors.PointError(errors.BAD_TYPE, "'bucket' is not a list")
    datasets: list[dict[str, Any]] = []
    for bucket in buckets:
        if type(bucket) is not dict or type(bucket.get("dataset", [])) is not list:
            raise errors.PointError(
                errors.BAD_TYPE, "a bucket is not an object with a dataset list"
            )
        for dataset in bucket.get("dataset", []):
            if type(dataset) is not dict:
                raise errors.PointError(errors.BAD_TYPE, "a dataset is not an object")
            datasets.append(dataset)
    return datasets
