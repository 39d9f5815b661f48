"""Points that arrive after the hours they belong to were emitted, and what is still judged of them.

The buffer holds only open windows, so a point whose hours have closed is counted ``late`` and
its part there dropped (``stream.buffer``): a window is scored once, with what had arrived. A
wearable syncing hours later, an app backfilling steps it "counted" earlier (the way injected
steps often arrive), a manual entry typed in the next morning: each closed hour such points
reach is emitted again holding only them (``Window.after_close``), built by a buffer of their
own (``UserBuffer.late``), so their sources, context and speed are handled as on time.

Such an hour is judged by the checks that hold whatever else the hour held
(``stream.scoring.plausibility.AFTER_CLOSE_CHECKS``): a cadence no human reaches or holds that
steadily, counts repeating like a motor's, a stride or a speed no walker has, a teleport,
manual entry. Not by ``distance_without_steps`` (the hour's steps may have arrived on time),
nor the model (an hour missing what arrived on time is not a pattern it knows). The minutes in
which the hour's GPS, come on time, saw the phone moving come with it (``Window.moved``): they
break a steady stretch as they did on time. A coarse REST ``:aggregated`` bucket is left out:
spread evenly over its hour it looks like a motor, and on time finer sources would have
shadowed it.

The buffer of late points gathers them across messages: a phone that was offline sends its
backlog in the syncs it made, a client may send each point as a message of its own, and a
cheater can send one point dated now before the hours being faked. Judged message by message,
such an hour was a handful of minutes each time, and nothing that needs a stretch of minutes
(a rhythm, a ride) could fire. Event time in it moves on per message, as a held-back message's
does (``add(defer=True)``, ``settle``), and a message reaching further back than it keeps
starts it afresh, its hours judged as they stand. Each message's closed hours are emitted at
once as far as their steps have come (``UserBuffer.preview(settled=True)``: metres sent a
message before their steps wait), ``provisional``: judged by the rhythm of the steps and
manual entry only (``PROVISIONAL_CHECKS``), since the rest of the hour may still be on its
way. Each hour is judged whole, by all the checks above, when the late buffer completes it by
its own event time, when the user's buffer flushes it (the idle flush, expiry, the end of
``lifeup score``), or, in the worker, once the late points have paused for the idle flush's
delay while the user goes on sending on time (``UserBuffer.flush_late``).

The hour's first verdict stands when it alerted; otherwise an alerting after-close verdict is
its alert (``stream.scoring.retro.first_verdicts``; the worker reads its recent alerts).
"""

from __future__ import annotations

from stream.buffer import UserBuffer
from stream.grid import GridSpec
from stream.points import Channel, PointBatch
from stream.sources import COARSE, source_rank, source_tier
from stream.windows import Window


def judged_late(batch: PointBatch) -> bool:
    """Whether ``batch``'s points are still judged in hours that closed before they arrived."""
    return batch.manual or source_tier(batch.channel, batch.source) != COARSE


def closed_windows(buffer: UserBuffer, parts: list[PointBatch], grid: GridSpec) -> list[Window]:
    """The after-close windows of one user's points in one arrival (``parts``: the batches of a
    message that reach a closed hour, ``UserBuffer.reaches_closed``), judged against
    ``buffer`` before any of them is added to it: the hours of ``buffer`` that had closed, as
    its buffer of late points holds them once ``parts`` are added there (kept in
    ``buffer.late`` for the next message)."""
    judged = [b for b in parts if judged_late(b)]
    closed: set[int] = set()
    for batch in judged:
        closed.update(buffer.closed_windows(batch))
    if not closed:
        return []
    first_open = buffer.first_open_ns
    flushed: list[Window] = []
    late = buffer.late
    if late is not None and any(late.reaches_closed(b) for b in judged):
        flushed = buffer.flush_late()  # older points than it keeps: its hours judged as they are
        late = None
    if late is None:
        late = UserBuffer(buffer.user_id, grid)
    end = steps_end = -1
    for batch in judged:
        late.add(batch, source_rank(batch.channel, batch.source), defer=True)
        last = int(batch.end_ns.max())
        end = max(end, last)
        if batch.channel == Channel.STEPS:
            steps_end = max(steps_end, last)
    late.settle(end, steps_end)
    # the hours it completes, whole, then this message's hours as far as their steps have come
    whole = [w for w in late.pop_complete() if w.start_ns < first_open]
    provisional = [w for w in late.preview(settled=True) if w.start_ns in closed]
    buffer.late = late if late.has_open_data else None
    return flushed + buffer.after_close(whole) + buffer.after_close(provisional, provisional=True)
