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


class SinglePoint(PointBatch):
    """A batch of exactly one point, held as Python scalars.

    The single-point event is the most frequent message; three 1-element numpy arrays cost more
    than parsing it. ``UserBuffer.add`` reads ``start``/``end``/``amount`` directly; anything
    else sees an ordinary ``PointBatch`` (the arrays are built on first access, never stored).
    """

    __slots__ = ("amount", "end", "start")

    def __init__(
        self,
        user_id: str,
        channel: Channel,
        source: str,
        start: int,
        end: int,
        amount: float,
        manual: bool = False,
    ) -> None:
        self.user_id = user_id
        self.channel = channel
        self.source = source
        self.manual = manual
        self.start = start
        self.end = end
        self.amount = amount

    @property
    def start_ns(self) -> npt.NDArray[np.int64]:  # type: ignore[override]
        return np.array((self.start,), dtype=np.int64)

    @property
    def end_ns(self) -> npt.NDArray[np.int64]:  # type: ignore[override]
        return np.array((self.end,), dtype=np.int64)

    @property
    def value(self) -> npt.NDArray[np.float64]:  # type: ignore[override]
        return np.array((self.amount,), dtype=np.float64)

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return (
            f"SinglePoint({self.user_id!r}, {self.channel!r}, {self.source!r}, {self.start}, "
            f"{self.end}, {self.amount}, manual={self.manual})"
        )
