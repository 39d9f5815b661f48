"""Windows built for the scoring tests: a normal walk, and one window per reason code.

Not a test module: shared by ``test_scoring*.py`` so that every scorer meets the same cases.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from stream.windows import Window, WindowTotals

HOUR_NS = 3600 * 1_000_000_000
BASE_NS = 1_709_301_600 * 1_000_000_000  # 2024-03-01T14:00:00Z
F64 = npt.NDArray[np.float64]
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@lru_cache(maxsize=1)
def simulated_normal() -> tuple[Window, ...]:
    """Simulated users on ordinary days (no cheats, no unusual bouts), through the pipeline."""
    from model_export.simulate import simulate
    from model_export.windowing import windows_of

    data = simulate(6, 4, 77, cheats=False, legit_unusual=False)
    return tuple(windows_of(data.events))


@lru_cache(maxsize=1)
def fitabase_held_out() -> tuple[Window, ...]:
    """Windows of the Fitabase users the shipped model never trained on (``model_export.train``)."""
    from model_export import realdata
    from model_export.windowing import windows_of

    users = realdata.load_fitabase(DATA)
    held = set(sorted(u.user_id for u in users)[3::4])
    return tuple(windows_of(realdata.normal_events([u for u in users if u.user_id in held])))


def fitabase_or_skip() -> list[Window]:
    """Held-out Fitabase windows, or a skip when ``../shared/data`` is absent."""
    from model_export import realdata

    if not realdata.available(DATA):
        pytest.skip(f"no Fitabase data at {DATA}")
    return list(fitabase_held_out())


def window(
    steps: F64 | None,
    distance: F64 | None = None,
    speed: F64 | None = None,
    *,
    user: str = "u-1",
    hour: int = 0,
    manual: int = 0,
    repeats: bool = False,
) -> Window:
    """A window as the buffer builds it: masks where points exist, NaN speed = no sample."""
    values = np.zeros((3, 60), dtype=np.float32)
    mask = np.zeros((3, 60), dtype=np.bool_)
    for row, data in ((0, steps), (1, distance)):
        if data is not None:
            values[row] = data
            mask[row] = data > 0
    if speed is not None:
        mask[2] = ~np.isnan(speed)
        values[2] = np.nan_to_num(speed)
    start = BASE_NS + hour * HOUR_NS
    totals = WindowTotals(int(values[0].sum()), float(values[1].sum()), int(mask[2].sum()))
    return Window(user, start, start + HOUR_NS, values, mask, totals, manual, repeats)


def walk(
    start: int = 10, minutes: int = 25, cadence: float = 105.0, cv: float = 0.06, seed: int = 0
) -> F64:
    """Steps per minute of one walk: a human cadence that drifts minute to minute."""
    rng = np.random.default_rng(seed)
    steps = np.zeros(60)
    n = min(minutes, 60 - start)
    steps[start : start + n] = np.round(cadence * (1 + cv * rng.standard_normal(n))).clip(0)
    return steps


def normal_walk(seed: int = 0) -> Window:
    steps = walk(seed=seed)
    speed = np.where(steps > 0, steps * 0.72 / 60, np.nan)
    return window(steps, steps * 0.72, speed)


def _cadence() -> Window:
    steps = walk(20, 6, 280.0, 0.03)
    return window(steps, steps * 0.9)


def _steady() -> Window:
    steps = walk(5, 45, 150.0, 0.001)
    return window(steps)


def _vehicle() -> Window:
    steps = walk(10, 20, 70.0, 0.2)
    speed = np.where(steps > 0, 13.0, np.nan)
    return window(steps, np.where(steps > 0, 780.0, 0.0), speed)


def _teleport() -> Window:
    steps = walk()
    distance = steps * 0.72
    distance[20] += 8000.0
    return window(steps, distance)


def _distance_without_steps() -> Window:
    steps = walk(2, 6)
    distance = np.zeros(60)
    distance[20:40] = 80.0
    distance[2:8] = steps[2:8] * 0.7
    return window(steps, distance)


def _steps_without_distance() -> Window:
    """A distance source covers the whole walk yet credits it with a few centimetres per step."""
    steps = walk(5, 40)
    return window(steps, steps * 0.02)


def _stride() -> Window:
    steps = walk(10, 20, 95.0)
    return window(steps, steps * 3.4)


def _manual() -> Window:
    steps = np.zeros(60)
    steps[10:40] = 100.0  # 3,000 steps typed in for half an hour
    return window(steps, manual=1)


def _replay() -> Window:
    steps = walk(seed=3)
    return window(steps, steps * 0.7, repeats=True)


def _duty_cycle() -> Window:
    """A timer-driven shaker at ~164/min, 0.3 % jitter: on 5 minutes, off 2."""
    rng = np.random.default_rng(7)
    steps = np.zeros(60)
    on = (np.arange(60) % 7) < 5
    steps[on] = np.round(164.0 * (1 + 0.003 * rng.standard_normal(int(on.sum()))))
    return window(steps)


CASES: dict[str, Callable[[], Window]] = {
    "cadence_above_human_limit": _cadence,
    "cadence_without_variation": _steady,
    "speed_above_human_limit": _vehicle,
    "gps_teleport": _teleport,
    "distance_without_steps": _distance_without_steps,
    "steps_without_distance": _steps_without_distance,
    "stride_implausible": _stride,
    "manual_entry": _manual,
    "replayed_activity": _replay,
    "cadence_repeats_exactly": _duty_cycle,
}
