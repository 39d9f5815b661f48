"""What judging late steps catches and costs (``stream.late``), on the variants benchmark.

``python -m model_export.eval.late_delivery [--quick] [--out FILE]`` takes the benchmarks of
``model_export.eval.variants`` (simulated users, and the real Fitabase users when present, one
variant injected per day) and simulated users with legitimate-unusual bouts (long runs, hikes,
night walks, treadmill sessions), and delivers every other day of every user a day late, after
the next day's data: each of those days' points then arrives after its hours closed. Two ways:

- ``as sent``: the day's messages as the phone sent them (``model_export.sim.emit``), late;
- ``one sync``: the day's points in one batch per source, as a wearable or an app syncing a
  day at once would send them.

It prints, per variant, window recall on those days when they arrive on time, when late (the
shipped path), and when late with only manual entries judged (before ``stream.late`` judged
steps: ``ManualOnlyLate`` silences after-close windows without manual points), the share of
legitimate-unusual bouts flagged, and the false alerts on normal time of those days. Days are
UTC days, counted from each user's first point's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from model_export.eval.labels import label
from model_export.eval.live_runs import main_of, variant_benchmarks
from model_export.eval.metrics import evaluate_scores
from model_export.eval.variant_gens import VARIANTS
from model_export.eval.variants import Injected, RunConfig
from model_export.sim.types import LabeledSpan
from model_export.simulate import simulate
from stream.parsing import parse_obj
from stream.parsing.order import merged
from stream.pipeline import score_results
from stream.points import ParseResult
from stream.scoring.base import WindowScore
from stream.scoring.detector import Detector
from stream.windows import Window

DAY_NS = 86_400 * 1_000_000_000
MODES = ("as sent", "one sync")


class ManualOnlyLate:
    """The detector as it judged late points before ``stream.late`` judged steps: an after-close
    window without manual points is silent."""

    name = "manual-only late"

    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    def score(self, windows: Sequence[Window]) -> list[WindowScore]:
        verdicts = self.detector.score(windows)
        return [
            WindowScore(0.0) if w.after_close and not w.manual_points else v
            for w, v in zip(windows, verdicts, strict=True)
        ]


def _first_start(result: ParseResult) -> tuple[str, int] | None:
    starts = [(b.user_id, int(b.start_ns.min())) for b in result.batches if len(b)]
    return min(starts, key=lambda s: s[1]) if starts else None


def delivered(
    results: Sequence[ParseResult], one_sync: bool
) -> tuple[list[ParseResult], dict[str, int]]:
    """``results`` with every odd day of each user moved after the day that follows it (merged
    into one batch per source with ``one_sync``), and the start of each user's first day."""
    origin: dict[str, int] = {}
    for r in results:
        first = _first_start(r)
        if first is not None:  # the UTC day of the user's first point: windows align to it
            day0 = first[1] // DAY_NS * DAY_NS
            origin[first[0]] = min(origin.get(first[0], day0), day0)
    keyed: list[tuple[int, int, int, ParseResult]] = []
    late: dict[tuple[str, int], list[ParseResult]] = defaultdict(list)
    for i, r in enumerate(results):
        first = _first_start(r)
        day = 0 if first is None else (first[1] - origin[first[0]]) // DAY_NS
        if day % 2 == 0 or first is None:
            keyed.append((day, 0, i, r))
        elif one_sync:
            late[(first[0], day)].append(r)
        else:
            keyed.append((day + 1, 1, i, r))
    for n, ((_, day), parts) in enumerate(sorted(late.items())):
        keyed.append((day + 1, 1, n, merged(parts)))
    keyed.sort(key=lambda k: k[:3])
    return [r for *_, r in keyed], origin


def _on_late_day(user_id: str, start_ns: int, origin: dict[str, int]) -> bool:
    return ((start_ns - origin[user_id]) // DAY_NS) % 2 == 1


def _figures(
    name: str,
    verdicts: list[tuple[Window, float]],
    spans: list[LabeledSpan],
    origin: dict[str, int],
    user_days: float,
) -> tuple[dict[str, float], int]:
    """Over the late days only: window recall per cheat variant, the share of
    legitimate-unusual bouts flagged per family (``legit:<family>``), false alerts on normal
    time. Every span labels the windows (a span may cross midnight); a bout counts for the
    legitimate shares when it touches a late day."""
    kept = [(w, s) for w, s in verdicts if _on_late_day(w.user_id, w.start_ns, origin)]
    touching = [
        sp
        for sp in spans
        if sp.cheat
        or _on_late_day(sp.user_id, sp.start_ns, origin)
        or _on_late_day(sp.user_id, sp.end_ns - 1, origin)
    ]
    lw = label(name, [w for w, _ in kept], touching, user_days)
    result = evaluate_scores(lw, "combined", np.array([s for _, s in kept], dtype=np.float64))
    shares = {v: f.window_recall for v, f in result.families.items()}
    shares.update({f"legit:{f}": share for f, share in result.legit_families.items()})
    return shares, result.false_alerts


def measure(name: str, data: Injected, detector: Detector) -> list[str]:
    """Markdown rows: per variant, on time | late as sent (before) | late in one sync (before)."""
    results = [parse_obj(e) for e in data.events]
    columns: list[tuple[dict[str, float], int]] = []
    origin: dict[str, int] = {}
    on_time = score_results(iter(results), detector, detector.grid)
    runs = [on_time.verdicts]
    for mode in MODES:
        ordered, origin = delivered(results, one_sync=mode == "one sync")
        for scorer in (detector, ManualOnlyLate(detector)):
            runs.append(score_results(iter(ordered), scorer, detector.grid).verdicts)
    half = data.user_days / 2
    for verdicts in runs:
        scores = [(w, v.score) for w, v in verdicts]
        columns.append(_figures(name, scores, data.spans, origin, half))
    rows = []
    for variant in sorted({k for c, _ in columns for k in c}, key=_in_report_order):
        cells = [_percent(c[0].get(variant, float("nan"))) for c in columns]
        what = f"`{variant}`" if ":" not in variant else f"legitimate `{variant[6:]}` flagged"
        rows.append(
            f"| {name} | {what} | {cells[0]} | {cells[1]} ({cells[2]}) | {cells[3]} ({cells[4]}) |"
        )
    fa = [str(c[1]) for c in columns]
    rows.append(
        f"| {name} | false alerts on normal time ({half:.0f} late user-days) | {fa[0]} | "
        f"{fa[1]} ({fa[2]}) | {fa[3]} ({fa[4]}) |"
    )
    return rows


def _percent(share: float) -> str:
    return "–" if share != share else f"{share:.0%}"  # NaN: no window of it on a late day


def _in_report_order(key: str) -> tuple[int, str]:
    names = list(VARIANTS)
    return (names.index(key), key) if key in VARIANTS else (len(names), key)


HEADER = (
    "| benchmark | row | on time | late, as sent (before) | late, one sync (before) |",
    "| --- | --- | --- | --- | --- |",
)
PREAMBLE = (
    "# Late delivery: what is judged of points that arrive after their hours closed",
    "",
    "Written by `python -m model_export.eval.late_delivery --out docs/late_delivery.md` (see the",
    "module): every other day of every user is delivered a day late, as the phone sent it (*as",
    "sent*) or in one message per day (*one sync*, a wearable or an app syncing a day at once).",
    "Rows are window recall per variant (`docs/variants.md`), the share of legitimate-unusual",
    "bouts flagged, and false alerts on normal time, all over the late days only. In brackets:",
    "the same late delivery with only manual entries judged late, as before `stream.late`.",
    "",
)
LEGIT_RUN = (40, 7, 20261125)  # users, days, seed: model_export.eval.variant_evidence's


def _benchmarks(config: RunConfig, quick: bool) -> Iterator[tuple[str, Injected]]:
    """The variants benchmarks, the simulated legitimate-unusual bouts after the simulated one."""
    benches = variant_benchmarks(config, quick)
    yield next(benches)
    users, days, seed = (4, 4, LEGIT_RUN[2]) if quick else LEGIT_RUN
    legit = simulate(users, days, seed, cheats=False, legit_unusual=True)
    yield "simulated legit", Injected(legit.events, legit.spans, legit.user_days)
    yield from benches


def main(argv: Sequence[str] | None = None) -> int:
    prog = "model_export.eval.late_delivery"
    return main_of(prog, measure, HEADER, PREAMBLE, argv, _benchmarks)


if __name__ == "__main__":
    raise SystemExit(main())
