"""``lifeup worker``: the Faust worker (Kafka from ``LIFEUP_KAFKA_BOOTSTRAP``)."""

from __future__ import annotations

import argparse

HELP = "the Faust worker (Kafka from LIFEUP_KAFKA_BOOTSTRAP)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--loglevel", default="warning", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--no-uvloop", action="store_true", help="use asyncio's own event loop instead of uvloop"
    )


def run(args: argparse.Namespace) -> int:
    from stream.settings import get_settings
    from stream.worker.run import run_worker

    return run_worker(get_settings(), loglevel=args.loglevel, uvloop=not args.no_uvloop)
