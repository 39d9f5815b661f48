"""Known gaps, kept visible: what LifeUp should do and does not yet (README, de-duplication,
"Revisions"). A Health Connect record updated in place was the first here; it is
counted once since (``tests/test_record_revisions``). Steps synced after the distance of the same
walk were the second; the hour waits for them since (``tests/test_steps_wait``).

Each test states the behaviour a user would expect and is marked ``xfail(strict=True)``: it
fails today, and the suite fails the day it passes, so whoever closes the gap removes the mark.
"""

from __future__ import annotations

from typing import Any

import pytest

from stream.parsing import parse_obj
from stream.pipeline import apply

NS = 1_000_000_000
MINUTE = 60 * NS
T0 = 1_772_398_800 * NS  # an hour boundary
STEPS = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
METRES = "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta"


def _point(kind: str, start: int, end: int, value: float) -> dict[str, Any]:
    steps = kind == "steps"
    return {
        "user_id": "u",
        "dataTypeName": "com.google.step_count.delta" if steps else "com.google.distance.delta",
        "startTimeNanos": start,
        "endTimeNanos": end,
        "value": [{"intVal": int(value)} if steps else {"fpVal": value}],
        "originDataSourceId": STEPS if steps else METRES,
    }


def _steps_counted(messages: list[dict[str, Any]]) -> int:
    buffers: dict[str, Any] = {}
    for message in messages:
        apply(parse_obj(message), buffers)
    return int(buffers["u"].totals().steps)


@pytest.mark.xfail(strict=True, reason="re-cut points are not recognised (README: de-duplication)")
def test_a_stream_re_read_with_other_cuts_counts_once() -> None:
    """Google re-cut a derived stream's points between two reads of the same minutes."""
    first = _point("steps", T0, T0 + MINUTE, 90)
    second = _point("steps", T0 + MINUTE, T0 + 2 * MINUTE, 110)
    assert _steps_counted([first, second, _point("steps", T0, T0 + 2 * MINUTE, 200)]) == 200
