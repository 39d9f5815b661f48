"""Health Connect records updated in place (``UserBuffer.revise``): counted once.

Health Connect keeps a record's ``metadata.id`` when an app updates it, and its Changes API
delivers the record again, changed: an open interval of steps grows as the day goes on. Before
revisions were recognised, 08:00-08:15 (800 steps) then 08:00-08:30 (1,500) counted 2,300.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.api.convert import in_window_order
from stream.buffer import UserBuffer
from stream.parsing import in_event_time, ordered_events, parse_obj
from stream.parsing.health_connect import record_id
from stream.pipeline import Outcomes, apply
from stream.points import ParseResult
from stream.revisions import REVISED_RECORDS
from stream.windows import Window

SAMSUNG = "com.sec.android.app.shealth"
HOUR_NS = 3_600_000_000_000
NOW_NS = 1_800_000_000 * 1_000_000_000  # 2027-01-15: the records lie in the past


def steps(end: str, count: int, rid: str | None = "r1", origin: str = SAMSUNG) -> dict[str, Any]:
    metadata: dict[str, Any] = {"dataOrigin": origin}
    if rid is not None:
        metadata["id"] = rid
    return {
        "user_id": "u",
        "recordType": "Steps",
        "startTime": "2026-11-20T08:00:00Z",
        "endTime": f"2026-11-20T{end}:00Z",
        "count": count,
        "metadata": metadata,
    }


def metres(end: str, length: float, rid: str = "d1") -> dict[str, Any]:
    return {
        "user_id": "u",
        "recordType": "Distance",
        "startTime": "2026-11-20T08:00:00Z",
        "endTime": f"2026-11-20T{end}:00Z",
        "distance": {"inMeters": length},
        "metadata": {"id": rid, "dataOrigin": SAMSUNG},
    }


def fed(
    messages: list[Any], buffers: dict[str, UserBuffer] | None = None
) -> tuple[dict[str, UserBuffer], Outcomes, list[Window]]:
    """Each message as one arrival through the worker's ``pipeline.apply``."""
    buffers = {} if buffers is None else buffers
    total = Outcomes()
    windows: list[Window] = []
    for message in messages:
        got, out = apply(parse_obj(message), buffers)
        total.add(got)
        windows += out
    return buffers, total, windows


def test_a_growing_record_counts_its_latest_version_once() -> None:
    buffers, outcomes, _ = fed([steps("08:15", 800), steps("08:30", 1_500)])
    assert buffers["u"].totals().steps == 1_500
    assert (outcomes.accepted, outcomes.duplicate) == (2, 0)


def test_a_version_seen_before_is_a_duplicate_in_any_order() -> None:
    for order in (
        [steps("08:15", 800), steps("08:30", 1_500), steps("08:30", 1_500)],
        [steps("08:15", 800), steps("08:30", 1_500), steps("08:15", 800)],
        [steps("08:30", 1_500), steps("08:15", 800)],
        [steps("08:30", 1_500), steps("08:15", 800), steps("08:30", 1_500)],
    ):
        buffers, outcomes, _ = fed(order)
        assert buffers["u"].totals().steps == 1_500
        assert outcomes.duplicate == len(order) - (2 if order[0]["count"] == 800 else 1)


def test_a_record_with_fixed_bounds_counts_its_latest_count_and_never_less() -> None:
    """An hour's record updated as the hour goes on keeps its bounds: the count grown is
    counted. A correction down cannot be subtracted (a better source may since have taken the
    minutes): the larger count stands."""
    for counts in ((1_200, 1_500), (1_500, 1_200), (700, 1_200, 1_500, 1_500)):
        buffers, outcomes, _ = fed([steps("08:30", c) for c in counts])
        assert buffers["u"].totals().steps == 1_500
        assert outcomes.duplicate == sum(
            1 for i, c in enumerate(counts) if i and c <= max(counts[:i])
        )


def test_distance_records_grow_too_and_sources_are_apart() -> None:
    buffers, _, _ = fed(
        [
            metres("08:10", 700.0),
            steps("08:10", 900, rid="x", origin="com.fitbit.FitbitMobile"),
            metres("08:20", 1_650.5),
            steps("08:20", 1_900, rid="x", origin="com.fitbit.FitbitMobile"),
            steps("08:20", 1_950),  # another app's record: another source, counted on its own
        ]
    )
    totals = buffers["u"].totals()
    assert totals.distance_m == 1_650.5
    # Fitbit and Samsung both count 08:00-08:20; the better-ranked source wins each minute
    assert totals.steps in (1_900, 1_950)


def test_an_apps_own_record_key_identifies_its_versions_too() -> None:
    versions = [steps("08:15", 800, rid=None), steps("08:30", 1_500, rid=None)]
    for version in versions:
        version["metadata"]["clientRecordId"] = "steps-2026-11-20T08"
    buffers, _, _ = fed(versions)
    assert buffers["u"].totals().steps == 1_500


def test_records_without_an_id_are_points_as_before() -> None:
    buffers, outcomes, _ = fed([steps("08:15", 800, rid=None), steps("08:30", 1_500, rid=None)])
    assert buffers["u"].totals().steps == 2_300  # README: without an id a revision is not known
    assert outcomes.duplicate == 0


def test_the_latest_records_survive_the_changelog() -> None:
    buffers, _, _ = fed([steps("08:15", 800), metres("08:10", 700.0)])
    restored = {"u": UserBuffer.from_bytes(buffers["u"].to_bytes())}
    assert restored["u"].to_bytes() == buffers["u"].to_bytes()
    fed([steps("08:30", 1_500), metres("08:20", 1_650.5)], restored)
    totals = restored["u"].totals()
    assert (totals.steps, totals.distance_m) == (1_500, 1_650.5)


def test_a_snapshot_written_before_record_revisions_still_loads() -> None:
    buffers, _, _ = fed([steps("08:15", 800, rid=None)])
    blob = buffers["u"].to_bytes()
    assert blob.endswith(b"\0\0\0\0")  # an empty last section: no records remembered
    assert UserBuffer.from_bytes(blob[:-4]).to_bytes() == blob


def test_growth_into_a_closed_hour_is_judged_late_as_the_growth_alone() -> None:
    later = dict(steps("09:30", 2_000, rid="r2"), startTime="2026-11-20T09:00:00Z")
    grown = dict(steps("08:45", 1_400), endTime="2026-11-20T08:45:00Z")
    _, outcomes, windows = fed([steps("08:15", 800), later, grown])
    assert outcomes.late == 1
    again = [w for w in windows if w.after_close]
    assert len(again) == 1 and again[0].totals.steps == 600  # 1,400 - 800, not 1,400


def test_replays_and_requests_carry_record_ids() -> None:
    """``lifeup score`` reorders inputs in event time, the API cuts a request by window: both
    keep each point's record id."""
    results = [parse_obj(steps("08:15", 800)), parse_obj(steps("08:30", 1_500))]
    replayed: dict[str, UserBuffer] = {}
    for result in in_event_time(results):
        apply(result, replayed)
    assert replayed["u"].totals().steps == 1_500
    both = ParseResult(batches=[b for r in results for b in r.batches])
    cut: dict[str, UserBuffer] = {}
    for piece in in_window_order(both, HOUR_NS):
        apply(piece, cut)
    assert cut["u"].totals().steps == 1_500


def test_record_ids_are_stable_hashes() -> None:
    assert record_id({"id": "r1"}) == record_id({"id": "r1", "dataOrigin": "x"}) > 0
    assert record_id({"id": "r1"}) != record_id({"id": "r2"})
    assert record_id({}) == record_id(None) == record_id({"id": ""}) == 0
    # an export without Health Connect's id falls back on the app's own key for the record
    assert record_id({"clientRecordId": "r1"}) not in (0, record_id({"id": "r1"}))
    assert record_id({"id": "r1", "clientRecordId": "c"}) == record_id({"id": "r1"})
    batches = parse_obj([steps("08:15", 800), steps("08:30", 900, rid="r2")]).batches
    ids = np.concatenate([b.record_ids for b in batches if b.record_ids is not None])
    assert np.unique(ids).size == 2 and sum(len(b) for b in batches) == 2


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3_000)), min_size=1, max_size=8),
    st.randoms(use_true_random=False),
)
def test_a_growing_record_counts_its_largest_version_in_any_arrival_order(
    growth: list[tuple[int, int]], rng: random.Random
) -> None:
    """Versions of one record, each extending the last (a later end or the same one, no fewer
    steps), some sent twice, in any order: what is counted is the largest version, once."""
    end, count, versions = 0, 0, []
    for minutes, more in growth:  # 8 versions of up to 7 minutes each: ends before 09:00
        end, count = end + minutes, count + more
        versions.append((end, count))
    sent = versions + rng.sample(versions, k=rng.randint(0, len(versions)))
    rng.shuffle(sent)
    buffers, outcomes, _ = fed([steps(f"08:{e:02d}", c) for e, c in sent])
    assert buffers["u"].totals().steps == max(c for _, c in versions)
    assert outcomes.accepted + outcomes.duplicate == len(sent)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 1), st.integers(0, 500)), min_size=1, max_size=8),
        min_size=1,
        max_size=REVISED_RECORDS,
    ),
    st.randoms(use_true_random=False),
)
def test_records_of_one_source_interleaved_count_each_largest_version(
    records: list[list[tuple[int, int]]], rng: random.Random
) -> None:
    """Up to ``REVISED_RECORDS`` records of one app, each growing in its own quarter of an
    hour, their versions interleaved in any order: each record counts its largest version."""
    sent, largest = [], 0
    for j, growth in enumerate(records):
        first = 15 * j
        end, count, top = first, 0, 0
        for minutes, more in growth:
            end, count = end + minutes, count + more
            record = steps(f"08:{end:02d}", count, rid=f"r{j}")
            sent.append(dict(record, startTime=f"2026-11-20T08:{first:02d}:00Z"))
            top = max(top, count)
        largest += top
    rng.shuffle(sent)
    buffers, _, _ = fed(sent)
    assert buffers["u"].totals().steps == largest


def test_publishing_in_event_time_resolves_the_versions_it_sends() -> None:
    """``lifeup publish`` re-sends accepted points as REST Datasets, which carry no record id:
    the versions are resolved before, as the worker would have met them."""
    events = [
        (None, steps("08:15", 800)),
        (None, steps("08:30", 1_500)),
        (None, metres("08:10", 7.0)),
    ]
    events.append((None, metres("08:10", 7.0)))
    sent = list(ordered_events(events, now_ns=NOW_NS))
    assert all("point" in event for _, event in sent)  # Datasets: no id left to resolve with
    buffers, outcomes, _ = fed([event for _, event in sent])
    assert buffers["u"].totals().steps == 1_500 and buffers["u"].totals().distance_m == 7.0
    assert outcomes.duplicate == 0  # nothing sent twice
