"""``stream.api.convert``'s JSON rendering: the same text as the alerts and the models give."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from stream.alerts import ns_to_rfc3339
from stream.api.convert import MAX_SCORE, finite, utc_text

NS = 1_000_000_000
YEAR_2000_S, YEAR_2200_S = 946_684_800, 7_258_118_400


@given(st.integers(YEAR_2000_S, YEAR_2200_S), st.sampled_from([0, 1, 999_999, NS // 2, NS - 1]))
def test_window_edges_are_written_as_the_alerts_write_them(seconds: int, rest_ns: int) -> None:
    ns = seconds * NS + rest_ns
    assert utc_text(ns) == ns_to_rfc3339(ns)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_finite_is_a_json_number(value: float) -> None:
    got = finite(value)
    assert type(got) is float and math.isfinite(got) and abs(got) <= MAX_SCORE
    if math.isfinite(value) and abs(value) <= MAX_SCORE:
        assert got == value
