"""The simulator: determinism, contract shapes through the real parser, labels that land on
windows of the real buffer, and the defining trait of every family."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_export.sim.normal import normal_day
from model_export.sim.profile import draw_profile
from model_export.sim.render import CELL_S, deltas, render
from model_export.sim.types import NS, Bout
from model_export.sim.unusual import CHEATS, LEGIT_UNUSUAL, Context, Injection
from model_export.simulate import CHEAT_FAMILIES, DEFAULT_START, LEGIT_FAMILIES, simulate
from stream.parsing import parse_obj
from stream.points import Channel


@pytest.fixture(scope="module")
def data():
    return simulate(14, 4, seed=321)


def dumps(events) -> list[str]:
    return [json.dumps(e, sort_keys=True) for e in events]


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = simulate(3, 2, seed=5), simulate(3, 2, seed=5), simulate(3, 2, seed=6)
    assert dumps(a.events) == dumps(b.events)
    assert a.spans == b.spans
    assert dumps(a.events) != dumps(c.events)


def test_a_user_does_not_depend_on_how_many_users_are_simulated():
    few, many = simulate(1, 2, seed=8), simulate(3, 2, seed=8)
    uid = next(iter(few.points))
    assert few.points[uid] == many.points[uid]


def test_normal_only_has_no_labels_and_keeps_user_days():
    d = simulate(4, 3, seed=9, cheats=False, legit_unusual=False)
    assert d.spans == []
    assert d.user_days == 12.0
    assert d.events


def test_start_must_be_timezone_aware():
    with pytest.raises(ValueError):
        simulate(1, 1, seed=1, start=DEFAULT_START.replace(tzinfo=None))


def test_every_event_parses_without_rejection_in_every_shape(data):
    shapes: Counter[str] = Counter()
    channels: Counter[Channel] = Counter()
    manual = 0
    for event in data.events:
        result = parse_obj(event)
        assert result.rejections == [], result.rejections[:1]
        for batch in result.batches:
            channels[batch.channel] += len(batch)
            manual += len(batch) if batch.manual else 0
        first = event[0] if isinstance(event, list) else event
        shapes[
            next(k for k in ("point", "Data Points", "recordType", "dataTypeName") if k in first)
        ] += 1
    assert set(shapes) == {"point", "Data Points", "recordType", "dataTypeName"}
    assert all(channels[c] > 0 for c in Channel)
    assert manual > 0


def test_some_users_carry_the_same_steps_in_several_sources(data):
    multi = [p for p in data.profiles.values() if len(p.sources.steps) == 3]
    assert multi
    uid = multi[0].user_id
    per_source: Counter[str] = Counter()
    for p in data.points[uid]:
        if p.kind == "steps" and p.source in multi[0].sources.steps:
            per_source[p.source] += p.value
    assert len(set(per_source.values())) == 1


def test_every_family_is_injected_and_labels_are_well_formed(data):
    families = Counter(s.family for s in data.spans)
    assert set(CHEAT_FAMILIES) <= set(families)
    assert set(LEGIT_FAMILIES) <= set(families)
    for s in data.spans:
        assert s.start_ns < s.end_ns
        assert s.cheat == (s.family in CHEAT_FAMILIES)
        assert s.user_id in data.profiles


def test_every_span_lands_on_a_window_of_the_real_buffer():
    from model_export.eval.labels import build_windows, label

    d = simulate(6, 3, seed=42)  # a seed whose Health Connect users have injected steps
    windows = build_windows(d.events)
    labelled = label("t", windows, d.spans, d.user_days)
    assert all(labelled.span_windows), "a span without any window"
    # an app's injected steps reach LifeUp under a source of the app's own, in every style
    phone = {uid: set(p.sources.steps) | {p.sources.hc_origin} for uid, p in d.profiles.items()}
    foreign = [
        (b.user_id, int(b.start_ns.min()))
        for e in d.events
        for b in parse_obj(e).batches
        if b.channel == Channel.STEPS and b.source not in phone[b.user_id] and not b.manual
    ]
    injected = [s for s in d.spans if s.family == "injected_steps"]
    assert any(d.profiles[s.user_id].style == "health_connect" for s in injected)
    for s in injected:
        assert any(u == s.user_id and s.start_ns <= t <= s.end_ns for u, t in foreign), s
    cheat_windows = [w for w, f in zip(windows, labelled.cheat_family, strict=True) if f]
    assert all(
        w.totals.steps + w.totals.distance_m + w.totals.speed_samples > 0 for w in cheat_windows
    )


def test_normal_days_have_a_daily_rhythm():
    rng = np.random.default_rng(3)
    p = draw_profile(rng, "u")
    hours: dict[int, float] = dict.fromkeys(range(24), 0.0)
    for day in range(30):
        for b in normal_day(rng, p, DEFAULT_START.timestamp() + day * 86_400):
            local_hour = int(((b.start_s + p.utc_offset_h * 3600) % 86_400) // 3600)
            hours[local_hour] += b.end_s - b.start_s
    night = sum(hours[h] for h in range(1, 5))
    daytime = sum(hours[h] for h in range(10, 14))
    assert daytime > 10 * max(night, 1.0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    per_cell=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=400),
    integer=st.booleans(),
)
def test_points_conserve_the_amount_and_have_irregular_bounded_durations(seed, per_cell, integer):
    cells = np.array(per_cell)
    points = deltas(np.random.default_rng(seed), cells, 10**18, 35.0, integer)
    total = sum(v for _, _, v in points)
    if integer:
        assert total == round(cells.sum())
        assert all(v == int(v) for _, _, v in points)
    else:
        assert total == pytest.approx(cells.sum(), abs=1e-6 * max(1.0, cells.sum()))
    assert all(v > 0 for _, _, v in points)
    assert all(CELL_S * NS <= e - s <= 34 * CELL_S * NS for s, e, _ in points)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(points))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), minutes=st.floats(0.2, 90), cadence=st.floats(0, 250))
def test_rendered_points_stay_in_the_bout_and_speed_is_instantaneous(seed, minutes, cadence):
    rng = np.random.default_rng(seed)
    p = draw_profile(rng, "u")
    bout = Bout(1e9, 1e9 + minutes * 60, cadence, 0.08, p.stride_m, True, True, pauses=True)
    points = render(rng, bout, p)
    lo, hi = int(bout.start_s * NS), int((bout.end_s + CELL_S + 1) * NS)
    assert all(lo <= x.start_ns <= x.end_ns <= hi for x in points)
    assert all(x.start_ns == x.end_ns for x in points if x.kind == "speed")
    per_source = Counter(x.source for x in points if x.kind == "steps")
    assert len(set(per_source.values())) <= 1  # every step source carries the same points
    if cadence == 0:
        assert not per_source


def injection(family: str, seed: int) -> tuple[Injection | None, Context]:
    rng = np.random.default_rng(seed)
    p = draw_profile(rng, "u")
    day = DEFAULT_START.timestamp() + 86_400
    past = [b for b in normal_day(rng, p, DEFAULT_START.timestamp()) if b.tag == "walk"]
    for b in past:
        render(rng, b, p)
    ctx = Context(p, day, tuple(past))
    generators = CHEATS | LEGIT_UNUSUAL
    return generators[family](rng, ctx), ctx


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), family=st.sampled_from(sorted(CHEATS | LEGIT_UNUSUAL)))
def test_every_family_has_its_defining_trait(seed, family):
    inj, ctx = injection(family, seed)
    if inj is None:
        assert family == "replayed_walk"
        return
    rng = np.random.default_rng(seed)
    points = list(inj.points) + [x for b in inj.bouts for x in render(rng, b, ctx.profile)]
    assert points and inj.start_s < inj.end_s
    lo, hi = inj.span or (inj.start_s, inj.end_s)
    assert inj.start_s <= lo < hi <= inj.end_s + 1
    kinds = Counter(x.kind for x in points)
    own = set(ctx.profile.sources.steps)
    if family == "phone_shaker":
        assert all(b.cadence >= 135 and b.cadence_cv <= 0.01 for b in inj.bouts)
        assert kinds["speed"] == 0
    elif family == "vehicle_as_walking":
        assert all(b.cadence > 0 and (b.ground_speed or 0) >= 5.5 for b in inj.bouts)
        assert kinds["distance"] + kinds["speed"] > 0
    elif family == "injected_steps":
        assert {x.kind for x in points} == {"steps"}
        assert not own & {x.source for x in points}
    elif family == "gps_teleport":
        jumps = [x for x in inj.points if (x.kind == "distance" and x.value >= 1000)
                 or (x.kind == "speed" and x.value >= 35)]  # fmt: skip
        assert jumps
    elif family == "distance_mismatch":
        b = inj.bouts[0]
        walking = b.stride_m * b.cadence / 60 if b.cadence else 0.0
        moved = (b.ground_speed if b.ground_speed is not None else walking) * b.distance_factor
        assert b.cadence == 0 or not 0.3 * walking <= moved <= 2.4 * walking
    elif family == "replayed_walk":
        originals = {
            (x.kind, x.value, x.end_ns - x.start_ns) for b in ctx.past_walks for x in b.points
        }
        assert {(x.kind, x.value, x.end_ns - x.start_ns) for x in points} <= originals
    elif family == "manual_entry":
        assert all(x.method == "MANUAL_ENTRY" or "user_input" in x.source for x in points)
    elif family == "treadmill":
        assert kinds["distance"] == kinds["speed"] == 0
        assert all(100 * 0.8 <= b.cadence <= 178 for b in inj.bouts)
    elif family in ("long_run", "long_hike", "night_walk"):
        assert kinds["steps"] > 0 and kinds["distance"] > 0


def test_vehicle_legs_count_a_few_steps_and_move_at_vehicle_speed():
    """A ride carries the bumps the user's device counts (none for some users): a few steps a
    minute over the ride, never a walk's cadence."""
    rng = np.random.default_rng(11)
    legs = []
    for i in range(40):
        p = draw_profile(rng, f"u{i}")
        for day in range(3):
            legs += [
                (b, p)
                for b in normal_day(rng, p, DEFAULT_START.timestamp() + day * 86_400)
                if b.tag == "vehicle"
            ]
    assert legs
    counted = []
    for b, p in legs:
        assert b.cadence == p.ride_steps_per_min <= 6 and (b.ground_speed or 0) >= 6
        points = render(np.random.default_rng(0), b, p)
        steps = sum(x.value for x in points if x.kind == "steps") / len(p.sources.steps)
        minutes = (b.end_s - b.start_s) / 60
        assert steps <= 3 * 6 * minutes  # bursts, not walking (100+ a minute)
        counted.append(steps > 0)
    assert 0.2 < np.mean(counted) < 0.95  # some devices count none, most count some
