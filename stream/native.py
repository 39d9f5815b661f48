"""The ingest hot path compiled with mypyc, used only while it matches its source.

``setup.py`` compiles ``MODULES`` (parsing of Google Fit messages, the per-user buffer and what it
calls per point) into C extensions beside the ``.py`` files and records each source's SHA-256 in
``HASHES_FILE``. Python prefers an extension to a ``.py`` of the same name, so an edited source
would otherwise keep running its old compiled self. ``use_source_if_stale`` runs on import of
``stream``: if any compiled module no longer matches its source (or ``LIFEUP_PURE_PYTHON`` is
set), every one of them is loaded from source instead, because compiled modules of one group call
each other directly and cannot be mixed with edited ones. ``scripts/setup`` recompiles.

Stdlib only: ``setup.py`` loads this file before the package or its dependencies exist.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
MODULES: tuple[str, ...] = (
    "stream.buffer",
    "stream.hashing",
    "stream.interpolation",
    "stream.point_keys",
    "stream.points",
    "stream.sources",
    "stream.scoring.replay",
    "stream.snapshot",
    "stream.source_table",
    "stream.parsing.decode",
    "stream.parsing.errors",
    "stream.parsing.google_fit",
    "stream.parsing.times",
    "stream.pipeline",
)
GROUP = "stream._native"
HASHES_FILE = ROOT / "stream" / "_native_sources.json"


def source_path(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def source_hashes() -> dict[str, str]:
    return {m: hashlib.sha256(source_path(m).read_bytes()).hexdigest() for m in MODULES}


def write_hashes() -> None:
    """Called by ``setup.py`` as it compiles: what the extensions are built from."""
    HASHES_FILE.write_text(json.dumps(source_hashes(), indent=1, sort_keys=True) + "\n")


def compiled(module: str) -> bool:
    """True when an extension for ``module`` sits beside its source."""
    path = source_path(module)
    return any(path.with_suffix(s).exists() for s in importlib.machinery.EXTENSION_SUFFIXES)


def stale_modules() -> list[str]:
    """Compiled modules whose source changed since they were built (all, if unrecorded)."""
    built = [m for m in MODULES if compiled(m)]
    if not built:
        return []
    try:
        recorded = json.loads(HASHES_FILE.read_text())
    except (OSError, ValueError):
        return built
    current = source_hashes()
    return [m for m in built if recorded.get(m) != current[m]]


def is_active() -> bool:
    """True when the compiled modules are the ones being imported."""
    return not any(isinstance(f, _SourceFinder) for f in sys.meta_path) and all(
        compiled(m) for m in MODULES
    )


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules' ``.py`` files ahead of their extensions."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


def use_source_if_stale() -> None:
    if any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        return
    if os.environ.get("LIFEUP_PURE_PYTHON"):
        sys.meta_path.insert(0, _SourceFinder())
        return
    stale = stale_modules()
    if stale:
        sys.meta_path.insert(0, _SourceFinder())
        warnings.warn(
            f"{', '.join(stale)} changed since compiled: running the Python source "
            "(scripts/setup recompiles)",
            RuntimeWarning,
            stacklevel=2,
        )
