"""Late points gathered across messages (``UserBuffer.late``, ``stream.late``).

A backlog of points whose hours closed comes in pieces as often as in one sync: an offline
phone's queued syncs, a client sending each point as a message of its own, a cheater sending
one point dated now before the hours being faked. Judged message by message, each piece was a
few minutes of an hour, and a motor's rhythm or a ride's stride never had the stretch of
minutes those checks need. Now every message's closed hours are judged with all that came late
for them before. The processor runs for real over in-memory stores, as in ``test_late_steps``.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from stream.buffer import MOVED_WINDOWS, UserBuffer
from stream.parsing import parse_obj
from stream.pipeline import apply
from stream.points import Channel, PointBatch
from stream.scoring.detector import load_detector
from stream.windows import Window
from stream.worker.state import UserState
from tests.events import step_point
from tests.test_late_manual import HOUR, MINUTE, NS, T0, USER, _fed, _hour, _walks, _worker_alerts
from tests.test_late_steps import APP, GPS, PHONE, STEADY, WATCH, _dataset, _human, _shaker
from tests.worker_waves import run_waves

GPS_SPEED = "derived:com.google.speed:com.google.android.gms:merge_speed"


def _one_by_one(points: list[tuple[int, int, Any]], source: str) -> list[dict[str, Any]]:
    """A message per point."""
    return [_dataset(source, [p]) for p in points]


def _deliver(messages: list[Any], buffers: dict[str, UserBuffer] | None = None) -> list[Window]:
    """The windows each of ``messages`` yields after the phone's six hours of walks."""
    if buffers is None:
        buffers = _fed(_walks())
    out: list[Window] = []
    for message in messages:
        out.extend(apply(parse_obj(message), buffers)[1])
    return out


def test_a_backfill_sent_point_by_point_is_judged_as_one() -> None:
    """01:00-01:50 at a motor's steady 150/min, each minute a message after the hour closed:
    every message's window of 01:00 holds all the minutes that came before it."""
    windows = _deliver(_one_by_one(_shaker(60, 50), APP))
    assert all(w.after_close and w.start_ns == T0 + HOUR for w in windows)
    assert [int(w.values[0].sum()) for w in windows] == [150 * k for k in range(1, 51)]
    verdicts = load_detector().score(windows)
    assert STEADY in verdicts[-1].reasons
    assert not verdicts[0].anomalous  # one minute alone: what each message showed before
    # the worker sends the hour's first alerting verdict (its stretch long enough), once
    sent = _worker_alerts([*_walks(), *_one_by_one(_shaker(60, 50), APP)])
    assert [a["reasons"] for a in sent if a["window_start"] == _hour(1)] == [[STEADY]]


def test_a_late_ride_in_five_minute_syncs_is_judged_by_its_stride() -> None:
    """A bus ride's counted bumps and its GPS metres (200 m a minute), synced every five
    minutes after the hour closed, each sync a message per stream: once the hour is whole, it
    is judged by the stride of all 30 minutes (before, each sync's hour held its five)."""
    bumps = [(T0 + m * MINUTE, T0 + m * MINUTE + 55 * NS, 50) for m in range(70, 100)]
    messages = []
    for i in range(0, len(bumps), 5):
        sync = bumps[i : i + 5]
        messages += [_dataset(PHONE, sync), _dataset(GPS, [(s, e, 200.0) for s, e, _ in sync])]
    buffers: dict[str, UserBuffer] = _fed(_walks())
    windows = _deliver(messages, buffers)
    # each sync's hour as far as it has come is judged by its rhythm alone (``provisional``):
    # the bumps, steady enough here, alert; the stride waits for the hour to be whole
    assert all(w.provisional for w in windows)
    assert not any("stride_implausible" in v.reasons for v in load_detector().score(windows))
    final = [w for w in buffers[USER].flush() if w.after_close]  # the user's idle flush
    assert [(w.start_ns, w.provisional, int(w.values[0].sum())) for w in final] == [
        (T0 + HOUR, False, 50 * 30)
    ]
    assert "stride_implausible" in load_detector().score(final)[0].reasons


def test_an_honest_walk_sent_point_by_point_stays_silent() -> None:
    """A watch's three hours of a person's walking, a message per minute, after they closed."""
    windows = _deliver(_one_by_one(_human(60, 170), WATCH))
    assert {w.start_ns for w in windows} == {T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR}
    assert not any(v.anomalous for v in load_detector().score(windows))
    sent = _worker_alerts([*_walks(), *_one_by_one(_human(60, 170), WATCH)])
    assert not [a for a in sent if a["window_start"] in {_hour(1), _hour(2), _hour(3)}]


def test_a_resent_late_point_counts_once() -> None:
    points = _shaker(60, 3)
    windows = _deliver(_one_by_one([*points, points[1]], APP))
    assert [int(w.values[0].sum()) for w in windows] == [150, 300, 450, 450]


def test_points_older_than_the_late_buffer_keeps_start_it_afresh() -> None:
    """A backfill of 02:00-02:20, then one of 00:10-00:30 (a backlog sent newest first): the
    late buffer has moved on past the older points, so its hours are judged as they stand
    (02:00 again, in full) and the older points start it afresh."""
    windows = _deliver([_dataset(APP, _shaker(120, 20)), _dataset(APP, _shaker(10, 20))])
    assert [(w.start_ns, int(w.values[0].sum())) for w in windows] == [
        (T0 + 2 * HOUR, 20 * 150),
        (T0 + 2 * HOUR, 20 * 150),
        (T0, 20 * 150),
    ]


def test_the_late_points_survive_a_snapshot_and_go_with_a_flush() -> None:
    """The worker writes the user's buffer to its table between messages and may restart: the
    late points kept so far are in the snapshot. An idle user's flush drops them (every hour
    they reach was judged as they came)."""
    buffers: dict[str, UserBuffer] = _fed(_walks())
    halves = _one_by_one(_shaker(60, 50), APP)
    _deliver(halves[:25], buffers)
    held = buffers["typist"]
    assert held.late is not None
    restored = UserBuffer.from_bytes(held.to_bytes())
    assert restored.late is not None
    assert restored.late.to_bytes() == held.late.to_bytes()
    windows = _deliver(halves[25:], {"typist": restored})
    assert int(windows[-1].values[0].sum()) == 50 * 150
    restored.flush()
    assert restored.late is None
    assert UserBuffer.from_bytes(restored.to_bytes()).late is None
    # written before late points were kept: the snapshot ends before their section
    assert held.to_bytes().endswith(bytes(4))  # no moving GPS kept (the walks have no speed)
    older = held.to_bytes()[: -(8 + len(held.late.to_bytes()))]
    assert UserBuffer.from_bytes(older).late is None
    assert UserBuffer.from_bytes(older).to_bytes() == older + bytes(8)


def test_steps_on_time_keep_no_late_buffer() -> None:
    buffers: dict[str, UserBuffer] = _fed(_walks())
    assert buffers["typist"].late is None


def test_the_minutes_gps_saw_moving_are_kept_for_the_last_hours_that_had_any() -> None:
    """``UserBuffer.moved_in``: per emitted hour, the minutes a speed sample of 1 m/s or more
    covered; the last ``MOVED_WINDOWS`` hours with any, in the snapshot too."""
    buffer = UserBuffer("typist")
    hours = MOVED_WINDOWS + 2
    for h in range(hours):
        at = T0 + h * HOUR + 10 * MINUTE
        fast = 3.0 if h % 2 == 0 or h >= 2 else 0.4  # hour 1: a phone lying still
        buffer.add(PointBatch("typist", Channel.SPEED, GPS_SPEED, *_samples(at, fast)), 1)
    buffer.flush()
    restored = UserBuffer.from_bytes(buffer.to_bytes())
    assert restored.moved_in(T0) == 0  # the oldest, dropped for the later ones
    assert restored.moved_in(T0 + HOUR) == 0  # never moving
    newest = restored.moved_in(T0 + (hours - 1) * HOUR)
    assert newest == sum(1 << b for b in range(10, 13))  # minutes 10-12, joined by the samples
    assert all(restored.moved_in(T0 + h * HOUR) for h in range(2, hours))


def _samples(at: int, mps: float) -> tuple[Any, Any, Any]:
    """Three speed samples a minute apart from ``at``."""
    starts = np.array([at + k * MINUTE for k in range(3)], dtype=np.int64)
    return starts, starts.copy(), np.full(3, mps)


def test_the_worker_judges_a_paused_backlog_whole_while_the_user_sends_on_time() -> None:
    """The phone sends a minute every minute, on time, and is never quiet long enough for the
    idle flush; meanwhile a bus ride of 01:10-01:40 comes late in 5-minute syncs. Its bumps
    vary, so no provisional window alerts; once no late point has come for
    ``LIFEUP_IDLE_FLUSH_SECONDS``, the worker judges the hour whole: `stride_implausible`."""
    rng = np.random.default_rng(4)
    bumps = [
        (T0 + m * MINUTE, T0 + m * MINUTE + 55 * NS, int(rng.integers(30, 90)))
        for m in range(70, 100)
    ]
    syncs = [bumps[i : i + 5] for i in range(0, len(bumps), 5)]
    now = T0 + 6 * HOUR

    def minute(k: int) -> dict[str, Any]:
        event = step_point(now + k * MINUTE, now + k * MINUTE + 50 * NS, 90, user_id=USER)
        return {**event, "originDataSourceId": PHONE}

    waves: list[tuple[list[dict[str, Any]], float]] = [(_walks(), 60.0)]
    for k, sync in enumerate(syncs):
        late = [_dataset(PHONE, sync), _dataset(GPS, [(s, e, 200.0) for s, e, _ in sync])]
        waves.append(([minute(k), *late], 60.0))
    waves += [([minute(k)], 60.0) for k in range(len(syncs), len(syncs) + 8)]
    run = run_waves(waves, user=USER)
    ride = [a["reasons"] for a in run.alerts if a["window_start"] == _hour(1)]
    assert ride == [["gps_teleport", "stride_implausible"]]  # one alert, from the whole hour
    # the same waves, the ride's last sync followed by only 3 minutes without late points
    short = run_waves(waves[: len(syncs) + 1 + 3], user=USER)
    assert not [a for a in short.alerts if a["window_start"] == _hour(1)]


def test_the_users_state_keeps_when_late_points_last_came() -> None:
    """The worker's table entry: version 2 adds the wall time of the last late points, and a
    version 1 entry (written before) reads as none pending."""
    buffer = UserBuffer(USER)
    state = UserState(buffer, 10.0, True, 5.0)
    back = UserState.from_bytes(state.to_bytes())
    assert (back.last_event_wall_s, back.idle_flushed, back.late_wall_s) == (10.0, True, 5.0)
    older = struct.pack("<BdB", 1, 10.0, 1) + buffer.to_bytes()
    assert UserState.from_bytes(older).late_wall_s == 0.0
