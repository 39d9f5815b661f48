"""Rejection codes: the stable names the dead-letter topic carries.

A code never changes meaning once published; a new kind of failure gets a new code. A rejection is
per message when the message as a whole cannot be read (its point list is lost), and per point when
only that point is broken (the message's other points are still accepted).

| code | scope | meaning |
| --- | --- | --- |
| `too_large` | message | larger than the size limit (default 1,000,000 bytes) |
| `not_utf8` | message | the bytes are not valid UTF-8 |
| `invalid_json` | message | the text is not JSON (in a JSON-lines input: that line) |
| `unknown_shape` | message | JSON, but none of the accepted event shapes |
| `missing_user_id` | message | neither a `user_id` field nor a Kafka key (nor `--user`) |
| `too_many_points` | message | more points than the per-message limit (100,000) |
| `missing_field` | point | a required field is absent (a time, the value, count...) |
| `bad_type` | either | a field of the wrong type or format (steps 2.5, time "soon") |
| `negative_value` | point | negative steps, metres or speed |
| `non_finite` | point | a value is NaN or infinite |
| `end_before_start` | point | the end time is before the start time |
| `time_out_of_range` | point | before 2000, starting > 10 min or ending > a day after now (UTC) |
| `too_many_sources` | point | the user's 255 source entries are in use: another source is refused |
"""

from __future__ import annotations

import math
from typing import Final

from stream.points import Rejection

TOO_LARGE: Final = "too_large"
NOT_UTF8: Final = "not_utf8"
INVALID_JSON: Final = "invalid_json"
UNKNOWN_SHAPE: Final = "unknown_shape"
MISSING_USER_ID: Final = "missing_user_id"
TOO_MANY_POINTS: Final = "too_many_points"
MISSING_FIELD: Final = "missing_field"
BAD_TYPE: Final = "bad_type"
NEGATIVE_VALUE: Final = "negative_value"
NON_FINITE: Final = "non_finite"
END_BEFORE_START: Final = "end_before_start"
TIME_OUT_OF_RANGE: Final = "time_out_of_range"
TOO_MANY_SOURCES: Final = "too_many_sources"

CODES: Final[tuple[str, ...]] = (
    TOO_LARGE,
    NOT_UTF8,
    INVALID_JSON,
    UNKNOWN_SHAPE,
    MISSING_USER_ID,
    TOO_MANY_POINTS,
    MISSING_FIELD,
    BAD_TYPE,
    NEGATIVE_VALUE,
    NON_FINITE,
    END_BEFORE_START,
    TIME_OUT_OF_RANGE,
    TOO_MANY_SOURCES,
)


class PointError(Exception):
    """Raised inside point parsing; carries the code so the caller turns it into a Rejection."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def rejection(self, user_id: str | None, where: str = "") -> Rejection:
        detail = f"{where}: {self.detail}" if where else self.detail
        return Rejection(self.code, detail, user_id)


def checked_number(value: object, field: str, whole: bool = False) -> float:
    """A JSON number as float, or the PointError (with its code) saying what is wrong."""
    if value is None:
        raise PointError(MISSING_FIELD, f"{field} is missing")
    if type(value) is int:
        try:
            number = float(value)
        except OverflowError:
            raise PointError(BAD_TYPE, f"{field} is too large") from None
    elif type(value) is float:
        number = value
    else:
        raise PointError(BAD_TYPE, f"{field} is a {type(value).__name__}, not a number")
    if not math.isfinite(number):
        raise PointError(NON_FINITE, f"{field} {number} is not finite")
    if number < 0:
        raise PointError(NEGATIVE_VALUE, f"{field} {number} is negative")
    if whole and not number.is_integer():
        raise PointError(BAD_TYPE, f"{field} {number} is not a whole number")
    return number
