"""``lifeup demo``: the whole pipeline on one machine, with a replay of injected cheats."""

from __future__ import annotations

import argparse
import sys

HELP = "the whole pipeline on one machine: broker, worker, API and a replay with cheats"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=12, help="simulated users (default 12)")
    parser.add_argument("--days", type=int, default=2, help="days of data per user (default 2)")
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds the replay takes (default 60)"
    )
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--no-api", action="store_true", help="do not start the API")


def run(args: argparse.Namespace) -> int:
    from stream.demo import DemoOptions, run_demo, summary

    options = DemoOptions(
        users=args.users,
        days=args.days,
        duration_s=args.duration,
        seed=args.seed,
        api=not args.no_api,
    )
    try:
        report = run_demo(options)
    except KeyboardInterrupt:
        print("\nlifeup demo: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    print(summary(report), flush=True)
    return 0
