"""Source ranking: the tier order, and what it does to real and cheating data in the real buffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.buffer import UserBuffer
from stream.parsing import iter_results
from stream.parsing.order import in_event_time
from stream.points import Channel, ParseResult, PointBatch
from stream.sources import (
    APP,
    COARSE,
    DEVICE,
    MANUAL,
    MERGED,
    OTHER,
    PAID,
    UNKNOWN,
    source_rank,
    source_tier,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HOUR_NS = 3_600 * 10**9
T0 = 1_709_280_000 * 10**9  # 2024-03-01T08:00:00Z, on the hour
MIN = 60 * 10**9

STEP_IDS = {
    "raw:com.google.step_count.delta:com.google.android.apps.fitness:user_input": MANUAL,
    "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps": PAID,
    "derived:com.google.step_count.delta:com.google.android.gms:merge_step_deltas": MERGED,
    "raw:com.google.step_count.delta:com.stepinjector.app:": APP,
    "com.sec.android.app.shealth": APP,
    "derived:com.google.step_count.delta:com.google.android.fit:Xiaomi:M2102J20SG:x:top_level": (
        DEVICE
    ),
    "raw:com.google.step_count.cumulative:Xiaomi:M2102J20SG:x:pedometer  Non-wakeup": DEVICE,
    "derived:com.google.step_count.delta:com.google.android.gms:something_new": OTHER,
    "derived:com.google.step_count.delta:com.google.android.gms:aggregated": COARSE,
    "": UNKNOWN,
}
DISTANCE_IDS = {
    "derived:com.google.distance.delta:com.google.android.gms:merge_distance_delta": PAID,
    "derived:com.google.distance.delta:com.google.android.gms:from_third_party_location"
    "<-derived:com.google.location.sample:com.google.android.apps.fitness:app_location": MERGED,
    "derived:com.google.distance.delta:com.google.android.fit:Xiaomi:M2102J20SG:x:top_level": (
        DEVICE
    ),
}
SPEED_IDS = {
    "derived:com.google.speed:com.google.android.gms:merge_speed": PAID,
    "derived:com.google.speed:com.google.android.gms:from_high_accuracy_location": MERGED,
    "derived:com.google.speed:com.google.android.fit:Xiaomi:M2102J20SG:x:top_level": DEVICE,
}


def test_tiers_of_known_streams() -> None:
    for channel, ids in (
        (Channel.STEPS, STEP_IDS),
        (Channel.DISTANCE, DISTANCE_IDS),
        (Channel.SPEED, SPEED_IDS),
    ):
        for source, tier in ids.items():
            assert source_tier(channel, source) == tier, source


@given(st.text(max_size=60), st.text(max_size=60), st.sampled_from(list(Channel)))
def test_rank_follows_tier_and_is_stable(a: str, b: str, channel: Channel) -> None:
    if source_tier(channel, a) > source_tier(channel, b):
        assert source_rank(channel, a) > source_rank(channel, b)
    assert source_rank(channel, a) == source_rank(channel, a) < 2**15


def batch(source: str, values: list[float], start: int = T0, manual: bool = False) -> PointBatch:
    starts = np.array([start + i * MIN for i in range(len(values))], dtype=np.int64)
    return PointBatch(
        "u", Channel.STEPS, source, starts, starts + MIN, np.array(values, dtype=np.float64), manual
    )


def steps_after(*batches: PointBatch) -> int:
    buffer = UserBuffer("u")
    for result in in_event_time([ParseResult(list(batches))]):
        for b in result.batches:
            buffer.add(b, source_rank(b.channel, b.source))
    return buffer.totals().steps


def test_injected_steps_are_not_hidden_behind_the_phone_sensor() -> None:
    device = "derived:com.google.step_count.delta:com.google.android.fit:Xiaomi:M:x:top_level"
    injector = "raw:com.google.step_count.delta:com.stepinjector.app:"
    assert steps_after(batch(device, [10] * 30), batch(injector, [200] * 30)) == 6_000


def test_manual_entry_is_not_shadowed_by_the_merge() -> None:
    merged = "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps"
    manual = "raw:com.google.step_count.delta:com.google.android.apps.fitness:user_input"
    total = steps_after(batch(merged, [50] * 60), batch(manual, [500] * 10, manual=True))
    assert total == 50 * 50 + 500 * 10


def test_a_daily_aggregate_does_not_smear_over_fine_data() -> None:
    fine = batch(
        "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps", [60] * 60
    )
    day = PointBatch(
        "u",
        Channel.STEPS,
        "derived:com.google.step_count.delta:com.google.android.gms:aggregated",
        np.array([T0], dtype=np.int64),
        np.array([T0 + 24 * HOUR_NS], dtype=np.int64),
        np.array([10_000.0]),
    )
    buffer = UserBuffer("u")
    for result in in_event_time([ParseResult([day, fine])]):
        for b in result.batches:
            buffer.add(b, source_rank(b.channel, b.source))
    windows = {w.start_ns: w for w in buffer.flush()}
    assert windows[T0].totals.steps == 3_600  # the hour with fine data keeps it exactly


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not present")
@settings(max_examples=10, deadline=None)
@given(st.randoms(use_true_random=False))
def test_real_takeout_counts_each_step_once_in_any_file_order(rng: object) -> None:
    results = list(iter_results([str(DATA / "google-fit-takeout")]))
    rng.shuffle(results)  # type: ignore[attr-defined]
    buffer = UserBuffer("google-fit-takeout")
    for result in in_event_time(results):
        for b in result.batches:
            buffer.add(b, source_rank(b.channel, b.source))
    totals = buffer.totals()
    raw_steps = sum(float(b.value.sum()) for r in results for b in r.batches if b.channel == 0)
    assert raw_steps == 6_273  # three streams carry the same steps ...
    assert totals.steps == 2_091  # ... and LifeUp counts them once
    assert round(totals.distance_m, 1) == 970.6  # merge_distance_delta wins every bin
    used, shadowed = buffer.sources()
    assert any(s.endswith(":merge_step_deltas") for s in shadowed)
    assert "derived:com.google.step_count.delta:com.google.android.gms:estimated_steps" in used
    assert not any("step_count" in s for s in used if not s.endswith("estimated_steps"))
