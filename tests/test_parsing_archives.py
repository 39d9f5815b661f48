"""Takeout archives as Google delivers them (zip, tgz, split into parts), and byte order marks."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.parsing import Unreadable, iter_events, iter_results
from stream.parsing.archives import Archive, archive_user
from tests.test_parsing_files import NOW, TAKEOUT, takeout_body

ALL_DATA = "Takeout/Fit/All Data"


def zip_of(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def tgz_of(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def steps(count: int) -> bytes:
    return orjson.dumps(takeout_body(count))


@pytest.mark.parametrize("make", [zip_of, tgz_of], ids=["zip", "tgz"])
def test_an_export_archive_reads_as_its_folder_would(tmp_path: Path, make: object) -> None:
    members = {
        f"{ALL_DATA}/steps.json": steps(30),
        "Takeout/Fit/All Sessions/walk.json": b'{"not": "points"}',
        "Takeout/Fit/Daily activity metrics/2024-03-01.csv": b"Date,Steps\n",
        f"__MACOSX/{ALL_DATA}/._steps.json": b"\x00\x05\x16\x07 resource fork",
    }
    suffix = ".zip" if make is zip_of else ".tgz"
    path = make(tmp_path / f"takeout-20261120T101010Z-001{suffix}", members)  # type: ignore[operator]
    events = list(iter_events([str(path)]))
    # only All Data is read (sessions are not points), the macOS resource fork is skipped
    assert [uid for uid, _ in events] == ["takeout-20261120T101010Z"]
    assert sum(r.point_count for r in iter_results([str(path)], now_ns=NOW)) == 30
    assert {uid for uid, _ in iter_events([str(path)], user="ana")} == {"ana"}


def test_the_parts_of_a_split_export_are_one_user(tmp_path: Path) -> None:
    first = takeout_body(20)
    second = takeout_body(20)
    for point in second["Data Points"]:  # the next 20 minutes
        point["startTimeNanos"] += 20 * 60 * 10**9
        point["endTimeNanos"] += 20 * 60 * 10**9
    zip_of(tmp_path / "takeout-X-001.zip", {f"{ALL_DATA}/a.json": orjson.dumps(first)})
    tgz_of(tmp_path / "takeout-X-002.tgz", {f"{ALL_DATA}/b.json": orjson.dumps(second)})
    results = list(iter_results([str(tmp_path)], now_ns=NOW))
    assert {b.user_id for r in results for b in r.batches} == {"takeout-X"}
    assert sum(r.point_count for r in results) == 40


def test_a_folder_inside_the_archive_names_the_user(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "exports.zip", {f"carol/{ALL_DATA}/s.json": steps(3)})
    assert {uid for uid, _ in iter_events([str(path)])} == {"carol"}
    # Takeout's own folders in the account's language are not a user: the archive names it
    local = zip_of(tmp_path / "takeout-ru-001.zip", {"Takeout/Fit/Все данные/s.json": steps(3)})
    assert {uid for uid, _ in iter_events([str(local)])} == {"takeout-ru"}


def test_a_damaged_archive_is_a_rejection_and_the_rest_is_read(tmp_path: Path) -> None:
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    good = zip_of(tmp_path / "good.zip", {f"{ALL_DATA}/s.json": steps(5)})
    half = tmp_path / "half.tgz"
    half.write_bytes(tgz_of(tmp_path / "whole.tgz", {"a.json": steps(5)}).read_bytes()[:40])
    events = list(iter_events([str(bad), str(good), str(half)]))
    unreadable = [e for _, e in events if isinstance(e, Unreadable)]
    assert [u.where for u in unreadable] == [str(bad), str(half)]
    assert "broken.zip is not a readable zip" in unreadable[0].rejection.detail
    assert all(u.rejection.code == "invalid_json" for u in unreadable)
    assert sum(r.point_count for r in iter_results([str(good)], now_ns=NOW)) == 5


def test_a_member_that_is_not_json_is_a_rejection_with_its_place(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "t.zip", {"a.json": b"{oops", "b.json": steps(2)})
    (bad, _), (good, event) = [(e, e) for _, e in iter_events([str(path)], user="u")]
    assert isinstance(bad, Unreadable) and bad.where == f"{path}/a.json"
    assert not isinstance(good, Unreadable) and len(event["Data Points"]) == 2


def test_a_byte_order_mark_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bom = b"\xef\xbb\xbf"
    file = tmp_path / "steps.json"
    file.write_bytes(bom + steps(4))
    lines = tmp_path / "events.jsonl"
    lines.write_bytes(
        bom + b"\n".join(orjson.dumps({"user_id": "u", **takeout_body(2)}) for _ in "ab")
    )
    archived = zip_of(tmp_path / "t.zip", {"a.json": bom + steps(3)})
    counts = [
        sum(r.point_count for r in iter_results([str(p)], user="u", now_ns=NOW, ordered=False))
        for p in (file, lines, archived)
    ]
    assert counts == [4, 4, 3]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.read_bytes())))
    assert [uid for uid, _ in iter_events(["-"])] == ["u", "u"]


@given(st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True), st.integers(1, 999))
def test_archive_user_drops_the_suffix_and_the_part(stem: str, part: int) -> None:
    for suffix in (".zip", ".tgz", ".tar.gz", ".ZIP"):
        name = f"/downloads/{stem}-{part:03d}{suffix}"
        user = archive_user(name)
        assert user == archive_user(f"{stem}-{(part % 999) + 1:03d}{suffix}")
        assert user and "/" not in user and not user.lower().endswith(".zip")


def test_archive_members_are_sorted_and_listed_without_reading(tmp_path: Path) -> None:
    path = zip_of(tmp_path / "t.zip", {"b.json": b"{}", "a.ndjson": b"{}", "c.txt": b""})
    with path.open("rb") as handle, Archive(path.name, handle) as archive:
        assert [(m.name, m.size) for m in archive.members] == [("a.ndjson", 2), ("b.json", 2)]


@pytest.mark.skipif(not TAKEOUT.is_dir(), reason="../shared/data is not present")
@pytest.mark.skipif(shutil.which("zip") is None, reason="no zip command")
def test_the_real_takeout_sample_zipped_by_the_zip_command(tmp_path: Path) -> None:
    """As a user would hand it over: zipped by another tool, then ``lifeup inspect --json``."""
    folder = tmp_path / "Takeout" / "Fit" / "All Data"
    shutil.copytree(TAKEOUT, folder)
    subprocess.run(["zip", "-qr", "takeout-me-001.zip", "Takeout"], cwd=tmp_path, check=True)
    cli = [sys.executable, "-m", "stream.cli", "inspect", "--json"]
    zipped = orjson.loads(
        subprocess.run(
            [*cli, str(tmp_path / "takeout-me-001.zip")], capture_output=True, check=True
        ).stdout
    )
    plain = orjson.loads(
        subprocess.run(
            [*cli, "--user", "takeout-me", str(TAKEOUT)], capture_output=True, check=True
        ).stdout
    )
    assert zipped == plain
    assert zipped["users"][0]["totals"]["steps"] == 2091
