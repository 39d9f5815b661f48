"""The page for people, driven in headless Chromium: it scores events and marks flagged hours."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from stream.api.app import create_app
from tests.test_api_support import KEY, TAKEOUT, serve, settings, walk_hour

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOUR = 1_709_301_600  # 2024-03-01T14:00:00Z
SCREENSHOT_ENV = "LIFEUP_PAGE_SCREENSHOT"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


# headless, and quiet on a closed network (no background connections, no first-run work)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                CHROMIUM,
                *CHROMIUM_FLAGS,
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


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.next_id = 0

    def call(self, method: str, **params: object) -> dict[str, object]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, object] = message["result"]
                return result

    def evaluate(self, expression: str) -> object:
        result: Any = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float = 60.0) -> object:
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expression}")


def _devtools_browser(profile: Path) -> tuple[subprocess.Popen[bytes], str]:
    import time

    import httpx

    assert CHROMIUM is not None
    process = subprocess.Popen(
        [
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=1100,1250",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not active.exists() or not active.read_text().strip():
        assert process.poll() is None and time.monotonic() < deadline, "chromium did not start"
        time.sleep(0.1)
    port = active.read_text().split()[0]
    targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
    page = next(t for t in targets if t["type"] == "page")
    return process, str(page["webSocketDebuggerUrl"])


def _shaker_stream() -> dict[str, object]:
    """A third-party app's step stream in Takeout's shape: 330 steps a minute for 20 minutes."""
    start = 1_709_308_800  # 2024-03-01T16:00:00Z, after the sample's own data
    return {
        "Data Source": "raw:com.google.step_count.delta:com.example.stepper:shaker",
        "Data Points": [
            {
                "fitValue": [{"value": {"intVal": 330 + m % 3}}],
                "dataTypeName": "com.google.step_count.delta",
                "startTimeNanos": (start + 60 * m) * 1_000_000_000,
                "endTimeNanos": (start + 60 * m + 60) * 1_000_000_000,
            }
            for m in range(20)
        ],
    }


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is absent")
def test_page_uploads_a_takeout_zip_and_marks_the_flagged_hour(tmp_path: Path) -> None:
    import zipfile

    export = tmp_path / "takeout-carol.zip"
    with zipfile.ZipFile(export, "w") as archive:
        for path in sorted(TAKEOUT.glob("*.json")):
            archive.write(path, f"Takeout/Fit/All Data/{path.name}")
        archive.writestr("Takeout/Fit/All Data/raw_shaker.json", json.dumps(_shaker_stream()))
    app = create_app(settings())
    with serve(app) as base:
        if not app.state.services.model_check().ok:
            pytest.skip(app.state.services.model_check().detail)
        import httpx

        direct = httpx.post(
            f"{base}/v1/score/takeout",
            headers={"Authorization": f"Bearer {KEY}"},
            files={"files": (export.name, export.read_bytes(), "application/zip")},
            timeout=60,
        ).json()
        from websockets.sync.client import connect

        browser, page_url = _devtools_browser(tmp_path / "profile")
        try:
            with connect(page_url, max_size=64 * 2**20) as socket:
                tools = DevTools(socket)
                tools.call("Page.enable")
                tools.call("Page.navigate", url=f"{base}/")
                tools.wait_for(
                    "document.readyState === 'complete' && !!document.getElementById('files')"
                )
                tools.evaluate(f"document.getElementById('key').value = {json.dumps(KEY)}")
                root = tools.call("DOM.getDocument")["root"]
                node = tools.call("DOM.querySelector", nodeId=root["nodeId"], selector="#files")  # type: ignore[index]
                tools.call("DOM.setFileInputFiles", nodeId=node["nodeId"], files=[str(export)])
                tools.evaluate("document.getElementById('upload').click()")
                state = tools.wait_for("document.body.dataset.state")
                status = tools.evaluate("document.getElementById('status').textContent")
                results = str(tools.evaluate("document.getElementById('results').innerHTML"))
                shot = tools.call("Page.captureScreenshot", format="png")
        finally:
            browser.terminate()
            browser.wait(timeout=20)
    assert state == "scored", status
    windows = direct["windows"]
    flagged = [w for w in windows if w["anomalous"]]
    assert [w["window_start"] for w in flagged] == ["2024-03-01T16:00:00Z"]
    assert f"Scored {len(windows)} hour(s): 1 flagged" in str(status)
    assert f"takeout-carol: 1 of {len(windows)} hour(s) flagged" in results
    assert "cadence_above_human_limit" in results
    assert results.count('class="flag"') == 1
    import base64
    import os

    png = base64.b64decode(str(shot["data"]))
    assert png.startswith(b"\x89PNG")
    if os.environ.get(SCREENSHOT_ENV):
        Path(os.environ[SCREENSHOT_ENV]).with_suffix(".upload.png").write_bytes(png)
