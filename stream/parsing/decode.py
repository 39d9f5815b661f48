"""From one Kafka message (or decoded JSON value) to a ``ParseResult``: size, UTF-8, JSON, shape.

The shape is recognised by its keys, cheapest test first, so a single-point event (the most
frequent message) takes two dictionary lookups before its fields are read.
"""

from __future__ import annotations

import time
from typing import Any, Final

import orjson

from stream.parsing import errors, google_fit, health_connect
from stream.points import ParseResult, Rejection

MAX_BYTES: Final = 1_000_000
MAX_POINTS: Final = 100_000


def parse_message(
    raw: bytes,
    key: bytes | str | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    now_ns: int | None = None,
) -> ParseResult:
    """One Kafka message value and its key; never raises for any input."""
    if len(raw) > max_bytes:
        detail = f"{len(raw)} bytes, more than the limit of {max_bytes}"
        return _rejected(errors.TOO_LARGE, detail, _key_user(key))
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            bytes(raw).decode("utf-8")
        except UnicodeDecodeError as bad:
            return _rejected(errors.NOT_UTF8, f"not UTF-8 at byte {bad.start}", _key_user(key))
        return _rejected(errors.INVALID_JSON, f"not JSON: {exc}", _key_user(key))
    now = time.time_ns() if now_ns is None else now_ns
    if type(obj) is dict and "dataTypeName" in obj and "point" not in obj:
        # the most frequent message: a single point, usually naming its user
        user = obj.get("user_id") or _key_user(key)
        if type(user) is str:
            return google_fit.parse_point(obj, user, now)
    key_user = _key_user(key)
    if type(obj) is list:
        return _array(obj, key_user, now)
    return _event(obj, key_user, now)


def _key_user(key: bytes | str | None) -> str | None:
    """The user a Kafka key names (a client library may hand it over already decoded)."""
    if not key:
        return None
    return key if isinstance(key, str) else bytes(key).decode("utf-8", "replace")


def parse_obj(
    obj: object,
    default_user: str | None = None,
    *,
    now_ns: int | None = None,
) -> ParseResult:
    """An already-decoded event (or JSON array of events); ``default_user`` plays the Kafka key.

    ``now_ns`` (Unix nanoseconds, default: the clock) bounds times in the future.
    """
    now = time.time_ns() if now_ns is None else now_ns
    if type(obj) is list:
        return _array(obj, default_user, now)
    return _event(obj, default_user, now)


def _array(items: list[Any], default_user: str | None, now_ns: int) -> ParseResult:
    """A JSON array of events; single points of one user and one stream go column-wise."""
    if len(items) > MAX_POINTS:
        detail = f"{len(items)} events, more than the limit of {MAX_POINTS}"
        return _rejected(errors.TOO_MANY_POINTS, detail, default_user)
    stream = _one_stream(items, default_user)
    if stream is not None:
        user, source = stream
        return google_fit.parse_points(items, user, source, now_ns)
    result = ParseResult()
    for element in items:
        result.extend(_event(element, default_user, now_ns))
    return result


def _one_stream(items: list[Any], default_user: str | None) -> tuple[str, str] | None:
    """(user, source) when every item is a single point of the same user and source."""
    if len(items) < 2:
        return None
    try:
        if not all(type(e) is dict and "dataTypeName" in e and "point" not in e for e in items):
            return None
        users = {e.get("user_id") or default_user for e in items}
        sources = {e.get("dataSourceId") or e.get("originDataSourceId") for e in items}
    except TypeError:  # an item that is not an object, or an unhashable field
        return None
    if len(users) != 1 or len(sources) != 1:
        return None
    user, source = users.pop(), sources.pop()
    if type(user) is not str or not user or type(source) is not str or not source:
        return None
    return user, source


def _event(obj: object, default_user: str | None, now_ns: int) -> ParseResult:
    if type(obj) is not dict:
        detail = f"a JSON {_json_type(obj)}, not an event"
        return _rejected(errors.UNKNOWN_SHAPE, detail, default_user)
    user = obj.get("user_id")
    if user is None or user == "":
        user = default_user
        if not user:
            return _rejected(errors.MISSING_USER_ID, "no user_id field and no key", None)
    elif type(user) is not str:
        return _rejected(errors.BAD_TYPE, "user_id is not text", default_user)
    try:
        return _shape(obj, user, now_ns)
    except errors.PointError as exc:
        return ParseResult(rejections=[exc.rejection(user)])


def _shape(obj: dict[str, Any], user: str, now_ns: int) -> ParseResult:
    if "dataTypeName" in obj and "point" not in obj:
        return google_fit.parse_point(obj, user, now_ns)
    if "point" in obj:
        points, source = google_fit.stream_points(obj, "point", "dataSourceId")
        _check_count(len(points))
        return google_fit.parse_points(points, user, source, now_ns)
    if "insertedDataPoint" in obj:  # a REST dataPointChanges.list page: what was added
        points, source = google_fit.stream_points(obj, "insertedDataPoint", "dataSourceId")
        _check_count(len(points))
        result = google_fit.parse_points(points, user, source, now_ns)
        deleted = obj.get("deletedDataPoint")  # a count never retracts: reported as ignored
        result.ignored += len(deleted) if type(deleted) is list else 0
        return result
    if "Data Points" in obj:
        points, source = google_fit.stream_points(obj, "Data Points", "Data Source")
        _check_count(len(points))
        return google_fit.parse_points(points, user, source, now_ns)
    if "bucket" in obj:
        datasets = google_fit.aggregate_datasets(obj)
        result = ParseResult()
        for dataset in datasets:
            points, source = google_fit.stream_points(dataset, "point", "dataSourceId")
            _check_count(len(points))
            result.extend(google_fit.parse_points(points, user, source, now_ns))
        return result
    if health_connect.is_record(obj):
        return health_connect.parse_records([obj], user, now_ns)
    if "records" in obj:
        records = obj["records"]
        if type(records) is not list:
            raise errors.PointError(errors.BAD_TYPE, "'records' is not a list")
        _check_count(len(records))
        return health_connect.parse_records(records, user, now_ns)
    if "startTimeNanos" in obj:
        return google_fit.parse_point(obj, user, now_ns)
    if "fitnessActivity" in obj:  # a Takeout "All Sessions" summary: All Data holds its points
        return ParseResult(ignored=1)
    if type(obj.get("session")) is list:  # a REST sessions.list page: summaries, no points
        return ParseResult(ignored=len(obj["session"]))
    keys = ", ".join(sorted(str(k) for k in obj)[:8])
    raise errors.PointError(errors.UNKNOWN_SHAPE, f"no known event shape (keys: {keys})")


def _check_count(count: int) -> None:
    if count > MAX_POINTS:
        raise errors.PointError(
            errors.TOO_MANY_POINTS, f"{count} points, more than the limit of {MAX_POINTS}"
        )


def _rejected(code: str, detail: str, user: str | None) -> ParseResult:
    return ParseResult(rejections=[Rejection(code, detail, user)])


def _json_type(obj: object) -> str:
    names = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return names.get(type(obj), "null")
