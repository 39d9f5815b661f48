"""`lifeup inspect`: the contract's JSON object, on the real Takeout and on synthetic inputs."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.buffer import UserBuffer
from stream.inspect import format_text, inspect_results
from stream.parsing import iter_results, parse_obj
from stream.parsing.order import in_event_time
from stream.pipeline import apply

REPO = Path(__file__).resolve().parents[1]
TAKEOUT = REPO.parent / "shared" / "data" / "google-fit-takeout"
needs_data = pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is not present")
START = 1_709_302_115_648_590_535
MIN = 60 * 10**9
NOW = 1_764_000_000 * 10**9
ESTIMATED = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"


def point(start: int, steps: int, source: str = ESTIMATED, **extra: Any) -> dict[str, Any]:
    return {
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": str(start),
        "endTimeNanos": str(start + MIN),
        "value": [{"intVal": steps}],
        "originDataSourceId": source,
        **extra,
    }


@needs_data
def test_real_takeout_report() -> None:
    report = inspect_results(iter_results([str(TAKEOUT)]))
    assert set(report) == {"users", "ignored"} and report["ignored"] == 0
    (user,) = report["users"]
    assert user["user_id"] == "google-fit-takeout"
    assert user["totals"]["steps"] == 2_091
    assert user["totals"]["distance_m"] == pytest.approx(970.64, abs=0.01)
    assert user["totals"]["speed_samples"] == 38
    assert user["start"] == "2024-03-01T14:08:35.648590535Z"
    assert user["end"].startswith("2024-03-01T15:28:58.1065")
    used, shadowed = user["sources"]["used"], user["sources"]["shadowed"]
    assert ESTIMATED in used and any(s.endswith(":merge_step_deltas") for s in shadowed)
    assert any(s.endswith(":merge_distance_delta") for s in used)
    assert not set(used) & set(shadowed)
    assert user["rejected"] == {}


@needs_data
def test_inspect_totals_equal_the_windows_the_scorer_sees() -> None:
    results = list(iter_results([str(TAKEOUT)]))
    report = inspect_results(results)
    buffers: dict[str, UserBuffer] = {}
    windows = []
    for result in in_event_time(results):
        windows.extend(apply(result, buffers)[1])
    for buffer in buffers.values():
        windows.extend(buffer.flush())
    totals = report["users"][0]["totals"]
    assert sum(w.totals.steps for w in windows) == totals["steps"]
    assert sum(w.totals.distance_m for w in windows) == pytest.approx(
        totals["distance_m"], abs=0.01
    )
    assert sum(w.totals.speed_samples for w in windows) == totals["speed_samples"]


def test_duplicates_users_rejections_and_ignored() -> None:
    events: list[Any] = [
        {
            "user_id": "a",
            "dataSourceId": ESTIMATED,
            "point": [point(START + i * MIN, 10) for i in range(30)],
        },
        {"user_id": "a", **point(START, 10)},  # the same point again
        {"user_id": "a", **point(START, -1)},
        {"user_id": "a", **point(START, 5), "dataTypeName": "com.google.heart_rate.bpm"},
        {"user_id": "b", **point(START + 90 * MIN, 7)},
        {"user_id": "b", **point(START, 1), "endTimeNanos": str(START - 1)},
        point(START, 3),  # no user at all
    ]
    shuffled = list(events)
    random.Random(4).shuffle(shuffled)
    for order in (events, shuffled):
        report = inspect_results(parse_obj(e, now_ns=NOW) for e in order)
        a, b = report["users"]
        assert (a["user_id"], a["totals"]["steps"], a["rejected"]) == (
            "a",
            300,
            {"negative_value": 1},
        )
        assert report["ignored"] == 1
        assert (b["totals"]["steps"], b["rejected"]) == (7, {"end_before_start": 1})
        assert report["rejected_unattributed"] == {"missing_user_id": 1}
        assert a["sources"] == {"used": [ESTIMATED], "shadowed": []}
    text = format_text(report)
    assert "steps 300" in text and "negative_value 1" in text


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", "inspect", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )


def test_cli_json_from_stdin_and_files(tmp_path: Path) -> None:
    lines = b"".join(
        orjson.dumps({"user_id": "s", **point(START + i * MIN, 4)}) + b"\n" for i in range(5)
    )
    body = {"Data Source": ESTIMATED, "Data Points": [point(START, 9)]}
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "steps.json").write_bytes(orjson.dumps(body))
    out = run_cli("--json", "-", str(tmp_path / "carol"), stdin=lines + b"{oops\n")
    report = orjson.loads(out.stdout)
    totals = {u["user_id"]: u["totals"]["steps"] for u in report["users"]}
    assert totals == {"carol": 9, "s": 20}
    assert report["rejected_unattributed"] == {"invalid_json": 1}
    named = orjson.loads(run_cli("--json", "--user", "dave", str(tmp_path)).stdout)
    assert [u["user_id"] for u in named["users"]] == ["dave"]
    text = run_cli(str(tmp_path)).stdout.decode()
    assert "user carol" in text and "steps 9" in text
