"""One module per ``lifeup`` command: ``add_arguments(parser)`` and ``run(args) -> int``.

Keep these modules to argument handling and output; the work lives in the rest of ``stream``.
Heavy imports (faust, fastapi, torch) go inside ``run`` so ``lifeup --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stream.points import ParseResult, Rejection

SHOWN_REJECTIONS = 5


def input_path(text: str) -> str:
    """An input that exists: a typo in a path is an error before anything runs, not an
    unreadable file counted among rejections; a folder must hold something LifeUp reads."""
    from stream.parsing.files import readable_files

    if text == "-":
        return text
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    if path.is_dir() and next(readable_files(path), None) is None:
        raise argparse.ArgumentTypeError(
            f"{text}: the folder holds no .json, .jsonl or .ndjson file and no Takeout archive "
            "(.zip, .tgz); other files, such as CSV, are not read"
        )
    return text


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """``PATH...`` and ``--user``, as ``publish``, ``score`` and ``inspect`` read inputs alike."""
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        type=input_path,
        help="Takeout file, folder or archive (zip, tgz), REST or Health Connect JSON, JSON "
        "lines; '-' for stdin",
    )
    parser.add_argument("--user", help="user id for inputs without one (default: Takeout folder)")


class RejectionSample:
    """The first rejections of a run, so a command can say what was wrong, not only count it."""

    def __init__(self, limit: int = SHOWN_REJECTIONS) -> None:
        self.limit = limit
        self.first: list[Rejection] = []
        self.count = 0

    def note(self, rejections: Iterable[Rejection]) -> None:
        for rejection in rejections:
            self.count += 1
            if len(self.first) < self.limit:
                self.first.append(rejection)

    def watch(self, results: Iterable[ParseResult]) -> Iterator[ParseResult]:
        """``results`` passed through, their rejections noted."""
        for result in results:
            if result.rejections:
                self.note(result.rejections)
            yield result

    def print(self) -> None:
        """The first rejections with their details, on standard error."""
        if not self.count:
            return
        shown = f"the first {len(self.first)} of {self.count:,}" if self.count > 1 else "1"
        print(f"rejected ({shown}):", file=sys.stderr)
        for rejection in self.first:
            who = f" [{rejection.user_id}]" if rejection.user_id else ""
            print(f"  {rejection.code}{who}: {rejection.detail}", file=sys.stderr)
