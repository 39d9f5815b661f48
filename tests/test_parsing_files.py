"""Reading files, folders and standard input: users, chunking, JSON lines, unreadable inputs."""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.buffer import UserBuffer
from stream.parsing import Unreadable, iter_events, iter_results, parse_message
from stream.parsing.files import CHUNK_POINTS
from stream.pipeline import apply

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TAKEOUT = DATA / "google-fit-takeout"
START = 1_709_302_115_648_590_535
MIN = 60 * 10**9
NOW = 1_764_000_000 * 10**9
STEP_SOURCE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"


def takeout_body(count: int, source: str = STEP_SOURCE) -> dict[str, Any]:
    points = [
        {
            "fitValue": [{"value": {"intVal": 10}}],
            "dataTypeName": "com.google.step_count.delta",
            "startTimeNanos": START + i * MIN,
            "endTimeNanos": START + (i + 1) * MIN,
        }
        for i in range(count)
    ]
    return {"Data Source": source, "Data Points": points}


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(value))
    return path


def test_takeout_user_is_the_export_folder_and_long_bodies_are_chunked(tmp_path: Path) -> None:
    write(tmp_path / "alice" / "Takeout" / "Fit" / "All Data" / "steps.json", takeout_body(2500))
    write(tmp_path / "alice" / "Takeout" / "Fit" / "All Data" / "empty.json", takeout_body(0))
    events = list(iter_events([str(tmp_path / "alice")]))
    assert [uid for uid, _ in events] == ["alice"] * 3
    sizes = [len(event["Data Points"]) for _, event in events]
    assert sizes == [CHUNK_POINTS, CHUNK_POINTS, 500]
    assert all(event["user_id"] == "alice" for _, event in events)
    named = list(iter_events([str(tmp_path)], user="bob"))
    assert {uid for uid, _ in named} == {"bob"}
    assert sum(r.point_count for r in iter_results([str(tmp_path)], now_ns=NOW)) == 2500


def test_takeout_folders_in_the_accounts_language_still_name_the_user(tmp_path: Path) -> None:
    """Google names ``Fit/All Data`` in the account's language: the user is the folder holding
    ``Takeout``, not ``Все данные`` (two Russian exports were one user, de-duplicated)."""
    for user, folder in (("alice", "Все данные"), ("bob", "Все данные"), ("carol", "All Data")):
        write(tmp_path / user / "Takeout" / "Fit" / folder / "steps.json", takeout_body(3))
    session = {"fitnessActivity": "walking", "startTime": "2024-03-01T14:00:00Z", "aggregate": []}
    write(tmp_path / "carol" / "Takeout" / "Fit" / "All Sessions" / "walk.json", session)
    results = list(iter_results([str(tmp_path)], now_ns=NOW))
    assert {b.user_id for r in results for b in r.batches} == {"alice", "bob", "carol"}
    assert sum(r.point_count for r in results) == 9
    # the session summary beside them is ignored, not rejected (nor without a user)
    assert not any(r.rejections for r in results) and sum(r.ignored for r in results) == 1


def test_events_keep_their_own_user_and_others_get_the_flag(tmp_path: Path) -> None:
    point = {
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": str(START),
        "endTimeNanos": str(START + MIN),
        "value": [{"intVal": 5}],
    }
    path = write(tmp_path / "events.json", [{"user_id": "own", **point}, point])
    assert [uid for uid, _ in iter_events([str(path)], user="flag")] == ["own", "flag"]
    results = list(iter_results([str(path)], now_ns=NOW))
    assert [r.rejections[0].code for r in results if r.rejections] == ["missing_user_id"]


def test_json_lines_with_a_broken_line(tmp_path: Path) -> None:
    good = orjson.dumps({"user_id": "u", **takeout_body(2)})
    path = tmp_path / "events.jsonl"
    path.write_bytes(good + b"\n\n{broken\n" + good + b"\n")
    events = list(iter_events([str(path)]))
    assert len(events) == 3 and isinstance(events[1][1], Unreadable)
    assert events[1][1].where.endswith(":3") and events[1][1].rejection.code == "invalid_json"
    results = list(iter_results([str(path)], now_ns=NOW))
    assert sum(r.point_count for r in results) == 4
    # the same lines in a .json file are recognised as JSON lines too
    same = tmp_path / "events.json"
    same.write_bytes(path.read_bytes())
    assert sum(r.point_count for r in iter_results([str(same)], now_ns=NOW)) == 4


def test_unreadable_files_are_rejections_not_crashes(tmp_path: Path) -> None:
    text = tmp_path / "notes.json"
    text.write_text("steps,day\n10,monday\n")
    binary = tmp_path / "blob.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    paths = [str(text), str(binary), str(tmp_path / "missing.json")]
    results = list(iter_results(paths, ordered=False))
    assert [r.rejections[0].code for r in results] == ["invalid_json", "not_utf8", "invalid_json"]
    (merged,) = iter_results(paths)
    assert sorted(r.code for r in merged.rejections) == ["invalid_json", "invalid_json", "not_utf8"]


def test_folders_skip_hidden_and_non_json_files(tmp_path: Path) -> None:
    write(tmp_path / ".hidden" / "a.json", {"user_id": "h", **takeout_body(1)})
    write(tmp_path / ".b.json", {"user_id": "h", **takeout_body(1)})
    (tmp_path / "readme.txt").write_text("not data")
    write(tmp_path / "sub" / "c.ndjson", {"user_id": "v", **takeout_body(1)})
    assert [uid for uid, _ in iter_events([str(tmp_path)])] == ["v"]


def test_standard_input_is_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = b"".join(
        orjson.dumps({"user_id": f"u{i}", **takeout_body(1)}) + b"\n" for i in range(3)
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines + b"nope\n")))
    events = list(iter_events(["-"]))
    assert [uid for uid, _ in events[:3]] == ["u0", "u1", "u2"]
    assert isinstance(events[3][1], Unreadable)


def test_standard_input_may_be_one_pretty_printed_takeout_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``cat export.json | lifeup inspect --user me -``; a Takeout body on a line takes --user."""
    pretty = orjson.dumps(takeout_body(5), option=orjson.OPT_INDENT_2)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pretty)))
    assert sum(r.point_count for r in iter_results(["-"], user="me", now_ns=NOW)) == 5
    line = orjson.dumps(takeout_body(3)) + b"\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(line)))
    assert [uid for uid, _ in iter_events(["-"], user="me")] == ["me"]


def test_standard_input_json_lines_stream_without_reading_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A live feed (``tail -f events.jsonl | lifeup publish --as-is -``) is not read whole."""

    def feed() -> Any:
        yield orjson.dumps({"user_id": "u", **takeout_body(1)}) + b"\n"
        raise AssertionError("read past the first event")

    class Stdin:
        buffer = feed()

    monkeypatch.setattr(sys, "stdin", Stdin())
    uid, event = next(iter_events(["-"]))
    assert uid == "u" and len(event["Data Points"]) == 1


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is not present")
def test_real_takeout_folder_every_point_parsed() -> None:
    expected = 0
    for file in TAKEOUT.glob("*.json"):
        expected += len(orjson.loads(file.read_bytes())["Data Points"])
    results = list(iter_results([str(TAKEOUT)]))
    assert not any(r.rejections for r in results)
    parsed = sum(r.point_count + r.ignored for r in results)
    assert parsed == expected > 0
    users = {b.user_id for r in results for b in r.batches}
    assert users == {"google-fit-takeout"}


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is not present")
def test_ordered_events_replay_de_duplicates_in_a_streaming_buffer() -> None:
    """What ``publish`` sends with ordered=True, consumed in that order, as the worker would."""
    events = list(iter_events([str(TAKEOUT)], ordered=True))
    buffers: dict[str, UserBuffer] = {}
    points: list[tuple[int, int, float]] = []
    for user_id, event in events:  # one arrival each: a Dataset, or a list of them
        assert user_id == "google-fit-takeout"
        assert all("dataSourceId" in e for e in (event if type(event) is list else [event]))
        result = parse_message(orjson.dumps(event), user_id.encode(), now_ns=NOW)
        assert not result.rejections
        apply(result, buffers)
        for b in result.batches:
            points += zip(b.start_ns.tolist(), b.end_ns.tolist(), b.value.tolist(), strict=True)
    assert len(events) < 10  # 80 minutes of three streams: an arrival an hour or so
    totals = buffers["google-fit-takeout"].totals()
    assert (totals.steps, round(totals.distance_m, 2), totals.speed_samples) == (2_091, 970.64, 38)
    original = [
        (b.start_ns.tolist(), b.end_ns.tolist(), b.value.tolist())
        for r in iter_results([str(TAKEOUT)], ordered=False)
        for b in r.batches
    ]
    flat = sorted(p for s, e, v in original for p in zip(s, e, v, strict=True))
    assert sorted(points) == flat  # every point is sent once, unchanged


def test_ordered_events_pass_broken_and_ignored_events_through(tmp_path: Path) -> None:
    body = takeout_body(3)
    body["Data Points"][1]["fitValue"] = [{"value": {"intVal": -1}}]
    write(tmp_path / "u" / "broken.json", body)
    write(tmp_path / "u" / "fine.json", takeout_body(2))
    (tmp_path / "u" / "bad.json").write_text("nope")
    events = list(iter_events([str(tmp_path)], ordered=True))
    kinds = sorted(
        "unreadable"
        if isinstance(e, Unreadable)
        else next(k for k in ("Data Points", "point") if k in e)
        for _, e in events
    )
    # the broken body's bad point and the unreadable file as they were; every accepted point as
    # REST Datasets, one message per arrival of ``in_event_time``
    assert kinds[:1] == ["Data Points"] and kinds[-1:] == ["unreadable"]
    assert set(kinds[1:-1]) == {"point"}


def windows_of(results: Any) -> list[tuple[str, int, list[list[float]], int]]:
    buffers: dict[str, UserBuffer] = {}
    windows = []
    for result in results:
        windows.extend(apply(result, buffers)[1])
    for buffer in buffers.values():
        windows.extend(buffer.flush())
    return sorted((w.user_id, w.start_ns, w.values.tolist(), w.manual_points) for w in windows)


def test_publishing_ordered_events_gives_the_worker_what_score_sees(tmp_path: Path) -> None:
    """Messages of ``iter_events(ordered=True)``, applied one by one as the worker does, build the
    same windows as ``iter_results`` (what ``lifeup score`` feeds its buffers)."""
    merged = takeout_body(
        150, "derived:com.google.step_count.delta:com.google.android.gms:merge_step_deltas"
    )
    merged["Data Points"][7]["fitValue"] = [{"value": {"intVal": -3}}]  # one broken point
    merged["Data Points"][9]["dataTypeName"] = "com.google.heart_rate.bpm"  # one ignored point
    write(tmp_path / "ann" / "a_merged.json", merged)
    estimated = takeout_body(120)
    estimated["Data Points"][30]["originDataSourceId"] = (
        "raw:x:com.google.android.apps.fitness:user_input"
    )
    write(tmp_path / "ann" / "b_estimated.json", estimated)
    record = {
        "user_id": "ann",
        "recordType": "Distance",
        "startTime": "2024-03-01T14:30:00Z",
        "endTime": "2024-03-01T14:40:00Z",
        "distance": {"inMeters": 800.0},
        "metadata": {
            "dataOrigin": "com.sec.android.app.shealth",
            "recordingMethod": "MANUAL_ENTRY",
        },
    }
    write(tmp_path / "records.json", [record, {**record, "recordType": "HeartRate"}])
    paths = [str(tmp_path)]
    score_side = windows_of(iter_results(paths, now_ns=NOW))
    sent = [
        parse_message(orjson.dumps(event), (uid or "").encode(), now_ns=NOW)
        for uid, event in iter_events(paths, ordered=True)
    ]
    assert sum(len(r.rejections) for r in sent) == 1 and sum(r.ignored for r in sent) == 2
    assert windows_of(sent) == score_side
    assert any(manual for *_, manual in score_side)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.binary(max_size=200)
        | st.builds(
            orjson.dumps, st.dictionaries(st.text(max_size=5), st.integers(-(2**63), 2**63 - 1))
        ),
        max_size=4,
    ),
    st.sampled_from([".json", ".jsonl", ".txt"]),
)
def test_any_file_content_yields_results_not_crashes(chunks: list[bytes], suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(b"\n".join(chunks))
        for ordered in (True, False):
            for result in iter_results([str(path)], user="u", now_ns=NOW, ordered=ordered):
                assert all(r.code for r in result.rejections)
        for _, event in iter_events([str(path)], user="u", ordered=True):
            assert isinstance(event, Unreadable) or orjson.dumps(event)
