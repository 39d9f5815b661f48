"""The normal generator beside the real Fitabase users: the same statistics, and a plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from model_export import realdata
from model_export.sim.stats import ActivityStats, FloatArray, activity_stats, minute_steps
from model_export.sim.types import RawPoint
from model_export.simulate import simulate


def simulated_days(n_users: int, days: int, seed: int) -> list[FloatArray]:
    """Per-minute steps of normal simulated users (the source the user's phone pays on)."""
    data = simulate(n_users, days, seed, cheats=False, legit_unusual=False)
    start_ns = int(data_start(data.points)) if data.points else 0
    out: list[FloatArray] = []
    for uid, points in data.points.items():
        # Midnight of the user's local day would shift days; UTC days serve totals equally.
        source = data.profiles[uid].sources.steps[0]
        m = minute_steps(points, source, start_ns, (days + 1) * 1440)
        out += [m[i * 1440 : (i + 1) * 1440] for i in range(days + 1)]
    return out


def data_start(points: dict[str, list[RawPoint]]) -> int:
    first = min(p.start_ns for ps in points.values() for p in ps)
    return int(first // (86_400 * 10**9) * 86_400 * 10**9)


def compare(n_users: int = 30, days: int = 7, seed: int = 5) -> tuple[ActivityStats, ActivityStats]:
    """(simulated, Fitabase) statistics; needs the Fitabase data."""
    real = [d for u in realdata.load_fitabase() for d in u.days()]
    return activity_stats(simulated_days(n_users, days, seed)), activity_stats(real)


def plot(sim: ActivityStats, real: ActivityStats, path: Path) -> Path:
    """Three panels: cadence of active minutes, steps per day, bout lengths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = [
        ("steps in an active minute", sim.cadence, real.cadence, np.arange(0, 230, 5), False),
        ("steps per user-day", sim.daily, real.daily, np.arange(0, 32_000, 1_000), False),
        ("bout length (consecutive active minutes)", sim.bouts, real.bouts, np.arange(1, 62), True),
    ]
    for ax, (title, s, r, bins, log) in zip(axes, panels, strict=True):
        ax.hist(r, bins=bins, density=True, alpha=0.55, label="Fitabase (22 real users)")
        ax.hist(s, bins=bins, density=True, histtype="step", linewidth=1.6, label="simulated")
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle("Normal simulated users vs the real Fitabase users", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# Tolerances: (statistic, lowest and highest allowed ratio simulated / real). Wide enough for
# a month of 22 office workers against a varied population, tight enough that a generator with
# doubled cadences, halved days, or bouts without fidgeting fails.
TOLERANCES: dict[str, tuple[float, float]] = {
    "cadence_p50": (0.7, 1.4),
    "cadence_p90": (0.75, 1.45),
    "daily_p25": (0.7, 1.4),
    "daily_p50": (0.75, 1.3),
    "daily_p75": (0.75, 1.3),
    "bout_p50": (0.5, 2.0),
    "bout_p90": (0.6, 1.7),
    "bout_p99": (0.6, 1.6),
    "active_fraction": (0.65, 1.5),
}


def differences(sim: ActivityStats, real: ActivityStats) -> list[str]:
    """Statistics outside their tolerance, as readable lines (empty when the generator fits)."""
    s, r = sim.summary(), real.summary()
    out = []
    for key, (lo, hi) in TOLERANCES.items():
        ratio = s[key] / r[key]
        if not lo <= ratio <= hi:
            out.append(f"{key}: simulated {s[key]:.3g} vs real {r[key]:.3g} (x{ratio:.2f})")
    return out


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs") / "sim_vs_fitabase.png"
    simulated, real = compare()
    for line in differences(simulated, real) or ["every statistic within its tolerance"]:
        print(line)
    print(f"wrote {plot(simulated, real, out)}")
