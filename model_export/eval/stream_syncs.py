"""What a sync sent as one message per stream costs the worker, and what its takes recover.

``python -m model_export.eval.stream_syncs [--quick] [--out FILE]`` re-sends the variants
benchmarks (``model_export.eval.variants``) as a client reading Google Fit's REST API would:
every ``SYNC_MIN`` minutes, one ``Dataset`` per stream (each source of steps, then distance,
then speed). Three deliveries of the same points, all on time:

- *one message per sync*: every stream of a sync in one message (the README's advice);
- *a sync per take*: a message per stream, the sync's messages in one of the worker's takes
  (``stream.pipeline.take_of``, ``apply``, ``release``: ``Processor.handle_take``);
- *a take per message*: the same messages one by one (a client pausing between its streams
  longer than a take waits; the worker before 2026-12-08).

It prints window recall per variant and false alerts on normal time for each, and the points
counted late.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from model_export.eval.live_runs import NEVER, Verdicts, main_of, table_rows, verdicts_of
from model_export.eval.variants import Injected
from stream.buffer import UserBuffer
from stream.parsing import parse_obj
from stream.parsing.order import merged
from stream.pipeline import apply, release, take_of
from stream.points import ParseResult, PointBatch, cut_by_start
from stream.scoring.detector import Detector
from stream.windows import Window

SYNC_MIN: Final = 100  # minutes a sync covers: longer than the lateness, as a phone's often are
SYNC_NS: Final = SYNC_MIN * 60 * 1_000_000_000
Sync = list[ParseResult]  # one user's sync: a message per stream, steps first
ONE_MESSAGE: Final = "one message per sync"
A_TAKE: Final = "a sync per take"
ONE_BY_ONE: Final = "a take per message"
DELIVERIES: Final = (ONE_MESSAGE, A_TAKE, ONE_BY_ONE)


def syncs_of(events: Sequence[object]) -> list[Sync]:
    """The points of ``events`` as syncs: per user and ``SYNC_MIN`` minutes (by point start,
    from the epoch), one message per stream in channel order, the syncs in time order."""
    cut: dict[tuple[int, str], list[PointBatch]] = {}
    for batch in merged([parse_obj(e, now_ns=NEVER) for e in events]).batches:
        for k, piece in cut_by_start(batch, SYNC_NS):
            cut.setdefault((k, batch.user_id), []).append(piece)
    return [
        [ParseResult([b]) for b in sorted(parts, key=lambda b: (int(b.channel), b.source))]
        for _, parts in sorted(cut.items())
    ]


def deliver(syncs: list[Sync], detector: Detector, how: str) -> tuple[Verdicts, int]:
    """The verdicts of every window and the late points, ``syncs`` delivered ``how``."""
    buffers: dict[str, UserBuffer] = {}
    windows: list[Window] = []
    late = 0
    for sync in syncs:
        messages = [merged(sync)] if how == ONE_MESSAGE else sync
        take = take_of(messages, detector.grid) if how == A_TAKE else None
        for message in messages:
            outcomes, done = apply(message, buffers, detector.grid, NEVER, take)
            windows += done
            late += outcomes.late
        if take is not None:
            windows += release(take.ends, buffers)
    for buffer in buffers.values():
        windows += buffer.flush()
    return verdicts_of(windows, detector), late


def measure(name: str, data: Injected, detector: Detector) -> list[str]:
    """Markdown rows: per variant, one message per sync | a sync per take (a take per
    message)."""
    syncs = syncs_of(data.events)
    return table_rows(name, data, [deliver(syncs, detector, how) for how in DELIVERIES])


HEADER = (
    f"| benchmark | row | {ONE_MESSAGE} | {A_TAKE} ({ONE_BY_ONE}) |",
    "| --- | --- | --- | --- |",
)
PREAMBLE = (
    "# Syncs sent one message per stream",
    "",
    "Written by `python -m model_export.eval.stream_syncs --out docs/stream_syncs.md` (see the",
    f"module): the variants benchmarks (`docs/variants.md`) re-sent every {SYNC_MIN} minutes",
    "as a REST client gets them, a `Dataset` per stream, steps first, all on time. Rows are",
    "window recall per variant, false alerts on normal time and the points counted late, with",
    "all streams of a sync in one message, and with a message per stream: the sync's messages",
    "in one of the worker's takes, and (in brackets) each message a take of its own.",
    "",
)


def main(argv: Sequence[str] | None = None) -> int:
    return main_of("model_export.eval.stream_syncs", measure, HEADER, PREAMBLE, argv)


if __name__ == "__main__":
    raise SystemExit(main())
