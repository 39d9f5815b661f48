"""``lifeup bench ingest``: parse + per-user buffer, against decoding alone and against pandas.

Figures, each beside its baseline measured in the same run:

- ``points_per_s_single``: single-point JSON events (steps, distance and speed of 1,000 users,
  one per minute each), ``parse_message`` + ``pipeline.apply`` as the worker runs them;
  ceiling ``decode_points_per_s_single``: ``orjson.loads`` of the same bytes.
- ``points_per_s_batched``: the same with 100-point REST Datasets (50 users, each syncing 100
  minutes of each channel at a time, a sync's three Datasets in one message); ceiling
  ``decode_points_per_s_batched``. ``points_per_s_batched_per_stream``: the same Datasets one
  message each, a sync's three in one take of the worker (``Processor.handle_take``: what
  arrived within 20 ms), so none is late to another (``per_stream_late_share``);
  ``per_stream_apart_late_share``: the share of the points that arrive after their hours closed
  when each message is a take of its own (a client pausing between its streams), judged on
  their own (``stream.late``), and ``points_per_s_batched_per_stream_apart`` its rate.
- ``pandas_points_per_s``: the earlier system's way, re-resampling and re-interpolating the user's
  2-hour history with pandas on every event; ``speedup_vs_pandas`` = single / pandas.
- ``state_bytes_per_user``: tracemalloc's count of everything 100,000 users' buffers hold (the
  dict of users, ids, buffers), each user having sent 30 minutes of one point per minute in each
  of the three channels (the average user in the middle of an hour).

Times are CPU seconds of this process (one core), the sides alternating every few messages so
both see the same machine (it is shared); each side keeps its best of three passes.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pandas as pd

from bench._walkers import draw
from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID
from stream.parsing import parse_message
from stream.pipeline import apply, release, take_of
from stream.points import Channel, PointBatch
from stream.sources import source_rank
from stream.worker.processor import TAKE_MAX

NS = 1_000_000_000
MIN = 60 * NS
START = 1_709_302_115_648_590_535  # 2024-03-01 14:08:35 UTC
USERS = 1_000
TICKS = 20  # minutes per user in the single-point stream: 60,000 messages
DATASETS = 600  # 100-point messages: 60,000 points
DATASET_BLOCKS = 4  # 50 users x 3 channels x 4 blocks of 100 minutes
ROUNDS = 3
PANDAS_EVENTS = 300
STATE_USERS = 100_000
STATE_MINUTES = 30
TRACED_USERS = 10_000  # tracemalloc slows allocation ~8x: a sample of users cross-checks RSS
BUSY_MINUTES = 74  # the previous hour still open (lateness) plus 14 minutes: the largest ring

KINDS = (
    ("com.google.step_count.delta", "intVal", "estimated_steps"),
    ("com.google.distance.delta", "fpVal", "merge_distance_delta"),
    ("com.google.speed", "fpVal", "merge_speed"),
)


def _source(kind: int) -> str:
    data_type, _, name = KINDS[kind]
    return f"derived:{data_type}:com.google.android.gms:{name}"


def _point(kind: int, minute: int, user: int, as_str: bool) -> dict[str, Any]:
    data_type, field, _ = KINDS[kind]
    start = START + user * 7 * NS + minute * MIN
    end = start if kind == 2 else start + MIN
    noise = draw(minute, user, 400)  # a walker's variation (bench._walkers)
    value: float | int = (40 + noise % 80) if kind == 0 else 1.3 + (noise % 5) * 0.1
    return {
        "dataTypeName": data_type,
        "startTimeNanos": str(start) if as_str else start,
        "endTimeNanos": str(end) if as_str else end,
        "value": [{field: value}],
        "originDataSourceId": _source(kind),
    }


def single_messages() -> list[tuple[bytes, bytes]]:
    """(key, value) per event: every user's three channels, minute after minute."""
    return [
        (f"u{u:05d}".encode(), orjson.dumps({"user_id": f"u{u:05d}", **_point(k, t, u, True)}))
        for t in range(TICKS)
        for u in range(USERS)
        for k in range(3)
    ]


def dataset_messages(per_stream: bool = False) -> list[tuple[bytes, bytes]]:
    """100-point REST Datasets, a phone's sync of 100 minutes of each channel at a time: the
    three Datasets of one sync in one message (a list), as the README asks, then the next 100
    minutes, so a user's windows close as they do in service. ``per_stream``: one message per
    Dataset, in turn; the first pushes event time 100 minutes on, so most of the next two
    arrive after their hours closed (judged on their own, ``stream.late``)."""
    users = DATASETS // (3 * DATASET_BLOCKS)
    out: list[tuple[bytes, bytes]] = []
    for block in range(DATASET_BLOCKS):
        for user in range(users):
            sync = [
                {
                    "user_id": f"u{user:05d}",
                    "dataSourceId": _source(kind),
                    "point": [_point(kind, block * 100 + j, user, False) for j in range(100)],
                }
                for kind in range(3)
            ]
            key = f"u{user:05d}".encode()
            out.extend((key, orjson.dumps(body)) for body in (sync if per_stream else [sync]))
    return out


class Ingest:
    """What the worker does per take of messages without Kafka: ``parse_message`` of each,
    ``pipeline.take_of`` them, then ``pipeline.apply`` per message (rank, buffer, collect the
    windows now complete), the event time of users reaching back held until
    ``pipeline.release`` ends the take: the very calls of its processor."""

    def __init__(self) -> None:
        self.buffers: dict[str, UserBuffer] = {}
        self.windows = 0
        self.late = 0
        self.now = START + 10 * 86_400 * NS

    def __call__(self, messages: list[tuple[bytes, bytes]], take: int) -> int:
        """Ingests ``messages`` in takes of ``take``."""
        buffers = self.buffers
        points = 0
        for at in range(0, len(messages), take):
            results = [parse_message(v, k, now_ns=self.now) for k, v in messages[at : at + take]]
            arrived = take_of(results, DEFAULT_GRID) if take > 1 else None
            for result in results:
                outcomes, windows = apply(result, buffers, now_ns=self.now, take=arrived)
                points += outcomes.accepted + outcomes.duplicate + outcomes.late
                self.late += outcomes.late
                self.windows += len(windows)
            if arrived is not None:
                self.windows += len(release(arrived.ends, buffers))
        return points


def decode(messages: list[tuple[bytes, bytes]]) -> int:
    """The ceiling: decoding the same bytes with orjson, nothing else."""
    points = 0
    for _, value in messages:
        obj = orjson.loads(value)
        for body in obj if isinstance(obj, list) else [obj]:
            points += len(body["point"]) if "point" in body else 1
    return points


def pandas_per_event(messages: list[tuple[bytes, bytes]]) -> int:
    """The earlier method: on every event, resample and interpolate the user's last 2 hours."""
    history: dict[str, list[tuple[int, str, float]]] = {}
    for _, value in messages:
        obj = orjson.loads(value)
        rows = history.setdefault(obj["user_id"], [])
        field = obj["value"][0]
        rows.append((int(obj["endTimeNanos"]), obj["dataTypeName"], next(iter(field.values()))))
        frame = pd.DataFrame(rows, columns=["t", "type", "value"])
        frame = frame[frame["t"] >= frame["t"].max() - 2 * 3600 * NS]
        frame.index = pd.to_datetime(frame["t"], unit="ns", utc=True)
        grid: dict[str, pd.Series] = {}
        for data_type, _, _ in KINDS:
            series = frame.loc[frame["type"] == data_type, "value"].astype(float)
            if data_type.endswith("speed"):
                resampled = series.resample("60s").mean()
                grid[data_type] = resampled.interpolate(limit=5, limit_area="inside")
            else:
                grid[data_type] = series.resample("60s").sum()
        pd.DataFrame(grid).to_numpy(dtype=np.float32)
    return len(messages)


def _best_rate(work: Callable[[], int], rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        gc.collect()
        t0 = time.process_time()
        count = work()
        best = max(best, count / (time.process_time() - t0))
    return best


def _interleaved(
    messages: list[tuple[bytes, bytes]], chunk: int, take: int | None = None
) -> tuple[float, float, float]:
    """(ingest, decode) points per CPU second, the two sides alternating every ``chunk``
    messages so both see the same machine (it is shared), ingested in takes of ``take``
    (default ``chunk``); best of ``ROUNDS`` passes each; and the share of the points that
    arrived after their hours closed."""
    best_ingest = best_decode = 0.0
    late_share = 0.0
    for _ in range(ROUNDS):
        gc.collect()
        ingest = Ingest()
        t_ingest = t_decode = 0.0
        points = 0
        for at in range(0, len(messages), chunk):
            part = messages[at : at + chunk]
            t0 = time.process_time()
            points += ingest(part, take or chunk)
            t1 = time.process_time()
            decode(part)
            t_ingest += t1 - t0
            t_decode += time.process_time() - t1
        best_ingest = max(best_ingest, points / t_ingest)
        best_decode = max(best_decode, points / t_decode)
        late_share = ingest.late / points
    return best_ingest, best_decode, late_share


def _walk(first: int, count: int) -> npt.NDArray[np.float64]:
    """Steps a minute of a walker, varying as real ones do (so the replay detector keeps its
    per-user history of step n-grams, as it does for every active user)."""
    minute = np.arange(first, first + count, dtype=np.int64)
    return (90 + (minute * 7919 + 13) % 37).astype(np.float64)


def _minutes(user_id: str, first: int, count: int) -> list[PointBatch]:
    """``count`` minutes of one-minute steps and distance, and a speed sample a minute, each
    point 17 s off the minute as real ones are (so a delta touches two bins)."""
    hour = START // (3600 * NS) * 3600 * NS
    starts = hour + (first + np.arange(count, dtype=np.int64)) * MIN + 17 * NS
    return [
        PointBatch(user_id, Channel.STEPS, _source(0), starts, starts + MIN, _walk(first, count)),
        PointBatch(
            user_id, Channel.DISTANCE, _source(1), starts, starts + MIN, np.full(count, 45.0)
        ),
        PointBatch(user_id, Channel.SPEED, _source(2), starts, starts, np.full(count, 1.4)),
    ]


def _users(users: int, minutes: int) -> dict[str, UserBuffer]:
    """``users`` buffers holding ``minutes`` of data each.

    Each user is restored from a snapshot of ``minutes - 1`` minutes (``from_bytes``, as the
    worker recovers its table) and then sends its last minute live (three single-point events),
    so the arrays have grown as they do in service.
    """
    template = UserBuffer("user-0000000")
    for batch in _minutes("user-0000000", 0, minutes - 1):
        template.add(batch, source_rank(batch.channel, batch.source))
    blob = template.to_bytes()
    live = _minutes("user-0000000", minutes - 1, 1)
    ranks = [source_rank(b.channel, b.source) for b in live]
    buffers: dict[str, UserBuffer] = {}
    for u in range(users):
        user_id = f"user-{u:07d}"
        buffer = UserBuffer.from_bytes(blob.replace(b"user-0000000", user_id.encode(), 1))
        for b, rank in zip(live, ranks, strict=True):
            buffer.add(
                PointBatch(user_id, b.channel, b.source, b.start_ns, b.end_ns, b.value), rank
            )
        buffers[user_id] = buffer
    steps = int(_walk(0, minutes).sum())
    assert all(b.totals().steps == steps for b in list(buffers.values())[:100])
    return buffers


def state_traced(users: int, minutes: int) -> float:
    """Bytes per user by tracemalloc: everything allocated for the users and kept (the dict,
    ids, buffers and their arrays); shared objects (grid, interned source ids) once."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    buffers = _users(users, minutes)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del buffers
    return (after - before) / users


def state_rss(users: int, minutes: int) -> float:
    """Bytes per user by resident memory of a fresh process (allocator overhead included)."""
    code = f"import bench.ingest as b; print(b._rss_delta({users}, {minutes}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip()) / users


def _rss_delta(users: int, minutes: int) -> int:
    page = os.sysconf("SC_PAGE_SIZE")
    _users(10, minutes)  # warm every code path first
    gc.collect()
    before = _resident_pages() * page
    buffers = _users(users, minutes)
    gc.collect()
    after = _resident_pages() * page
    assert len(buffers) == users
    return after - before


def _resident_pages() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1])


def run() -> dict[str, float | int | str]:
    single = single_messages()
    batched = dataset_messages()
    single_rate, decode_single, _ = _interleaved(single, TAKE_MAX)
    batched_rate, decode_batched, batched_late = _interleaved(batched, 1)
    per_stream = dataset_messages(per_stream=True)
    per_stream_rate, _, per_stream_late = _interleaved(per_stream, 3)  # a sync: one take
    apart_rate, _, apart_late = _interleaved(per_stream, 3, take=1)
    pandas_rate = _best_rate(lambda: pandas_per_event(single[:PANDAS_EVENTS]), 1)
    state = state_rss(STATE_USERS, STATE_MINUTES)
    traced = state_traced(TRACED_USERS, STATE_MINUTES)
    busy = state_rss(STATE_USERS, BUSY_MINUTES)
    return {
        "points_per_s_single": round(single_rate),
        "decode_points_per_s_single": round(decode_single),
        "single_vs_decode": round(single_rate / decode_single, 3),
        "points_per_s_batched": round(batched_rate),
        "decode_points_per_s_batched": round(decode_batched),
        "batched_vs_decode": round(batched_rate / decode_batched, 3),
        "batched_late_share": round(batched_late, 3),
        "points_per_s_batched_per_stream": round(per_stream_rate),
        "per_stream_late_share": round(per_stream_late, 3),
        "points_per_s_batched_per_stream_apart": round(apart_rate),
        "per_stream_apart_late_share": round(apart_late, 3),
        "pandas_points_per_s": round(pandas_rate),
        "speedup_vs_pandas": round(single_rate / pandas_rate, 1),
        "state_bytes_per_user": round(state),
        "state_users": STATE_USERS,
        "state_load": f"{STATE_MINUTES} min x 3 channels, 1 point/min",
        "state_bytes_per_user_traced": round(traced),
        "state_traced_users": TRACED_USERS,
        "state_bytes_per_user_busiest": round(busy),
        "state_busiest_load": f"{BUSY_MINUTES} min x 3 channels",
    }
