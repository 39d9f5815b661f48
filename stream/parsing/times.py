"""Time fields: nanosecond integers or decimal strings, RFC 3339 text, and the plausible range.

Google Fit's REST API sends int64 fields as decimal strings, Takeout writes JSON numbers (some
exporters as doubles, so a few nanoseconds are lost: harmless at a 60 s grid). Health Connect's
Jetpack records carry `Instant`s, serialised as RFC 3339 text with an offset; a time without an
offset is refused rather than guessed, because a guessed zone shifts a whole day of activity.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from stream.parsing import errors

NS_PER_S: Final = 1_000_000_000
MIN_NS: Final = 946_684_800 * NS_PER_S  # 2000-01-01T00:00:00Z: Google Fit did not exist before
MAX_AHEAD_NS: Final = 86_400 * NS_PER_S
"""How far after the clock a point may end: an app's record of the day, or of the hour, is
written before its interval is over (``stream.pipeline`` keeps event time to the clock)."""
MAX_START_AHEAD_NS: Final = 600 * NS_PER_S
"""How far after the clock a point may start: a phone's clock may run a little ahead, but no
step is counted before it is taken. A point dated hours ahead would close every hour before it
(event time is the latest point end), so the user's next hours would all arrive late."""
INT64_MAX: Final = 2**63 - 1

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def to_ns(value: object, field: str) -> int:
    """A nanosecond time from a JSON integer, a decimal string, or an integral double."""
    if type(value) is int:
        if -INT64_MAX <= value <= INT64_MAX:
            return value
        raise errors.PointError(errors.TIME_OUT_OF_RANGE, f"{field} {value} is not an int64")
    if type(value) is str:
        try:
            number = int(value)  # what numpy accepts too, so every path agrees
        except ValueError:
            detail = f"{field} {value[:40]!r} is not a decimal integer"
            raise errors.PointError(errors.BAD_TYPE, detail) from None
        if -INT64_MAX <= number <= INT64_MAX:
            return number
        raise errors.PointError(errors.TIME_OUT_OF_RANGE, f"{field} {value[:40]} is not an int64")
    if type(value) is float:
        if math.isfinite(value) and abs(value) <= 9.2e18:
            return int(value)
        raise errors.PointError(errors.BAD_TYPE, f"{field} {value!r} is not a time")
    if value is None:
        raise errors.PointError(errors.MISSING_FIELD, f"{field} is null")
    raise errors.PointError(errors.BAD_TYPE, f"{field} is a {type(value).__name__}, not a number")


def rfc3339_ns(value: object, field: str) -> int:
    """Unix nanoseconds of an RFC 3339 time with an offset (e.g. ``2026-11-20T08:00:00.5Z``)."""
    if value is None:
        raise errors.PointError(errors.MISSING_FIELD, f"{field} is missing")
    if type(value) is not str:
        raise errors.PointError(errors.BAD_TYPE, f"{field} is a {type(value).__name__}, not text")
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise errors.PointError(
            errors.BAD_TYPE, f"{field} {value[:40]!r} is not an RFC 3339 time with an offset"
        )
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = match.groups()
    try:
        zone = UTC
        if not zulu:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError as exc:
        raise errors.PointError(errors.BAD_TYPE, f"{field} {value!r}: {exc}") from None
    seconds = int((moment - _EPOCH).total_seconds())
    nanos = int(frac.ljust(9, "0")) if frac else 0
    return seconds * NS_PER_S + nanos


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def check_span(start_ns: int, end_ns: int, now_ns: int) -> None:
    """Refuses times no fitness tracker can have produced, and spans that end before they start."""
    if start_ns < MIN_NS or end_ns < MIN_NS:
        raise errors.PointError(errors.TIME_OUT_OF_RANGE, "time before 2000-01-01")
    if start_ns > now_ns + MAX_START_AHEAD_NS:
        raise errors.PointError(
            errors.TIME_OUT_OF_RANGE,
            f"starts {_duration(start_ns - now_ns)} after it was read; a point may start at most"
            f" {MAX_START_AHEAD_NS // NS_PER_S // 60} min ahead of the clock (is the device's"
            " clock ahead?)",
        )
    if end_ns > now_ns + MAX_AHEAD_NS:
        raise errors.PointError(
            errors.TIME_OUT_OF_RANGE,
            f"ends {_duration(end_ns - now_ns)} after it was read; a point may end at most a day"
            " ahead of the clock",
        )
    if end_ns < start_ns:
        raise errors.PointError(errors.END_BEFORE_START, f"end {end_ns} before start {start_ns}")


def _duration(ns: int) -> str:
    """``19 h 19 min`` or ``10 min 1 s``: how far ahead a time is, for a rejection's detail."""
    minutes, seconds = divmod(ns // NS_PER_S, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s"


def format_rfc3339(ns: int) -> str:
    """UTC RFC 3339 with a ``Z`` and only as many fractional digits as needed (inspect's output)."""
    seconds, nanos = divmod(ns, NS_PER_S)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"
