"""Google Takeout uploads from the page: a zip of the export, or some of its JSON files.

A Takeout zip holds ``Takeout/Fit/All Data/*.json`` (the data points LifeUp reads) beside
sessions, daily CSVs and TCX files; when an ``All Data`` folder is present only its files are
read. Uncompressed sizes are checked before extraction so a zip bomb is refused, not inflated.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import orjson

from stream.api.errors import ApiError

ZIP_EXPANSION_LIMIT = 20  # uncompressed bytes allowed per byte of the body limit


@dataclass(frozen=True, slots=True)
class UploadedFile:
    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Decoded:
    """One JSON file of the upload, or why it could not be read."""

    name: str
    obj: Any = None
    error: str | None = None


def _json_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = [i for i in archive.infolist() if not i.is_dir() and i.filename.endswith(".json")]
    in_all_data = [i for i in members if "All Data" in PurePosixPath(i.filename).parts]
    return in_all_data or members


def expand(files: list[UploadedFile], max_bytes: int) -> Iterator[UploadedFile]:
    """Every JSON file of the upload, zips opened."""
    budget = max_bytes * ZIP_EXPANSION_LIMIT
    for upload in files:
        if not upload.name.lower().endswith(".zip"):
            yield upload
            continue
        try:
            archive = zipfile.ZipFile(io.BytesIO(upload.data))
        except zipfile.BadZipFile as exc:
            raise ApiError(422, "invalid_zip", f"{upload.name} is not a zip file: {exc}") from exc
        with archive:
            members = _json_members(archive)
            total = sum(m.file_size for m in members)
            if total > budget:
                raise ApiError(
                    413,
                    "too_large",
                    f"{upload.name} expands to {total:,} bytes of JSON; the limit is {budget:,} "
                    f"({ZIP_EXPANSION_LIMIT}× LIFEUP_API_MAX_BODY_BYTES): upload fewer files",
                )
            for member in members:
                yield UploadedFile(f"{upload.name}/{member.filename}", archive.read(member))


def decode(files: list[UploadedFile], max_bytes: int) -> list[Decoded]:
    decoded = []
    for upload in expand(files, max_bytes):
        try:
            decoded.append(Decoded(upload.name, orjson.loads(upload.data)))
        except orjson.JSONDecodeError as exc:
            decoded.append(Decoded(upload.name, error=f"{upload.name}: not valid JSON ({exc})"))
    return decoded


def default_user(files: list[UploadedFile]) -> str:
    """Takeout carries no user id: name the user after the uploaded zip, as the CLI names it
    after the Takeout folder."""
    for upload in files:
        if upload.name.lower().endswith(".zip"):
            return PurePosixPath(upload.name).stem or "takeout"
    return "takeout"
