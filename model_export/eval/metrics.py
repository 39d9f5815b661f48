"""The figures ``lifeup evaluate`` reports, as pure functions of labels and per-window scores."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.stats import mannwhitneyu

from model_export.eval.labels import LabeledWindows
from stream.scoring.base import THRESHOLD

F64 = npt.NDArray[np.float64]
MINUTE_NS = 60_000_000_000


CORE_OVERLAP_NS = 10 * MINUTE_NS  # a window holding at least 10 minutes of the cheat


@dataclass(frozen=True, slots=True)
class FamilyResult:
    windows: int
    window_recall: float
    core_window_recall: float  # windows holding ≥ 10 minutes of the cheat, not a sliver
    instances: int
    instance_recall: float
    auc: float | None
    median_delay_min: float | None


@dataclass(slots=True)
class ScorerResult:
    scorer: str
    precision: float | None
    flagged: int
    false_alerts: int
    false_alerts_per_user_day: float
    legit_bouts: int
    legit_flagged: float | None
    median_delay_min: float | None
    p90_delay_min: float | None
    families: dict[str, FamilyResult] = field(default_factory=dict)
    legit_families: dict[str, float] = field(default_factory=dict)  # share of bouts flagged


def auc(positive: F64, negative: F64) -> float | None:
    """Area under the ROC curve: the Mann-Whitney U statistic over n1 x n2 (ties count half)."""
    if positive.size == 0 or negative.size == 0:
        return None
    u = mannwhitneyu(positive, negative, alternative="two-sided", method="asymptotic").statistic
    return float(u / (positive.size * negative.size))


def roc_curve(positive: F64, negative: F64) -> tuple[F64, F64]:
    """False- and true-positive rates at every distinct score, for plotting."""
    cuts = np.unique(np.concatenate([positive, negative, [np.inf]]))[::-1]
    tpr = np.array([(positive >= c).mean() if positive.size else 0.0 for c in cuts])
    fpr = np.array([(negative >= c).mean() if negative.size else 0.0 for c in cuts])
    return np.append(fpr, 1.0), np.append(tpr, 1.0)


def tpr_at_fpr(positive: F64, negative: F64, fpr: float) -> float:
    """Recall at the strictest cut whose false-positive rate on ``negative`` is at most ``fpr``:
    how a baseline would do if tuned to the same false-alert rate."""
    if positive.size == 0:
        return float("nan")
    allowed = int(np.floor(fpr * negative.size))
    ranked = np.sort(negative)[::-1]
    cut = ranked[allowed] if allowed < ranked.size else -np.inf
    return float((positive > cut).mean())


def span_delays(
    lw: LabeledWindows,
    flags: npt.NDArray[np.bool_],
    idx: list[int],
    sent_ns: npt.NDArray[np.int64] | None = None,
) -> list[float]:
    """Minutes from each detected span's start to its first alert: the end of the flagged
    window, or ``sent_ns`` (an alert carried back from the next window leaves at its end)."""
    out: list[float] = []
    for k in idx:
        hit = [i for i in lw.span_windows[k] if flags[i]]
        if hit:
            first = min(lw.windows[i].end_ns if sent_ns is None else int(sent_ns[i]) for i in hit)
            out.append(max(0.0, (first - lw.spans[k].start_ns) / MINUTE_NS))
    return out


def evaluate_scores(
    lw: LabeledWindows,
    scorer: str,
    scores: F64,
    sent_ns: npt.NDArray[np.int64] | None = None,
) -> ScorerResult:
    """The figures of one scorer; ``sent_ns``: when each window's alert would be sent, when
    not at the window's end (``span_delays``)."""
    flags = scores >= THRESHOLD
    normal = lw.normal
    cheat = np.array([c is not None for c in lw.cheat_family], dtype=bool)
    flagged = int(flags.sum())
    false_alerts = int((flags & normal).sum())
    legit_idx = [k for k, s in enumerate(lw.spans) if not s.cheat]
    legit_hits = [
        any(flags[i] and lw.cheat_family[i] is None for i in lw.span_windows[k]) for k in legit_idx
    ]
    cheat_idx = [k for k, s in enumerate(lw.spans) if s.cheat]
    delays = span_delays(lw, flags, cheat_idx, sent_ns)
    result = ScorerResult(
        scorer=scorer,
        precision=float((flags & cheat).sum() / flagged) if flagged else None,
        flagged=flagged,
        false_alerts=false_alerts,
        false_alerts_per_user_day=false_alerts / lw.user_days if lw.user_days else 0.0,
        legit_bouts=len(legit_idx),
        legit_flagged=float(np.mean(legit_hits)) if legit_hits else None,
        median_delay_min=float(np.median(delays)) if delays else None,
        p90_delay_min=float(np.percentile(delays, 90)) if delays else None,
    )
    for family in sorted({lw.spans[k].family for k in legit_idx}):
        hits = [
            h for k, h in zip(legit_idx, legit_hits, strict=True) if lw.spans[k].family == family
        ]
        result.legit_families[family] = float(np.mean(hits))
    families = sorted({s.family for s in lw.spans if s.cheat})
    for family in families:
        mask = lw.family_mask(family)
        idx = [k for k in cheat_idx if lw.spans[k].family == family]
        detected = [any(flags[i] for i in lw.span_windows[k]) for k in idx]
        fam_delays = span_delays(lw, flags, idx, sent_ns)
        core = mask & (np.asarray(lw.cheat_overlap_ns) >= CORE_OVERLAP_NS)
        result.families[family] = FamilyResult(
            windows=int(mask.sum()),
            window_recall=float(flags[mask].mean()) if mask.any() else float("nan"),
            core_window_recall=float(flags[core].mean()) if core.any() else float("nan"),
            instances=len(idx),
            instance_recall=float(np.mean(detected)) if detected else float("nan"),
            auc=auc(scores[mask], scores[normal]),
            median_delay_min=float(np.median(fam_delays)) if fam_delays else None,
        )
    return result
