"""One user's incremental buffer on the event-time grid, and the windows it completes.

Lifecycle (like a Bytewax stateful operator): ``add`` a batch of points, ``pop_complete`` the
windows event time has finished, ``preview`` the open ones on wall-clock idleness (the worker's
idle flush: they stay open), ``flush`` them at the end of a finite input, ``to_bytes`` /
``from_bytes`` for the worker's changelogged table, and drop the object to expire the user.

Rules (the README copies them):

- **Bins.** Step and distance deltas are spread over the bins their ``[start, end)`` overlaps in
  proportion to the overlap (whole steps by largest remainder, metres in float64), so totals are
  conserved exactly; a zero-length delta lies wholly in its bin. A speed sample is counted once,
  in the bin of its midpoint. A step point of ``LONG_POINT_NS`` or more, or a distance point of
  ``LONG_DISTANCE_POINT_NS`` or more, is spread the same way, but a bin only such points hold
  has that channel's mask False: counted, not measured minute by minute (they go to the
  source's twin entry, which shares its priority).
- **Which source counts.** Per bin and channel only the highest-ranked source that touched it
  counts; its points there add up, a lower source's contribution is shadowed, and a higher source
  arriving later replaces the bin's contents. The result does not depend on arrival order.
  Equal ranks are ordered by the source id, so the order is total.
- **Duplicates.** A point arriving again (same channel, source, start and end) counts once: a
  compact 6-byte key per held point, pruned with the ring. A point whose bins are all shadowed
  by a better source is also counted ``duplicate``.
- **Event time.** The watermark is the latest point end seen (held to the clock: a point
  ending in the future moves it to now only, ``stream.pipeline.apply``). A window ``[s, e)``
  is complete when the watermark reaches ``e + lateness``, and so has the latest step point
  end, or the watermark is ``STEPS_WAIT_NS`` past that (steps synced after the distance of the
  same walk are not late); it is emitted once, in order, and only if it holds data. A point
  whose bins are all in emitted windows is ``late``; a straddling point keeps its part in open
  windows. A batch is applied as one unit: its lateness is judged against the state before it,
  so the order of points inside a batch never matters. A delta spanning more than 7 days is
  counted ``late`` and dropped: no open window can hold it, spreading it over the grid would
  invent a steady pace, and one such event must not cost the worker minutes of work.
- **Speed.** Within a bin, the mean of the best source's samples. Between samples at most
  ``speed_gap_s`` apart the speed is interpolated linearly when the window is emitted, also across
  window edges (the last sample before the window, samples after it that have arrived by then: a
  sample arriving more than ``lateness - speed_gap`` late only reaches the next window); a longer
  gap stays missing (mask False), never invented.
- **Memory.** Only bins of open windows are held (a ring of at most ``window + lateness`` bins, 20
  bytes each, two hours more while steps lag, grown as event time advances and cut as windows
  close, never over-allocated), plus 6 bytes per held point and 8 per source, so state per
  user is bounded however long the stream (about 1.9 KB for half an hour of one-minute data in
  three channels, 4.4 KB at the largest ring: ``lifeup bench ingest``).
  The worker expires idle users by wall clock itself (``has_open_data`` says whether a flush is
  still due).

The grid (``stream.grid``) and why: one-minute bins, because cadence is counted per minute (a
human walks or runs at most ~250 steps/min; Google Fit deltas last seconds to a minute, so a
minute holds one or a few of them) and an hour of them is a 3 x 60 model input; tumbling one-hour
windows aligned to UTC hours, one verdict per user-hour as the earlier API gave; 15 minutes of
lateness, because phones sync in batches minutes apart and a window's alert should still come
within a quarter of an hour of its end; speed interpolated across at most 5 minutes, beyond which
a walker may well have stopped, so a straight line would invent movement.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt

from stream import interpolation as ip
from stream import point_keys as pk
from stream import revisions
from stream import source_table as st
from stream.grid import DEFAULT_GRID, GridSpec
from stream.points import Channel, PointBatch, SinglePoint
from stream.scoring import replay
from stream.scoring.checks.rhythm import STILL_SPEED
from stream.source_table import ENT, SHADOWED, USED
from stream.windows import Window, WindowTotals

STEPS: Final = int(Channel.STEPS)
DISTANCE: Final = int(Channel.DISTANCE)
SPEED: Final = int(Channel.SPEED)

RECORD: Final = np.dtype(
    [("dist", "<f8"), ("steps", "<i4"), ("ssum", "<f4"), ("scnt", "u1"), ("src", "u1", (3,))]
)
"""One bin: metres, steps, speed sum and sample count of the winning source, and per channel the
entry of the winning source (0: nothing touched the bin)."""
REC: Final = RECORD.itemsize  # 20 bytes
_SRC: Final = 17  # offset of the three source bytes inside a record
_HEADER: Final = struct.Struct("<qdqqdq")
"""Emitted totals (steps, metres, speed samples), the last emitted speed sample (bin, m/s), and
the bin before which every window has been emitted."""
_DONE: Final = struct.Struct("<q")
_DONE_AT: Final = 40
HEAD: Final = _HEADER.size
_STEPS_AT: Final = struct.Struct("<i")
_DIST_AT: Final = struct.Struct("<d")
_SPEED_AT: Final = struct.Struct("<fB")
# reading two adjacent bins at once (never for writing: packing pads with zero bytes)
_STEPS_PAIR: Final = struct.Struct(f"<i{REC - 4}xi")
_DIST_PAIR: Final = struct.Struct(f"<d{REC - 8}xd")
_MAX_SAMPLES: Final = 255  # speed samples per bin and source that enter the mean (>4 Hz)
MAX_POINT_S: Final = 7 * 86_400  # a longer delta is counted late (see the module docstring)
_SCALAR_BINS: Final = 8  # a single point over fewer bins takes the plain-Python path
_STEPS_MAX: Final = 2**31 - 1  # steps per bin saturate here (int32): no human, no overflow
_NO_BIN: Final = -(1 << 62)
LONG_POINT_NS: Final = 5 * 60 * 1_000_000_000
"""A step point lasting this long or longer is spread evenly over its minutes, so those minutes
were not counted one by one: an hourly REST aggregate bucket, a watch app's 15-minute interval,
a Health Connect record of an hour. Such points are deposited under their source's twin entry
(``stream.source_table``, the same priority: their steps add up with the source's other
points), and a bin whose steps come from long points alone has its steps mask False: the count
is there, but no per-minute rhythm can be read from it (``Window.mask``)."""
LONG_DISTANCE_POINT_NS: Final = 30 * 60 * 1_000_000_000
"""The same for distance, from half an hour: an hour's REST bucket, a day's Health Connect
record. Spread evenly, such a point puts the metres of a walk into the quiet minutes around it
(and a day's total into the night), where no minute-by-minute rule can place them; the metres
are counted, the bins' distance mask is False. Shorter points (a phone's GPS distance comes in
points of up to ~15 minutes) stay measured: the rules confirm what their minutes say by the
totals of the spans around them."""
STEPS_WAIT_NS: Final = 2 * 3600 * 1_000_000_000
"""How far event time may run ahead of the user's steps before windows close without them.
Steps and distance often reach Google Fit or Health Connect in separate syncs (a phone's
pedometer and its GPS, a watch app and the phone): a walk's metres may arrive an hour before
its steps. Closed on the distance alone, the walk's hour reads as metres walked without a step.
So a window closes when event time has passed its end plus the lateness both in all channels
and in the steps (``_closing``), or, for a user whose steps stay silent (no walk since, a GPS
left running, a spoofed route), once all channels are this far past it: such windows' alerts
come up to two hours (of event time) later, and steps lagging further are still late."""
_NO_STEPS: Final = -2  # ``_swm`` before any step point (-1 was the snapshot's reserved field)
_NEVER_NS: Final = 1 << 62
_MOVED: Final = struct.Struct("<qQ")  # a window's start (ns) and its bins GPS saw moving
MOVED_WINDOWS: Final = 48
"""Windows whose moving bins are kept (``UserBuffer.moved_in``): the last two days' hours with
GPS movement, for points that arrive up to about that late."""
TAIL_BINS: Final = 30  # bins of a window carried as the next window's look-behind
_TAIL_END: Final = struct.Struct("<q")  # the bin where the carried tail ends
_F16_MAX: Final = 65_504.0
# What ``ndarray.max/min/sum`` call, without their Python-level wrapper (~1 us each, and the hot
# path makes dozens a message): same reductions, same bits.
_max: Final = np.maximum.reduce
_min: Final = np.minimum.reduce
_sum: Final = np.add.reduce


class _Plan:
    """A grid's numbers in the form the hot path uses them; one shared object per grid."""

    __slots__ = (
        "bin_ns",
        "cap",
        "gap_bins",
        "grid",
        "hop_bins",
        "lateness_ns",
        "max_point_bins",
        "window_bins",
    )

    def __init__(self, grid: GridSpec) -> None:
        self.grid = grid
        self.bin_ns = grid.bin_ns
        self.window_bins = grid.window_bins
        self.hop_bins = grid.hop_bins
        self.lateness_ns = grid.lateness_ns
        self.gap_bins = grid.speed_gap_s // grid.bin_s
        self.max_point_bins = MAX_POINT_S // grid.bin_s
        # bins the ring needs at most between events: one window plus the lateness
        self.cap = grid.window_bins + -(-grid.lateness_s // grid.bin_s) + 1


_PLANS: dict[GridSpec, _Plan] = {}


def _plan_of(grid: GridSpec) -> _Plan:
    plan = _PLANS.get(grid)
    if plan is None:
        plan = _PLANS[grid] = _Plan(grid)
    return plan


@dataclass(frozen=True, slots=True)
class AddResult:
    """Point counts of one ``add`` by the outcome label of ``lifeup_events_total``."""

    accepted: int = 0
    duplicate: int = 0
    late: int = 0
    refused: int = 0
    """Points of a source that the user's full source table (``MAX_SOURCE_ENTRIES``) has no
    room for: ``rejected``, code ``too_many_sources`` (``stream.pipeline``)."""


_LATE1: Final = AddResult(late=1)
_DUP1: Final = AddResult(duplicate=1)
_OK1: Final = AddResult(accepted=1)
_REFUSED1: Final = AddResult(refused=1)


class _Rare:
    """The parts of a user's state that are usually absent (see ``UserBuffer._set_rare``)."""

    __slots__ = ("late", "manual", "moved", "pending", "records", "repeats")

    def __init__(
        self,
        manual: dict[int, int] | None,
        pending: list[Window] | None,
        repeats: dict[int, dict[int, int]] | None,
        records: bytes | None,
        late: UserBuffer | None,
        moved: bytes | None,
    ) -> None:
        self.manual = manual
        self.pending = pending
        self.repeats = repeats
        self.records = records
        self.late = late
        self.moved = moved


class UserBuffer:
    """The grid state of one user: open bins, point keys, source table, pending windows."""

    __slots__ = (
        "_base",
        "_buf",
        "_keys",
        "_meta",
        "_names",
        "_plan",
        "_prints",
        "_rare",
        "_swm",
        "_tail",
        "_wm",
        "user_id",
    )

    def __init__(self, user_id: str, grid: GridSpec = DEFAULT_GRID) -> None:
        if not 0 < grid.hop_bins <= grid.window_bins:
            raise ValueError("hop_bins must be between 1 and window_bins")
        self.user_id = user_id
        self._plan = _plan_of(grid)
        self._base = _NO_BIN  # first bin of the ring (a window start); placed by the first point
        self._wm = -1
        self._swm = _NO_STEPS  # the latest step point end (``STEPS_WAIT_NS``)
        self._buf = bytearray(_HEADER.pack(0, 0.0, 0, _NO_BIN, 0.0, _NO_BIN))
        self._keys = b""  # 6 bytes per held point; immutable, so never over-allocated
        self._meta = st.NO_SOURCE  # entry 0 alone
        self._names: tuple[str, ...] = st.NO_NAMES
        self._prints = b""  # step-point tails and recent gram fingerprints (stream.scoring.replay)
        self._rare: _Rare | None = None  # state most users hold none of, most of the time
        self._tail = b""  # the last emitted window's last bins (``_with_context``)

    # ------------------------------------------------------------------ rare state
    # Manual-point counts, windows awaiting ``pop_complete``, replay marks, the latest Health
    # Connect record of each source, the buffer of late points and the minutes GPS saw moving
    # share one optional object: most users hold none of them at rest, and six slots would cost
    # every user 48 bytes.

    @property
    def _manual(self) -> dict[int, int] | None:  # window start bin -> manual points
        return None if self._rare is None else self._rare.manual

    @_manual.setter
    def _manual(self, value: dict[int, int] | None) -> None:
        self._set_rare(value, self._pending, self._repeats, self._revisions, self.late, self._moved)

    @property
    def _pending(self) -> list[Window] | None:
        return None if self._rare is None else self._rare.pending

    @_pending.setter
    def _pending(self, value: list[Window] | None) -> None:
        self._set_rare(self._manual, value, self._repeats, self._revisions, self.late, self._moved)

    @property
    def _repeats(self) -> dict[int, dict[int, int]] | None:  # window -> shift -> repeated grams
        return None if self._rare is None else self._rare.repeats

    @_repeats.setter
    def _repeats(self, value: dict[int, dict[int, int]] | None) -> None:
        self._set_rare(self._manual, self._pending, value, self._revisions, self.late, self._moved)

    @property
    def _revisions(self) -> bytes | None:  # the latest records of each source (``revise``)
        return None if self._rare is None else self._rare.records

    @_revisions.setter
    def _revisions(self, value: bytes | None) -> None:
        self._set_rare(self._manual, self._pending, self._repeats, value, self.late, self._moved)

    @property
    def late(self) -> UserBuffer | None:
        """The points that arrived after their hours had closed, gathered across messages in a
        buffer of their own (``stream.late``); None when there are none."""
        return None if self._rare is None else self._rare.late

    @late.setter
    def late(self, value: UserBuffer | None) -> None:
        self._set_rare(
            self._manual, self._pending, self._repeats, self._revisions, value, self._moved
        )

    @property
    def _moved(self) -> bytes | None:  # (window start ns, bins with GPS moving) per window
        return None if self._rare is None else self._rare.moved

    @_moved.setter
    def _moved(self, value: bytes | None) -> None:
        self._set_rare(
            self._manual, self._pending, self._repeats, self._revisions, self.late, value
        )

    def _set_rare(
        self,
        manual: dict[int, int] | None,
        pending: list[Window] | None,
        repeats: dict[int, dict[int, int]] | None,
        records: bytes | None,
        late: UserBuffer | None,
        moved: bytes | None,
    ) -> None:
        if (
            manual is None
            and pending is None
            and repeats is None
            and records is None
            and late is None
            and moved is None
        ):
            self._rare = None
        elif self._rare is None:
            self._rare = _Rare(manual, pending, repeats, records, late, moved)
        else:
            rare = self._rare
            rare.manual, rare.pending, rare.repeats, rare.records = (
                manual,
                pending,
                repeats,
                records,
            )
            rare.late, rare.moved = late, moved

    # ------------------------------------------------------------------ accessors

    @property
    def grid(self) -> GridSpec:
        return self._plan.grid

    @property
    def watermark_ns(self) -> int | None:
        """Latest point end seen (event time), None before the first point."""
        return self._wm if self._wm >= 0 else None

    @property
    def held_bins(self) -> int:
        """Bins held in the ring: bounded by window + lateness however long the stream."""
        return (len(self._buf) - HEAD) // REC

    @property
    def has_open_data(self) -> bool:
        """True while ``flush`` would emit something; a user without it can be dropped."""
        return bool(self._pending) or self._ring_has_data()

    def totals(self) -> WindowTotals:
        """De-duplicated totals since creation: emitted windows plus the open bins."""
        steps, dist, samples, _, _, _ = _HEADER.unpack_from(self._buf)
        rec = self._records()
        steps += int(rec["steps"].sum(dtype=np.int64))
        dist += float(rec["dist"].sum())
        samples += int(rec["scnt"].sum(dtype=np.int64))
        return WindowTotals(steps=steps, distance_m=dist, speed_samples=samples)

    def sources(self) -> tuple[list[str], list[str]]:
        """(used, shadowed) source ids since creation: counted in at least one bin, and outranked
        wherever they reported (a source whose points were all late or repeats is in neither)."""
        used = self._used_entries()
        shadowed = st.flagged_entries(self._names, self._meta, SHADOWED) - used
        names_used = {self._names[i] for i in used}
        names_shadowed = {self._names[i] for i in shadowed}
        return sorted(names_used), sorted(names_shadowed - names_used)

    # ------------------------------------------------------------------ adding points

    def add(self, batch: PointBatch, rank: int, defer: bool = False) -> AddResult:
        """Adds one batch (one channel, one source); cost grows with the bins its points touch.
        ``defer``: the batch is one of several arriving together (one message): event time is
        not moved on, so no window closes and none of them is late to another, until
        ``settle``."""
        if type(batch) is SinglePoint:  # the single-point event: scalars, no numpy
            channel = int(batch.channel)
            entry = self._entry_of(batch, channel, rank)
            return self._add_one(
                entry, channel, batch.start, batch.end, batch.amount, batch.manual, defer
            )
        start_ns = batch.start_ns
        n = start_ns.shape[0]
        if n == 0:
            return AddResult()
        channel = int(batch.channel)
        entry = self._entry_of(batch, channel, rank)
        if n == 1:
            return self._add_one(
                entry,
                channel,
                int(start_ns.item(0)),
                int(batch.end_ns.item(0)),
                float(batch.value.item(0)),
                batch.manual,
                defer,
            )
        return self._add_many(entry, channel, batch, defer)

    def revise(self, batch: PointBatch, rank: int) -> tuple[PointBatch, int]:
        """``batch`` with Health Connect records updated in place resolved
        (``stream.revisions``): the batch to add, and how many of its points are duplicates."""
        ids = batch.record_ids
        # a run cut from a mix of Health Connect and Google Fit inputs may carry ids all 0
        if ids is None or int(batch.channel) == SPEED or not ids.any():
            return batch, 0
        entry = self._entry_of(batch, int(batch.channel), rank)
        if not entry:  # the source table is full: its points are refused by ``add``
            return batch, 0
        memory, revised, dropped = revisions.revise(self._revisions or b"", entry, batch)
        self._revisions = memory or None
        return revised, dropped

    def settle(self, latest_end_ns: int, latest_steps_end_ns: int) -> None:
        """Ends a message added with ``defer``: event time moves on to its latest point end
        (and that of its step points), and the windows it completes close."""
        moved = False
        if latest_steps_end_ns > self._swm:
            self._swm = latest_steps_end_ns
            moved = True
        if latest_end_ns > self._wm:
            self._wm = latest_end_ns
            moved = True
        if moved:
            self._advance(None, self._wm)

    def _add_one(
        self,
        entry: int,
        channel: int,
        start: int,
        end: int,
        value: float,
        manual: bool,
        defer: bool = False,
    ) -> AddResult:
        """The single-point event: plain Python ints and struct, no numpy on the common path.
        A long point (``_long_ns``) is deposited under the twin entry (its key and
        fingerprint stay the source's own)."""
        plan = self._plan
        bin_ns = plan.bin_ns
        if channel == SPEED:
            first = last = ((start + end) >> 1) // bin_ns
        else:
            first = start // bin_ns
            last = (end - 1) // bin_ns if end > start else first
        base = self._base
        if first >= base and len(self._buf) > HEAD:
            floor = base  # the ring's first window is open, so nothing here is late
        else:
            floor = self._late_before()
            if last < floor:
                return _LATE1
        if last - first >= plan.max_point_bins:
            return _LATE1
        key = pk.point_key(entry, start, end, last)
        if pk.holds(self._keys, key):
            return _DUP1
        if entry == 0:  # the source table is full: count it, never corrupt state
            return _REFUSED1
        if channel == STEPS:
            shift, self._prints = replay.observe_one(self._prints, entry, start, end, value)
            if shift >= 0:
                self._mark_repeat(max(first, floor), shift)
        wm = end if end > self._wm and not defer else self._wm
        if channel == STEPS and end > self._swm and not defer:
            self._swm = end
        if end - start >= _long_ns(channel):  # after key and fingerprint
            entry = self._twin(entry)
        if first - base >= plan.cap:
            self._advance(first, wm)
            base = self._base
        if first == last:
            if first < base or len(self._buf) == HEAD:
                self._place(first, first, floor)
                base = self._base
            accepted = self._deposit_one(entry, channel, first - base, value)
        elif last - first == 1 and first >= base and first >= floor:
            cut = last * bin_ns
            a, b = cut - start, end - cut
            if channel == STEPS:
                steps = round(value)
                duration = end - start
                qa, ra = divmod(steps * a, duration)
                qb, rb = divmod(steps * b, duration)
                if qa + qb < steps:
                    if ra >= rb:
                        qa += 1
                    else:
                        qb += 1
                share_a, share_b = float(qa), float(qb)
            else:
                duration = end - start
                share_a, share_b = value * (a / duration), value * (b / duration)
            if len(self._buf) == HEAD:
                self._place(first, last, floor)
                base = self._base
            buf = self._buf
            off = HEAD + (first - base) * REC
            if off + 2 * REC > len(buf):
                buf = self._buf = buf + bytes(off + 2 * REC - len(buf))
            held = off + _SRC + channel
            h_a, h_b = buf[held], buf[held + REC]
            if (h_a == entry or not h_a) and (h_b == entry or not h_b):
                # no other source in these bins: the steady stream of one device
                buf[held] = buf[held + REC] = entry
                if channel == STEPS:
                    was_a, was_b = _STEPS_PAIR.unpack_from(buf, off + 8)
                    _STEPS_AT.pack_into(buf, off + 8, min(was_a + int(share_a), _STEPS_MAX))
                    _STEPS_AT.pack_into(buf, off + 28, min(was_b + int(share_b), _STEPS_MAX))
                else:
                    was_a, was_b = _DIST_PAIR.unpack_from(buf, off)
                    _DIST_AT.pack_into(buf, off, was_a + share_a)
                    _DIST_AT.pack_into(buf, off + REC, was_b + share_b)
                accepted = True
            else:
                got_a = self._deposit_one(entry, channel, first - base, share_a)
                accepted = self._deposit_one(entry, channel, last - base, share_b) or got_a
        elif last - first < _SCALAR_BINS:
            lo = first if first > floor else floor
            self._place(lo, last, floor)
            base = self._base
            shares = ip.split_one(start, end, value, first, last, bin_ns, channel == STEPS)
            accepted = False
            for b in range(lo, last + 1):
                if self._deposit_one(entry, channel, b - base, shares[b - first]):
                    accepted = True
        else:
            counted = self._deposit_many(
                entry,
                channel,
                np.array((first,), np.int64),
                np.array((last,), np.int64),
                np.array((start,), np.int64),
                np.array((end,), np.int64),
                np.array((value,), np.float64),
                wm,
                floor,
            )
            accepted = bool(counted[0])
            base = self._base
        if manual:
            self._count_manual(max(first, floor), last)
        self._wm = wm
        if accepted:
            self._keys = self._keys + key  # exact size: no spare capacity per user
        if not defer and (base + plan.window_bins) * bin_ns + plan.lateness_ns <= wm:
            self._advance(None, wm)
        return _OK1 if accepted else _DUP1

    def _deposit_one(self, entry: int, channel: int, rel: int, value: float) -> bool:
        """Applies one single-bin contribution; False when a better source holds the bin."""
        buf = self._buf
        off = HEAD + rel * REC
        if off >= len(buf):
            buf = self._buf = buf + bytes(off + REC - len(buf))
        holder = buf[off + _SRC + channel]
        meta = self._meta
        if holder != entry and holder and meta[holder * ENT] == meta[entry * ENT]:
            # the source's twin (its long points): one source, the counts add up; a bin that
            # a point of its own measured is measured, whichever came first
            if meta[entry * ENT + 1] == channel:
                buf[off + _SRC + channel] = entry
            holder = entry
        if holder != entry:
            if holder and meta[holder * ENT] > meta[entry * ENT]:
                self._flag(entry, SHADOWED)
                return False
            if holder:
                self._flag(holder, SHADOWED)
            buf[off + _SRC + channel] = entry
            if channel == STEPS:
                _STEPS_AT.pack_into(buf, off + 8, min(int(value), _STEPS_MAX))
            elif channel == DISTANCE:
                _DIST_AT.pack_into(buf, off, value)
            else:
                _SPEED_AT.pack_into(buf, off + 12, value, 1)
            return True
        if channel == STEPS:
            total = _STEPS_AT.unpack_from(buf, off + 8)[0] + int(value)
            _STEPS_AT.pack_into(buf, off + 8, min(total, _STEPS_MAX))
        elif channel == DISTANCE:
            _DIST_AT.pack_into(buf, off, _DIST_AT.unpack_from(buf, off)[0] + value)
        else:
            total, count = _SPEED_AT.unpack_from(buf, off + 12)
            if count < _MAX_SAMPLES:
                _SPEED_AT.pack_into(buf, off + 12, total + value, count + 1)
        return True

    def _add_many(
        self, entry: int, channel: int, batch: PointBatch, defer: bool = False
    ) -> AddResult:
        """A batch of points, vectorised; lateness is judged once, against the state before it
        (with ``defer``, before the message it arrived in)."""
        start = np.asarray(batch.start_ns, dtype=np.int64)
        end = np.asarray(batch.end_ns, dtype=np.int64)
        value = np.asarray(batch.value, dtype=np.float64)
        n = start.shape[0]
        bin_ns = self._plan.bin_ns
        first, last = ip.point_bins(start, end, bin_ns, channel == SPEED)
        floor = self._late_before()
        late = 0
        if int(_min(last)) < floor or int(_max(last - first)) >= self._plan.max_point_bins:
            keep = (last >= floor) & (last - first < self._plan.max_point_bins)
            late = n - int(np.count_nonzero(keep))
            start, end, value = start[keep], end[keep], value[keep]
            first, last = first[keep], last[keep]
        keys = pk.point_keys(entry, start, end, last)
        fresh = pk.fresh(self._keys, keys)
        duplicate = 0 if fresh is None else int(fresh.shape[0] - np.count_nonzero(fresh))
        if duplicate:
            start, end, value = start[fresh], end[fresh], value[fresh]
            first, last, keys = first[fresh], last[fresh], keys[fresh]
        wm = max(self._wm, int(_max(end))) if end.shape[0] and not defer else self._wm
        if entry == 0:  # the source table is full: count them, never corrupt state
            return AddResult(duplicate=duplicate, late=late, refused=int(start.shape[0]))
        if start.shape[0] == 0:
            return AddResult(duplicate=duplicate, late=late)
        if channel == STEPS:
            if not defer:
                self._swm = max(self._swm, int(_max(end)))
            again, shifts, self._prints = replay.observe_many(
                self._prints, entry, start, end, value
            )
            for i, shift in zip(again.tolist(), shifts.tolist(), strict=True):
                self._mark_repeat(max(int(first[i]), floor), shift)
        long = (end - start) >= _long_ns(channel) if channel != SPEED else None
        counted = self._deposit_many(
            entry, channel, first, last, start, end, value, wm, floor, long
        )
        if self._meta[entry * ENT + 2]:
            for b, e in zip(first.tolist(), last.tolist(), strict=True):
                self._count_manual(max(b, floor), e)
        self._wm = wm
        accepted = int(np.count_nonzero(counted))
        if accepted:
            added = pk.as_bytes(keys if accepted == keys.shape[0] else keys[counted])
            self._keys = self._keys + added
        if not defer:
            self._advance(None, wm)
        shadowed = int(counted.shape[0]) - accepted
        return AddResult(accepted=accepted, duplicate=duplicate + shadowed, late=late)

    def _deposit_many(
        self,
        entry: int,
        channel: int,
        first: ip.I64,
        last: ip.I64,
        start: ip.I64,
        end: ip.I64,
        value: ip.F64,
        wm: int,
        floor: int,
        long: npt.NDArray[np.bool_] | None = None,
    ) -> npt.NDArray[np.bool_]:
        """Deposits points in chunks of one window of starts, closing windows no later chunk
        touches, so a batch spanning days never holds more than a window or so of bins.
        ``long``: the step points of ``LONG_POINT_NS`` or more, deposited under the twin."""
        lo = max(int(_min(first)), floor)
        origin = min(self._base, lo) if len(self._buf) > HEAD else lo
        if int(_max(last)) - origin < 4 * self._plan.cap:
            return self._deposit_split(entry, channel, first, last, start, end, value, floor, long)
        order = np.argsort(first, kind="stable")
        counted = np.zeros(first.shape[0], dtype=np.bool_)
        sorted_first = first[order]
        i = 0
        while i < order.shape[0]:
            chunk_start = int(sorted_first[i])
            self._advance(chunk_start, wm)
            j = int(np.searchsorted(sorted_first, chunk_start + self._plan.window_bins, "left"))
            idx = order[i:j]
            counted[idx] = self._deposit_split(
                entry,
                channel,
                first[idx],
                last[idx],
                start[idx],
                end[idx],
                value[idx],
                floor,
                None if long is None else long[idx],
            )
            i = j
        return counted

    def _deposit_split(
        self,
        entry: int,
        channel: int,
        first: ip.I64,
        last: ip.I64,
        start: ip.I64,
        end: ip.I64,
        value: ip.F64,
        floor: int,
        long: npt.NDArray[np.bool_] | None,
    ) -> npt.NDArray[np.bool_]:
        """``_deposit_chunk`` of the points, the long ones (if any) under the twin entry."""
        if long is None or not np.count_nonzero(long):
            return self._deposit_chunk(entry, channel, first, last, start, end, value, floor)
        counted = np.zeros(first.shape[0], dtype=np.bool_)
        for who, these in ((entry, ~long), (self._twin(entry), long)):
            if np.count_nonzero(these):
                counted[these] = self._deposit_chunk(
                    who, channel, first[these], last[these], start[these], end[these],
                    value[these], floor,
                )  # fmt: skip
        return counted

    def _deposit_chunk(
        self,
        entry: int,
        channel: int,
        first: ip.I64,
        last: ip.I64,
        start: ip.I64,
        end: ip.I64,
        value: ip.F64,
        floor: int,
    ) -> npt.NDArray[np.bool_]:
        """Applies the points' contributions bin by bin; returns which points count somewhere."""
        bin_ns = self._plan.bin_ns
        n = first.shape[0]
        widest = int(_max(last - first))
        if widest == 0:
            point: ip.I64 | None = None
            bins = first
            if channel == STEPS:
                share: npt.NDArray[np.float64] | ip.I64 = np.rint(value).astype(np.int64)
            else:
                share = value
        elif widest == 1 and (channel != STEPS or float(_max(value)) <= ip.EXACT_INT_LIMIT):
            point, bins, share = ip.split_two(
                first, last, start, end, value, bin_ns, channel == STEPS
            )
            inside = bins >= floor
            if np.count_nonzero(inside) < inside.shape[0]:
                point, bins, share = point[inside], bins[inside], share[inside]
        else:
            point, bins = ip.expand(first, last)
            if channel == SPEED:  # not reached: a sample has one bin
                share = value[point]
            else:
                overlap = ip.overlap_ns(start[point], end[point], bins, bin_ns)
                duration = np.maximum((end - start)[point], 1)
                overlap = np.where((end == start)[point], 1, overlap)
                if channel == STEPS:
                    share = ip.apportion_counts(
                        np.rint(value).astype(np.int64)[point], point, overlap, duration
                    )
                else:
                    share = ip.apportion_amounts(value[point], overlap, duration)
            inside = bins >= floor
            if np.count_nonzero(inside) < inside.shape[0]:
                point, bins, share = point[inside], bins[inside], share[inside]
        lo_bin, hi_bin = int(_min(bins)), int(_max(bins))
        self._place(lo_bin, hi_bin, floor)
        lo = lo_bin - self._base
        width = hi_bin - lo_bin + 1
        r = bins - lo_bin
        hits = np.bincount(r, minlength=width)
        touched = hits.nonzero()[0]
        amount = np.bincount(r, weights=share, minlength=width)[touched]
        rows = touched + lo
        rec = self._records()
        holders = rec["src"][rows, channel]
        mixed = np.count_nonzero((holders != 0) & (holders != entry))
        if not mixed:  # the usual case: one source here
            if channel == STEPS:
                col = rec["steps"]
                col[rows] = _saturate(col[rows] + np.rint(amount))
            elif channel == DISTANCE:
                rec["dist"][rows] += amount
            else:
                rec["ssum"][rows] += amount
                col_c = rec["scnt"]
                col_c[rows] = np.minimum(col_c[rows] + hits[touched], _MAX_SAMPLES)
            rec["src"][rows, channel] = entry
            return np.ones(n, dtype=np.bool_)
        prio = np.frombuffer(self._meta, dtype=np.uint8)[0::ENT]
        mine = prio[entry]
        held_prio = prio[holders]
        replace = held_prio < mine
        same = held_prio == mine  # this entry, or its twin: one source, the counts add up
        lost = ~(replace | same)
        if channel == STEPS:
            col = rec["steps"]
            col[rows[replace]] = _saturate(np.rint(amount[replace]))
            col[rows[same]] = _saturate(col[rows[same]] + np.rint(amount[same]))
        elif channel == DISTANCE:
            col_d = rec["dist"]
            col_d[rows[replace]] = amount[replace]
            col_d[rows[same]] += amount[same]
        else:
            counts = hits[touched]
            col_s, col_c = rec["ssum"], rec["scnt"]
            col_s[rows[replace]] = amount[replace]
            col_c[rows[replace]] = np.minimum(counts[replace], _MAX_SAMPLES)
            col_s[rows[same]] += amount[same]
            col_c[rows[same]] = np.minimum(col_c[rows[same]] + counts[same], _MAX_SAMPLES)
        if channel != SPEED and self._meta[entry * ENT + 1] == channel:
            # a bin that a point of its own measured is measured, whichever came first
            rec["src"][rows[same], channel] = entry
        if replace.any():
            displaced = holders[replace]
            rec["src"][rows[replace], channel] = entry
            for old in np.unique(displaced[displaced != 0]):
                self._flag(int(old), SHADOWED)
        if not lost.any():
            return np.ones(n, dtype=np.bool_)
        self._flag(entry, SHADOWED)
        position = np.cumsum(hits > 0) - 1
        pair_counts: npt.NDArray[np.bool_] = ~lost[position[r]]
        if point is None:
            return pair_counts
        counted: npt.NDArray[np.bool_] = np.bincount(point, weights=pair_counts, minlength=n) > 0
        return counted

    def reaches_closed(self, batch: PointBatch) -> bool:
        """Whether a point of ``batch`` may lie in a window already closed (``closed_windows``
        says which): one comparison of its earliest start with the last closed window's end,
        so that the pipeline can ask it of every batch. A speed sample's bin is its midpoint's,
        never before its start, so the start bounds every channel."""
        plan = self._plan
        if type(batch) is SinglePoint:  # compiled, its arrays are not there to read
            earliest: int = batch.start
        else:
            starts = batch.start_ns
            n = starts.shape[0]
            if n == 0:
                return False
            # one point (a stream's share of a replayed slice): an item, not a numpy reduction
            earliest = int(starts.item(0)) if n == 1 else int(starts.min())
        first = earliest // plan.bin_ns
        if first >= self._base and len(self._buf) > HEAD and plan.hop_bins == plan.window_bins:
            return False  # in the ring's first window or later, all open (as ``_add_one``)
        # the last closed window starts at floor - hop (floor is on the hop grid)
        return first < self._late_before() - plan.hop_bins + plan.window_bins

    def closed_windows(self, batch: PointBatch) -> dict[int, int]:
        """Per window already closed (its start, ns), how many of ``batch``'s points reach into
        it, judged against the state before ``add``: that window was emitted without them
        (``add`` drops a point's part there as late, or, with hopping windows, keeps it only in
        the open windows that share its bins). The pipeline asks this of manual points only,
        so that an entry typed in after its hours closed still reaches them
        (``stream.pipeline``). Points longer than ``add`` accepts are left out, as ``add``
        drops them whole."""
        plan = self._plan
        floor = self._late_before()
        if type(batch) is SinglePoint:  # compiled, its arrays are not there to read
            spans = [(batch.start, batch.end)]
        else:
            spans = list(zip(batch.start_ns.tolist(), batch.end_ns.tolist(), strict=True))
        speed = int(batch.channel) == SPEED
        wb, hop = plan.window_bins, plan.hop_bins
        out: dict[int, int] = {}
        for start, end in spans:
            b, e = ip.point_bins_one(start, end, plan.bin_ns, speed)
            if e - b >= plan.max_point_bins:
                continue
            # windows [s, s + wb) on the hop grid, closed (s < floor), overlapping [b, e]
            s = max(b - wb + 1, 0)
            s = -(-s // hop) * hop
            while s <= e and s < floor:
                start_ns = s * plan.bin_ns
                out[start_ns] = out.get(start_ns, 0) + 1
                s += hop
        return out

    # ------------------------------------------------------------------ windows

    def pop_complete(self) -> list[Window]:
        """Windows complete by event time since the last call, in order, each exactly once
        (``add`` closes them as the watermark passes; this hands them over)."""
        pending = self._pending
        if pending is None:
            return []
        self._pending = None
        return pending

    def flush(self) -> list[Window]:
        """Every not-yet-emitted window that holds data (idle flush); their points become late.
        Then the open hours of the buffer of late points (``late``), as after-close windows."""
        late = self.flush_late()
        out = self.pop_complete()
        if self._plan.hop_bins == self._plan.window_bins and self._ring_has_data():
            self._emit_ring()
        while self._ring_has_data():
            self._emit_or_skip()
        self._clear()
        out.extend(self._take_pending())
        return out + late

    def preview(self, settled: bool = False) -> list[Window]:
        """The windows ``flush`` would emit now, this buffer left as it is: the worker's idle
        flush scores a quiet user's open hours and keeps them open, so what the user sends
        after the pause is not late, and each hour is scored again when it completes.

        ``settled``: only the bins before the point where this buffer closes windows
        (``_closing``: the latest step point end, at most ``STEPS_WAIT_NS`` behind): a sync's
        metres may come a message before its steps, and are not judged without them."""
        copy = UserBuffer.from_bytes(self.to_bytes())
        copy._pending = None  # complete windows not yet taken are this buffer's to emit
        if settled and len(copy._buf) > HEAD:
            cut = -(-copy._closing(copy._wm) // copy._plan.bin_ns)  # bins begun before it
            del copy._buf[HEAD + max(0, cut - copy._base) * REC :]
        return copy.flush()

    @property
    def first_open_ns(self) -> int:
        """Where the windows still open begin: every window starting before it has closed."""
        return self._late_before() * self._plan.bin_ns

    def flush_late(self) -> list[Window]:
        """The open hours of ``late``, which is then dropped: those of hours closed here, as
        after-close windows (a late point reaching past them put the rest there)."""
        late = self.late
        if late is None:
            return []
        self.late = None
        first_open = self.first_open_ns
        return self.after_close([w for w in late.flush() if w.start_ns < first_open])

    def after_close(self, windows: list[Window], provisional: bool = False) -> list[Window]:
        """``windows`` of the buffer of late points as this user's after-close windows, with
        the minutes that the hour's on-time GPS saw moving (``moved_in``)."""
        return [
            replace(w, after_close=True, provisional=provisional, moved=self.moved_in(w.start_ns))
            for w in windows
        ]

    def _take_pending(self) -> list[Window]:
        pending = self._pending or []
        self._pending = None
        return pending

    def _place(self, lo_bin: int, hi_bin: int, floor: int) -> None:
        """Makes the ring cover bins ``lo_bin..hi_bin``: placed afresh when empty, extended
        backwards for a point older than the ring (never before ``floor``), forwards as needed."""
        buf = self._buf
        if len(buf) == HEAD:
            self._base = max(self._window_of(lo_bin), floor)
        elif lo_bin < self._base:
            new_base = max(self._window_of(lo_bin), floor)
            buf[HEAD:HEAD] = bytes((self._base - new_base) * REC)
            self._base = new_base
        need = HEAD + (hi_bin - self._base + 1) * REC
        if need > len(buf):
            self._buf = buf + bytes(need - len(buf))

    def _closing(self, wm: int) -> int:
        """Event time as far as closing windows goes: the watermark ``wm``, held back to the
        latest step point end, but never more than ``STEPS_WAIT_NS`` behind ``wm``."""
        swm = self._swm
        if swm >= wm:
            return wm
        held = wm - STEPS_WAIT_NS
        return swm if swm > held else held

    def _late_before(self) -> int:
        """First bin still open: bins before it are in emitted windows or windows complete by
        the watermark (``_closing``; whether or not they held data)."""
        wm = self._wm
        done: int = _DONE.unpack_from(self._buf, _DONE_AT)[0]
        if wm < 0:
            return done
        wm = self._closing(wm)
        plan = self._plan
        oldest = (wm - plan.lateness_ns) // plan.bin_ns + 1 - plan.window_bins
        oldest = -(-oldest // plan.hop_bins) * plan.hop_bins
        return oldest if oldest > done else done

    def _advance(self, upto_bin: int | None, wm: int) -> None:
        """Emits windows complete under watermark ``wm``; with ``upto_bin``, only those whose
        bins (and speed context) lie before it, as later points of the batch may still touch
        the rest. A ring without data is dropped at once, however far event time jumped."""
        plan = self._plan
        wb, bin_ns, gap, lateness = plan.window_bins, plan.bin_ns, plan.gap_bins, plan.lateness_ns
        wm = self._closing(wm)
        while len(self._buf) > HEAD:
            base = self._base
            if (base + wb) * bin_ns + lateness > wm:
                return
            if upto_bin is not None and base + wb + gap > upto_bin:
                return
            if not self._ring_has_data():
                self._clear()
                return
            self._emit_or_skip()

    def _clear(self) -> None:
        """Drops an empty ring; its keys belong to emitted points only."""
        del self._buf[HEAD:]
        self._keys = b""

    def _emit_or_skip(self) -> None:
        """Emits the window at the ring's base if it holds data, then moves the ring one hop."""
        base = self._base
        plan = self._plan
        wb, hop = plan.window_bins, plan.hop_bins
        rec = self._records()
        held = rec.shape[0]
        counts = rec["scnt"]
        src = rec["src"][:wb]
        after = rec[wb:]
        if np.count_nonzero(src):
            if self._pending is None:
                self._pending = []
            window = self._check_replay(self._build_window(base, rec, counts, src), after)
            self._pending.append(self._with_context(window, after))
            self._note_moved(window)
        # the last speed sample leaving the ring is the left context of later windows
        sampled = counts[:hop].nonzero()[0]
        if sampled.shape[0]:
            k = int(sampled[-1])
            mean = float(rec["ssum"][k]) / int(counts[k])
            head = _HEADER.unpack_from(self._buf)
            del rec, counts, src, after
            _HEADER.pack_into(self._buf, 0, head[0], head[1], head[2], base + k, mean, head[5])
        else:
            del rec, counts, src, after
        del self._buf[HEAD : HEAD + min(hop, held) * REC]
        self._base = base + hop
        _DONE.pack_into(self._buf, _DONE_AT, base + hop)
        if self._manual:
            self._manual.pop(base, None)
            if not self._manual:
                self._manual = None
        if self._keys:
            self._keys = pk.pruned(self._keys, self._base)

    def _emit_ring(self) -> None:
        """``_emit_or_skip`` for every window of the ring at once (tumbling windows): what a
        flush does, with one set of array operations instead of a dozen per window."""
        plan = self._plan
        wb, gap, bin_ns = plan.window_bins, plan.gap_bins, plan.bin_ns
        base = self._base
        rec = self._records()
        held = rec.shape[0]
        k = -(-held // wb)
        full = np.zeros(k * wb, dtype=RECORD)
        full[:held] = rec
        del rec
        src = full["src"]
        has = np.any(src.reshape(k, wb * 3), axis=1).astype(np.bool_)
        n_win = int(np.flatnonzero(has)[-1]) + 1  # the per-window loop stops after the last
        counts = full["scnt"]
        at = np.flatnonzero(counts)
        means = full["ssum"][at] / counts[at]
        e_steps, e_dist, e_samples, prev_bin, prev_mean, _ = _HEADER.unpack_from(self._buf)
        if at.shape[0]:
            j = int(at[-1])  # the last sample leaving the ring: left context of later windows
            last_bin, last_mean = base + j, float(full["ssum"][j]) / int(counts[j])
        else:
            last_bin, last_mean = prev_bin, prev_mean
        if prev_bin != _NO_BIN:  # a sample before the ring: the left context of its first bins
            at = np.concatenate(([prev_bin - base], at))
            means = np.concatenate(([prev_mean], means))
        speed, speed_mask = ip.interpolate_speed(at, means.astype(np.float64), k * wb, gap)
        values = np.zeros((k, 3, wb), dtype=np.float32)
        mask = np.zeros((k, 3, wb), dtype=np.bool_)
        steps = full["steps"].reshape(k, wb)
        dist = np.ascontiguousarray(full["dist"]).reshape(k, wb)
        values[:, STEPS] = steps
        values[:, DISTANCE] = dist
        values[:, SPEED] = speed.reshape(k, wb)
        mask[:, STEPS] = self._measured(src[:, STEPS]).reshape(k, wb)
        mask[:, DISTANCE] = self._measured(src[:, DISTANCE]).reshape(k, wb)
        mask[:, SPEED] = speed_mask.reshape(k, wb)
        step_sums = steps.sum(axis=1, dtype=np.int64).tolist()
        d_col = full["dist"]  # summed per window exactly as ``_build_window`` sums (same bits)
        dist_sums = [float(d_col[i * wb : min((i + 1) * wb, held)].sum()) for i in range(k)]
        sample_sums = counts.reshape(k, wb).sum(axis=1, dtype=np.int64).tolist()
        for holder in np.flatnonzero(np.bincount(src.ravel())).tolist():
            if holder:
                self._flag(holder, USED)
        manual = self._manual
        pending = self._pending if self._pending is not None else []
        for i in np.flatnonzero(has[:n_win]).tolist():
            start = base + i * wb
            totals = WindowTotals(step_sums[i], dist_sums[i], sample_sums[i])
            e_steps += totals.steps
            e_dist += totals.distance_m
            e_samples += totals.speed_samples
            window = Window(
                self.user_id,
                start * bin_ns,
                (start + wb) * bin_ns,
                values[i],
                mask[i],
                totals,
                manual.get(start, 0) if manual else 0,
            )
            after = full[(i + 1) * wb : (i + 2) * wb]
            pending.append(self._with_context(self._check_replay(window, after), after))
            self._note_moved(window)
        self._pending = pending or None
        if manual:
            for i in range(n_win):
                manual.pop(base + i * wb, None)
            if not manual:
                self._manual = None
        new_base = base + n_win * wb
        _HEADER.pack_into(self._buf, 0, e_steps, e_dist, e_samples, last_bin, last_mean, new_base)
        del self._buf[HEAD : HEAD + min(n_win * wb, held) * REC]
        self._base = new_base
        if self._keys:
            self._keys = pk.pruned(self._keys, self._base)

    def _check_replay(self, window: Window, after: npt.NDArray[np.void]) -> Window:
        """Marks a window holding enough step-point grams seen before (a replayed walk), also
        counting the grams of its neighbours (``replay.replayed_near``: a replay crossing the
        hour, when the walking of its last minute goes on in the first minute after, as far
        as the ring's records ``after`` it know), and forgets the marks of windows before the
        previous one."""
        repeats = self._repeats
        if not repeats:
            return window
        hop = self._plan.hop_bins
        start = window.start_ns // self._plan.bin_ns
        seen = repeats.get(start, {})
        behind = repeats.get(start - hop, {})
        ahead = repeats.get(start + hop, {})
        for old in [k for k in repeats if k < start - hop]:
            del repeats[old]
        if not repeats:
            self._repeats = None
        # its last minute runs into the next (a pause at the hour: a walk that ended there)
        walks_on = bool(window.values[STEPS, -1] > 0) and (
            after.shape[0] == 0 or float(after["steps"][0]) > 0
        )
        if replay.replayed(seen) or replay.replayed_near(seen, behind, ahead, walks_on):
            return replace(window, repeats_earlier=True)
        return window

    def _build_window(
        self,
        base: int,
        rec: npt.NDArray[np.void],
        counts: npt.NDArray[np.uint8],
        src: npt.NDArray[np.uint8],
    ) -> Window:
        """The model's view of the window at ``base``: O(window), once per window."""
        plan = self._plan
        wb, gap = plan.window_bins, plan.gap_bins
        m = src.shape[0]
        values = np.zeros((3, wb), dtype=np.float32)
        mask = np.zeros((3, wb), dtype=np.bool_)
        win = rec[:m]
        steps_col, dist_col = win["steps"], win["dist"]
        values[STEPS, :m] = steps_col
        values[DISTANCE, :m] = dist_col
        mask[STEPS, :m] = self._measured(src[:, STEPS])
        mask[DISTANCE, :m] = self._measured(src[:, DISTANCE])
        context = counts[: wb + gap]
        at = context.nonzero()[0]
        e_steps, e_dist, e_samples, prev_bin, prev_mean, done = _HEADER.unpack_from(self._buf)
        if at.shape[0]:  # else no sample in or after the window: no speed (zeros, mask False)
            means = rec["ssum"][at] / context[at]
            if prev_bin != _NO_BIN and base - prev_bin <= gap:
                at = np.concatenate(([prev_bin - base], at))
                means = np.concatenate(([prev_mean], means))
            speed, speed_mask = ip.interpolate_speed(at, means.astype(np.float64), wb, gap)
            values[SPEED], mask[SPEED] = speed, speed_mask
        steps = int(_sum(steps_col, dtype=np.int64))
        dist = float(_sum(dist_col))
        samples = int(_sum(counts[:m], dtype=np.int64))
        _HEADER.pack_into(
            self._buf,
            0,
            e_steps + steps,
            e_dist + dist,
            e_samples + samples,
            prev_bin,
            prev_mean,
            done,
        )
        for holder in np.bincount(src.ravel()).nonzero()[0].tolist():
            if holder:
                self._flag(holder, USED)
        manual = self._manual.get(base, 0) if self._manual else 0
        bin_ns = plan.bin_ns
        return Window(
            user_id=self.user_id,
            start_ns=base * bin_ns,
            end_ns=(base + wb) * bin_ns,
            values=values,
            mask=mask,
            totals=WindowTotals(steps=steps, distance_m=dist, speed_samples=samples),
            manual_points=manual,
        )

    # ------------------------------------------------------------------ context

    def _with_context(self, window: Window, after: npt.NDArray[np.void]) -> Window:
        """The window with its neighbours' bins for the plausibility checks (``Window.before``,
        ``Window.after``): the carried tail of the previous window when it is adjacent, and the
        records following it in the ring (at most the lateness, NaN-padded to that width so a
        batch's look-aheads stack in one copy); then carries this window's last ``TAIL_BINS``
        bins as float16 (nothing when they hold no point)."""
        plan = self._plan
        start = window.start_ns // plan.bin_ns
        tail = self._tail
        before = None
        if tail and _TAIL_END.unpack_from(tail)[0] == start:
            raw = np.frombuffer(tail, dtype="<f2", offset=_TAIL_END.size)
            before = raw.reshape(3, -1).astype(np.float32)
        width = plan.cap - plan.window_bins
        after = after[:width]
        src = after["src"]
        ahead = (
            _ahead(
                after, src, width, self._measured(src[:, STEPS]), self._measured(src[:, DISTANCE])
            )
            if np.count_nonzero(src)
            else None
        )
        self._tail = _tail_of(window, start + plan.window_bins)
        return Window(
            window.user_id,
            window.start_ns,
            window.end_ns,
            window.values,
            window.mask,
            window.totals,
            window.manual_points,
            window.repeats_earlier,
            before,
            ahead,
        )

    # ------------------------------------------------------------------ helpers

    def _note_moved(self, window: Window) -> None:
        """Keeps which bins of an emitted window GPS saw moving (``STILL_SPEED``), for the
        points of that hour that arrive after it closed (``moved_in``)."""
        speed = window.mask[SPEED]
        if not speed.any() or speed.shape[0] > 64:
            return
        bins = np.flatnonzero(speed & (window.values[SPEED] >= STILL_SPEED)).tolist()
        if not bins:
            return
        bits = 0
        for b in bins:
            bits |= 1 << b
        kept = (self._moved or b"") + _MOVED.pack(window.start_ns, bits)
        self._moved = kept[-MOVED_WINDOWS * _MOVED.size :]

    def moved_in(self, start_ns: int) -> int:
        """The bins (bit i: bin i) of this user's emitted window starting at ``start_ns`` in
        which GPS saw the phone moving, among the last ``MOVED_WINDOWS`` that had any; 0 if
        none. A point arriving after the hour closed may lack the GPS that came on time."""
        kept = self._moved
        if kept is None:
            return 0
        for at in range(len(kept) - _MOVED.size, -1, -_MOVED.size):
            start, bits = _MOVED.unpack_from(kept, at)
            if start == start_ns:
                return int(bits)
        return 0

    def _window_of(self, bin_index: int) -> int:
        """Start bin of the earliest window containing ``bin_index``."""
        plan = self._plan
        hop = plan.hop_bins
        return -(-(bin_index - plan.window_bins + 1) // hop) * hop

    def _records(self) -> npt.NDArray[np.void]:
        return np.frombuffer(self._buf, dtype=RECORD, offset=HEAD)

    def _ring_has_data(self) -> bool:
        if len(self._buf) == HEAD:
            return False
        raw = np.frombuffer(self._buf, dtype=np.uint8, offset=HEAD).reshape(-1, REC)
        return int(np.count_nonzero(raw[:, _SRC:])) > 0

    def _count_manual(self, bin_index: int, last_bin: int) -> None:
        """Counts a manual point in every open window its bins overlap (a 2-hour entry is in
        two hourly windows)."""
        window = max(self._window_of(bin_index), _DONE.unpack_from(self._buf, _DONE_AT)[0])
        if self._manual is None:
            self._manual = {}
        hop = self._plan.hop_bins
        for w in range(window, last_bin // hop * hop + 1, hop):
            self._manual[w] = self._manual.get(w, 0) + 1

    def _mark_repeat(self, bin_index: int, shift: int) -> None:
        """One more gram seen before (``shift`` minutes earlier), in the window where it ends."""
        window = max(self._window_of(bin_index), _DONE.unpack_from(self._buf, _DONE_AT)[0])
        if self._repeats is None:
            self._repeats = {}
        shifts = self._repeats.setdefault(window, {})
        shifts[shift] = shifts.get(shift, 0) + 1

    def _entry_of(self, batch: PointBatch, channel: int, rank: int) -> int:
        """The source table index of the batch's source, registered on first sight; 0 once
        the table is full."""
        entry = st.find(self._names, self._meta, channel, batch.source)
        if not entry:
            self._names, self._meta, entry = st.register(
                self._names, self._meta, channel, batch.source, rank, batch.manual
            )
        return entry

    def _twin(self, entry: int) -> int:
        """The entry under which ``entry``'s long points are deposited (``_long_ns``)."""
        self._names, self._meta, twin = st.twin_of(self._names, self._meta, entry)
        return twin

    def _measured(self, holders: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
        return st.measured(self._meta, holders)

    def _flag(self, entry: int, bit: int) -> None:
        self._meta = st.flagged(self._meta, entry, bit)

    def _used_entries(self) -> set[int]:
        used = st.flagged_entries(self._names, self._meta, USED)
        rec = self._records()
        used.update(int(h) for h in np.unique(rec["src"]) if h)
        return used

    # ------------------------------------------------------------------ serialisation

    def to_bytes(self) -> bytes:
        """Compact, exact snapshot for the worker's changelogged table (``stream.snapshot``)."""
        from stream import snapshot  # it builds buffers: imported here, not in a cycle

        return snapshot.dump(self)

    @staticmethod
    def from_bytes(data: bytes) -> UserBuffer:
        """The buffer ``to_bytes`` saved."""
        from stream import snapshot

        return snapshot.load(data)


def _long_ns(channel: int) -> int:
    """How long a point of ``channel`` lasts from which its bins are counted, not measured
    (speed samples are never spread)."""
    if channel == STEPS:
        return LONG_POINT_NS
    if channel == DISTANCE:
        return LONG_DISTANCE_POINT_NS
    return _NEVER_NS


def _saturate(steps: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """Whole steps per bin as int32, capped rather than wrapped for absurd injected counts."""
    return np.minimum(steps, _STEPS_MAX).astype(np.int32)


def _ahead(
    after: npt.NDArray[np.void],
    src: npt.NDArray[np.uint8],
    width: int,
    measured: npt.NDArray[np.bool_],
    walked: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float32]:
    """``Window.after`` from the ring's records after a window: NaN where no source counted,
    and where no point measured the bin, for steps (``measured``) and distance (``walked``;
    both ``UserBuffer._measured``: a window's own such bins keep their count with mask False,
    context has no mask to say so)."""
    k = after.shape[0]
    ahead = np.empty((3, width), dtype=np.float32)
    ahead.fill(np.nan)
    held: list[int] = _max(src, axis=0).tolist()  # channels with a point (steps-only: one)
    if held[STEPS]:
        ahead[STEPS, :k] = np.where(measured, after["steps"], np.nan)
    if held[DISTANCE]:
        ahead[DISTANCE, :k] = np.where(walked, after["dist"], np.nan)
    counts = after["scnt"]
    if np.count_nonzero(counts):
        # divided by at least 1: the bins without a sample are NaN whatever the quotient
        ahead[SPEED, :k] = np.where(counts > 0, after["ssum"] / np.maximum(counts, 1), np.nan)
    return ahead


def _tail_of(window: Window, end_bin: int) -> bytes:
    """The window's last ``TAIL_BINS`` bins as float16 behind the bin where they end, or
    nothing when they hold no step or distance point."""
    mask = window.mask[:, -TAIL_BINS:]
    if not np.count_nonzero(mask[:SPEED]):
        return b""
    last = np.minimum(window.values[:, -TAIL_BINS:], _F16_MAX)
    kept = np.where(mask, last, np.nan).astype("<f2")
    return _TAIL_END.pack(end_bin) + kept.tobytes()
