"""``lifeup score``: files, folders and standard input in, the contract's alerts out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from stream.cli import main
from tests.test_alerts import CONTRACT_KEYS

MINUTE_NS = 60 * 1_000_000_000
T0 = 1_709_301_600 * 1_000_000_000  # 2024-03-01T14:00:00Z
STEPS = "com.google.step_count.delta"
SOURCE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"


def point(user: str, minute: int, steps: int) -> dict[str, object]:
    start = T0 + minute * MINUTE_NS
    return {
        "user_id": user,
        "dataTypeName": STEPS,
        "startTimeNanos": str(start),
        "endTimeNanos": str(start + MINUTE_NS),
        "value": [{"intVal": steps}],
        "originDataSourceId": SOURCE,
    }


def events() -> list[dict[str, object]]:
    """u-walk walks 20 minutes at ~100 steps/min; u-cheat logs 600 steps/min for 10 minutes."""
    walk = [point("u-walk", 10 + m, 95 + (m * 7) % 13) for m in range(20)]
    cheat = [point("u-cheat", 5 + m, 600) for m in range(10)]
    return walk + cheat


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    lines = [orjson.dumps(e) for e in events()] + [b"{not json"]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_json_alerts_for_the_cheat_only(jsonl: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--json", str(jsonl)]) == 0
    out, err = capsys.readouterr()
    alerts = [json.loads(line) for line in out.splitlines()]
    assert [a["user_id"] for a in alerts] == ["u-cheat"]
    alert = alerts[0]
    assert set(alert) == CONTRACT_KEYS
    assert "cadence_above_human_limit" in alert["reasons"]
    assert alert["window_start"] == "2024-03-01T14:00:00Z"
    assert alert["window_end"] == "2024-03-01T15:00:00Z"
    assert "1 alerts" in err and "rejected by code" in err


def test_same_inputs_same_alert_ids_folder_and_file(
    jsonl: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["score", "--json", str(jsonl)])
    first = [json.loads(x)["alert_id"] for x in capsys.readouterr().out.splitlines()]
    main(["score", "--json", str(tmp_path)])  # the folder holding the file
    again = [json.loads(x)["alert_id"] for x in capsys.readouterr().out.splitlines()]
    assert first == again and len(first) == 1


def test_human_readable_output(jsonl: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["score", str(jsonl)])
    out = capsys.readouterr().out
    assert "u-cheat" in out and "cadence_above_human_limit" in out and "{" not in out


def test_standard_input_and_user_option() -> None:
    """``-`` reads JSON lines from stdin; ``--user`` names events that carry no user id."""
    lines = []
    for event in events():
        if event["user_id"] == "u-cheat":
            del event["user_id"]
            lines.append(orjson.dumps(event))
    done = subprocess.run(
        [sys.executable, "-m", "stream.cli", "score", "--json", "--user", "stdin-user", "-"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        timeout=120,
        check=True,
    )
    alerts = [json.loads(x) for x in done.stdout.decode().splitlines()]
    assert [a["user_id"] for a in alerts] == ["stdin-user"]


def test_takeout_sample_scores_without_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    takeout = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "google-fit-takeout"
    if not takeout.is_dir():
        pytest.skip(f"no Takeout sample at {takeout}")
    assert main(["score", "--json", "--user", "takeout", str(takeout)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "windows of 1 users" in err


def test_each_hour_alerts_once_when_late_manual_entries_reach_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Simulated users with cheats, among them manual entries reaching hours that had closed:
    each such hour is emitted again for them, and must still give one alert, not two with one
    id (the after-close verdict once came ahead of the hour's own in a replay)."""
    from model_export.simulate import simulate

    path = tmp_path / "sim.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in simulate(30, 3, 11).events))
    assert main(["score", "--json", str(path)]) == 0
    alerts = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    ids = [a["alert_id"] for a in alerts]
    assert any("manual_entry" in a["reasons"] for a in alerts)
    assert len(ids) == len(set(ids))
