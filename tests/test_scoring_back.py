"""What a window's findings say of the previous window (``back``): only bouts reaching into it.

The checks report, per window and reason, whether the bout behind a finding began in the
previous window's bins (``Window.before``); ``stream.scoring.retro`` turns that into an alert.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.scoring import plausibility as pl
from stream.scoring.detector import load_detector
from stream.windows import Window
from tests.scoring_cases import normal_walk, walk, window
from tests.test_scoring_context import rows


def steady_from_the_top(minutes: int = 40) -> Window:
    """A shaker at 118/119 steps a minute from the window's first minute."""
    steps = np.zeros(60)
    steps[:minutes] = 118 + np.arange(minutes) % 2
    return window(steps)


def back_of(w: Window) -> tuple[str, ...]:
    verdict = pl.PlausibilityScorer().score([w])[0]
    return () if verdict.back is None else verdict.back.reasons


def test_a_bout_that_began_in_the_previous_window_is_carried_back() -> None:
    behind = rows([np.nan] * 25 + [118.0, 119.0, 118.0, 119.0, 118.0])  # on at :55
    w = replace(steady_from_the_top(), before=behind)
    verdict = pl.PlausibilityScorer().score([w])[0]
    assert "cadence_without_variation" in verdict.reasons
    assert verdict.back is not None and verdict.back.reasons == ("cadence_without_variation",)
    assert verdict.back.score >= 1.0 and verdict.back.channels == verdict.channels


@pytest.mark.parametrize(
    "behind",
    [
        None,  # nothing known before
        rows([np.nan] * 30),  # the previous window sent nothing
        rows([90.0, 104.0, 97.0] + [np.nan] * 25 + [0.0, 0.0]),  # a walk that ended earlier
        rows([np.nan] * 27 + [96.0, 0.0, 0.0]),  # a walk, then two still minutes
    ],
)
def test_a_bout_that_began_in_the_window_is_its_own(behind: np.ndarray | None) -> None:
    w = replace(steady_from_the_top(), before=behind)
    assert "cadence_without_variation" in pl.PlausibilityScorer().score([w])[0].reasons
    assert back_of(w) == ()


def test_each_bout_based_check_carries_back_its_own_finding() -> None:
    """A vehicle logged as walking from :50 of the previous hour: the fast minutes there are
    part of the run; a teleport is judged on its own minute and never carried."""
    steps = walk(0, 20, 70.0, 0.2)
    speed = np.where(steps > 0, 13.0, np.nan)
    core = window(steps, np.where(steps > 0, 780.0, 0.0), speed)
    behind = np.full((3, 30), np.nan, dtype=np.float32)
    behind[0, 20:] = 70.0
    behind[1, 20:] = 780.0
    behind[2, 20:] = 13.0
    assert "speed_above_human_limit" in back_of(replace(core, before=behind))
    assert "gps_teleport" not in back_of(replace(core, before=behind))


def test_normal_walks_carry_nothing_whatever_their_neighbours() -> None:
    behind = rows([100.0, 97.0, 110.0] * 10)
    windows = [replace(normal_walk(seed), before=behind) for seed in range(20)]
    assert not any(v.back for v in pl.PlausibilityScorer().score(windows))
    assert not any(v.back for v in load_detector().score(windows))


def test_back_findings_do_not_depend_on_the_batch() -> None:
    """The worker scores micro-batches of any make-up; ``lifeup score`` its own: a window's
    ``back`` must be the same alone and among others."""
    behind = rows([np.nan] * 25 + [118.0, 119.0, 118.0, 119.0, 118.0])
    carrying = replace(steady_from_the_top(), before=behind)
    others = [replace(normal_walk(s), before=behind) for s in range(5)] + [steady_from_the_top()]
    alone = pl.PlausibilityScorer().score([carrying])[0]
    among = pl.PlausibilityScorer().score([*others, carrying])[-1]
    assert alone.back == among.back and alone.back is not None
    detector = load_detector()
    assert detector.score([carrying])[0].back == detector.score([*others, carrying])[-1].back


@st.composite
def minutes(draw: st.DrawFn, n: int) -> list[float]:
    """Steps per minute: rests, walks that drift, and mechanical stretches, in any order."""
    out: list[float] = []
    while len(out) < n:
        k = draw(st.integers(1, 25))
        kind = draw(st.sampled_from(("rest", "walk", "steady")))
        cadence = draw(st.integers(40, 320))
        if kind == "rest":
            out += [0.0] * k
        elif kind == "steady":
            out += [float(cadence + i % 2) for i in range(k)]
        else:
            drift = draw(st.lists(st.integers(-15, 15), min_size=k, max_size=k))
            out += [float(max(0, cadence + d)) for d in drift]
    return out[:n]


@settings(max_examples=60, deadline=None)
@given(core=minutes(60), behind=minutes(30), known=st.booleans())
def test_back_findings_are_bouts_crossing_the_edge_that_fire_for_the_window(
    core: list[float], behind: list[float], known: bool
) -> None:
    """Whatever the minutes: a back finding fires for the window itself too, names only
    carried checks, scores at least 1.0, and needs a bout crossing the hour (active minutes on
    both sides of it, at most one still minute apart) from a previous window that sent points."""
    w = replace(window(np.array(core)), before=rows(behind) if known else None)
    verdict = pl.PlausibilityScorer().score([w])[0]
    back = verdict.back
    if back is None:
        return
    carried = {c for c, on in zip(pl.CHECKS, pl.CARRIED.tolist(), strict=True) if on}
    assert known and back.score >= 1.0
    assert set(back.reasons) <= set(verdict.reasons) & carried
    joined = np.array(behind[-2:] + core[:2]) > 0
    assert joined[1:3].any() and (joined[:2].any() and joined[2:].any())
