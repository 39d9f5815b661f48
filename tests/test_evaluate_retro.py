"""``lifeup evaluate`` counts retroactive alerts as flags of the earlier window, sent later."""

from __future__ import annotations

import numpy as np

from model_export.eval.labels import label
from model_export.eval.metrics import evaluate_scores
from model_export.evaluate import carried
from model_export.sim.types import LabeledSpan
from stream.scoring.base import WindowScore
from tests.test_evaluate import HOUR_NS, MIN_NS, window


def test_a_retroactive_flag_counts_for_the_earlier_window_and_its_delay_runs_on() -> None:
    """A shaker from 1:55 to 2:40: 1:00 is flagged only when 2:00 carries its finding back,
    so the instance is detected at 3:00, 65 minutes after it began, not at 2:00."""
    windows = [window("u", h, steps=10.0) for h in range(4)]
    spans = [LabeledSpan("u", HOUR_NS + 55 * MIN_NS, 2 * HOUR_NS + 40 * MIN_NS, "phone_shaker",
                         True)]  # fmt: skip
    lw = label("t", windows, spans, user_days=1.0)
    back = WindowScore(2.0, {"steps": 1.0}, ("cadence_without_variation",))
    verdicts = [WindowScore(0.1), WindowScore(0.4), WindowScore(3.0, back=back), WindowScore(0.0)]
    run = carried(windows, verdicts)
    assert run.count == 1 and run.verdicts[1].carried and run.verdicts[1].score == 2.0
    ends = [w.end_ns for w in windows]
    assert run.sent_ns.tolist() == [ends[0], ends[2], ends[2], ends[3]]  # 1:00's sent at 3:00
    scores = np.array([v.score for v in run.verdicts])
    result = evaluate_scores(lw, "combined", scores, run.sent_ns)
    family = result.families["phone_shaker"]
    assert family.window_recall == 1.0 and result.precision == 1.0
    assert result.median_delay_min == 65.0  # 1:55 to 3:00, when 2:00's alert carries it back
    assert evaluate_scores(lw, "combined", scores).median_delay_min == 5.0  # as if sent at 2:00


def test_nothing_is_carried_onto_a_window_alerted_itself() -> None:
    windows = [window("u", h, steps=10.0) for h in range(2)]
    back = WindowScore(2.0, {}, ("cadence_without_variation",))
    verdicts = [WindowScore(1.5, {}, ("unusual_pattern_steps",)), WindowScore(3.0, back=back)]
    run = carried(windows, verdicts)
    assert run.count == 0 and run.verdicts == verdicts
    assert run.sent_ns.tolist() == [w.end_ns for w in windows]
