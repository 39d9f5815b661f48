"""Evidence for a tolerant replay rule: how alike two 10-minute stretches of one user's steps get.

For every stretch of 10 consecutive minutes of at least 40 steps, the nearest other stretch of
the same user at least an hour away (optionally time-stretched by 0.90-1.10) by mean absolute
difference over the stretch's mean. Clean data (every Fitabase user, simulated normal days) says
how alike honest walks get; the replay variants say how alike a replay stays to its original.

``python -m model_export.eval.replay_evidence`` prints both: the clean distances' low quantiles
(where a tolerant rule's limit would have to sit) and, per replay variant, the share of injected
replays whose closest stretch lies under them. This is the evidence behind the README's "known
gaps": at the minute grid no limit separates the re-noised, re-timed or re-cut replays from
people's own repeated walks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from model_export.eval.variant_evidence import MIN_NS, Series, fitabase_series, series_of_windows
from model_export.sim.types import LabeledSpan

F64 = npt.NDArray[np.float64]
L = 10  # minutes per compared stretch
REPLAYS = ("replay_noisy", "replay_stretched", "replay_resegmented")
CLEAN_QUANTILES = (0.0, 1e-3, 1e-2)
FACTORS = tuple(round(f, 2) for f in np.arange(0.90, 1.101, 0.02) if abs(f - 1) > 1e-9)


def segments(steps: F64, t0_min: int) -> tuple[F64, npt.NDArray[np.int64]]:
    active = (steps >= 40).astype(np.float64)
    c = np.concatenate([[0.0], np.cumsum(active)])
    starts = np.flatnonzero(c[L:] - c[:-L] >= L)
    x = np.stack([steps[a : a + L] for a in starts]) if starts.size else np.zeros((0, L))
    return x, starts + t0_min


def stretched(steps: F64, f: float) -> F64:
    """The series played ``f`` times slower: minute m holds the original's [m/f, (m+1)/f)."""
    c = np.concatenate([[0.0], np.cumsum(steps)])
    n = int(steps.shape[0] * f)
    edges = np.arange(n + 1) / f
    cum = np.interp(edges, np.arange(c.shape[0]), c)
    return np.diff(cum)


def nearest(x: F64, tx: npt.NDArray[np.int64], y: F64, ty: npt.NDArray[np.int64]) -> F64:
    """Per row of x, min over rows of y at least 60 min away of mean|x-y| over x's own mean
    absolute deviation: how much of the stretch's shape the nearest one fails to repeat (a
    steady stretch has little shape, so steady walks at one pace do not count as repeats)."""
    out = np.full(x.shape[0], np.inf)
    if y.shape[0] == 0:
        return out
    for a in range(0, x.shape[0], 256):
        xa = x[a : a + 256]
        spread = np.abs(xa - xa.mean(axis=1, keepdims=True)).mean(axis=1)
        d = np.abs(xa[:, None, :] - y[None, :, :]).mean(axis=2) / np.maximum(spread, 1.0)[:, None]
        far = np.abs(tx[a : a + 256, None] - ty[None, :]) >= 60
        out[a : a + 256] = np.where(far, d, np.inf).min(axis=1, initial=np.inf)
    return out


def similarity(s: Series, stretch: bool = True) -> tuple[F64, npt.NDArray[np.int64]]:
    """Per 10-minute stretch its start (absolute minute) and nearest-neighbour distance."""
    t0 = int(s.t0_ns // MIN_NS)
    x, tx = segments(s.steps, t0)
    best = nearest(x, tx, x, tx)
    if stretch:
        for f in FACTORS:
            y, ty_local = segments(stretched(s.steps, f), 0)
            ty = (ty_local / f).astype(np.int64) + t0  # original time of each stretched row
            best = np.minimum(best, nearest(x, tx, y, ty))
    return best, tx


def clean_distances(series: dict[str, Series]) -> F64:
    """Every clean stretch's distance to its user's nearest other stretch (finite ones)."""
    found = [similarity(s)[0] for s in series.values()]
    out = np.concatenate(found) if found else np.zeros(0)
    return out[np.isfinite(out)]


def replay_distances(series: dict[str, Series], spans: list[LabeledSpan]) -> dict[str, F64]:
    """Per replay variant, each injected replay's closest stretch (inf when it holds none)."""
    cache: dict[str, tuple[F64, npt.NDArray[np.int64]]] = {}
    out: dict[str, list[float]] = {}
    for span in spans:
        s = series.get(span.user_id)
        if s is None:
            continue
        if span.user_id not in cache:
            cache[span.user_id] = similarity(s)
        d, tx = cache[span.user_id]
        inside = (tx >= span.start_ns // MIN_NS) & (tx + L <= span.end_ns // MIN_NS + 1)
        out.setdefault(span.family, []).append(float(d[inside].min(initial=np.inf)))
    return {k: np.array(v) for k, v in sorted(out.items())}


def report(name: str, clean: F64, replays: dict[str, F64]) -> list[str]:
    limits = np.quantile(clean, CLEAN_QUANTILES) if clean.size else np.zeros(0)
    lines = [
        f"{name}: {clean.size} clean stretches; nearest-stretch distance at quantiles "
        + ", ".join(f"{q:g}: {v:.3f}" for q, v in zip(CLEAN_QUANTILES, limits, strict=True))
    ]
    for family, d in replays.items():
        shares = ", ".join(
            f"{np.mean(d < v):.0%} under the {q:g} quantile"
            for q, v in zip(CLEAN_QUANTILES, limits, strict=True)
        )
        lines.append(f"  {family}: {d.size} replays, median {np.median(d):.3f}; {shares}")
    return lines


def main() -> int:
    from model_export import realdata
    from model_export.eval.labels import windows_of_results
    from model_export.eval.variants import real_variants, simulate_variants
    from model_export.simulate import simulate
    from stream.parsing import parse_obj

    if realdata.available():
        users = realdata.load_fitabase()
        clean = clean_distances(fitabase_series(users))
        injected = real_variants(users, 11, REPLAYS)
        windows = windows_of_results(parse_obj(e) for e in injected.events)
        replays = replay_distances(series_of_windows(windows), injected.spans)
        print("\n".join(report("Fitabase", clean, replays)))
    else:
        print(f"Fitabase skipped: no data under {realdata.DATA_ROOT}")
    normal = simulate(40, 7, 20261125, cheats=False, legit_unusual=True)
    clean = clean_distances(
        series_of_windows(windows_of_results(parse_obj(e) for e in normal.events))
    )
    injected = simulate_variants(64, 5, 20261126, REPLAYS)
    windows = windows_of_results(parse_obj(e) for e in injected.events)
    replays = replay_distances(series_of_windows(windows), injected.spans)
    print("\n".join(report("simulated", clean, replays)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
