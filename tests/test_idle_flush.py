"""The worker's idle flush scores a quiet user's open hours and keeps them open (README, "Idle
flush"; ``UserBuffer.preview``).

Phones and apps send in syncs: Android's WorkManager runs a periodic job every 15 minutes at
the most, Health Connect readers sync when they are opened. The flush waits 300 s of quiet, so
between two syncs it used to score the hour as it stood and close it: every later point of the
hour was late, judged in fragments by the checks that hold for late points. A shaker's hour sent
in 15-minute syncs then never alerted. Now those points count in their hour, which is scored
again when complete; an alert the flush sent is sent again only if it changed.
"""

from __future__ import annotations

from typing import Any

from model_export.eval.idle_flush import score_synced, synced
from model_export.eval.live_runs import Verdicts
from model_export.eval.variant_gens import VARIANTS
from model_export.eval.variants import QUICK, simulate_variants
from stream.buffer import UserBuffer
from stream.parsing import parse_obj
from stream.parsing.times import format_rfc3339
from stream.pipeline import apply
from stream.scoring.detector import load_detector
from tests.events import T0, step_minute
from tests.worker_waves import run_waves

QUIET_S = 15 * 60.0  # between two syncs: longer than the flush's 300 s


def _steps(minute: int, count: int) -> dict[str, Any]:
    return step_minute(minute, count)


def _worker(syncs: list[list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], int, int]:
    """Alerts sent, windows scored and points counted late when each sync is followed by
    ``QUIET_S`` of quiet (``tests.worker_waves``)."""
    run = run_waves([(sync, QUIET_S) for sync in syncs])
    return run.alerts, run.windows_scored, run.late


def _first_hour(alerts: list[dict[str, Any]]) -> list[list[str]]:
    return [a["reasons"] for a in alerts if a["window_start"] == format_rfc3339(T0)]


def test_a_shakers_hour_sent_in_15_minute_syncs_alerts_with_the_whole_hour() -> None:
    """A motor's 150 steps a minute from 00:00 to 01:20, one sync each quarter hour."""
    minutes = [_steps(m, 150) for m in range(80)]
    syncs = [minutes[i : i + 15] for i in range(0, 80, 15)]
    alerts, _, late = _worker(syncs)
    assert late == 0
    (*_, last) = _first_hour(alerts)
    assert "cadence_without_variation" in last


def test_an_hour_the_flush_alerted_is_not_sent_again_unchanged() -> None:
    """The hour arrives whole, the flush alerts it; the next sync completes it with points
    beyond its look-ahead, which change nothing: one alert, though scored twice."""
    hour = [_steps(m, 150) for m in range(60)]
    alerts, scored, _ = _worker([hour, [_steps(100, 5)]])
    assert len(_first_hour(alerts)) == 1 and "cadence_without_variation" in _first_hour(alerts)[0]
    assert scored == 3  # the hour twice (the flush, then complete), 01:00 once by its flush


def test_preview_leaves_the_buffer_as_it_was() -> None:
    """Windows as ``flush`` gives them; the buffer's state, bytes for bytes, unchanged."""
    buffers: dict[str, UserBuffer] = {}
    for m in range(75):
        apply(parse_obj(_steps(m, 100 + m % 7)), buffers)
    buffer = buffers["u"]
    before = buffer.to_bytes()
    previewed = buffer.preview()
    assert buffer.to_bytes() == before
    flushed = UserBuffer.from_bytes(before).flush()
    assert [(w.start_ns, w.totals) for w in previewed] == [(w.start_ns, w.totals) for w in flushed]
    assert previewed and all(
        (a.values == b.values).all() and (a.mask == b.mask).all()
        for a, b in zip(previewed, flushed, strict=True)
    )


def test_the_evaluation_loses_nothing_now_and_much_before() -> None:
    """``model_export.eval.idle_flush`` on the quick benchmark with 15-minute syncs: kept open,
    the flushed hours lose no point and no alert; closed, as before, points and alerts."""
    data = simulate_variants(QUICK.sim_users, QUICK.sim_days, QUICK.sim_seed, tuple(VARIANTS))
    detector = load_detector()

    def alerted(verdicts: Verdicts) -> set[tuple[str, int]]:
        return {(w.user_id, w.start_ns) for w, v in verdicts if v.score >= 1.0}

    clean, late = score_synced(synced(data.events, 0), detector, None)
    syncs = synced(data.events, 15)
    now, late_now = score_synced(syncs, detector, True)
    before, late_before = score_synced(syncs, detector, False)
    assert late == late_now == 0 < late_before
    assert alerted(now) == alerted(clean)
    # closed, the rest of each hour comes late: judged by the checks that hold after close
    # (``stream.late``, its points gathered across the syncs), which miss some of the hours
    assert len(alerted(before) & alerted(clean)) < len(alerted(clean))
