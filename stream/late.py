"""Points that arrive after the hours they belong to were emitted, and what is still judged of them.

The buffer holds only open windows, so a point whose hours have closed is counted ``late`` and
its part there dropped (``stream.buffer``): a window is scored once, with what had arrived. A
wearable syncing hours later, an app backfilling steps it "counted" earlier (the way injected
steps often arrive), a manual entry typed in the next morning: each closed hour such points
reach is emitted again holding only them (``Window.after_close``), built by a buffer of their
own from all the late points of the message, so their sources, context and speed are handled
as on time. It is judged by the checks that hold whatever else the hour held
(``stream.scoring.plausibility.AFTER_CLOSE_CHECKS``): a cadence no human reaches or holds that
steadily, counts repeating like a motor's, a stride or a speed no walker has, a teleport,
manual entry. Not by ``distance_without_steps`` (the hour's steps may have arrived on time),
nor the model (an hour missing what arrived on time is not a pattern it knows). A coarse REST
``:aggregated`` bucket is left out: spread evenly over its hour it looks like a motor, and on
time finer sources would have shadowed it.

The hour's first verdict stands when it alerted; otherwise an alerting after-close verdict is
its alert (``stream.scoring.retro.first_verdicts``; the worker reads its recent alerts).
"""

from __future__ import annotations

from dataclasses import replace

from stream.buffer import UserBuffer
from stream.grid import GridSpec
from stream.points import PointBatch
from stream.sources import COARSE, source_rank, source_tier
from stream.windows import Window


def judged_late(batch: PointBatch) -> bool:
    """Whether ``batch``'s points are still judged in hours that closed before they arrived."""
    return batch.manual or source_tier(batch.channel, batch.source) != COARSE


def closed_windows(buffer: UserBuffer, parts: list[PointBatch], grid: GridSpec) -> list[Window]:
    """The after-close windows of one user's points in one arrival (``parts``: the batches of a
    message that reach a closed hour, ``UserBuffer.reaches_closed``), judged against
    ``buffer`` before any of them is added to it: the windows a buffer of their own builds
    from them (a lateness covering them all, so none is late to another), for the hours of
    ``buffer`` that had closed."""
    judged = [b for b in parts if judged_late(b)]
    closed: set[int] = set()
    for batch in judged:
        closed.update(buffer.closed_windows(batch))
    if not closed:
        return []
    first = min(int(b.start_ns.min()) for b in judged)
    last = max(int(b.end_ns.max()) for b in judged)
    own = UserBuffer(buffer.user_id, grid.covering(last - first))
    for batch in judged:
        own.add(batch, source_rank(batch.channel, batch.source))
    return [replace(w, after_close=True) for w in own.flush() if w.start_ns in closed]
