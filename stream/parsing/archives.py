"""Google Takeout archives: the export as Google delivers it, a ``.zip`` or a ``.tgz``.

An export holds ``Takeout/Fit/All Data/*.json`` (the data points LifeUp reads) beside sessions,
daily CSVs and TCX files; when an ``All Data`` folder is present only its files are read, else
every JSON file. Hidden files are skipped, as in folders: a zip made on macOS carries
``__MACOSX/._name.json`` resource forks that are not JSON. Members are read into memory one at a
time and never extracted to disk, so a member's path cannot escape anywhere.

The CLI (``stream.parsing.files``) and the API's upload (``stream.api.takeout``) both read
archives here; the API also caps the uncompressed size before reading (a zip bomb).
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Final

SUFFIXES: Final = (".zip", ".tgz", ".tar.gz")
EXTENSIONS: Final = frozenset({".json", ".jsonl", ".ndjson"})  # read, in folders and archives
_PART: Final = re.compile(r"-\d{3}$")  # Takeout splits a large export: name-001.zip, name-002.zip


class ArchiveError(ValueError):
    """The file is not a readable zip or tar archive."""


@dataclass(frozen=True, slots=True)
class Member:
    name: str  # the path inside the archive
    size: int  # uncompressed bytes


def is_archive(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def archive_user(name: str) -> str:
    """The user an archive stands for when nothing names one: its file name without the
    suffix and without Takeout's part number, so the parts of one export are one user."""
    base = PurePosixPath(name.replace("\\", "/")).name
    lower = base.lower()
    for suffix in SUFFIXES:
        if lower.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return _PART.sub("", base) or "takeout"


class Archive:
    """The JSON files of one zip or tar archive (gzip or not), read one at a time."""

    def __init__(self, name: str, fileobj: IO[bytes]) -> None:
        self.name = name
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        try:
            if name.lower().endswith(".zip"):
                self._zip = zipfile.ZipFile(fileobj)
                found = [
                    Member(i.filename, i.file_size) for i in self._zip.infolist() if not i.is_dir()
                ]
            else:
                self._tar = tarfile.open(fileobj=fileobj, mode="r:*")  # noqa: SIM115 (close())
                found = [Member(m.name, m.size) for m in self._tar.getmembers() if m.isfile()]
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            self.close()
            kind = "zip" if name.lower().endswith(".zip") else "tar archive"
            raise ArchiveError(f"{name} is not a readable {kind}: {exc}") from exc
        self.members = _data_files(found)

    def read(self, member: Member) -> bytes:
        """The member's bytes; ``ArchiveError`` when the archive is damaged there."""
        try:
            if self._zip is not None:
                return self._zip.read(member.name)
            assert self._tar is not None
            handle = self._tar.extractfile(member.name)
            return b"" if handle is None else handle.read()
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, KeyError) as exc:
            raise ArchiveError(f"{self.name}/{member.name}: cannot read: {exc}") from exc

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tar is not None:
            self._tar.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _data_files(members: list[Member]) -> list[Member]:
    """The JSON files worth reading, in name order (reproducible, as folders are sorted)."""
    json_files = [
        m
        for m in members
        if PurePosixPath(m.name).suffix.lower() in EXTENSIONS
        and not any(part.startswith(".") or part == "__MACOSX" for part in _parts(m.name))
    ]
    in_all_data = [m for m in json_files if "All Data" in _parts(m.name)]
    return sorted(in_all_data or json_files, key=lambda m: m.name)


def _parts(name: str) -> tuple[str, ...]:
    return PurePosixPath(name).parts
