#!/usr/bin/env python3
"""Writes a simulated sample (normal users plus injected cheats) as JSON lines for `lifeup publish`.

docker-compose's ``demo`` profile runs it inside the image, so the demo needs no data on the host
and never touches the real data sets. Events come from ``model_export.simulate.simulate``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import orjson


def write_jsonl(events: Iterable[dict[str, Any] | list[dict[str, Any]]], out: TextIO) -> int:
    """One message per line (an event, or a list of Health Connect records); returns the count."""
    count = 0
    for event in events:
        out.write(orjson.dumps(event).decode("utf-8"))
        out.write("\n")
        count += 1
    return count


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=20, help="simulated users")
    parser.add_argument("--days", type=int, default=2, help="days per user")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="file to write; default stdout")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from model_export.simulate import simulate  # numpy only: no torch in the image

    data = simulate(args.users, args.days, args.seed, cheats=True)
    if args.out is None:
        count = write_jsonl(data.events, sys.stdout)
    else:
        with args.out.open("w", encoding="utf-8") as out:
            count = write_jsonl(data.events, out)
    print(f"lifeup-demo-sample: {count} events, {args.users} users", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
