"""Known gaps, kept visible: what LifeUp should do and does not yet (README, "What
de-duplication does not do" and the gaps of distance_without_steps). A Health Connect record
updated in place was the first here; it is counted once since (``tests/test_record_revisions``).

Each test states the behaviour a user would expect and is marked ``xfail(strict=True)``: it
fails today, and the suite fails the day it passes, so whoever closes the gap removes the mark.
"""

from __future__ import annotations

from typing import Any

import pytest

from stream.parsing import parse_obj
from stream.pipeline import apply, score_results
from stream.scoring.detector import load_detector

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


@pytest.mark.xfail(strict=True, reason="needs a watermark per channel (README: known gaps)")
def test_distance_whose_steps_come_in_a_later_sync_is_not_distance_without_steps() -> None:
    """Two sync jobs: a walk's GPS distance arrives at once, its steps 90 minutes later."""
    detector = load_detector()  # the shipped model
    walk = range(10, 40)
    distance = [_point("distance", T0 + m * MINUTE, T0 + (m + 1) * MINUTE, 85.0) for m in walk]
    # the GPS goes on logging (the phone idles on a desk): event time passes the hour's close
    later = [
        _point("distance", T0 + m * MINUTE, T0 + (m + 1) * MINUTE, 0.5) for m in range(40, 130)
    ]
    steps = [_point("steps", T0 + m * MINUTE, T0 + (m + 1) * MINUTE, 110) for m in walk]
    run = score_results((parse_obj(m) for m in [*distance, *later, *steps]), detector)
    reasons = {r for w, verdict in run.verdicts if w.start_ns == T0 for r in verdict.reasons}
    assert run.outcomes.late == len(steps)  # the steps did arrive, after their hour closed
    assert "distance_without_steps" not in reasons
