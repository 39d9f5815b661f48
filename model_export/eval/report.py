"""The Markdown report of ``lifeup evaluate`` and its plots (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model_export.eval.metrics import MINUTE_NS, ScorerResult, roc_curve, tpr_at_fpr
from model_export.simulate import CHEAT_FAMILIES, LEGIT_FAMILIES
from stream.points import CHANNEL_NAMES

if TYPE_CHECKING:
    from model_export.evaluate import DatasetResult, Evaluation

SCORERS = ("combined", "autoencoder", "plausibility", "isolation_forest", "seed_method")
TARGETS = {"recall": 0.97, "precision": 0.9, "false_alerts_per_user_day": 0.02, "legit": 0.05}
UNITS = {"steps": "steps/min", "distance": "m/min", "speed": "m/s"}


def pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{100 * x:.1f} %"


def num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or x != x else f"{x:.{digits}f}"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc(d: DatasetResult, path: Path) -> None:
    """One panel per cheat family: each scorer's ROC against the normal windows."""
    plt = _pyplot()
    families = [f for f in CHEAT_FAMILIES if d.labeled.family_mask(f).any()]
    cols = 4
    rows = max(1, int(np.ceil(len(families) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.4 * rows), squeeze=False)
    normal = d.labeled.normal
    for ax, family in zip(axes.ravel(), families, strict=False):
        mask = d.labeled.family_mask(family)
        for scorer in SCORERS:
            fpr, tpr = roc_curve(d.scores[scorer][mask], d.scores[scorer][normal])
            auc = d.results[scorer].families[family].auc
            ax.plot(np.maximum(fpr, 1e-5), tpr, label=f"{scorer} ({num(auc, 2)})")
        ax.set_xscale("log")
        ax.set_xlim(1e-5, 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{family} ({int(mask.sum())} windows)", fontsize=9)
        ax.set_xlabel("false-positive rate (normal windows)", fontsize=8)
        ax.set_ylabel("true-positive rate", fontsize=8)
        ax.legend(fontsize=6, loc="lower right")
    for ax in axes.ravel()[len(families) :]:
        ax.axis("off")
    fig.suptitle(f"ROC per cheat family, {d.labeled.name} benchmark (AUC in brackets)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def example_indices(d: DatasetResult) -> list[tuple[str, int]]:
    """Per family the window with the median combined score (a typical case, not the easiest)."""
    out: list[tuple[str, int]] = []
    normal = np.flatnonzero(d.labeled.normal & (d.scores["autoencoder"] > 0))
    if normal.size:
        worst = normal[np.argsort(d.scores["autoencoder"][normal], kind="stable")][-1]
        out.append(("normal (top AE score)", int(worst)))
    groups = [(f, d.labeled.family_mask(f)) for f in CHEAT_FAMILIES]
    legit_only = [
        lg if c is None else None
        for c, lg in zip(d.labeled.cheat_family, d.labeled.legit_family, strict=True)
    ]
    groups += [(f, np.array([x == f for x in legit_only], dtype=bool)) for f in LEGIT_FAMILIES]
    for family, mask in groups:
        idx = np.flatnonzero(mask)
        if idx.size:
            order = idx[np.argsort(d.scores["combined"][idx], kind="stable")]
            out.append((family, int(order[len(order) // 2])))
    return out


def plot_examples(evaluation: Evaluation, d: DatasetResult, path: Path) -> None:
    """Example windows (solid) beside the autoencoder's reconstruction (dashed)."""
    plt = _pyplot()
    picks = example_indices(d)
    windows = [d.labeled.windows[i] for _, i in picks]
    recon = evaluation.detector.autoencoder.reconstruct(windows)
    fig, axes = plt.subplots(len(picks), 3, figsize=(13, 1.9 * len(picks)), squeeze=False)
    minutes = np.arange(windows[0].values.shape[1]) if windows else np.arange(0)
    for r, ((family, i), w) in enumerate(zip(picks, windows, strict=True)):
        for c, channel in enumerate(CHANNEL_NAMES):
            ax = axes[r, c]
            shown = np.where(w.mask[c], w.values[c], np.nan)
            ax.plot(minutes, shown, color="C0", linewidth=1.2, label="window")
            ax.plot(minutes, recon[r, c], color="C3", linestyle="--", linewidth=1, label="recon.")
            if c == 0:
                reasons = ", ".join(d.reasons[i]) or "no reason"
                ax.set_ylabel(f"{family}\nscore {d.scores['combined'][i]:.2f}", fontsize=8)
                ax.set_title(reasons, fontsize=7, loc="left")
            if r == 0:
                ax.set_title(f"{channel} ({UNITS[channel]})", fontsize=9, loc="right")
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Example windows and their reconstruction ({d.labeled.name} benchmark)")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=90)
    plt.close(fig)


BASELINES = ("isolation_forest", "seed_method")


def matched_recall(d: DatasetResult) -> dict[str, dict[str, float]]:
    """Per family the combined detector's window recall, and each baseline's recall when its
    threshold is set to give the combined detector's false-positive rate on normal windows."""
    normal = d.labeled.normal
    fpr = float((d.scores["combined"][normal] >= 1.0).mean()) if normal.any() else 0.0
    out: dict[str, dict[str, float]] = {}
    for family, mine in d.results["combined"].families.items():
        mask = d.labeled.family_mask(family)
        row = {"combined": mine.window_recall}
        for s in BASELINES:
            row[s] = tpr_at_fpr(d.scores[s][mask], d.scores[s][normal], fpr)
        out[family] = row
    return out


def matched_table(d: DatasetResult) -> list[str]:
    lines = [
        "| family | combined | " + " | ".join(f"{s} at the same rate" for s in BASELINES) + " |",
        "|" + " --- |" * (len(BASELINES) + 2),
    ]
    for family, row in matched_recall(d).items():
        cells = " | ".join(pct(row[s]) for s in ("combined", *BASELINES))
        lines.append(f"| `{family}` | {cells} |")
    return lines


def family_table(d: DatasetResult) -> list[str]:
    head = "| family | windows / instances | " + " | ".join(SCORERS) + " |"
    lines = [head, "|" + " --- |" * (len(SCORERS) + 2)]
    for family in CHEAT_FAMILIES:
        first = d.results["combined"].families.get(family)
        if first is None:
            continue
        cells = []
        for s in SCORERS:
            f = d.results[s].families[family]
            cells.append(
                f"{pct(f.window_recall)} / {pct(f.core_window_recall)} / {pct(f.instance_recall)}"
            )
        lines.append(
            f"| `{family}` | {first.windows} / {first.instances} | " + " | ".join(cells) + " |"
        )
    return lines


def legit_table(d: DatasetResult) -> list[str]:
    """Share of legitimate-unusual bouts with at least one flagged window, per family."""
    families = [f for f in LEGIT_FAMILIES if f in d.results["combined"].legit_families]
    if not families:
        return []
    lines = ["| legitimate-unusual | bouts | " + " | ".join(SCORERS) + " |"]
    lines.append("|" + " --- |" * (len(SCORERS) + 2))
    for f in families:
        n = sum(1 for s in d.labeled.spans if s.family == f and not s.cheat)
        cells = " | ".join(pct(d.results[s].legit_families[f]) for s in SCORERS)
        lines.append(f"| `{f}` | {n} | {cells} |")
    return lines


def scorer_table(d: DatasetResult) -> list[str]:
    lines = [
        "| scorer | precision | false alerts / user-day | legit-unusual flagged | "
        "median delay (min) | p90 delay (min) | mean AUC |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in SCORERS:
        r = d.results[s]
        aucs = [f.auc for f in r.families.values() if f.auc is not None]
        lines.append(
            f"| {s} | {pct(r.precision)} | {num(r.false_alerts_per_user_day)} "
            f"({r.false_alerts}) | {pct(r.legit_flagged)} ({r.legit_bouts} bouts) | "
            f"{num(r.median_delay_min, 0)} | {num(r.p90_delay_min, 0)} | "
            f"{num(float(np.mean(aucs)) if aucs else None)} |"
        )
    return lines


def reason_lines(d: DatasetResult) -> list[str]:
    """Which reason codes the combined detector gave, per family and on false alerts."""
    flags = d.scores["combined"] >= 1.0
    groups: dict[str, Counter[str]] = {}
    for i, flagged in enumerate(flags):
        if not flagged:
            continue
        key = d.labeled.cheat_family[i] or (
            f"legit: {d.labeled.legit_family[i]}" if d.labeled.legit_family[i] else "false alert"
        )
        groups.setdefault(key, Counter()).update(d.reasons[i])
    lines = ["| windows of | reasons given (count) |", "| --- | --- |"]
    for key in sorted(groups):
        top = ", ".join(f"`{r}` {n}" for r, n in groups[key].most_common(6))
        lines.append(f"| {key} | {top} |")
    return lines


def target_rows(evaluation: Evaluation) -> list[str]:
    names = list(evaluation.datasets)
    lines = ["| combined detector | target | " + " | ".join(names) + " |"]
    lines.append("|" + " --- |" * (len(names) + 2))

    def row(label: str, target: str, cell: Any) -> str:
        return (
            f"| {label} | {target} | "
            + " | ".join(cell(evaluation.datasets[n]) for n in names)
            + " |"
        )

    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    def worst_recall(d: DatasetResult) -> str:
        fams = d.results["combined"].families
        if not fams:
            return "–"
        worst = min(fams, key=lambda f: fams[f].window_recall)
        v = fams[worst].window_recall
        return f"{mark(v >= TARGETS['recall'])} {pct(v)} (`{worst}`)"

    def precision(d: DatasetResult) -> str:
        v = d.results["combined"].precision
        return f"{mark(v is not None and v >= TARGETS['precision'])} {pct(v)}"

    def fa(d: DatasetResult) -> str:
        v = d.results["combined"].false_alerts_per_user_day
        return f"{mark(v <= TARGETS['false_alerts_per_user_day'])} {num(v)}"

    def legit(d: DatasetResult) -> str:
        v = d.results["combined"].legit_flagged
        return "–" if v is None else f"{mark(v <= TARGETS['legit'])} {pct(v)}"

    def beats(d: DatasetResult) -> str:
        matched = matched_recall(d)
        losses = [
            f"{family} vs {s}"
            for family, row in matched.items()
            for s in BASELINES
            if row[s] > row["combined"]
        ]
        return f"{mark(not losses)} " + (", ".join(losses) if losses else "every family")

    lines += [
        row("worst per-family window recall", "≥ 97 %", worst_recall),
        row("precision", "≥ 90 %", precision),
        row("false alerts per user-day (normal time)", "≤ 0.02", fa),
        row("legit-unusual bouts flagged", "≤ 5 %", legit),
        row("better than every baseline (recall at equal false-alert rate)", "all families", beats),
    ]
    return lines


def missed_lines(d: DatasetResult) -> list[str]:
    """The combined detector's missed windows per family, with the minutes of the cheat each
    held: whether what is left is an hour's edge or a whole stretch."""
    lw = d.labeled
    flagged = d.scores["combined"] >= 1.0
    rows = []
    for family in sorted({f for f in lw.cheat_family if f}):
        held = sorted(
            lw.cheat_overlap_ns[i] // MINUTE_NS
            for i, f in enumerate(lw.cheat_family)
            if f == family and not flagged[i]
        )
        if held:
            rows.append(f"`{family}` {', '.join(str(m) for m in held)}")
    if not rows:
        return ["The combined detector missed no window.", ""]
    return [
        "Windows the combined detector missed, by the whole minutes of the cheat each held "
        "(0: under a minute): " + "; ".join(rows) + ".",
        "",
    ]


def carried_lines(d: DatasetResult) -> list[str]:
    """How many windows were flagged only retroactively (``stream.scoring.retro``)."""
    n = d.carried.get("combined", 0)
    if not n:
        return []
    cheats = sum(
        1
        for i, v in enumerate(d.sent_ns["combined"].tolist())
        if v != d.labeled.windows[i].end_ns and d.labeled.cheat_family[i] is not None
    )
    return [
        f"The combined detector flagged {n} windows retroactively ({cheats} of them overlap a "
        "cheat): the next window judged a bout whole that began in them, which they had seen "
        "only in part. They count as flags of the earlier window; their delay runs to the end "
        "of the next window, when the alert is sent.",
        "",
    ]


def dataset_section(d: DatasetResult, folder: Path) -> list[str]:
    lw = d.labeled
    n_cheats = sum(s.cheat for s in lw.spans)
    n_legit = len(lw.spans) - n_cheats
    lines = [
        f"## The {lw.name} benchmark",
        "",
        f"{len({w.user_id for w in lw.windows})} users, {lw.user_days:.0f} user-days, "
        f"{len(lw.windows)} scored windows ({int(lw.normal.sum())} normal), "
        f"{n_cheats} injected cheats, {n_legit} legitimate-unusual bouts.",
        "",
        "### Recall per cheat family",
        "",
        "Each cell: window recall (every window overlapping a cheat, as the targets count it) / "
        "recall on windows holding at least 10 minutes of the cheat (not an hour's edge sliver) / "
        "instance recall (the share of injected cheats with at least one flagged window).",
        "",
        *family_table(d),
        "",
        *carried_lines(d),
        *missed_lines(d),
        "### Precision, false alerts, legitimate-unusual activity, delay",
        "",
        *scorer_table(d),
        "",
        *legit_table(d),
        "",
        "### Baselines tuned to the combined detector's false-alert rate",
        "",
        "Window recall of each baseline when its threshold gives the same share of flagged normal "
        "windows as the combined detector (its own threshold flags far more, or far fewer).",
        "",
        *matched_table(d),
        "",
    ]
    if d.notes.get("held_out_users"):
        per_day = d.notes["held_out_false_alerts_per_user_day"]
        cells = ", ".join(f"{s} {num(per_day[s])}" for s in SCORERS)
        lines += [
            f"On the {d.notes['held_out_users']} Fitabase users the autoencoder never trained on "
            f"({d.notes['held_out_user_days']} user-days), false alerts per user-day: {cells}.",
            "",
        ]
    lines += [
        "### Reasons the combined detector gave",
        "",
        *reason_lines(d),
        "",
        f"![ROC per family]({lw.name}_roc.png)",
        "",
        f"![Examples]({lw.name}_examples.png)",
        "",
    ]
    return lines


def sim_vs_real(path: Path) -> list[str]:
    """The normal generator beside the Fitabase users (``model_export.sim.compare``)."""
    from model_export import realdata
    from model_export.sim.compare import compare, differences, plot

    if not realdata.available():
        return ["(Fitabase data absent: no comparison.)"]
    simulated, real = compare()
    plot(simulated, real, path)
    s, r = simulated.summary(), real.summary()
    lines = [f"![Simulated vs Fitabase]({path.name})", "", "| statistic | simulated | Fitabase |"]
    lines.append("| --- | --- | --- |")
    lines += [f"| {k} | {s[k]:.3g} | {r[k]:.3g} |" for k in s]
    off = differences(simulated, real)
    lines += ["", "Outside tolerance: " + "; ".join(off) if off else "Every statistic is within "
              "the tolerance `tests/test_realdata.py` enforces."]  # fmt: skip
    return lines


def write_report(evaluation: Evaluation, folder: Path, seconds: float) -> Path:
    """Writes ``README.md``, ``results.json`` and the plots into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, d in evaluation.datasets.items():
        plot_roc(d, folder / f"{name}_roc.png")
        plot_examples(evaluation, d, folder / f"{name}_examples.png")
    comparison = sim_vs_real(folder / "sim_vs_fitabase.png")
    c = evaluation.config
    lines = [
        "# LifeUp evaluation",
        "",
        f"Written by `lifeup evaluate` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"in {seconds:.0f} s; "
        f"model `{evaluation.model_version}` (autoencoder calibrated at a false-alert rate of "
        f"{evaluation.false_alert_rate:g} per window). Seeds: simulated benchmark {c.sim_seed} "
        f"({c.sim_users} users × {c.sim_days} days), real benchmark {c.real_seed} (cheats on "
        f"{pct(c.real_cheat_rate)} of the real user-days, legitimate-unusual bouts on "
        f"{pct(c.real_legit_rate)}).",
        "",
        "How to read it: alerts are per window (one UTC hour). A window overlapping an injected "
        "cheat is positive; one overlapping only a legitimate-unusual bout (long run, long hike, "
        "night walk, treadmill) must stay silent; every other window is normal time, where an "
        "alert is a false alert. Precision counts flagged legitimate-unusual windows as false "
        "positives. Delay: from a cheat's start to the end of its first flagged window, or, for a "
        "window alerted retroactively (a bout that began in it, judged whole by the next "
        "window), to the end of the window that carried the alert back (event time; the worker "
        "adds the grid's lateness of 15 min, or the idle flush). Scorers: "
        "`autoencoder` and `plausibility` are the two parts of the shipped detector, `combined` "
        "the detector itself; `isolation_forest` sees per-channel summaries of the same windows, "
        "trained on normal windows and calibrated at the same false-alert rate; `seed_method` is "
        "the earlier system (pandas join + interpolation, 3 → 8 → 3 autoencoder, mean + 2σ of "
        "each user-hour request's own errors). Recall, precision, false alerts and delay use each "
        "scorer's own threshold (1.0); the ROC curves and AUCs use its continuous score. The "
        "windows are built as the worker builds them, from events in the order the simulated "
        "phones sync them: each window is judged with the previous window's last 30 minutes and "
        "the look-ahead the buffer holds when it closes (what has arrived by then), so a cheat "
        "crossing the hour is judged whole by both windows when enough of it has arrived.",
        "",
        "## Targets",
        "",
        *target_rows(evaluation),
        "",
    ]
    for d in evaluation.datasets.values():
        lines += dataset_section(d, folder)
    lines += [
        "## The simulator against real users",
        "",
        *comparison,
        "",
        "Caveats: the real benchmark's normal time is the Fitabase users' real days, which the "
        "autoencoder (and the IsolationForest) also trained on, except the held-out users listed "
        "above. Fitabase has steps per minute only; distance is derived (steps × the user's "
        "stride) and there are no speed samples, so checks that need GPS see less there. The "
        "cheats are simulated on both benchmarks: recall measures the families as LifeUp's "
        "simulator draws them (`model_export/sim/unusual.py`), with parameters drawn per instance.",
        "",
        f"Timings (s): {json.dumps({k: round(v, 1) for k, v in evaluation.timings_s.items()})}",
        "",
    ]
    out = folder / "README.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    (folder / "results.json").write_text(
        json.dumps(evaluation.summary(), indent=1, default=str), encoding="utf-8"
    )
    return out


def console_table(evaluation: Evaluation) -> str:
    """A compact table for the terminal."""
    out = []
    for name, d in evaluation.datasets.items():
        out.append(f"{name}: {len(d.labeled.windows)} windows, {d.labeled.user_days:.0f} user-days")
        fams = list(d.results["combined"].families)
        out.append(
            f"  {'scorer':<17}{'prec':>8}{'FA/ud':>8}{'legit':>8}  "
            + " ".join(f"{f[:10]:>10}" for f in fams)
        )
        for s in SCORERS:
            r: ScorerResult = d.results[s]
            rec = " ".join(f"{pct(r.families[f].window_recall):>10}" for f in fams)
            fa = num(r.false_alerts_per_user_day)
            head = f"  {s:<17}{pct(r.precision):>8}{fa:>8}{pct(r.legit_flagged):>8}"
            out.append(f"{head}  {rec}")
    return "\n".join(out)
