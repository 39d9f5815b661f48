"""Events → the windows the runtime builds, through the runtime's own chain (no torch here).

Training, calibration and tests must see exactly the windows the worker scores, so they run the
events through ``stream.pipeline.score_results`` with a scorer that only keeps the windows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing import parse_obj
from stream.pipeline import score_results
from stream.scoring.base import WindowScore
from stream.windows import Window

FAR_FUTURE_NS = 2**62  # simulated data may lie in the future of the machine's clock


class _Collect:
    """A scorer that only keeps the windows."""

    name = "collect"

    def __init__(self) -> None:
        self.windows: list[Window] = []

    def score(self, windows: Sequence[Window]) -> list[WindowScore]:
        self.windows.extend(windows)
        return [WindowScore(0.0)] * len(windows)


def windows_of(events: Iterable[Any], grid: GridSpec = DEFAULT_GRID) -> list[Window]:
    """Windows the runtime would build from ``events`` (contract-shape dicts or lists)."""
    collect = _Collect()
    results = (parse_obj(event, now_ns=FAR_FUTURE_NS) for event in events)
    score_results(results, collect, grid)
    return sorted(collect.windows, key=lambda w: (w.user_id, w.start_ns))
