"""`lifeup inspect PATH... [--user ID] [--json]`: totals, sources and rejections per user."""

from __future__ import annotations

import argparse
import sys

import orjson

from stream.commands import RejectionSample, add_input_arguments

HELP = "what LifeUp makes of the inputs: ranges, de-duplicated totals, sources, rejections"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from stream.inspect import format_text, inspect_results
    from stream.parsing import iter_results

    sample = RejectionSample()
    # inspect_results replays them in event time itself
    report = inspect_results(sample.watch(iter_results(args.paths, args.user, ordered=False)))
    if args.json:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
    else:
        print(format_text(report))
    sys.stdout.flush()  # the report before the details, where both go to one terminal
    sample.print()
    return 0
