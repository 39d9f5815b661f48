"""Rides and stepping: the one notion of "walking or riding?" the checks and the model share.

Phones, and more so watches, count a few steps in a car or on a bus (bumps, an arm on the wheel);
walking, even slowly, is 60 or more a minute. A minute of fewer than ``STEPPING_CADENCE`` steps is
not walking: the checks about where steps went (a vehicle, a jump inside a walk, the stride)
count only stepping minutes, and a ride is a run of minutes moving without stepping, whatever
bumps its minutes counted. The model hides honest rides (``stream.scoring.features``); the
checks exempt them from distance walked without steps and from teleports
(``stream.scoring.plausibility``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Bool = npt.NDArray[np.bool_]

STEPPING_CADENCE = 20.0
"""Steps in a one-minute bin (the grid's) for the minute to count as walking."""


def rides(moving: Bool, fast: Bool, stepping: Bool, least: int) -> Bool:
    """Minutes of rides: runs of consecutive minutes ``moving`` and not ``stepping`` of which
    at least ``least`` are ``fast``. Vectorised on the candidate minutes alone (few): each run
    gets an id, its fast minutes are counted with one ``reduceat``."""
    rows, bins = moving.shape
    at = np.flatnonzero(moving & ~stepping)
    out: Bool = np.zeros((rows, bins), dtype=np.bool_)
    if at.size == 0:
        return out
    begins = run_starts(at, at % bins)
    first = np.flatnonzero(begins)
    count = np.add.reduceat(fast.ravel()[at].astype(np.int64), first)
    out.ravel()[at] = (count >= least)[np.cumsum(begins) - 1]
    return out


def run_starts(at: npt.NDArray[np.intp], col: npt.NDArray[np.intp]) -> Bool:
    """Which of the sorted flat positions ``at`` begin a run of consecutive bins (a run never
    spans two rows: ``col`` 0 always begins one)."""
    begins = np.empty(at.shape[0], dtype=np.bool_)
    begins[:1] = True
    np.not_equal(at[1:] - at[:-1], 1, out=begins[1:])
    begins |= col == 0
    return begins
