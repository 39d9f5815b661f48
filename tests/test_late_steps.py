"""Points that arrive after their hours closed (``stream.late``), steps above all.

A wearable syncing hours later, or an app backfilling steps it never counted, sends points whose
hours were scored long ago: the buffer drops them as late. Each closed hour they reach is emitted
again holding only the message's late points, judged by ``AFTER_CLOSE_CHECKS`` (not the model,
not distance without steps), so a backfilled shaker or a late ride logged as walking is still
caught while an honest late walk stays silent. The processor runs for real over
in-memory stores, as in ``test_late_manual``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID
from stream.parsing import parse_obj
from stream.pipeline import apply
from stream.points import Channel, ParseResult, PointBatch
from stream.scoring.detector import load_detector
from stream.scoring.plausibility import AFTER_CLOSE_CHECKS, CHECKS, PROVISIONAL_CHECKS
from stream.sources import source_rank
from stream.windows import Window, WindowTotals
from tests.test_late_manual import (
    HOUR,
    MINUTE,
    NS,
    T0,
    USER,
    _arrives_after,
    _fed,
    _hour,
    _offline,
    _walks,
    _worker_alerts,
)

APP = "raw:com.google.step_count.delta:com.example.stepbooster:injector"
AGGREGATE = "derived:com.google.step_count.delta:com.google.android.gms:aggregated"
WATCH = "raw:com.google.step_count.delta:com.fitbit.FitbitMobile:watch"
PHONE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
WATCH_OF = {
    Channel.STEPS: WATCH,
    Channel.DISTANCE: "raw:com.google.distance.delta:com.fitbit.FitbitMobile:watch",
    Channel.SPEED: "raw:com.google.speed:com.fitbit.FitbitMobile:watch",
}
GPS = "derived:com.google.distance.delta:com.google.android.gms:from_high_accuracy_location"
STEADY = "cadence_without_variation"
ALLOWED = {c for c, ok in zip(CHECKS, AFTER_CLOSE_CHECKS.tolist(), strict=True) if ok}
PROVISIONAL = {c for c, ok in zip(CHECKS, PROVISIONAL_CHECKS.tolist(), strict=True) if ok}


def _dataset(
    source: str, points: list[tuple[int, int, int]] | list[tuple[int, int, float]]
) -> dict[str, Any]:
    """A REST Dataset of one source: (start, end, value) points, steps or, for a distance
    source, metres."""
    metres = "distance" in source
    return {
        "user_id": USER,
        "dataSourceId": source,
        "point": [
            {
                "dataTypeName": "com.google.distance.delta"
                if metres
                else "com.google.step_count.delta",
                "startTimeNanos": s,
                "endTimeNanos": e,
                "value": [{"fpVal": float(v)} if metres else {"intVal": int(v)}],
            }
            for s, e, v in points
        ],
    }


def _shaker(first_min: int, minutes: int, rate: int = 150) -> list[tuple[int, int, int]]:
    """A motor's minute points: the same count every minute."""
    return [
        (T0 + m * MINUTE, T0 + m * MINUTE + 55 * NS, rate)
        for m in range(first_min, first_min + minutes)
    ]


def _human(first_min: int, minutes: int, seed: int = 5) -> list[tuple[int, int, int]]:
    """A person's minute points: a walk whose count wanders, with a pause now and then."""
    rng = np.random.default_rng(seed)
    return [
        (T0 + m * MINUTE, T0 + m * MINUTE + 55 * NS, int(rng.integers(70, 125)))
        for m in range(first_min, first_min + minutes)
        if rng.random() > 0.1
    ]


def test_a_backfilled_shaker_alerts_its_closed_hour() -> None:
    """At 05:59 of event time an app backfills 01:00-01:50 at a motor's steady 150/min."""
    backfill = _dataset(APP, _shaker(60, 50))
    outcomes, windows = _arrives_after(_walks(), backfill)
    assert outcomes.late == 50  # the grid still drops them: their bins are gone
    assert [(w.start_ns, w.after_close, int(w.values[0].sum())) for w in windows] == [
        (T0 + HOUR, True, 50 * 150)
    ]
    verdict = load_detector().score(windows)[0]
    assert verdict.anomalous and "cadence_without_variation" in verdict.reasons
    sent = _worker_alerts([*_walks(), backfill])
    assert [a["reasons"] for a in sent if a["window_start"] == _hour(1)] == [
        ["cadence_without_variation", "cadence_repeats_exactly"]
    ]


def test_a_late_shaker_crossing_the_hour_is_judged_whole() -> None:
    """01:48-02:14 at a motor's rate: 12 and 14 minutes, too few for a steady stretch in
    either hour alone; each late hour sees the other's bins as its context, as on time."""
    backfill = _dataset(APP, _shaker(108, 26, rate=130))
    _, windows = _arrives_after(_walks(), backfill)
    assert [w.start_ns for w in windows] == [T0 + HOUR, T0 + 2 * HOUR]
    assert windows[0].after is not None and windows[1].before is not None
    verdicts = load_detector().score(windows)
    assert all("cadence_without_variation" in v.reasons for v in verdicts)
    alone = [replace(w, before=None, after=None) for w in windows]
    assert not any(v.anomalous for v in load_detector().score(alone))


def test_a_late_ride_logged_as_walking_is_judged_by_its_stride() -> None:
    """A bus ride synced late, its bumps counted as steps and its GPS metres in one message:
    both channels arrived together, so the stride they imply is judged as on time."""
    bumps = [(T0 + m * MINUTE, T0 + m * MINUTE + 55 * NS, 50) for m in range(70, 100)]
    ride = [_dataset(PHONE, bumps), _dataset(GPS, [(s, e, 300.0) for s, e, _ in bumps])]
    buffers = _fed(_walks())
    _, windows = apply(parse_obj(ride), buffers)
    # at once, the hour as far as it has come: more of the ride may follow (``provisional``)
    assert [(w.start_ns, w.after_close, w.provisional) for w in windows] == [
        (T0 + HOUR, True, True)
    ]
    assert "stride_implausible" not in load_detector().score(windows)[0].reasons
    final = [w for w in buffers[USER].flush() if w.after_close]  # the user's idle flush
    assert [(w.start_ns, w.provisional) for w in final] == [(T0 + HOUR, False)]
    verdict = load_detector().score(final)[0]
    assert verdict.anomalous and "stride_implausible" in verdict.reasons


def test_without_late_judgement_the_backfill_would_pass() -> None:
    """The same hour on time with the phone's walk says what the late path adds: 01:00 alerts
    only because the backfill is judged (the walk alone leaves it silent)."""
    assert _hour(1) not in _offline(_walks())


def test_an_honest_late_sync_stays_silent() -> None:
    """A watch syncing three hours of a person's walking after they closed: judged, not alerted."""
    sync = _dataset(WATCH, _human(60, 170))
    outcomes, windows = _arrives_after(_walks(), sync)
    assert outcomes.late > 0 and [w.start_ns for w in windows] == [
        T0 + HOUR,
        T0 + 2 * HOUR,
        T0 + 3 * HOUR,
    ]
    assert not any(v.anomalous for v in load_detector().score(windows))
    assert not [a for a in _worker_alerts([*_walks(), sync]) if a["window_start"] == _hour(2)]


def test_a_late_coarse_bucket_is_not_judged() -> None:
    """An hour-long REST aggregate arriving late: spread evenly it would look like a motor, and
    on time finer sources would have shadowed it."""
    bucket = _dataset(AGGREGATE, [(T0 + HOUR, T0 + 2 * HOUR, 6_000)])
    outcomes, windows = _arrives_after(_walks(), bucket)
    assert outcomes.late == 1 and windows == []


def test_steps_on_time_are_not_emitted_twice() -> None:
    """Steps of open hours go to the buffer alone: no after-close window."""
    walks = [e for e in _walks() if e["endTimeNanos"] <= T0 + 3 * HOUR]
    _, windows = _arrives_after(walks, _dataset(WATCH, _human(170, 20)))
    assert not any(w.after_close for w in windows)


@settings(max_examples=80, deadline=None)
@given(
    points=st.lists(
        st.tuples(
            st.sampled_from([Channel.STEPS, Channel.DISTANCE, Channel.SPEED]),
            st.integers(0, 3 * 3600),
            st.integers(0, 2 * 3600),
            st.integers(0, 5_000),
        ),
        min_size=1,
        max_size=12,
    ),
    resend=st.booleans(),
)
def test_late_windows_are_the_windows_of_the_late_points_alone(
    points: list[tuple[Channel, int, int, int]], resend: bool
) -> None:
    """For any points of a watch's steps, distance and speed, sent in one message after their
    hours closed: each hour they reach is emitted again, last (once the user's buffer is
    flushed) with the values and masks of the window a buffer emits for that hour when the same
    points alone arrive on time (points resent in the message count once). Before, an hour may
    be emitted as far as its steps have come (``UserBuffer.preview(settled=True)``)."""
    batches = []
    for channel in (Channel.STEPS, Channel.DISTANCE, Channel.SPEED):
        mine = [(s, d, v) for c, s, d, v in points if c == channel]
        if not mine:
            continue
        start = np.array([T0 + s * NS for s, _, _ in mine], dtype=np.int64)
        span = np.array([0 if channel == Channel.SPEED else d * NS for _, d, _ in mine])
        value = np.array([float(v) if channel == Channel.STEPS else v / 100 for *_, v in mine])
        batches.append(PointBatch(USER, channel, WATCH_OF[channel], start, start + span, value))
    # on time, and none late to another: a lateness covering them all
    on_time = UserBuffer(USER, replace(DEFAULT_GRID, lateness_s=86_400))
    for batch in batches:
        on_time.add(batch, source_rank(batch.channel, batch.source))
    want = {w.start_ns: w for w in on_time.flush()}
    if resend:
        batches = [
            PointBatch(
                b.user_id,
                b.channel,
                b.source,
                np.concatenate([b.start_ns] * 2),
                np.concatenate([b.end_ns] * 2),
                np.concatenate([b.value] * 2),
            )
            for b in batches
        ]
    buffers: dict[str, UserBuffer] = {}
    later = T0 + 2 * 86_400 * NS  # the phone's own steps, two days on: every hour above closed
    apply(parse_obj(_dataset(PHONE, [(later, later + 50 * NS, 80)])), buffers)
    _, got = apply(ParseResult(batches), buffers)
    got += [w for w in buffers[USER].flush() if w.after_close]
    assert all(w.after_close for w in got)
    last = {w.start_ns: w for w in got}
    assert sorted(last) == sorted(want)
    for hour, w in last.items():
        assert np.array_equal(w.values, want[hour].values), hour
        assert np.array_equal(w.mask, want[hour].mask), hour


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(0, 400), min_size=60, max_size=60),
    manual=st.integers(0, 2),
)
def test_a_late_window_is_judged_by_the_after_close_checks(steps: list[int], manual: int) -> None:
    """Whatever the steps, an after-close window's verdict is that of ``AFTER_CLOSE_CHECKS``
    (the model does not see it), with the on-time limits, and carries nothing back to the hour
    before; a provisional one's, that of ``PROVISIONAL_CHECKS``; the same row on time may be
    judged by more."""
    row = np.array(steps, dtype=np.float64)
    values = np.zeros((3, 60), dtype=np.float32)
    values[0] = row
    mask = np.zeros((3, 60), dtype=np.bool_)
    mask[0] = row > 0
    totals = WindowTotals(int(row.sum()), 0.0, 0)
    on_time = Window(USER, T0, T0 + HOUR, values, mask, totals, manual_points=manual)
    late = replace(on_time, after_close=True)
    early = replace(late, provisional=True)
    detector = load_detector()
    got, provisional, full = detector.score([late, early, on_time])
    assert set(got.reasons) <= ALLOWED and got.back is None
    assert list(got.reasons) == [r for r in full.reasons if r in ALLOWED]
    assert list(provisional.reasons) == [r for r in full.reasons if r in PROVISIONAL]
    if not got.reasons:
        assert got.score < 1.0


PHONE_SPEED = "derived:com.google.speed:com.google.android.gms:merge_speed"


def _on_time_with_gps(first_min: int, minutes: int, mps: float) -> list[dict[str, Any]]:
    """The phone's walks, with a GPS speed sample every minute of ``first_min`` and the
    ``minutes`` after it, in the order the phone sent them."""
    speeds = [
        {
            "user_id": USER,
            "dataTypeName": "com.google.speed",
            "startTimeNanos": T0 + m * MINUTE + 30 * NS,
            "endTimeNanos": T0 + m * MINUTE + 30 * NS,
            "value": [{"fpVal": mps}],
            "originDataSourceId": PHONE_SPEED,
        }
        for m in range(first_min, first_min + minutes)
    ]
    return sorted([*_walks(), *speeds], key=lambda e: int(e["endTimeNanos"]))


def _late_after(on_time: list[dict[str, Any]], event: Any) -> list[Window]:
    """The after-close windows of ``event`` sent after ``on_time``, once whole (the flush)."""
    buffers = _fed(on_time)
    apply(parse_obj(event), buffers)
    return [w for w in buffers[USER].flush() if w.after_close]


def test_a_steady_runners_late_sync_is_judged_with_the_gps_that_came_on_time() -> None:
    """A watch syncing a 50-minute run at 160-166 steps a minute (about 1 % variation, as
    steady as people run) after its hours closed, while the phone had sent the run's GPS on
    time: the minutes that GPS saw moving break the late stretch as they would have on time,
    so the run passes. With no GPS on time either, the same minutes are steady, as on time; a
    motor's are, whatever came on time."""
    rng = np.random.default_rng(2)
    run = [
        (T0 + m * MINUTE, T0 + m * MINUTE + 59 * NS, int(rng.integers(160, 167)))
        for m in range(60, 110)
    ]
    detector = load_detector()
    with_gps = _late_after(_on_time_with_gps(60, 50, 3.2), _dataset(WATCH, run))
    assert [w.start_ns for w in with_gps] == [T0 + HOUR]
    assert bin(with_gps[0].moved).count("1") == 50  # the run's minutes, as GPS saw them
    assert not detector.score(with_gps)[0].anomalous
    without = _late_after(_walks(), _dataset(WATCH, run))
    assert without[0].moved == 0
    assert STEADY in detector.score(without)[0].reasons
    on_time = replace(without[0], after_close=False)  # the same minutes judged on time
    assert STEADY in detector.score([on_time])[0].reasons
    motor = _late_after(_on_time_with_gps(0, 30, 3.2), _dataset(APP, _shaker(60, 50, rate=163)))
    assert STEADY in detector.score(motor)[0].reasons


def test_a_late_sync_of_several_streams_is_judged_per_stream_whole() -> None:
    """One message with the backfilled steps and their distance, points interleaved in time:
    the message is added in event-time order, in runs of a point or two, but its late steps
    are judged as one stream (a run alone is too short for any steadiness)."""
    shaker = _shaker(60, 50)
    metres = [(s, e, 0.7 * v) for s, e, v in shaker]
    message = [
        _dataset(APP, shaker),
        _dataset("raw:com.google.distance.delta:com.example.stepbooster:injector", metres),
    ]
    outcomes, windows = _arrives_after(_walks(), message)
    assert outcomes.late == 100
    assert [(w.start_ns, int(w.values[0].sum())) for w in windows] == [(T0 + HOUR, 50 * 150)]
    assert "cadence_without_variation" in load_detector().score(windows)[0].reasons
    sent = _worker_alerts([*_walks(), message])
    assert [a["reasons"] for a in sent if a["window_start"] == _hour(1)] == [
        ["cadence_without_variation", "cadence_repeats_exactly"]
    ]
