"""``lifeup evaluate``: the detector against its baselines on simulated and real users.

Needs the ``[train]`` extra (scikit-learn for the IsolationForest baseline, matplotlib for
the plots); never torch. Writes a Markdown report with plots (default ``docs/evaluation/``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="report folder (./docs/evaluation)")
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (the shipped one)")
    parser.add_argument("--quick", action="store_true", help="a small benchmark, for tests")
    parser.add_argument("--sim-users", type=int, default=None, help="simulated users")
    parser.add_argument("--sim-days", type=int, default=None, help="days per simulated user")
    parser.add_argument("--seed", type=int, default=None, help="seed of the simulated benchmark")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")


def run(args: argparse.Namespace) -> int:
    try:
        from model_export.eval.report import console_table, write_report
        from model_export.evaluate import QUICK, EvalConfig, evaluate
    except ImportError as exc:  # sklearn or matplotlib missing
        print(f"lifeup evaluate needs the [train] extra: {exc}", file=sys.stderr)
        return 2
    config = QUICK if args.quick else EvalConfig()
    changes = {
        "out_dir": args.out,
        "model_path": args.model,
        "sim_users": args.sim_users,
        "sim_days": args.sim_days,
        "sim_seed": args.seed,
    }
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    started = time.perf_counter()
    log = (lambda _: None) if args.json else (lambda m: print(m, file=sys.stderr))
    evaluation = evaluate(config, progress=log)
    report = write_report(evaluation, config.out_dir, time.perf_counter() - started)
    if args.json:
        print(json.dumps(evaluation.summary(), default=str))
    else:
        print(console_table(evaluation))
        print(f"report: {report}")
    return 0
