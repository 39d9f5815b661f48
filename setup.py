"""Compiles the ingest hot path (``stream.native.MODULES``) with mypyc; the rest is pyproject.toml.

``LIFEUP_PURE_PYTHON=1`` installs without compiling (the same code, about 1.6x slower per point).
mypyc runs without the project's mypy configuration, whose pydantic plugin the build environment
does not have; the sources are already checked under the strict configuration by ``mypy``.
"""

import importlib.util
import os
from pathlib import Path

from setuptools import setup

_spec = importlib.util.spec_from_file_location(
    "_native", Path(__file__).parent / "stream/native.py"
)
assert _spec is not None and _spec.loader is not None
native = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(native)

if os.environ.get("LIFEUP_PURE_PYTHON"):
    setup()
else:
    from mypyc.build import mypycify

    native.write_hashes()
    sources = [str(native.source_path(m).relative_to(native.ROOT)) for m in native.MODULES]
    setup(ext_modules=mypycify(["--config-file=", *sources], group_name=native.GROUP))
