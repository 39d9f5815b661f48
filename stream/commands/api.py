"""`lifeup api`: not implemented yet (see the open issues)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    print("lifeup api: not implemented yet", file=sys.stderr)
    return 2
