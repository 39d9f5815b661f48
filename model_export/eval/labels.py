"""Events → the windows LifeUp scores, each labelled from the ground-truth spans.

Alerts are per window: a window overlapping a cheat span is positive (that family); one
overlapping only a legitimate-unusual bout belongs to that bout; every other window is normal
time, where any alert is a false alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from model_export.sim.types import LabeledSpan
from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing import parse_obj
from stream.pipeline import apply
from stream.points import ParseResult
from stream.scoring.base import WindowScore
from stream.scoring.retro import first_verdicts
from stream.windows import Window


def build_windows(events: Iterable[object], grid: GridSpec = DEFAULT_GRID) -> list[Window]:
    """Every window the worker would score for these events, the last ones flushed as idle."""
    return windows_of_results((parse_obj(e) for e in events), grid)


def windows_of_results(
    results: Iterable[ParseResult], grid: GridSpec = DEFAULT_GRID
) -> list[Window]:
    """``build_windows`` for events already parsed."""
    buffers: dict[str, UserBuffer] = {}
    out: list[Window] = []
    for result in results:
        _, windows = apply(result, buffers, grid)
        out.extend(windows)
    for buffer in buffers.values():
        out.extend(buffer.flush())
    out.sort(key=lambda w: (w.user_id, w.start_ns))
    return out


def first_windows(windows: list[Window]) -> list[Window]:
    """One window per user-hour of a sorted run: a window emitted again after it closed (points
    that arrived late, ``Window.after_close``) folds into the hour's first, as its verdict does
    (``stream.scoring.retro.first_verdicts``)."""
    return [w for w, _ in first_verdicts([(w, _UNSCORED) for w in windows])]


_UNSCORED = WindowScore(0.0)


@dataclass(slots=True)
class LabeledWindows:
    """Windows with per-window labels and, per span, the windows it overlaps."""

    name: str
    windows: list[Window]
    spans: list[LabeledSpan]
    user_days: float
    cheat_family: list[str | None]
    legit_family: list[str | None]
    span_windows: list[list[int]]
    cheat_overlap_ns: list[int] = field(default_factory=list)  # longest cheat overlap per window

    @property
    def normal(self) -> npt.NDArray[np.bool_]:
        return np.array(
            [
                c is None and lg is None
                for c, lg in zip(self.cheat_family, self.legit_family, strict=True)
            ],
            dtype=bool,
        )

    def family_mask(self, family: str) -> npt.NDArray[np.bool_]:
        return np.array([c == family for c in self.cheat_family], dtype=bool)


def label(
    name: str, windows: list[Window], spans: list[LabeledSpan], user_days: float
) -> LabeledWindows:
    by_user: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(windows):
        by_user[w.user_id].append(i)
    cheat: list[str | None] = [None] * len(windows)
    legit: list[str | None] = [None] * len(windows)
    span_windows: list[list[int]] = []
    overlap = [0] * len(windows)
    for span in spans:
        hit = [
            i
            for i in by_user.get(span.user_id, [])
            if windows[i].start_ns < span.end_ns and span.start_ns < windows[i].end_ns
        ]
        span_windows.append(hit)
        for i in hit:
            if span.cheat:
                cheat[i] = cheat[i] or span.family
                shared = min(span.end_ns, windows[i].end_ns) - max(
                    span.start_ns, windows[i].start_ns
                )
                overlap[i] = max(overlap[i], shared)
            else:
                legit[i] = legit[i] or span.family
    return LabeledWindows(name, windows, spans, user_days, cheat, legit, span_windows, overlap)
