"""The compiled ingest path: built by setup, used only while it matches its source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stream import native

REPO = Path(__file__).resolve().parents[1]


def _module_file(module: str, **env: str) -> str:
    code = f"import {module} as m; print(m.__file__)"
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@pytest.mark.skipif(bool(os.environ.get("LIFEUP_PURE_PYTHON")), reason="installed uncompiled")
def test_setup_compiled_every_hot_module_and_they_are_in_use() -> None:
    assert [m for m in native.MODULES if not native.compiled(m)] == []
    if native.stale_modules():  # a source edited since the install: correct, but not compiled
        pytest.skip(f"recompile with scripts/setup: {', '.join(native.stale_modules())} changed")
    assert native.is_active()
    assert _module_file("stream.buffer").endswith(".so")


def test_pure_python_switch_loads_every_module_from_source() -> None:
    for module in ("stream.buffer", "stream.parsing.google_fit"):
        assert _module_file(module, LIFEUP_PURE_PYTHON="1").endswith(".py")


def test_an_edited_source_makes_every_compiled_module_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not any(native.compiled(m) for m in native.MODULES):
        pytest.skip("nothing compiled")
    hashes = native.source_hashes()
    recorded = tmp_path / "hashes.json"
    recorded.write_text(json.dumps({**hashes, "stream.buffer": "0" * 64}))
    monkeypatch.setattr(native, "HASHES_FILE", recorded)
    assert native.stale_modules() == ["stream.buffer"]
    recorded.write_text("not json")
    assert native.stale_modules() == [m for m in native.MODULES if native.compiled(m)]
