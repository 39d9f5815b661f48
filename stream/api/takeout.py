"""Google Takeout uploads from the page: the export's archive (zip or tgz), or some of its JSON
files.

Archives are read as the CLI reads them (``stream.parsing.archives``: the ``All Data`` files
when present); uncompressed sizes are checked before reading so a zip bomb is refused, not
inflated.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from stream.api.errors import ApiError
from stream.parsing.archives import Archive, ArchiveError, archive_user, is_archive

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


def expand(files: list[UploadedFile], max_bytes: int) -> Iterator[UploadedFile]:
    """Every JSON file of the upload, archives opened."""
    budget = max_bytes * ZIP_EXPANSION_LIMIT
    for upload in files:
        if not is_archive(upload.name):
            yield upload
            continue
        try:
            with Archive(upload.name, io.BytesIO(upload.data)) as archive:
                total = sum(m.size for m in archive.members)
                if total > budget:
                    raise ApiError(
                        413,
                        "too_large",
                        f"{upload.name} expands to {total:,} bytes of JSON; the limit is "
                        f"{budget:,} ({ZIP_EXPANSION_LIMIT}× LIFEUP_API_MAX_BODY_BYTES): "
                        "upload fewer files",
                    )
                for member in archive.members:
                    yield UploadedFile(f"{upload.name}/{member.name}", archive.read(member))
        except ArchiveError as exc:
            raise ApiError(422, "invalid_zip", str(exc)) from exc


def decode(files: list[UploadedFile], max_bytes: int) -> list[Decoded]:
    decoded = []
    for upload in expand(files, max_bytes):
        try:
            decoded.append(Decoded(upload.name, orjson.loads(upload.data)))
        except orjson.JSONDecodeError as exc:
            decoded.append(Decoded(upload.name, error=f"{upload.name}: not valid JSON ({exc})"))
    return decoded


def default_user(files: list[UploadedFile]) -> str:
    """Takeout carries no user id: name the user after the uploaded archive, as the CLI does."""
    for upload in files:
        if is_archive(upload.name):
            return archive_user(upload.name)
    return "takeout"
