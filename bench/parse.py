"""``lifeup bench parse``: ``parse_message`` alone against orjson decoding of the same messages.

The parse targets of issue 2 are set relative to decoding (the ceiling: a parser must at least
decode), so each parse figure is printed beside ``orjson.loads`` of the very same bytes, measured
in the same run, alternating three rounds each and keeping each side's best (the machine is
shared, so the best round is the least disturbed one). The buffer is not included: ``lifeup bench
ingest`` measures parse + buffer.

Messages (deterministic): single-point events with nanoseconds as decimal strings (the REST API's
encoding, the slower one), and 100-point REST Datasets with integer nanoseconds (Takeout's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from stream.parsing import parse_message

START = 1_709_302_115_648_590_535
MIN = 60 * 10**9
SOURCE = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
ORIGIN = "raw:com.google.step_count.cumulative:Xiaomi:M2102J20SG:6ba8a58df3ab189e:pedometer"
SINGLE_MESSAGES = 60_000
DATASETS = 600
ROUNDS = 3


def _point(i: int, as_str: bool) -> dict[str, Any]:
    start, end = START + i * MIN, START + (i + 1) * MIN
    return {
        "dataTypeName": "com.google.step_count.delta",
        "startTimeNanos": str(start) if as_str else start,
        "endTimeNanos": str(end) if as_str else end,
        "value": [{"intVal": 20 + i % 50}],
        "originDataSourceId": SOURCE if as_str else ORIGIN,
    }


def single_messages() -> list[bytes]:
    return [
        orjson.dumps({"user_id": f"u{i % 10_000:05d}", **_point(i, True)})
        for i in range(SINGLE_MESSAGES)
    ]


def dataset_messages() -> list[bytes]:
    return [
        orjson.dumps(
            {
                "user_id": f"u{i % 1_000:05d}",
                "dataSourceId": SOURCE,
                "point": [_point(i * 100 + j, False) for j in range(100)],
            }
        )
        for i in range(DATASETS)
    ]


def _best_rate(work: Callable[[list[bytes]], object], messages: list[bytes], points: int) -> float:
    started = time.perf_counter()
    work(messages)
    return points / (time.perf_counter() - started)


def _decode(messages: list[bytes]) -> None:
    loads = orjson.loads
    for message in messages:  # nothing is kept: keeping a million dicts would time the GC
        loads(message)


def _parse(messages: list[bytes]) -> None:
    now = time.time_ns()
    for message in messages:
        parse_message(message, None, now_ns=now)


def run() -> dict[str, float | int | str]:
    figures: dict[str, float | int | str] = {}
    for name, messages, points in (
        ("single", single_messages(), SINGLE_MESSAGES),
        ("batched", dataset_messages(), DATASETS * 100),
    ):
        check = parse_message(messages[0])
        assert not check.rejections and check.point_count == (1 if name == "single" else 100)
        decode, parse = 0.0, 0.0
        for _ in range(ROUNDS):
            decode = max(decode, _best_rate(_decode, messages, points))
            parse = max(parse, _best_rate(_parse, messages, points))
        figures[f"parse_points_per_s_{name}"] = round(parse)
        figures[f"decode_points_per_s_{name}"] = round(decode)
        figures[f"parse_vs_decode_{name}"] = round(parse / decode, 3)
    figures["rounds"] = ROUNDS
    return figures
