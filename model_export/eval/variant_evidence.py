"""Evidence for the red team's proposed rules: each candidate statistic on clean data and on cheats.

``python -m model_export.eval.variant_evidence`` computes, per proposed rule, the statistic over
(a) every minute of the 22 Fitabase users' untouched data, (b) simulated users' normal time and
legitimate-unusual bouts (long runs, hikes, night walks, treadmill), (c) the variants it targets;
and prints how many clean windows (user-hours) it would flag and how many variant windows and
bouts it would catch. Statistics are measured on per-minute series (the grid's bins), hours
tumbling on UTC as the detector's windows; a finding counts for every hour its stretch touches
(conservative for false alerts).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model_export import realdata
from model_export.eval.labels import windows_of_results
from model_export.eval.variant_gens import VARIANTS as VARIANT_NAMES
from model_export.eval.variants import real_variants, simulate_variants
from model_export.sim.types import LabeledSpan
from model_export.simulate import simulate
from stream.parsing import parse_obj
from stream.scoring.checks.stride import stride_limit
from stream.windows import Window

F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
MIN_NS = 60_000_000_000
ACTIVE = 40.0  # steps/min, as the steady rule
TIERS_D: tuple[tuple[int, float], ...] = ((30, 0.005), (40, 0.01))  # below the clean minima
P2_MIN = 26  # the clean maximum is 22 (Fitabase) and 19 (simulated normal + legit)


@dataclass(slots=True)
class Series:
    """One user's per-minute steps, metres and speed (NaN where unknown) from ``t0_ns``."""

    user_id: str
    t0_ns: int
    steps: F64
    dist: F64
    speed: F64


def series_of_windows(windows: Sequence[Window]) -> dict[str, Series]:
    by_user: dict[str, list[Window]] = defaultdict(list)
    for w in windows:
        if not w.after_close:  # late points only: the hour's own bins are the first window's
            by_user[w.user_id].append(w)
    out: dict[str, Series] = {}
    for uid, ws in by_user.items():
        t0 = min(w.start_ns for w in ws)
        n = int((max(w.end_ns for w in ws) - t0) // MIN_NS)
        s = Series(uid, t0, np.zeros(n), np.zeros(n), np.full(n, np.nan))
        for w in ws:
            a = int((w.start_ns - t0) // MIN_NS)
            b = a + w.values.shape[1]
            s.steps[a:b] = w.values[0]
            s.dist[a:b] = w.values[1]
            s.speed[a:b] = np.where(w.mask[2], w.values[2], np.nan)
        out[uid] = s
    return out


def fitabase_series(users: Iterable[realdata.RealUser]) -> dict[str, Series]:
    """Untouched real minutes: steps, derived distance, no speed."""
    out: dict[str, Series] = {}
    for u in users:
        steps = np.nan_to_num(u.steps)
        out[u.user_id] = Series(u.user_id, u.start_ns, steps, steps * u.stride_m,
                                np.full(steps.shape, np.nan))  # fmt: skip
    return out


# --- candidate statistics ------------------------------------------------------------------


def rolling(x: F64, k: int) -> F64:
    c: F64 = np.concatenate([[0.0], np.cumsum(x)])
    out: F64 = c[k:] - c[:-k]
    return out


def diff_cv(s: Series, k: int) -> F64:
    """P1: minute-to-minute variation (successive differences) of k active minutes, over
    their mean; inf where a minute is inactive or GPS shows the phone moving."""
    active = (s.steps >= ACTIVE) & ~(s.speed >= 1.0)
    if s.steps.shape[0] <= k:
        return np.zeros(0)
    d2 = np.square(np.diff(s.steps))
    full = rolling(active.astype(np.float64), k) >= k
    mssd = rolling(d2, k - 1)[: full.shape[0]] / (2 * (k - 1))
    mean = rolling(s.steps, k) / k
    return np.where(full, np.sqrt(mssd) / np.maximum(mean, 1.0), np.inf)


def plain_cv(s: Series, k: int) -> F64:
    """The shipped steady statistic (std/mean of k active minutes), for comparison."""
    active = (s.steps >= ACTIVE) & ~(s.speed >= 1.0)
    full = rolling(active.astype(np.float64), k) >= k
    mean = rolling(s.steps, k) / k
    var = np.maximum(rolling(np.square(s.steps), k) / k - mean * mean, 0.0)
    return np.where(full, np.sqrt(var) / np.maximum(mean, 1.0), np.inf)


def mode_count(s: Series, length: int = 90, tol: float = 0.005, step: int = 15) -> F64:
    """P2: over spans of ``length`` minutes every ``step``, the most active minutes within
    +-``tol`` of one count (at the span's first minute): a timer-driven motor repeats its rate
    across its on-phases, whatever the pauses between them."""
    out = np.zeros(s.steps.shape[0])
    for a in range(0, max(1, s.steps.shape[0] - length + 1), step):
        seg = s.steps[a : a + length]
        v = np.sort(seg[seg >= ACTIVE])
        if v.size:
            hi = np.searchsorted(v, v * (1 + tol), side="right")
            lo = np.searchsorted(v, v * (1 - tol), side="left")
            out[a] = float((hi - lo).max())
    return out


def long_steady(s: Series, min_len: int = 150, max_cv: float = 0.05) -> F64:
    """P3: length of runs of consecutive minutes >= 60 steps with no GPS movement whose
    cv is at most ``max_cv`` (0 elsewhere), at the run's first minute."""
    on = (s.steps >= 60) & ~(s.speed >= 1.0)
    out = np.zeros(s.steps.shape[0])
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        x = s.steps[a:b]
        if b - a >= min_len and x.std() / x.mean() <= max_cv:
            out[a] = b - a
    return out


def run_lengths(s: Series) -> F64:
    """Length of each run of consecutive minutes >= 60 steps, at its first minute."""
    on = s.steps >= 60
    out = np.zeros(s.steps.shape[0])
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        out[a] = b - a
    return out


def speed_stride(s: Series) -> F64:
    """P4: minutes where the speed implies a step longer than a human's at that cadence
    (speed >= 2.5 m/s, steps >= 20), counted over each hour's minutes (with 15 either side)."""
    known = np.isfinite(s.speed) & (s.steps >= 20)
    implied = np.where(known, np.nan_to_num(s.speed) * 60 / np.maximum(s.steps, 1), 0.0)
    bad = known & (np.nan_to_num(s.speed) >= 2.5) & (implied > stride_limit(s.steps))
    return bad.astype(np.float64)


def gap_excess(s: Series, span: int = 15) -> F64:
    """P6: metres beyond 1.5x the bout's median step length within ``span`` minutes of
    continuous stepping (every minute has steps)."""
    walking = s.steps > 0
    out = np.zeros(s.steps.shape[0])
    edges = np.diff(np.concatenate([[0], walking.astype(np.int8), [0]]))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if b - a < 5:
            continue
        st, di = s.steps[a:b], s.dist[a:b]
        if not (di > 0).any():
            continue
        stride = float(np.median(di[di > 0] / st[di > 0]))
        excess = di - 1.5 * stride * st
        k = min(span, int(b - a))
        out[a : a + (b - a) - k + 1] = rolling(excess, k)
    return out


# --- attributing findings to windows (hours) -------------------------------------------------


def expand(starts: Bool, k: int) -> Bool:
    """The minutes of stretches of ``k`` minutes starting at ``starts``."""
    if k <= 1:
        return starts
    return np.convolve(starts.astype(np.float64), np.ones(k))[: starts.shape[0]] > 0


@dataclass(slots=True)
class Rule:
    """A candidate rule: the minutes it finds, and how many of them flag an hour."""

    name: str
    minutes: Callable[[Series], Bool]
    per_hour: int = 1


def hours_of(s: Series, found: Bool, per_hour: int) -> set[tuple[str, int]]:
    hours = (s.t0_ns // MIN_NS + np.flatnonzero(found)) // 60
    got, counts = np.unique(hours, return_counts=True)
    return {(s.user_id, int(h)) for h, c in zip(got, counts, strict=True) if c >= per_hour}


def pad(v: F64, n: int, fill: float) -> F64:
    return np.concatenate([v, np.full(n - v.shape[0], fill)])


def p1_rule(k: int, limit: float) -> Rule:
    def minutes(s: Series) -> Bool:
        return expand(pad(diff_cv(s, k), s.steps.shape[0], np.inf) <= limit, k)

    return Rule(f"P1 diff-cv over {k} active min <= {100 * limit:.1f} %", minutes)


def p2_minutes(s: Series) -> Bool:
    return expand(mode_count(s) >= P2_MIN, 90)


def p4_minutes(s: Series) -> Bool:
    return speed_stride(s) > 0


def p6_minutes(s: Series) -> Bool:
    return expand(gap_excess(s) >= 400, 15)


def rules() -> list[Rule]:
    return [
        *(p1_rule(k, limit) for k, limit in TIERS_D),
        Rule(f"P2 >= {P2_MIN} active minutes within +-0.5 % of one count in 90 min", p2_minutes),
        Rule("P3 >= 150 min all >= 60/min, cv <= 5 %, no GPS movement", steady_minutes),
        Rule("P4 >= 3 minutes/hour whose speed implies too long a step", p4_minutes, 3),
        Rule("P6 >= 400 m beyond 1.5x the bout's own stride within 15 min", p6_minutes),
    ]


def steady_minutes(s: Series) -> Bool:
    v = long_steady(s)
    out = np.zeros(v.shape[0], dtype=bool)
    for a in np.flatnonzero(v):
        out[a : a + int(v[a])] = True
    return out


@dataclass(slots=True)
class Dataset:
    name: str
    series: dict[str, Series]
    spans: list[LabeledSpan]


def span_hours(sp: LabeledSpan) -> set[tuple[str, int]]:
    return {(sp.user_id, h) for h in range(sp.start_ns // MIN_NS // 60,
                                           (sp.end_ns - 1) // MIN_NS // 60 + 1)}  # fmt: skip


def judge(rule: Rule, data: Dataset) -> dict[str, object]:
    """Clean hours flagged, and per span family the hours and bouts caught."""
    flagged: set[tuple[str, int]] = set()
    for s in data.series.values():
        flagged |= hours_of(s, rule.minutes(s), rule.per_hour)
    in_spans: set[tuple[str, int]] = set()
    fams: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
    for sp in data.spans:
        hs = span_hours(sp)
        in_spans |= hs
        got = len(hs & flagged)
        fams[sp.family].append((got, len(hs), got > 0))
    total_hours = sum(int(np.ceil(s.steps.shape[0] / 60)) for s in data.series.values())
    return {
        "clean_hours_flagged": len(flagged - in_spans),
        "clean_hours": total_hours - len(in_spans),
        "families": {
            f: {"hours": f"{sum(g for g, _, _ in v)}/{sum(n for _, n, _ in v)}",
                "bouts": f"{sum(b for *_, b in v)}/{len(v)}"}
            for f, v in sorted(fams.items())
        },
    }  # fmt: skip


def extremes(data: Dataset) -> dict[str, float]:
    """The clean-data extremes each proposal's limit must stay clear of (outside spans)."""
    out: dict[str, float] = {}
    for k, _ in TIERS_D:
        out[f"min diff-cv {k}"] = min(
            (float(np.min(diff_cv(s, k), initial=np.inf)) for s in data.series.values()),
            default=np.inf,
        )
        out[f"min plain cv {k}"] = min(
            (float(np.min(plain_cv(s, k), initial=np.inf)) for s in data.series.values()),
            default=np.inf,
        )
    out["max mode count/hour"] = max(
        float(mode_count(s).max(initial=0)) for s in data.series.values()
    )
    out["longest run >= 60/min"] = max(
        float(run_lengths(s).max(initial=0)) for s in data.series.values()
    )
    return out


def load() -> list[Dataset]:
    sets: list[Dataset] = []
    if realdata.available():
        users = realdata.load_fitabase()
        sets.append(Dataset("fitabase untouched", fitabase_series(users), []))
        var = real_variants(users, 11, tuple(VARIANT_NAMES))
        wins = windows_of_results(parse_obj(e) for e in var.events)
        sets.append(Dataset("fitabase + variants", series_of_windows(wins), var.spans))
    legit = simulate(40, 7, 20261125, cheats=False, legit_unusual=True)
    wins = windows_of_results(parse_obj(e) for e in legit.events)
    sets.append(Dataset("simulated normal + legit-unusual", series_of_windows(wins), legit.spans))
    var = simulate_variants(64, 5, 20261126, tuple(VARIANT_NAMES))
    wins = windows_of_results(parse_obj(e) for e in var.events)
    sets.append(Dataset("simulated + variants", series_of_windows(wins), var.spans))
    return sets


def union_recall(data: Dataset, flagged: set[tuple[str, int]], chosen: list[Rule]) -> None:
    """Window (hour) recall per variant: the shipped detector's, and with the rules added."""
    added: set[tuple[str, int]] = set()
    for s in data.series.values():
        for rule in chosen:
            added |= hours_of(s, rule.minutes(s), rule.per_hour)
    fams: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for sp in data.spans:
        for h in span_hours(sp):
            fams[sp.family].append((h in flagged, h in flagged or h in added))
    in_spans: set[tuple[str, int]] = set()
    for sp in data.spans:
        in_spans |= span_hours(sp)
    near = {(u, h + d) for u, h in in_spans for d in (-1, 1)}
    new = (added - flagged) - in_spans
    print("  ", data.name, "clean hours newly flagged:", len(new), "of which next to a cheat:",
          len(new & near))  # fmt: skip
    for f, v in sorted(fams.items()):
        was = float(np.mean([a for a, _ in v]))
        now = float(np.mean([b for _, b in v]))
        print(
            f"     {f:24s} hours {len(v):4d}  shipped {100 * was:5.1f} %  with {100 * now:5.1f} %"
        )


def scored(
    events: Sequence[object], spans: list[LabeledSpan], name: str
) -> tuple[Dataset, set[tuple[str, int]]]:
    from stream.pipeline import score_results
    from stream.scoring.detector import load_detector

    det = load_detector()
    run = score_results((parse_obj(e) for e in events), det, det.grid)
    windows = [w for w, _ in run.verdicts]
    flagged = {(w.user_id, w.start_ns // MIN_NS // 60) for w, v in run.verdicts if v.score >= 1.0}
    return Dataset(name, series_of_windows(windows), spans), flagged


def main_union() -> int:
    chosen = rules()
    sets = []
    if realdata.available():
        var = real_variants(realdata.load_fitabase(), 11, tuple(VARIANT_NAMES))
        sets.append(scored(var.events, var.spans, "fitabase + variants"))
    sim = simulate_variants(64, 5, 20261126, tuple(VARIANT_NAMES))
    sets.append(scored(sim.events, sim.spans, "simulated + variants"))
    legit = simulate(40, 7, 20261125, cheats=False, legit_unusual=True)
    sets.append(scored(legit.events, legit.spans, "simulated normal + legit-unusual"))
    for d, flagged in sets:
        union_recall(d, flagged, chosen)
    return 0


def main() -> int:
    sets = load()
    for d in sets:
        if not d.spans or "legit" in d.name:
            print(d.name, json.dumps(extremes(Dataset(d.name, d.series, []))))
    for rule in rules():
        print("==", rule.name)
        for d in sets:
            print("  ", d.name, json.dumps(judge(rule, d)))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main_union() if "--union" in sys.argv else main())
