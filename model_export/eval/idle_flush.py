"""What the worker's idle flush does to detection when users send in syncs minutes apart.

``python -m model_export.eval.idle_flush [--quick] [--out FILE]`` takes the benchmarks of
``model_export.eval.variants`` (simulated users and the real Fitabase users when present, one
variant injected per day) and delivers each user's messages in syncs: a message is read when its
latest point ends and sent with the user's next sync, every ``SYNC_MINUTES`` minutes of the
clock (Android's WorkManager runs a periodic job every 15 minutes at most; an app opened now
and then syncs hours apart). Between two syncs of a user the worker's idle flush runs when the
pause is longer than ``IDLE_FLUSH_NS`` (the shipped ``LIFEUP_IDLE_FLUSH_SECONDS``), as
``stream.worker.processor`` runs it: now ``UserBuffer.preview`` (the open hours scored, kept
open), before ``UserBuffer.flush`` (scored and closed: the rest of them late). The first column
is the run without pauses. A window scored twice counts as alerted when either verdict alerted
(an alert once sent stands).
"""

from __future__ import annotations

from collections.abc import Sequence

from model_export.eval.live_runs import NEVER, Delivery, Verdicts, main_of, read, table_rows
from model_export.eval.variants import Injected
from model_export.sim.emit import Message
from stream.points import ParseResult
from stream.scoring.detector import Detector
from stream.worker.processor import Limits

NS = 1_000_000_000
IDLE_FLUSH_NS = int(Limits().idle_flush_s * NS)  # the worker's, as shipped
SYNC_MINUTES = (15, 180)


def synced(events: Sequence[Message], minutes: int) -> list[tuple[int, str, ParseResult]]:
    """``(sync time, user, parsed message)`` in delivery order: each message with the user's
    first sync after its latest point end (every ``minutes``; 0: as soon as it ends)."""
    period = minutes * 60 * NS
    out: list[tuple[int, int, str, ParseResult]] = []
    for i, event in enumerate(events):
        got = read(event)
        if got is None:
            continue
        result, user, _, last = got
        sync = -(-last // period) * period if period else last
        out.append((sync, i, user, result))
    out.sort(key=lambda s: s[:2])
    return [(sync, user, result) for sync, _, user, result in out]


def score_synced(
    syncs: Sequence[tuple[int, str, ParseResult]], detector: Detector, preview: bool | None
) -> tuple[Verdicts, int]:
    """Verdicts and late points; before a user's sync that comes more than ``IDLE_FLUSH_NS``
    after their last, the idle flush (``preview``: kept open; False: closed; None: none)."""
    run = Delivery(detector)
    last: dict[str, int] = {}
    for sync, user, result in syncs:
        buffer = run.buffers.get(user)
        quiet = user in last and sync - last[user] > IDLE_FLUSH_NS
        if preview is not None and buffer is not None and quiet:
            run.windows += buffer.preview() if preview else buffer.flush()
        last[user] = sync
        run.add(result, NEVER)
    return run.verdicts()


def measure(name: str, data: Injected, detector: Detector) -> list[str]:
    """Markdown rows: per variant, no pauses | each sync period now (before)."""
    runs = [score_synced(synced(data.events, 0), detector, None)]
    for minutes in SYNC_MINUTES:
        syncs = synced(data.events, minutes)
        runs += [score_synced(syncs, detector, preview) for preview in (True, False)]
    return table_rows(name, data, runs)


HEADER = (
    "| benchmark | row | no pauses | 15-min syncs: now (before) | 3-h syncs: now (before) |",
    "| --- | --- | --- | --- | --- |",
)
PREAMBLE = (
    "# The idle flush and syncs minutes apart",
    "",
    "Written by `python -m model_export.eval.idle_flush --out docs/idle_flush.md` (see the",
    "module): the variants benchmark (`docs/variants.md`) delivered in each user's syncs, every",
    "15 minutes or every 3 hours, the worker's idle flush running in every pause longer than",
    '300 s. *Now*: the open hours scored and kept open (README, "Idle flush"); in brackets, as',
    "before 2026-12-07: scored and closed, the rest of each hour late, judged as late points",
    "are today (`stream.late`: gathered across syncs since 2026-12-08, before which each",
    "sync's were judged alone and the brackets read 0-52 % for the real variants with",
    "15-minute syncs).",
    "",
)


def main(argv: Sequence[str] | None = None) -> int:
    return main_of("model_export.eval.idle_flush", measure, HEADER, PREAMBLE, argv)


if __name__ == "__main__":
    raise SystemExit(main())
