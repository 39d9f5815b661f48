"""A completed window: what the scorers see.

Building windows from a user's buffer lives in ``stream.buffer``; this module holds only the
value object, so scorers and the API can depend on it without the buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from stream.grid import NS_PER_S


@dataclass(frozen=True, slots=True)
class WindowTotals:
    """Channel totals after de-duplication: what the user would be paid for."""

    steps: int
    distance_m: float
    speed_samples: int


@dataclass(frozen=True, slots=True)
class Window:
    """One user's window on the grid, ready for a model.

    ``values`` is float32 ``[3, bins]``: steps per bin, metres per bin, speed in m/s (0 where
    missing). ``mask`` is bool ``[3, bins]``: for steps and distance, the bin was covered by a
    point measuring it (a step point lasting ``LONG_POINT_NS`` or more, a distance point lasting
    ``LONG_DISTANCE_POINT_NS`` or more, ``stream.buffer``, is spread evenly: its bins keep their
    count but not their mask); for speed, the bin holds a sample or an interpolated value.
    ``manual_points`` counts manually entered points that fell in the window.
    ``repeats_earlier`` is set when the window's activity pattern matches one of the user's recent
    windows exactly (a replayed walk); see ``stream.scoring.replay``.
    ``before`` and ``after`` are context for the plausibility checks, float32 ``[3, k]`` with NaN
    where nothing was known: the previous window's last bins (carried in the user's state) and
    the bins after the window that the ring held when it was emitted (up to the lateness). A
    cheat crossing the hour then shows its whole run to both windows it touches.
    ``after_close``: a window emitted again after it closed, holding only points that arrived
    late (``stream.late``); its first verdict, if it alerted, stands. ``provisional``: such a
    window of an hour its late points may still be coming for, with nothing after it yet.
    ``moved``: for an after-close window, the bins (bit i: bin i) in which GPS saw the phone
    moving when the hour was scored on time (``UserBuffer.moved_in``): a watch's steps synced
    late lack the phone's GPS of the same run.
    """

    user_id: str
    start_ns: int
    end_ns: int
    values: npt.NDArray[np.float32]
    mask: npt.NDArray[np.bool_]
    totals: WindowTotals
    manual_points: int = 0
    repeats_earlier: bool = False
    before: npt.NDArray[np.float32] | None = None
    after: npt.NDArray[np.float32] | None = None
    after_close: bool = False
    provisional: bool = False
    moved: int = 0

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_ns / NS_PER_S, tz=UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.end_ns / NS_PER_S, tz=UTC)
