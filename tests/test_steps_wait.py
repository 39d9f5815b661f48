"""Windows wait for the user's steps (``stream.buffer.STEPS_WAIT_NS``): a walk's distance and its
steps often come in separate syncs, and an hour closed on the distance alone reads as metres
walked without a step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from stream.buffer import STEPS_WAIT_NS, UserBuffer
from stream.grid import DEFAULT_GRID
from stream.parsing import parse_obj
from stream.parsing.times import format_rfc3339
from stream.pipeline import OfflineRun, apply, score_results
from stream.points import Channel, PointBatch
from stream.scoring.detector import load_detector
from stream.windows import Window
from stream.worker.processor import Limits
from tests.worker_waves import run_waves

NS = 1_000_000_000
MINUTE = 60 * NS
T0 = 1_772_398_800 * NS  # an hour boundary
HOUR_CLOSES = T0 + DEFAULT_GRID.window_ns + DEFAULT_GRID.lateness_ns  # the first hour's close
STEPS = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
METRES = "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta"


def _point(kind: str, minute: int, value: float, user: str = "u") -> dict[str, Any]:
    steps = kind == "steps"
    return {
        "user_id": user,
        "dataTypeName": "com.google.step_count.delta" if steps else "com.google.distance.delta",
        "startTimeNanos": T0 + minute * MINUTE,
        "endTimeNanos": T0 + (minute + 1) * MINUTE,
        "value": [{"intVal": int(value)} if steps else {"fpVal": value}],
        "originDataSourceId": STEPS if steps else METRES,
    }


def _walk_synced_apart(steps_after_min: int) -> list[dict[str, Any]]:
    """A 30-minute walk whose GPS distance arrives at once and whose steps come
    ``steps_after_min`` minutes of event time later; meanwhile the GPS goes on logging (the
    phone idles on a desk), so event time passes the hour's close."""
    walk = range(10, 40)
    distance = [_point("distance", m, 85.0) for m in walk]
    idle = [_point("distance", m, 0.5) for m in range(40, 40 + steps_after_min)]
    steps = [_point("steps", m, 110) for m in walk]
    return [*distance, *idle, *steps]


def _first_hour(messages: list[dict[str, Any]]) -> tuple[OfflineRun, Window, set[str]]:
    """The run, and the first hour's window and reasons."""
    run = score_results((parse_obj(m) for m in messages), load_detector())
    ((window, verdict),) = [(w, v) for w, v in run.verdicts if w.start_ns == T0]
    return run, window, set(verdict.reasons)


def test_steps_synced_90_minutes_after_their_distance_excuse_it() -> None:
    run, window, reasons = _first_hour(_walk_synced_apart(90))
    assert run.outcomes.late == 0  # the steps found their hour still open
    assert window.totals.steps == 30 * 110
    assert "distance_without_steps" not in reasons


def test_steps_later_than_the_wait_are_late_and_the_hour_was_judged_without_them() -> None:
    """The wait has a bound: steps 3 hours behind their distance are late, as before it."""
    run, window, reasons = _first_hour(_walk_synced_apart(180))
    assert run.outcomes.late == 30
    assert window.totals.steps == 0
    assert "distance_without_steps" in reasons


def _distance(minute: int, metres: float = 80.0) -> PointBatch:
    start = np.array([T0 + minute * MINUTE], dtype=np.int64)
    return PointBatch("u", Channel.DISTANCE, METRES, start, start + MINUTE, np.array([metres]))


def _steps(minute: int, count: float = 100.0) -> PointBatch:
    start = np.array([T0 + minute * MINUTE], dtype=np.int64)
    return PointBatch("u", Channel.STEPS, STEPS, start, start + MINUTE, np.array([count]))


def test_a_user_whose_steps_stay_silent_waits_no_longer_than_the_bound() -> None:
    """A spoofed route with no steps: its hour closes once event time is the wait past it."""
    buffer = UserBuffer("u")
    buffer.add(_steps(5), 1)  # the user's steps stop at 14:06
    buffer.add(_distance(20), 1)
    wait_ends = (HOUR_CLOSES + STEPS_WAIT_NS - T0) // MINUTE  # in minutes after T0
    buffer.add(_distance(wait_ends - 2), 1)  # its end, a minute short of the bound
    assert buffer.pop_complete() == []
    buffer.add(_distance(wait_ends - 1), 1)  # ends on the bound
    assert [w.start_ns for w in buffer.pop_complete()][:1] == [T0]


def test_steps_in_step_with_the_distance_close_the_hour_at_its_lateness() -> None:
    """The usual phone: steps and distance of the same minutes; nothing waits."""
    buffer = UserBuffer("u")
    closing_minute = (HOUR_CLOSES - T0) // MINUTE - 1  # a point of this minute ends there
    for m in [*range(10, 40), closing_minute]:
        buffer.add(_steps(m), 1)
        buffer.add(_distance(m), 1)
        assert (buffer.pop_complete() == []) == (m != closing_minute)


@pytest.mark.parametrize("restored_from", ["today", "before the wait"])
def test_a_snapshot_keeps_what_the_window_waits_for(restored_from: str) -> None:
    buffer = UserBuffer("u")
    buffer.add(_steps(10), 1)
    buffer.add(_distance(10), 1)
    buffer.add(_distance(100), 1)  # past the hour's close; its steps have not come
    blob = buffer.to_bytes()
    if restored_from == "before the wait":  # the field was reserved (-1) in older snapshots
        at = blob.index(np.int64(T0 + 101 * MINUTE).tobytes()) + 8  # after the watermark
        assert blob[at : at + 8] == np.int64(T0 + 11 * MINUTE).tobytes()
        blob = blob[:at] + np.int64(-1).tobytes() + blob[at + 8 :]
    restored = UserBuffer.from_bytes(blob)
    restored.add(_distance(101), 1)
    emitted = [w.start_ns for w in restored.pop_complete()]
    assert emitted == ([] if restored_from == "today" else [T0])


def test_one_message_with_the_steps_after_the_distance_closes_nothing_early() -> None:
    """A message carrying a day of distance and then a day of steps (a Health Connect list)
    is added at once: the steps settle with it, and the walk's hour holds them."""
    day = [_point("distance", m, 80.0) for m in range(10, 400)]
    day += [_point("steps", m, 100) for m in range(10, 400)]
    buffers: dict[str, UserBuffer] = {}
    outcomes, windows = apply(parse_obj(day), buffers)
    assert outcomes.late == 0
    assert windows and windows[0].start_ns == T0 and windows[0].totals.steps == 50 * 100


def _worker_alerts(waves: list[tuple[list[dict[str, Any]], float]]) -> tuple[list[set[str]], int]:
    """What the worker's processor sends for the first hour (the reasons of each alert) and how
    many windows it scored in all, the waves arriving as ``tests.worker_waves`` says."""
    run = run_waves(waves)
    first = format_rfc3339(T0)
    alerts = [set(a["reasons"]) for a in run.alerts if a["window_start"] == first]
    return alerts, run.windows_scored


IDLE_S = Limits().idle_flush_s + 1  # quiet long enough for the idle flush


def test_the_worker_waits_for_steps_synced_within_the_idle_flush() -> None:
    """A phone back online uploads its distance, then its steps a minute later (wall clock):
    the worker's hour waits for them, as ``lifeup score``'s does, and is scored with them."""
    messages = _walk_synced_apart(90)
    distance, steps = messages[:-30], messages[-30:]
    alerts, scored = _worker_alerts([(distance, 60.0), (steps, IDLE_S)])
    assert scored == 3  # the three hours the distance reaches, each once, none late
    assert not any("distance_without_steps" in reasons for reasons in alerts)


def test_the_idle_flush_scores_a_waiting_hour_as_the_contract_says() -> None:
    """After ``LIFEUP_IDLE_FLUSH_SECONDS`` of quiet the user's open windows are scored, also an
    hour still waiting for its steps: its alert is sent, and stands when the steps synced later
    count in it (``tests/test_idle_flush.py``)."""
    messages = _walk_synced_apart(90)
    distance, steps = messages[:-30], messages[-30:]
    alerts, _ = _worker_alerts([(distance, IDLE_S), (steps, IDLE_S)])
    assert "distance_without_steps" in alerts[0]
