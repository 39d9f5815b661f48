"""Replay fingerprints: a walk sent again (whole or in part, anywhere in another hour) is found;
other walks, flat streams, quiet hours and real users' months are not."""

from __future__ import annotations

import numpy as np

from stream.scoring.replay import GRAM_BINS, remember, window_fingerprints
from stream.windows import Window
from tests.scoring_cases import fitabase_or_skip, simulated_normal, walk, window


def _moved(steps: np.ndarray, by: int) -> np.ndarray:
    out = np.zeros_like(steps)
    out[by:] = steps[: steps.shape[0] - by]
    return out


def test_replayed_walk_is_recognised_elsewhere_in_another_hour() -> None:
    original = walk(5, 20, 104.0, seed=4)
    first = window(original, original * 0.71, hour=0)
    replay = window(_moved(original, 23), _moved(original, 23) * 0.71, hour=30)
    seen, recent = remember([], window_fingerprints(first))
    assert not seen
    seen, _ = remember(recent, window_fingerprints(replay))
    assert seen


def test_part_of_a_walk_replayed_is_recognised() -> None:
    original = walk(5, 30, 98.0, seed=5)
    part = np.zeros(60)
    part[40:52] = original[10:22]
    _, recent = remember([], window_fingerprints(window(original)))
    assert remember(recent, window_fingerprints(window(part, hour=5)))[0]


def test_other_walks_flat_streams_and_quiet_hours_are_not_replays() -> None:
    _, recent = remember([], window_fingerprints(window(walk(seed=1))))
    assert not remember(recent, window_fingerprints(window(walk(seed=2), hour=1)))[0]
    assert window_fingerprints(window(np.full(60, 120.0))) == ()
    assert window_fingerprints(window(np.where(np.arange(60) % 3 == 0, 20.0, 0.0))) == ()
    short = walk(10, GRAM_BINS - 1, seed=3)
    assert window_fingerprints(window(short)) == ()


def test_history_is_bounded() -> None:
    fingerprints = window_fingerprints(window(walk(0, 60, seed=6)))
    _, recent = remember(list(range(100)), fingerprints, limit=50)
    assert len(recent) == 50 and recent[-1] == fingerprints[-1]


def _flagged(windows: list[Window]) -> list[Window]:
    recent: dict[str, list[int]] = {}
    out = []
    for w in sorted(windows, key=lambda w: (w.user_id, w.start_ns)):
        seen, recent[w.user_id] = remember(recent.get(w.user_id, []), window_fingerprints(w))
        if seen:
            out.append(w)
    return out


def test_no_replays_in_simulated_or_real_months() -> None:
    assert _flagged(list(simulated_normal())) == []
    assert _flagged(fitabase_or_skip()) == []
