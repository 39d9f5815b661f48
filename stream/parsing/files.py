"""Reading inputs from disk or standard input as contract-shaped events.

A path is a file, a Takeout archive (``.zip``, ``.tgz``: ``stream.parsing.archives``), a folder
(read recursively: ``*.json``, ``*.jsonl``, ``*.ndjson`` and archives, hidden files skipped,
sorted for a reproducible order) or ``-`` (standard input: JSON lines, or one JSON document). A
file holds one JSON value, or JSON lines; a UTF-8 byte order mark before it is skipped (Windows
editors write one).
Events without ``user_id`` get ``--user``; a Takeout body without either gets the Takeout folder's
name (the first ancestor folder that is not one of Takeout's own, such as ``All Data`` or
``Fit``); in an archive, the first such folder inside it, else the archive's name without its
part number (``archives.archive_user``). Takeout bodies and Datasets are cut into events of at most
``CHUNK_POINTS`` points so each fits in a Kafka message. A file or line that is not JSON yields an
``Unreadable`` instead of an event, so ``publish`` can report it and ``score`` count it.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

import orjson

from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing import errors
from stream.parsing.archives import EXTENSIONS, Archive, ArchiveError, archive_user, is_archive
from stream.parsing.decode import parse_obj
from stream.parsing.order import in_event_time, ordered_events
from stream.points import ParseResult, Rejection

CHUNK_POINTS: Final = 1000
_BOM: Final = b"\xef\xbb\xbf"
_TAKEOUT_FOLDERS: Final = frozenset(
    {"all data", "fit", "google fit", "takeout", "all sessions", "daily activity metrics"}
)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A file or line that could not be decoded: where, why, and its bytes (for a DLQ)."""

    where: str
    rejection: Rejection
    raw: bytes


def iter_events(
    paths: Sequence[str], user: str | None = None, *, ordered: bool = False
) -> Iterator[tuple[str | None, Any]]:
    """(user id, event) pairs from files, folders and ``-``.

    The event is a JSON value in a contract shape (``user_id`` set where known), or an
    ``Unreadable`` when the input was not JSON. ``ordered=True`` reads everything first and
    re-emits the accepted points in event-time order (``order.ordered_events``): publish a
    Takeout folder that way, or the worker sees the second stream of each hour too late to
    de-duplicate it against the first.
    """
    if ordered:
        yield from ordered_events(iter_events(paths, user))
        return
    for path in paths:
        if path == "-":
            yield from _stdin(sys.stdin.buffer, user)
            continue
        target = Path(path)
        files = sorted(readable_files(target)) if target.is_dir() else [target]
        for file in files:
            if is_archive(file.name) and file.is_file():
                yield from _archive(file, user)
            else:
                yield from _file(file, user)


def iter_results(
    paths: Sequence[str],
    user: str | None = None,
    now_ns: int | None = None,
    *,
    ordered: bool = True,
    grid: GridSpec = DEFAULT_GRID,
) -> Iterator[ParseResult]:
    """Every input parsed; by default rejections first, then the points in event-time order
    (``order.in_event_time``), so de-duplication never depends on file order. ``ordered=False``
    streams one result per event (or unreadable file or line) as read. ``grid``: the one the
    results will be windowed on (where windows close decides how the points are cut in runs)."""
    now = time.time_ns() if now_ns is None else now_ns
    results = (
        ParseResult(rejections=[event.rejection])
        if isinstance(event, Unreadable)
        else parse_obj(event, user_id, now_ns=now)
        for user_id, event in iter_events(paths, user)
    )
    if ordered:
        yield from in_event_time(results, grid=grid)
    else:
        yield from results


def readable_files(folder: Path) -> Iterator[Path]:
    """The files of ``folder`` (recursively) that are read: JSON, JSON lines, archives."""
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).parts
        hidden = any(part.startswith(".") for part in relative)
        wanted = path.suffix.lower() in EXTENSIONS or is_archive(path.name)
        if wanted and not hidden and path.is_file():
            yield path


def _file(file: Path, user: str | None) -> Iterator[tuple[str | None, Any]]:
    try:
        data = file.read_bytes()
    except OSError as exc:
        rejection = Rejection(errors.INVALID_JSON, f"{file}: cannot read: {exc.strerror}", user)
        yield user, Unreadable(str(file), rejection, b"")
        return
    yield from _contents(data, str(file), user, user or _takeout_user(file))


def _archive(file: Path, user: str | None) -> Iterator[tuple[str | None, Any]]:
    """Every JSON file of a Takeout archive, each read as a file of its own."""
    try:
        with file.open("rb") as handle, Archive(str(file), handle) as archive:
            for member in archive.members:
                where = f"{file}/{member.name}"
                try:
                    data = archive.read(member)
                except ArchiveError as exc:
                    rejection = Rejection(errors.INVALID_JSON, str(exc), user)
                    yield user, Unreadable(where, rejection, b"")
                    continue
                owner = user or _member_user(member.name) or archive_user(file.name)
                yield from _contents(data, where, user, owner)
    except (ArchiveError, OSError) as exc:
        detail = str(exc) if isinstance(exc, ArchiveError) else f"{file}: cannot read: {exc}"
        yield user, Unreadable(str(file), Rejection(errors.INVALID_JSON, detail, user), b"")


def _contents(
    data: bytes, where: str, user: str | None, takeout_user: str | None
) -> Iterator[tuple[str | None, Any]]:
    """One file's events: a JSON value, or JSON lines."""
    data = data.removeprefix(_BOM)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if where.lower().endswith((".jsonl", ".ndjson")) or _looks_like_lines(data):
            yield from _lines(iter(data.splitlines(keepends=True)), where, user, takeout_user)
        else:
            yield user, Unreadable(where, _undecodable(data, f"{where}: {exc}", user), data)
        return
    yield from _events(value, user, takeout_user)


def _looks_like_lines(data: bytes) -> bool:
    """A ``.json`` file may still hold JSON lines: several lines that each start an object."""
    lines = [line for line in data.splitlines()[:3] if line.strip()]
    return len(lines) > 1 and all(line.lstrip()[:1] in (b"{", b"[") for line in lines)


def _stdin(stream: Iterator[bytes] | Any, user: str | None) -> Iterator[tuple[str | None, Any]]:
    """JSON lines, streamed as they come (``tail -f`` works); when the first line is not JSON on
    its own, the input is read whole and taken as a file is (``cat export.json | lifeup ... -``:
    one pretty-printed document)."""
    lines = iter(stream)
    head: list[bytes] = []
    for line in lines:
        head.append(line.removeprefix(_BOM) if not head else line)
        if line.strip():
            break
    first = b"".join(head)
    if not first.strip():
        return
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        yield from _contents(first + b"".join(lines), "<stdin>", user, user)
        return
    yield from _lines(itertools.chain(head, lines), "<stdin>", user, user)


def _lines(
    stream: Iterator[bytes] | Any, where: str, user: str | None, takeout_user: str | None
) -> Iterator[tuple[str | None, Any]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            detail = f"{where} line {number}: {exc}"
            yield user, Unreadable(f"{where}:{number}", _undecodable(line, detail, user), line)
            continue
        yield from _events(value, user, takeout_user)


def _events(
    value: Any, user: str | None, takeout_user: str | None
) -> Iterator[tuple[str | None, Any]]:
    items = value if type(value) is list else [value]
    for item in items:
        if type(item) is not dict:
            yield user, item
            continue
        own = item.get("user_id")
        if type(own) is str and own:
            uid: str | None = own
        elif "Data Points" in item or "fitnessActivity" in item:  # Takeout's own files
            uid = takeout_user
        else:
            uid = user
        if uid is not None and own != uid:
            item = {"user_id": uid, **{k: v for k, v in item.items() if k != "user_id"}}
        yield from _chunks(uid, item)


def _chunks(uid: str | None, item: dict[str, Any]) -> Iterator[tuple[str | None, Any]]:
    """Cuts a long point list into events of ``CHUNK_POINTS``; an empty one yields nothing."""
    for key in ("Data Points", "point"):
        points = item.get(key)
        if type(points) is list:
            if not points:
                return
            for offset in range(0, len(points), CHUNK_POINTS):
                yield uid, {**item, key: points[offset : offset + CHUNK_POINTS]}
            return
    yield uid, item


def _takeout_user(file: Path) -> str | None:
    return _owner(file.resolve().parts[:-1])


def _member_user(name: str) -> str | None:
    """The user an archive member's folders name (``_owner``), if any."""
    return _owner(PurePosixPath(name).parts[:-1])


def _owner(folders: tuple[str, ...]) -> str | None:
    """The folder that names a Takeout file's user: the one holding ``Takeout``, whose own
    folders (``Fit``, ``All Data``) Google names in the account's language (``Все данные``,
    ``Alle Daten``); without a ``Takeout`` folder, the nearest that is not one of the English
    names."""
    lowered = [f.lower() for f in folders]
    if "takeout" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("takeout")
        above = [f for f in folders[:at] if f not in ("/", "")]
        return above[-1] if above else None
    for folder in reversed(folders):
        if folder and folder != "/" and folder.lower() not in _TAKEOUT_FOLDERS:
            return folder
    return None


def _undecodable(data: bytes, detail: str, user: str | None) -> Rejection:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return Rejection(errors.NOT_UTF8, f"{detail.split(':')[0]}: not UTF-8 at {bad.start}", user)
    return Rejection(errors.INVALID_JSON, detail, user)
