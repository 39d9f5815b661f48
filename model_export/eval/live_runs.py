"""Shared by the evaluations that deliver the variants benchmark live, message by message, as
the worker meets it (``clock_ahead``, ``idle_flush``): scoring the windows a run emitted, its
figures per variant, and the command that runs both benchmarks and writes the report."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from model_export import realdata
from model_export.eval.labels import label
from model_export.eval.metrics import evaluate_scores
from model_export.eval.variant_gens import VARIANTS
from model_export.eval.variants import QUICK, Injected, RunConfig, real_variants, simulate_variants
from model_export.sim.emit import Message
from stream.buffer import UserBuffer
from stream.parsing import parse_obj
from stream.pipeline import apply
from stream.points import ParseResult
from stream.scoring.base import WindowScore
from stream.scoring.detector import Detector, load_detector
from stream.scoring.retro import carry_back, first_verdicts
from stream.windows import Window

Verdicts = list[tuple[Window, WindowScore]]
NEVER = 4_000_000_000 * 1_000_000_000  # a clock in 2096: no point of a benchmark is ahead of it


def read(event: Message) -> tuple[ParseResult, str, int, int] | None:
    """``event`` parsed with no clock (``NEVER``), its user, its first point start and latest
    point end (when a live phone reads it); None when it holds no point."""
    result = parse_obj(event, now_ns=NEVER)
    batches = [b for b in result.batches if len(b)]
    if not batches:
        return None
    first = min(int(b.start_ns.min()) for b in batches)
    last = max(int(b.end_ns.max()) for b in batches)
    return result, batches[0].user_id, first, last


def verdicts_of(windows: list[Window], detector: Detector) -> Verdicts:
    """One verdict per window, as the worker's alerts say it: a window scored more than once
    (by the idle flush, then complete) counts as alerted when any of its verdicts alerted, as
    an alert once sent stands; then the rules of ``stream.pipeline.score_results``."""
    scored = list(zip(windows, detector.score(windows), strict=True)) if windows else []
    scored.sort(key=lambda v: (v[0].user_id, v[0].start_ns))
    out: Verdicts = []
    for window, verdict in first_verdicts(scored):
        if out and (out[-1][0].user_id, out[-1][0].start_ns) == (window.user_id, window.start_ns):
            if verdict.score > out[-1][1].score:
                out[-1] = (out[-1][0], verdict)
            continue
        out.append((window, verdict))
    return carry_back(out)


@dataclass(slots=True)
class Delivery:
    """Users' buffers fed message by message, as the worker feeds them, and what they emit."""

    detector: Detector
    buffers: dict[str, UserBuffer] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)
    late: int = 0  # points counted late

    def add(self, result: ParseResult, now_ns: int) -> None:
        outcomes, done = apply(result, self.buffers, self.detector.grid, now_ns=now_ns)
        self.windows += done
        self.late += outcomes.late

    def verdicts(self) -> tuple[Verdicts, int]:
        """Every buffer flushed (the input ends), the verdicts of all windows, the late points."""
        for buffer in self.buffers.values():
            self.windows += buffer.flush()
        return verdicts_of(self.windows, self.detector), self.late


def figures(name: str, data: Injected, verdicts: Verdicts) -> tuple[dict[str, float], int]:
    """Window recall per variant, and false alerts on normal time."""
    windows = [w for w, _ in verdicts]
    scores = np.array([v.score for _, v in verdicts], dtype=np.float64)
    result = evaluate_scores(label(name, windows, data.spans, data.user_days), "combined", scores)
    return {v: f.window_recall for v, f in result.families.items()}, result.false_alerts


def table_rows(name: str, data: Injected, runs: list[tuple[Verdicts, int]]) -> list[str]:
    """Markdown rows: per variant, the first run, then the others in pairs, ``now (before)``;
    false alerts on normal time; the late points of each run."""
    columns = [figures(name, data, verdicts) for verdicts, _ in runs]

    def row(what: str, cells: list[str]) -> str:
        pairs = [f"{cells[i]} ({cells[i + 1]})" for i in range(1, len(cells), 2)]
        return f"| {name} | {what} | {cells[0]} | " + " | ".join(pairs) + " |"

    rows = [
        row(f"`{v}`", [f"{c[0].get(v, float('nan')):.0%}" for c in columns])
        for v in VARIANTS
        if v in columns[0][0]
    ]
    rows.append(row("false alerts on normal time", [str(c[1]) for c in columns]))
    rows.append(row("late points", [f"{late:,}" for _, late in runs]))
    return rows


def variant_benchmarks(config: RunConfig, quick: bool) -> Iterator[tuple[str, Injected]]:
    """The variants benchmarks, simulated and (when ``../shared/data/fitabase`` is there) real,
    each built when the one before has been measured (``config`` is the quick one already;
    ``quick`` is for benchmarks of other sizes, ``late_delivery``'s)."""
    names = tuple(VARIANTS)
    yield "simulated", simulate_variants(config.sim_users, config.sim_days, config.sim_seed, names)
    if realdata.available():
        users = realdata.load_fitabase()[: config.real_users]
        if config.real_days is not None:
            users = [replace(u, steps=u.steps[: config.real_days * 1440]) for u in users]
        yield "real", real_variants(users, config.real_seed, names)


def main_of(
    prog: str,
    measure: Callable[[str, Injected, Detector], list[str]],
    header: Sequence[str],
    preamble: Sequence[str],
    argv: Sequence[str] | None,
    benchmarks: Callable[[RunConfig, bool], Iterator[tuple[str, Injected]]] = variant_benchmarks,
) -> int:
    """``python -m <prog> [--quick] [--out FILE]``: ``measure`` on each of ``benchmarks``, the
    table printed as it grows."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}")
    parser.add_argument("--quick", action="store_true", help="a small run (seconds)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    config: RunConfig = QUICK if args.quick else RunConfig()
    detector = load_detector()
    lines = list(header)
    print("\n".join(lines), flush=True)
    for name, data in benchmarks(config, args.quick):
        rows = measure(name, data, detector)
        lines.extend(rows)
        print("\n".join(rows), flush=True)
    if args.out is not None:
        args.out.write_text("\n".join([*preamble, *lines]) + "\n")
    return 0
