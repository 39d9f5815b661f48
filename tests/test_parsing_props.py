"""Property tests: no input crashes the parser; what it accepts is well-formed; valid events
round-trip whatever the nanosecond encoding and shape."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.parsing import CODES, parse_message, parse_obj
from stream.parsing.times import MAX_AHEAD_NS, MAX_START_AHEAD_NS, MIN_NS, format_rfc3339
from stream.points import ParseResult

NOW = 1_764_000_000 * 10**9
STEPS = "com.google.step_count.delta"
DISTANCE = "com.google.distance.delta"
SPEED = "com.google.speed"
SOURCE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def well_formed(result: ParseResult) -> None:
    """What every ParseResult must satisfy, whatever the input."""
    assert result.ignored >= 0
    for rejection in result.rejections:
        assert rejection.code in CODES and rejection.detail
    for batch in result.batches:
        n = len(batch)
        assert n > 0 and batch.end_ns.shape == (n,) and batch.value.shape == (n,)
        assert batch.start_ns.dtype == np.int64 and batch.end_ns.dtype == np.int64
        assert batch.value.dtype == np.float64
        assert bool(np.all(batch.end_ns >= batch.start_ns))
        assert bool(np.all(batch.start_ns >= MIN_NS)) and bool(
            np.all(batch.end_ns <= NOW + MAX_AHEAD_NS)
        )
        assert bool(np.all(batch.start_ns <= NOW + MAX_START_AHEAD_NS))
        assert bool(np.all(np.isfinite(batch.value))) and bool(np.all(batch.value >= 0))
        assert isinstance(batch.user_id, str) and batch.user_id
        assert isinstance(batch.source, str) and batch.source


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


@FAST
@given(st.binary(max_size=300), st.none() | st.binary(max_size=10))
def test_random_bytes_never_crash(raw: bytes, key: bytes | None) -> None:
    result = parse_message(raw, key, now_ns=NOW)
    well_formed(result)


@FAST
@given(json_values, st.none() | st.text(min_size=1, max_size=5))
def test_random_json_never_crashes(value: Any, user: str | None) -> None:
    result = parse_obj(value, user, now_ns=NOW)
    well_formed(result)
    empty = value == [] or (isinstance(value, list) and all(v == [] for v in value))
    if not empty and not result.batches and not result.ignored:
        assert result.rejections or _has_empty_stream(value)


def _has_empty_stream(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return any(
        isinstance(item, dict)
        and (
            item.get("point") == []
            or item.get("Data Points") == []
            or item.get("records") == []
            or "bucket" in item
        )
        for item in items
    )


def valid_points(draw: Any, count: int, data_type: str, latest: int = NOW) -> list[dict[str, Any]]:
    """Well-formed points starting before ``latest`` (after ``NOW + MAX_START_AHEAD_NS`` they
    are refused)."""
    pts = []
    for _ in range(count):
        # near the clock half the time: a range of 25 years would hardly ever draw it
        start = draw(st.integers(MIN_NS, NOW) | st.integers(NOW - 3_600 * 10**9, latest))
        length = 0 if data_type == SPEED else draw(st.integers(0, 3_600 * 10**9))
        if data_type == STEPS:
            value: dict[str, Any] = {"intVal": draw(st.integers(0, 50_000))}
        else:
            value = {"fpVal": draw(st.floats(0, 1e6, allow_nan=False))}
        as_str = draw(st.booleans()), draw(st.booleans())
        pts.append(
            {
                "dataTypeName": data_type,
                "startTimeNanos": str(start) if as_str[0] else start,
                "endTimeNanos": str(start + length) if as_str[1] else start + length,
                "value": [value],
                "originDataSourceId": SOURCE,
            }
        )
    return pts


@st.composite
def events(draw: Any) -> tuple[Any, list[tuple[int, int, float]]]:
    data_type = draw(st.sampled_from([STEPS, DISTANCE, SPEED]))
    pts = valid_points(draw, draw(st.integers(1, 30)), data_type)
    expected = [
        (
            int(p["startTimeNanos"]),
            int(p["endTimeNanos"]),
            float(next(iter(p["value"][0].values()))),
        )
        for p in pts
    ]
    shape = draw(st.sampled_from(["single", "dataset", "takeout", "array", "health_connect"]))
    if shape == "single":
        event: Any = {"user_id": "u", **pts[0]}
        expected = expected[:1]
    elif shape == "dataset":
        event = {"user_id": "u", "dataSourceId": SOURCE, "point": pts}
    elif shape == "takeout":
        fit = [
            {**{k: v for k, v in p.items() if k != "value"}, "fitValue": [{"value": p["value"][0]}]}
            for p in pts
        ]
        event = {"user_id": "u", "Data Source": SOURCE, "Data Points": fit}
    elif shape == "array":
        event = [{"user_id": "u", **p} for p in pts]
    else:
        event = [health_connect_record(p, draw(st.booleans())) for p in pts]
    return event, expected


def health_connect_record(p: dict[str, Any], zulu: bool) -> dict[str, Any]:
    """The point as a Jetpack record, its times in RFC 3339 (UTC or a +02:00 offset)."""

    def text(ns: int | str) -> str:
        utc = format_rfc3339(int(ns))
        if zulu:
            return utc
        shifted = format_rfc3339(int(ns) + 2 * 3_600 * 10**9)
        return shifted[:-1] + "+02:00"

    start, end = text(p["startTimeNanos"]), text(p["endTimeNanos"])
    value = next(iter(p["value"][0].values()))
    record: dict[str, Any] = {"user_id": "u", "startTime": start, "endTime": end}
    if p["dataTypeName"] == STEPS:
        record |= {"recordType": "Steps", "count": value}
    elif p["dataTypeName"] == DISTANCE:
        record |= {"recordType": "Distance", "distance": {"inMeters": value}}
    else:
        sample = {"time": start, "speed": {"inMetersPerSecond": value}}
        record |= {"recordType": "Speed", "samples": [sample]}
    return record


@FAST
@given(events())
def test_valid_events_round_trip(case: tuple[Any, list[tuple[int, int, float]]]) -> None:
    event, expected = case
    result = parse_message(orjson.dumps(event), now_ns=NOW)
    assert not result.rejections and not result.ignored
    got = sorted(
        (int(s), int(e), float(v))
        for b in result.batches
        for s, e, v in zip(b.start_ns, b.end_ns, b.value, strict=True)
    )
    assert got == sorted(expected)


def mutate(draw: Any, value: Any, depth: int = 0) -> Any:
    """Replaces, deletes or retypes one part of a JSON value (possibly deep inside)."""
    if isinstance(value, dict) and value and depth < 4 and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(["delete", "replace", "recurse"]))
        copy = dict(value)
        if action == "delete":
            del copy[key]
        elif action == "replace":
            copy[key] = draw(json_values)
        else:
            copy[key] = mutate(draw, value[key], depth + 1)
        return copy
    if isinstance(value, list) and value and depth < 4:
        index = draw(st.integers(0, len(value) - 1))
        items = list(value)
        items[index] = mutate(draw, value[index], depth + 1)
        return items
    return draw(
        json_values | st.sampled_from([-1, -1.5, 2.5, "", "12x", "-5", 2**64 - 1, 0, 2**63, [], {}])
    )


@FAST
@given(st.data())
def test_mutated_valid_events_yield_points_or_rejections(data: st.DataObject) -> None:
    event, _ = data.draw(events())
    broken = mutate(data.draw, event)
    raw = orjson.dumps(broken)
    result = parse_message(raw, b"key", now_ns=NOW)
    well_formed(result)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_columnar_path_equals_point_by_point(data: st.DataObject) -> None:
    # up to 40 points: both column checks (plain Python up to 32, numpy beyond); some start
    # too far ahead of the clock, which every path refuses alike
    count = data.draw(st.integers(1, 40))
    pts = valid_points(data.draw, count, STEPS, NOW + 2 * MAX_START_AHEAD_NS)
    if data.draw(st.booleans()):  # well-formed, times of one type: what the numpy path takes
        for p in pts:
            p["startTimeNanos"] = int(p["startTimeNanos"])
            p["endTimeNanos"] = int(p["endTimeNanos"])
    else:
        for p in pts:
            if data.draw(st.booleans()):
                p["value"] = mutate(data.draw, p["value"])
    whole = parse_obj({"user_id": "u", "dataSourceId": SOURCE, "point": pts}, now_ns=NOW)
    array = parse_obj([{"user_id": "u", "dataSourceId": SOURCE, **p} for p in pts], now_ns=NOW)
    singles = ParseResult()
    for p in pts:
        singles.extend(parse_obj({"user_id": "u", "dataSourceId": SOURCE, **p}, now_ns=NOW))

    def summary(result: ParseResult) -> tuple[list[tuple[int, int, float]], list[str], int]:
        points = sorted(
            (int(s), int(e), float(v))
            for b in result.batches
            for s, e, v in zip(b.start_ns, b.end_ns, b.value, strict=True)
        )
        return points, sorted(r.code for r in result.rejections), result.ignored

    assert summary(whole) == summary(singles) == summary(array)
    assert all(math.isfinite(v) for b in whole.batches for v in b.value)
