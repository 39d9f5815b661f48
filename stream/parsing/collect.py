"""Groups points parsed one by one into columnar batches (one per channel, source and manual flag).

The per-point path is the exception (single-point events, broken messages, Health Connect records);
a well-formed Dataset never comes here, it is converted column-wise in ``google_fit``.
"""

from __future__ import annotations

import numpy as np

from stream.points import Channel, ParseResult, PointBatch

_Key = tuple[Channel, str, bool]


class Collector:
    """Accumulates accepted points, ignored counts and rejections for one user."""

    __slots__ = ("_groups", "result", "user_id")

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.result = ParseResult()
        self._groups: dict[_Key, tuple[list[int], list[int], list[float], list[int]]] = {}

    def add(
        self,
        channel: Channel,
        source: str,
        manual: bool,
        start: int,
        end: int,
        value: float,
        record: int = 0,
    ) -> None:
        """``record``: the hash of the record the point came from (0: none; ``PointBatch``)."""
        group = self._groups.get((channel, source, manual))
        if group is None:
            group = self._groups[(channel, source, manual)] = ([], [], [], [])
        group[0].append(start)
        group[1].append(end)
        group[2].append(value)
        group[3].append(record)

    def finish(self) -> ParseResult:
        for (channel, source, manual), (starts, ends, values, records) in self._groups.items():
            self.result.batches.append(
                PointBatch(
                    self.user_id,
                    channel,
                    source,
                    np.array(starts, dtype=np.int64),
                    np.array(ends, dtype=np.int64),
                    np.array(values, dtype=np.float64),
                    manual,
                    np.array(records, dtype=np.int64) if any(records) else None,
                )
            )
        self._groups = {}
        return self.result
