"""One module per ``lifeup`` command: ``add_arguments(parser)`` and ``run(args) -> int``.

Keep these modules to argument handling and output; the work lives in the rest of ``stream``.
Heavy imports (faust, fastapi, torch) go inside ``run`` so ``lifeup --help`` stays fast.
"""

from __future__ import annotations

import argparse


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """``PATH...`` and ``--user``, as ``publish``, ``score`` and ``inspect`` read inputs alike."""
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="Takeout file or folder, REST or Health Connect JSON, JSON lines; '-' for stdin",
    )
    parser.add_argument("--user", help="user id for inputs without one (default: Takeout folder)")
