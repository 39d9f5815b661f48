"""What one point dated ahead does to detection, before and since event time is held to the clock.

``python -m model_export.eval.clock_ahead [--quick] [--out FILE]`` takes the benchmarks of
``model_export.eval.variants`` (simulated users and the real Fitabase users when present, one
variant injected per day) and delivers them live: each message read at the time its latest
point ends. Before each user's first message of a day comes one more step point:

- ``dated ahead``: a minute of 50 steps, 20 hours after the day's first point;
- ``open record``: 1 step from the day's first point to 20 hours on, from a coarse source
  (``:aggregated``, ranked lowest, so it shadows none of the user's own steps).

Each is scored as LifeUp does now (``stream.parsing.times.MAX_START_AHEAD_NS`` refuses the
first; ``stream.pipeline.apply`` holds event time to the clock for the second) and as before
(a clock so far ahead that neither rule acts: the point accepted, event time moved to its end).
Rows are window recall per variant and false alerts on normal time; the late points of each
run are in the last row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from model_export.eval.live_runs import NEVER, Delivery, Verdicts, main_of, read, table_rows
from model_export.eval.variants import Injected
from model_export.sim.emit import Message
from stream.parsing import parse_obj
from stream.scoring.detector import Detector

NS = 1_000_000_000
DAY_NS = 86_400 * NS
AHEAD_NS = 20 * 3_600 * NS
STEPS = "com.google.step_count.delta"
PAID = f"derived:{STEPS}:com.google.android.gms:estimated_steps"
COARSE = f"derived:{STEPS}:com.google.android.gms:aggregated"
POISONS = ("dated ahead", "open record")


def poison(kind: str, user_id: str, first_ns: int) -> dict[str, Any]:
    """The step point sent before a user's day whose first point starts at ``first_ns``."""
    if kind == "dated ahead":
        start, end, steps, source = first_ns + AHEAD_NS, first_ns + AHEAD_NS + 60 * NS, 50, PAID
    else:
        start, end, steps, source = first_ns, first_ns + AHEAD_NS, 1, COARSE
    return {
        "user_id": user_id,
        "dataTypeName": STEPS,
        "startTimeNanos": start,
        "endTimeNanos": end,
        "value": [{"intVal": steps}],
        "originDataSourceId": source,
    }


def live(events: Iterable[Message], kind: str | None) -> list[tuple[Message, int]]:
    """Each message with the time it is read (its latest point end; a poison: the start of the
    day it precedes), a ``kind`` of poison before each user's first message of a UTC day."""
    out: list[tuple[Message, int]] = []
    days: set[tuple[str, int]] = set()
    for event in events:
        got = read(event)
        if got is None:
            out.append((event, NEVER))
            continue
        _, user, first, last = got
        if kind is not None and (user, first // DAY_NS) not in days:
            days.add((user, first // DAY_NS))
            out.append((poison(kind, user, first), first))
        out.append((event, last))
    return out


def score_live(
    arrivals: Sequence[tuple[Message, int]], detector: Detector, clock: bool
) -> tuple[Verdicts, int]:
    """Verdicts as ``stream.pipeline.score_results`` gives them, each message parsed and added
    at the time it is read (``clock``) or with no clock (``NEVER``); and the late points."""
    run = Delivery(detector)
    for event, read_ns in arrivals:
        now = read_ns if clock else NEVER
        run.add(parse_obj(event, now_ns=now), now)
    return run.verdicts()


def measure(name: str, data: Injected, detector: Detector) -> list[str]:
    """Markdown rows: per variant, no poison | each poison now (before)."""
    runs = [score_live(live(data.events, None), detector, clock=True)]
    for kind in POISONS:
        arrivals = live(data.events, kind)
        runs += [score_live(arrivals, detector, clock) for clock in (True, False)]
    return table_rows(name, data, runs)


HEADER = (
    "| benchmark | row | no point ahead | dated ahead: now (before) | open record: now (before) |",
    "| --- | --- | --- | --- | --- |",
)
PREAMBLE = (
    "# A point dated ahead: what it did to detection, and does now",
    "",
    "Written by `python -m model_export.eval.clock_ahead --out docs/clock_ahead.md` (see the",
    "module): the variants benchmark (`docs/variants.md`) delivered live, with one step point",
    "before each user's day dated 20 hours ahead (*dated ahead*), or running from the day's",
    "start to 20 hours on (*open record*). *Now*: refused, and event time held to the clock",
    '(README, "Event time never runs ahead of the clock"); in brackets, as before both rules:',
    "the day's points late, judged as late points are today (`stream.late`: gathered across",
    "messages since 2026-12-08, before which each message's were judged alone and the",
    "brackets read 0-27 % for the real variants).",
    "",
)


def main(argv: Sequence[str] | None = None) -> int:
    return main_of("model_export.eval.clock_ahead", measure, HEADER, PREAMBLE, argv)


if __name__ == "__main__":
    raise SystemExit(main())
