"""``lifeup score PATH... [--user ID] [--json]``: the worker's verdicts, offline and without Kafka.

Reads files, folders or ``-`` (JSON lines on standard input) like ``lifeup publish``, runs the
same chain as the worker (``stream.pipeline.score_results`` with the shipped detector), and
prints the alerts the worker would send: ``--json`` one contract alert object per line, else one
readable line each. Counts and rejections by code go to standard error, so stdout stays clean.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from stream.alerts import Alert, alerts_for
from stream.commands import RejectionSample, add_input_arguments

HELP = "score inputs offline, without Kafka; print the alerts the worker would emit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one alert JSON object per line")
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="ONNX model (default: LIFEUP_MODEL_PATH or shipped)",
    )


def run(args: argparse.Namespace) -> int:
    from stream.parsing import iter_results
    from stream.pipeline import score_results
    from stream.scoring.detector import load_detector

    detector = load_detector(args.model)
    grid = detector.grid
    offline = score_results(iter_results(args.paths, args.user, grid=grid), detector, grid)
    alerts = alerts_for(offline.verdicts, detector.version)
    out = sys.stdout
    for alert in alerts:
        out.write(alert.to_json().decode() + "\n" if args.json else describe(alert) + "\n")
    out.flush()
    users = {window.user_id for window, _ in offline.verdicts}
    labels = ", ".join(f"{k} {v}" for k, v in offline.outcomes.as_labels().items())
    print(
        f"{len(offline.verdicts)} windows of {len(users)} users scored with {detector.version}; "
        f"{len(alerts)} alerts; points: {labels}",
        file=sys.stderr,
    )
    codes = Counter(r.code for r in offline.outcomes.rejections)
    if codes:
        listed = ", ".join(f"{code} {n}" for code, n in codes.most_common())
        print(f"rejected by code: {listed}", file=sys.stderr)
        sample = RejectionSample()
        sample.note(offline.outcomes.rejections)
        sample.print()
    return 0


def describe(alert: Alert) -> str:
    """One readable line: window, user, score, reasons, channel shares."""
    shares = ", ".join(f"{k} {v:.2f}" for k, v in alert.channels.items())
    reasons = " ".join(alert.reasons) or "-"
    return (
        f"{alert.window_start} – {alert.window_end}  {alert.user_id}  "
        f"score {alert.score:.2f}  {reasons}  ({shares})"
    )
