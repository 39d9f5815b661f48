"""Dresses raw points as contract events, the way phones sync them.

Points are batched per sync interval (2-10 min of event time, so every point arrives within
the grid's lateness) and per data source, then written in the user's style: Google Fit REST
``Dataset`` bodies, single points, Takeout "All Data" bodies, or Health Connect records. A
source that is a package name (no ``:``) is an app writing through Health Connect, whatever
the user's style. Some users' phones resend batches (duplicates) or send points out of order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from model_export.sim.types import NS, Kind, RawPoint, UserProfile

DATA_TYPES: dict[Kind, str] = {
    "steps": "com.google.step_count.delta",
    "distance": "com.google.distance.delta",
    "speed": "com.google.speed",
}
HC_TYPES: dict[Kind, str] = {"steps": "Steps", "distance": "Distance", "speed": "Speed"}


def rfc3339(ns: int) -> str:
    return datetime.fromtimestamp(ns / NS, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def fit_value(p: RawPoint) -> dict[str, Any]:
    return {"intVal": int(p.value)} if p.kind == "steps" else {"fpVal": p.value}


def origin(p: RawPoint) -> str:
    """Google Fit's derived sources name the raw stream they came from."""
    if ":user_input" in p.source or not p.source.startswith("derived:"):
        return p.source
    parts = p.source.split(":")
    device = ":".join(parts[3:-1]) if p.source.endswith(":top_level") else "phone"
    return f"raw:com.google.step_count.cumulative:{device}:pedometer"


def fit_point(p: RawPoint, as_string: bool) -> dict[str, Any]:
    def t(x: int) -> str | int:
        return str(x) if as_string else x

    return {
        "startTimeNanos": t(p.start_ns),
        "endTimeNanos": t(p.end_ns),
        "dataTypeName": DATA_TYPES[p.kind],
        "value": [fit_value(p)],
        "originDataSourceId": origin(p),
    }


def hc_record(user_id: str, points: list[RawPoint], origin_app: str) -> list[dict[str, Any]]:
    """Health Connect records: one per step/distance point, one Speed record per batch."""
    first = points[0]
    meta_base = {
        "dataOrigin": origin_app,
        "recordingMethod": first.method,
        "device": {"type": "PHONE"},
    }

    def meta(p: RawPoint) -> dict[str, Any]:
        digest = hashlib.sha1(f"{user_id}|{p.kind}|{p.start_ns}|{p.source}".encode()).hexdigest()
        return {"id": digest[:32], **meta_base}

    if first.kind == "speed":
        return [
            {
                "user_id": user_id,
                "recordType": "Speed",
                "startTime": rfc3339(min(p.start_ns for p in points)),
                "endTime": rfc3339(max(p.end_ns for p in points) + 1_000_000),
                "samples": [
                    {"time": rfc3339(p.start_ns), "speed": {"inMetersPerSecond": p.value}}
                    for p in points
                ],
                "metadata": meta(first),
            }
        ]
    out: list[dict[str, Any]] = []
    for p in points:
        rec: dict[str, Any] = {
            "user_id": user_id,
            "recordType": HC_TYPES[p.kind],
            "startTime": rfc3339(p.start_ns),
            "endTime": rfc3339(p.end_ns),
            "metadata": meta(p),
        }
        if p.kind == "steps":
            rec["count"] = int(p.value)
        else:
            rec["distance"] = {"inMeters": p.value}
        out.append(rec)
    return out


Message = dict[str, Any] | list[dict[str, Any]]


def phone_sources(p: UserProfile) -> tuple[str, ...]:
    return p.sources.steps + p.sources.distance + p.sources.speed


def hc_origin(p: UserProfile, source: str) -> str:
    """The ``dataOrigin`` of a source: the phone's app, or the package named in another stream."""
    if source in phone_sources(p):
        return p.sources.hc_origin
    parts = source.split(":")
    return parts[2] if len(parts) > 2 else source


def batch_events(p: UserProfile, group: list[RawPoint]) -> list[Message]:
    """One (source, data type, recording method) batch in the user's style."""
    first = group[0]
    if p.style == "health_connect" or ":" not in first.source:
        records = hc_record(p.user_id, group, hc_origin(p, first.source))
        return [records[0]] if len(records) == 1 else [records]
    if p.style == "points":
        return [
            {"user_id": p.user_id, **fit_point(x, True), "originDataSourceId": x.source}
            for x in group
        ]
    if p.style == "takeout":
        pts = []
        for x in group:
            body = fit_point(x, False)
            body["fitValue"] = [{"value": body.pop("value")[0]}]
            pts.append(body)
        return [{"user_id": p.user_id, "Data Source": first.source, "Data Points": pts}]
    return [
        {
            "user_id": p.user_id,
            "dataSourceId": first.source,
            "point": [fit_point(x, True) for x in group],
        }
    ]


def emit(
    rng: np.random.Generator, p: UserProfile, points: list[RawPoint]
) -> list[tuple[int, Message]]:
    """(sync time ns, message) pairs; the caller merges users by sync time."""
    if p.style == "health_connect":  # Health Connect keeps one copy of the phone's own data
        copies = set(phone_sources(p)) - {p.sources.steps[0], p.sources.distance[0],
                                          p.sources.speed[0]}  # fmt: skip
        points = [x for x in points if x.source not in copies]
    sync_ns = p.sync_minutes * 60 * NS
    batches: dict[tuple[int, str, Kind, str], list[RawPoint]] = defaultdict(list)
    for x in sorted(points, key=lambda x: (x.end_ns, x.start_ns)):
        batches[(x.end_ns // sync_ns, x.source, x.kind, x.method)].append(x)
    out: list[tuple[int, Message]] = []
    for (bucket, *_), group in sorted(batches.items(), key=lambda kv: kv[0]):
        if p.shuffle:
            group = [group[i] for i in rng.permutation(len(group))]
        sent = (bucket + 1) * sync_ns
        for message in batch_events(p, group):
            out.append((sent, message))
            if rng.random() < p.repeat_rate:
                out.append((sent + sync_ns // 2, message))
    return out
