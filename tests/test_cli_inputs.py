"""What ``inspect``, ``score`` and ``publish`` tell a user whose input or Kafka is wrong."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from stream.cli import main
from tests.test_api_support import closed_port
from tests.test_parsing_files import takeout_body


@pytest.mark.parametrize("command", ["inspect", "score", "publish"])
def test_a_path_that_does_not_exist_stops_before_anything_runs(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "steps.json"
    good.write_bytes(orjson.dumps({"user_id": "u", **takeout_body(3)}))
    with pytest.raises(SystemExit) as stopped:
        main([command, str(good), str(tmp_path / "typo.json")])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'typo.json'}: no such file or folder" in err


def test_a_folder_with_nothing_lifeup_reads_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "minuteStepsNarrow_merged.csv").write_text("Id,ActivityMinute,Steps\n")
    with pytest.raises(SystemExit) as stopped:
        main(["inspect", str(tmp_path)])
    assert stopped.value.code == 2
    assert "no .json, .jsonl or .ndjson file and no Takeout archive" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["inspect", "score"])
def test_unreadable_inputs_are_shown_with_their_details(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.json").write_text("steps on monday: 10\n")
    good = tmp_path / "steps.json"
    good.write_bytes(orjson.dumps({"user_id": "u", **takeout_body(3)}))
    assert main([command, str(tmp_path)]) == 0  # what could be read was
    err = capsys.readouterr().err
    assert "rejected (1):" in err
    assert f"invalid_json: {tmp_path / 'notes.json'}: " in err


def test_publish_to_no_broker_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "steps.json"
    events.write_bytes(orjson.dumps({"user_id": "u", **takeout_body(3)}))
    address = f"127.0.0.1:{closed_port()}"
    assert main(["publish", "--quiet", "--bootstrap", address, str(events)]) == 1
    err = capsys.readouterr().err
    assert f"no Kafka broker answered at {address}" in err  # the probe, before topic creation
    assert "lifeup broker" in err
