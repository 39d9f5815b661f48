"""The page for people, driven in headless Chromium: it scores events and marks flagged hours."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from stream.api.app import create_app
from tests.test_api_support import KEY, serve, settings, walk_hour

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOUR = 1_709_301_600  # 2024-03-01T14:00:00Z
SCREENSHOT_ENV = "LIFEUP_PAGE_SCREENSHOT"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=20000",
                "--window-size=1100,1250",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _events() -> list[dict[str, object]]:
    normal = walk_hour("page-user", HOUR, cadence=100, minutes=30)
    shaker = walk_hour("page-user", HOUR + 3600, cadence=330, minutes=20)  # no human holds this
    return normal + shaker


def test_page_scores_pasted_events_and_marks_the_flagged_hour(tmp_path: Path) -> None:
    app = create_app(settings())
    with serve(app) as base:
        if not app.state.services.model_check().ok:
            pytest.skip(app.state.services.model_check().detail)
        url = f"{base}/#key={quote(KEY)}&events={quote(json.dumps(_events()))}"
        dom = _chromium("--dump-dom", url)
        shot = tmp_path / "page.png"
        _chromium(f"--screenshot={shot}", url)
    html = dom.stdout
    assert 'data-state="scored"' in html, dom.stderr[-2000:]
    assert 'data-flagged="1"' in html
    assert "page-user: 1 of 2 hour(s) flagged" in html
    assert '<tr class="anomalous">' in html
    assert "cadence_above_human_limit" in html
    assert html.count('class="flag"') == 1
    assert shot.stat().st_size > 10_000
    import os

    if os.environ.get(SCREENSHOT_ENV):
        shutil.copy(shot, os.environ[SCREENSHOT_ENV])


def test_page_shows_the_error_of_a_rejected_paste() -> None:
    app = create_app(settings())
    bad = [{"user_id": "u", "hello": "world"}]
    with serve(app) as base:
        if not app.state.services.model_check().ok:
            pytest.skip(app.state.services.model_check().detail)
        dom = _chromium("--dump-dom", f"{base}/#key={quote(KEY)}&events={quote(json.dumps(bad))}")
    assert 'data-state="error"' in dom.stdout
    assert "422 invalid_events" in dom.stdout
    assert "unknown_shape" in dom.stdout


def test_page_reports_a_wrong_key() -> None:
    app = create_app(settings())
    with serve(app) as base:
        events = quote(json.dumps(_events()[:2]))
        dom = _chromium("--dump-dom", f"{base}/#key=wrong&events={events}")
    assert 'data-state="error"' in dom.stdout
    assert "401 unauthorized: invalid API key" in dom.stdout
