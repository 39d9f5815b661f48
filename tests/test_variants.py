"""The red team's cheat variants: each yields a valid injection, and the report runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model_export import realdata
from model_export.eval.variant_gens import VARIANTS
from model_export.eval.variants import QUICK, main
from model_export.sim.emit import emit
from model_export.sim.normal import normal_day
from model_export.sim.profile import draw_profile
from model_export.sim.render import render
from model_export.sim.types import NS, Bout, UserProfile
from model_export.sim.unusual import Context, Injection
from model_export.simulate import DAY, DEFAULT_START
from stream.parsing import parse_obj


def past_walks(profile: UserProfile) -> tuple[Bout, ...]:
    """Two simulated days' walks with their points, for the replay variants."""
    rng = np.random.default_rng(5)
    walks: list[Bout] = []
    for day in range(2):
        for b in normal_day(rng, profile, DEFAULT_START.timestamp() + day * DAY):
            render(rng, b, profile)
            if b.tag == "walk":
                walks.append(b)
    return tuple(walks)


@pytest.fixture(scope="module")
def contexts() -> list[Context]:
    """Users of every event style, on the third day, with walks on the two days before."""
    out: list[Context] = []
    for k in range(40):
        profile = draw_profile(np.random.default_rng([9, k]), f"red-{k}")
        if profile.style in {c.profile.style for c in out}:
            continue
        out.append(Context(profile, DEFAULT_START.timestamp() + 2 * DAY, past_walks(profile)))
    assert len(out) == 4  # dataset, points, takeout, health_connect
    return out


def injection_points(inj: Injection, profile: UserProfile) -> list[object]:
    rng = np.random.default_rng(0)
    points = list(inj.points)
    for b in inj.bouts:
        points += render(rng, b, profile)
    return [m for _, m in emit(rng, profile, points)]


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_yields_events_that_parse_cleanly(name: str, contexts: list[Context]) -> None:
    variant = VARIANTS[name]
    made = 0
    for ctx in contexts:
        for seed in range(3):
            inj = variant.generate(np.random.default_rng([seed, 1]), ctx)
            if inj is None:
                continue
            made += 1
            assert inj.start_s < inj.end_s
            lo, hi = inj.span or (inj.start_s, inj.end_s)
            assert inj.start_s <= lo < hi <= inj.end_s + 1
            messages = injection_points(inj, ctx.profile)
            assert messages
            accepted = 0
            for message in messages:
                result = parse_obj(message)
                assert result.rejections == [], (name, result.rejections[:1])
                accepted += sum(len(b) for b in result.batches)
            assert accepted > 0
            for p in inj.points:  # nothing outside the injection (the simulator clears there)
                assert inj.start_s - 1 <= p.start_ns / NS and p.end_ns / NS <= inj.end_s + 1
    assert made >= 6, f"{name} produced {made} injections in 12 tries"


def test_variants_cover_every_family_twice() -> None:
    families: dict[str, int] = {}
    for v in VARIANTS.values():
        families[v.family] = families.get(v.family, 0) + 1
    assert 12 <= len(VARIANTS) <= 16
    assert set(families) == {
        "phone_shaker",
        "vehicle_as_walking",
        "injected_steps",
        "gps_teleport",
        "replayed_walk",
        "manual_entry",
    }
    assert min(families.values()) >= 2


def test_quick_report_names_every_variant(tmp_path: Path) -> None:
    out = tmp_path / "variants.md"
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [r.split("`")[1] for r in rows] == list(VARIANTS)
    has_real = realdata.available()
    assert ("real: skipped" in text) != has_real
    if has_real:  # one variant per real complete day: most variants have a real figure
        real_cells = [r.split(" | ")[5] for r in rows]
        assert sum(c != "–" for c in real_cells) >= 12
    assert QUICK.sim_users * QUICK.sim_days >= len(VARIANTS)


def test_quick_report_skips_real_data_when_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ../shared the real benchmark is skipped and said so; the simulated one still runs."""
    monkeypatch.setattr(realdata, "DATA_ROOT", tmp_path / "no-shared")
    out = tmp_path / "variants.md"
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    assert "real: skipped" in text
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert all(r.split(" | ")[5] == "–" for r in rows)  # no real figure
    assert sum(r.split(" | ")[3] != "–" for r in rows) >= 12  # simulated figures are there
    assert sum(r.split(" | ")[4] != "–" for r in rows) >= 12  # and phone-timed ones


def test_replay_evidence_finds_a_copy_and_not_a_new_walk() -> None:
    """The distance behind the README's replay gap: a walk sent again two hours later is at
    distance 0 from its original; another walk of the same pace is not."""
    from model_export.eval.replay_evidence import replay_distances, similarity
    from model_export.eval.variant_evidence import MIN_NS, Series
    from model_export.sim.types import LabeledSpan

    rng = np.random.default_rng(4)
    steps = np.zeros(300)
    steps[10:40] = np.round(105 + 12 * rng.standard_normal(30))
    steps[130:160] = steps[10:40]  # the replay
    steps[250:280] = np.round(105 + 12 * rng.standard_normal(30))  # another honest walk
    series = Series("u", 0, steps, steps * 0.7, np.full(300, np.nan))
    distance, start = similarity(series, stretch=False)
    assert distance[start == 130].min() == 0.0
    assert distance[(start >= 250) & (start <= 270)].min() > 0.3
    span = LabeledSpan("u", 130 * MIN_NS, 160 * MIN_NS, "replay_noisy", True)
    assert replay_distances({"u": series}, [span])["replay_noisy"].tolist() == [0.0]
