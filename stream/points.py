"""The units every later stage works on: parsed points and rejections.

A parser turns one Kafka message (or file) into ``PointBatch`` objects, each holding the points of
one user, one channel and one data source, in columnar numpy form so a 100-point Google Fit
``Dataset`` is handled with a few vector operations rather than 100 Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt


class Channel(IntEnum):
    """The three signals detection runs on; the value is the row in a window array."""

    STEPS = 0
    DISTANCE = 1
    SPEED = 2


CHANNEL_NAMES: tuple[str, ...] = ("steps", "distance", "speed")

DATA_TYPE_CHANNELS: dict[str, Channel] = {
    "com.google.step_count.delta": Channel.STEPS,
    "com.google.distance.delta": Channel.DISTANCE,
    "com.google.speed": Channel.SPEED,
}


@dataclass(slots=True)
class PointBatch:
    """Points of one user, one channel and one source, as parallel arrays.

    ``start_ns``/``end_ns`` are int64 Unix nanoseconds (``end_ns >= start_ns``; a speed sample has
    ``start_ns == end_ns`` or a span it was averaged over). ``value`` is steps, metres or m/s.
    ``manual`` is true for manually entered data (Health Connect ``MANUAL_ENTRY``, Google Fit
    ``user_input`` sources), which detection treats as a signal of its own.
    """

    user_id: str
    channel: Channel
    source: str
    start_ns: npt.NDArray[np.int64]
    end_ns: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    manual: bool = False

    def __len__(self) -> int:
        return int(self.start_ns.shape[0])


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an input (or part of one) was refused; ``code`` is stable and goes to the DLQ."""

    code: str
    detail: str
    user_id: str | None = None


@dataclass(slots=True)
class ParseResult:
    """Everything one message or file yielded: accepted batches, ignored points, rejections."""

    batches: list[PointBatch] = field(default_factory=list)
    ignored: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.batches.extend(other.batches)
        self.ignored += other.ignored
        self.rejections.extend(other.rejections)

    @property
    def point_count(self) -> int:
        return sum(len(b) for b in self.batches)
