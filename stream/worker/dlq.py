"""The contract's rejection record for the dead-letter topic (pure; the agent sends it)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from stream.points import Rejection

ORIGINAL_LIMIT_BYTES = 64 * 1024
"""A too-large event is kept only as its first bytes, so the DLQ record itself stays producible."""


def original_field(raw: bytes) -> tuple[Any, bool]:
    """The event as JSON when it is JSON, else base64 of its bytes; and whether it was cut."""
    if len(raw) > ORIGINAL_LIMIT_BYTES:
        return base64.b64encode(raw[:ORIGINAL_LIMIT_BYTES]).decode("ascii"), True
    try:
        return orjson.loads(raw), False
    except orjson.JSONDecodeError:
        return base64.b64encode(raw).decode("ascii"), False


def group_rejections(rejections: Sequence[Rejection]) -> list[tuple[str, str]]:
    """One (code, detail) per code: a message with 90 bad points yields one record, not 90."""
    details: dict[str, list[str]] = {}
    for rejection in rejections:
        details.setdefault(rejection.code, []).append(rejection.detail)
    grouped = []
    for code, found in details.items():
        detail = found[0] if len(found) == 1 else f"{len(found)} points; first: {found[0]}"
        grouped.append((code, detail))
    return grouped


def rejection_records(
    rejections: Sequence[Rejection],
    raw: bytes,
    topic: str,
    partition: int,
    offset: int,
    now: datetime | None = None,
) -> list[bytes]:
    """DLQ values for one message's rejections, each in the contract's shape."""
    if not rejections:
        return []
    original, truncated = original_field(raw)
    rejected_at = (now or datetime.now(UTC)).isoformat(timespec="milliseconds")
    rejected_at = rejected_at.replace("+00:00", "Z")
    records = []
    for code, detail in group_rejections(rejections):
        record: dict[str, Any] = {
            "error": code,
            "detail": detail,
            "original": original,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "rejected_at": rejected_at,
        }
        if truncated:
            record["original_truncated"] = True
        records.append(orjson.dumps(record))
    return records
