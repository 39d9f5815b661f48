"""``lifeup bench NAME [--json]``: runs ``bench/<NAME>.py`` and prints its figures.

A benchmark module defines ``run() -> dict[str, float | int | str]``: every figure beside the
baseline it is measured against in the same run, and the ratio between them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil

import bench


def _names() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_")
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help=f"one of: {', '.join(_names())}")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    if args.name not in _names():
        parser_names = ", ".join(_names())
        print(f"unknown benchmark {args.name!r}; choose one of: {parser_names}")
        return 2
    module = importlib.import_module(f"bench.{args.name}")
    figures: dict[str, float | int | str] = module.run()
    if args.json:
        print(json.dumps(figures))
    else:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            shown = f"{value:,.3f}" if isinstance(value, float) else str(value)
            print(f"{key:<{width}}  {shown}")
    return 0
