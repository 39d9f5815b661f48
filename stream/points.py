"""The units every later stage works on: parsed points and rejections.

A parser turns one Kafka message (or file) into ``PointBatch`` objects, each holding the points of
one user, one channel and one data source, in columnar numpy form so a 100-point Google Fit
``Dataset`` is handled with a few vector operations rather than 100 Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    ``record_ids``: per point, a 63-bit hash of the record it came from (Health Connect's
    ``metadata.id``; 0: none), so that a record updated in place is known as the same record
    (``UserBuffer.revise``); None when no point has one (Google Fit data).
    """

    user_id: str
    channel: Channel
    source: str
    start_ns: npt.NDArray[np.int64]
    end_ns: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    manual: bool = False
    record_ids: npt.NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return int(self.start_ns.shape[0])


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an input (or part of one) was refused; ``code`` is stable and goes to the DLQ."""

    code: str
    detail: str
    user_id: str | None = None


class ParseResult:
    """Everything one message or file yielded: accepted batches, ignored points, rejections.

    A plain class rather than a dataclass: one is built per message, and the compiled hot path
    (``stream.native``) runs a written ``__init__`` natively, a generated one as Python.
    """

    __slots__ = ("batches", "ignored", "rejections")

    def __init__(
        self,
        batches: list[PointBatch] | None = None,
        ignored: int = 0,
        rejections: list[Rejection] | None = None,
    ) -> None:
        self.batches: list[PointBatch] = [] if batches is None else batches
        self.ignored: int = ignored
        self.rejections: list[Rejection] = [] if rejections is None else rejections

    def extend(self, other: ParseResult) -> None:
        self.batches.extend(other.batches)
        self.ignored += other.ignored
        self.rejections.extend(other.rejections)

    @property
    def point_count(self) -> int:
        return sum(len(b) for b in self.batches)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParseResult):
            return NotImplemented
        return (self.batches, self.ignored, self.rejections) == (
            other.batches,
            other.ignored,
            other.rejections,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (
            f"ParseResult(batches={self.batches!r}, ignored={self.ignored}, "
            f"rejections={self.rejections!r})"
        )


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
        self.record_ids = None
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


def cut_by_start(batch: PointBatch, span_ns: int) -> list[tuple[int, PointBatch]]:
    """``batch`` cut into pieces by the ``span_ns``-long interval (from the epoch) each point
    starts in: ``(interval number, piece)`` in time order, every point in one piece."""
    if type(batch) is SinglePoint:  # compiled, its arrays are not there to read
        return [(batch.start // span_ns, batch)]
    spans = batch.start_ns // span_ns
    out: list[tuple[int, PointBatch]] = []
    for k in np.unique(spans).tolist():
        keep = spans == k
        ids = batch.record_ids
        piece = PointBatch(
            batch.user_id,
            batch.channel,
            batch.source,
            batch.start_ns[keep],
            batch.end_ns[keep],
            batch.value[keep],
            batch.manual,
            None if ids is None else ids[keep],
        )
        out.append((int(k), piece))
    return out


def record_ids_of(batches: list[PointBatch]) -> npt.NDArray[np.int64] | None:
    """The record ids of ``batches`` joined in order (0 where a batch has none); None if none
    has any: what a batch built by concatenating them carries."""
    if all(b.record_ids is None for b in batches):
        return None
    return np.concatenate(
        [np.zeros(len(b), np.int64) if b.record_ids is None else b.record_ids for b in batches]
    )
