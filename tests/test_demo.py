"""``lifeup demo`` finishes by itself, shows alerts as they come, and leaves nothing running."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import pytest

from stream.broker import kafka_ready

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except OSError:
        return True
    return False


def test_demo_runs_end_to_end_and_cleans_up() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stream.cli", "demo", "--users", "4", "--days", "1",
         "--duration", "6", "--seed", "3"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    bootstrap = re.search(r"^broker\s+(\S+)", out, re.M)
    metrics = re.search(r"metrics (http://\S+/metrics)", out)
    api = re.search(r"^api\s+(http://127\.0\.0\.1:\d+)/", out, re.M)
    assert bootstrap and metrics and api, out
    shown = re.findall(r"^ALERT ", out, re.M)
    counted = re.search(r"alerts\s+(\d+) on (\d+) users", out)
    assert counted, out
    assert len(shown) == int(counted.group(1)) > 0
    assert re.search(r"injected cheats\s+\d+ of \d+", out)
    # every process the demo started is gone
    assert not kafka_ready(bootstrap.group(1), timeout_s=0.5)
    assert _refused(metrics.group(1))
    assert _refused(api.group(1) + "/healthz")
