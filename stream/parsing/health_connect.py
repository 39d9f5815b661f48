"""Health Connect records (Steps, Distance, Speed) serialised with the Jetpack records' field names.

``recordType`` names the type; a record without it (react-native-health-connect's output) is
typed by its value field (``inferred_type``), and one whose fields name no type is ignored.

The source of a record is ``metadata.dataOrigin`` (the writing app's package). A record entered by
hand (``recordingMethod`` ``MANUAL_ENTRY``) is flagged manual and its source gets the suffix
``:user_input``, as Google Fit names manual streams, so source ranking can tell it from the same
app's automatic records and a typed-in number is never hidden behind (or hides) measured data.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from stream.parsing import errors, times
from stream.parsing.collect import Collector
from stream.points import Channel, ParseResult

DEFAULT_ORIGIN: Final = "health_connect"
_MANUAL: Final = frozenset({"MANUAL_ENTRY", "RECORDING_METHOD_MANUAL_ENTRY", 3})
_TYPES: Final[dict[str, Channel]] = {
    "Steps": Channel.STEPS,
    "StepsRecord": Channel.STEPS,
    "Distance": Channel.DISTANCE,
    "DistanceRecord": Channel.DISTANCE,
    "Speed": Channel.SPEED,
    "SpeedRecord": Channel.SPEED,
}


def is_record(obj: dict[str, Any]) -> bool:
    return "recordType" in obj or ("startTime" in obj and inferred_type(obj) is not None)


def inferred_type(record: dict[str, Any]) -> str | None:
    """The type of a record serialised without ``recordType``, as react-native-health-connect's
    ``readRecords`` and ``getChanges`` return them: named by its value field (``count``, a
    ``distance`` with ``inMeters``, ``samples`` of ``speed``); None for any other record. A
    wheelchair-pushes record also carries a ``count``: read as steps."""
    found = []
    if isinstance(record.get("count"), int | float) and not isinstance(record["count"], bool):
        found.append("Steps")
    distance = record.get("distance")
    if type(distance) is dict and "inMeters" in distance:
        found.append("Distance")
    samples = record.get("samples")
    if type(samples) is list and samples and type(samples[0]) is dict and "speed" in samples[0]:
        found.append("Speed")
    return found[0] if len(found) == 1 else None


def parse_records(records: list[Any], user_id: str, now_ns: int) -> ParseResult:
    """Records of one user; a broken record (or speed sample) is rejected alone."""
    collector = Collector(user_id)
    for index, record in enumerate(records):
        where = f"record {index}" if len(records) > 1 else "record"
        try:
            _record(record, collector, now_ns, where)
        except errors.PointError as exc:
            collector.result.rejections.append(exc.rejection(user_id, where))
    return collector.finish()


def _record(record: object, collector: Collector, now_ns: int, where: str) -> None:
    if type(record) is not dict:
        raise errors.PointError(errors.BAD_TYPE, f"a record is a {type(record).__name__}")
    kind = record.get("recordType", inferred_type(record))
    if kind is None:  # no type named and none to read off its fields: another record type
        collector.result.ignored += 1
        return
    if type(kind) is not str:
        raise errors.PointError(errors.BAD_TYPE, "recordType is not text")
    channel = _TYPES.get(kind)
    if channel is None:
        collector.result.ignored += 1
        return
    start = times.rfc3339_ns(record.get("startTime"), "startTime")
    end = times.rfc3339_ns(record.get("endTime"), "endTime")
    times.check_span(start, end, now_ns)
    metadata = record.get("metadata")
    source, manual = _origin(metadata)
    if channel is Channel.STEPS:
        count = errors.checked_number(record.get("count"), "count", whole=True)
        collector.add(channel, source, manual, start, end, count, record_id(metadata))
    elif channel is Channel.DISTANCE:
        length = record.get("distance")
        metres = errors.checked_number(
            length.get("inMeters") if type(length) is dict else length, "distance.inMeters"
        )
        collector.add(channel, source, manual, start, end, metres, record_id(metadata))
    else:
        _speed_samples(record.get("samples"), collector, source, manual, now_ns, where)


def _speed_samples(
    samples: object, collector: Collector, source: str, manual: bool, now_ns: int, where: str
) -> None:
    if samples is None:
        raise errors.PointError(errors.MISSING_FIELD, "samples is missing")
    if type(samples) is not list:
        raise errors.PointError(errors.BAD_TYPE, "samples is not a list")
    for index, sample in enumerate(samples):
        try:
            if type(sample) is not dict:
                raise errors.PointError(errors.BAD_TYPE, "a sample is not an object")
            at = times.rfc3339_ns(sample.get("time"), "time")
            times.check_span(at, at, now_ns)
            speed = sample.get("speed")
            value = speed.get("inMetersPerSecond") if type(speed) is dict else speed
            mps = errors.checked_number(value, "speed.inMetersPerSecond")
        except errors.PointError as exc:
            collector.result.rejections.append(
                exc.rejection(collector.user_id, f"{where} sample {index}")
            )
            continue
        collector.add(Channel.SPEED, source, manual, at, at, mps)


def record_id(metadata: object) -> int:
    """A stable 63-bit hash of ``metadata.id`` (0: none): Health Connect keeps a record's id
    when the record is updated (its Changes API then sends it again, changed), so the id, not
    the times, says which earlier point a record revises (``UserBuffer.revise``). Without an
    ``id`` (an export that dropped it), the app's own ``clientRecordId``, which Health Connect
    keeps unique per app and which an app updating its record keeps too."""
    if type(metadata) is not dict:
        return 0
    for field in ("id", "clientRecordId"):
        rid = metadata.get(field)
        if type(rid) is str and rid:
            digest = hashlib.blake2b(f"{field}:{rid}".encode(), digest_size=8).digest()
            return (int.from_bytes(digest, "little") >> 1) or 1
    return 0


def _origin(metadata: object) -> tuple[str, bool]:
    """(source, manual) from ``metadata``; the origin may be a package name or a DataOrigin."""
    if type(metadata) is not dict:
        return DEFAULT_ORIGIN, False
    origin = metadata.get("dataOrigin")
    if type(origin) is dict:
        origin = origin.get("packageName")
    source = origin if type(origin) is str and origin else DEFAULT_ORIGIN
    method = metadata.get("recordingMethod")
    manual = type(method) in (str, int) and method in _MANUAL
    return (f"{source}:user_input" if manual else source), manual
