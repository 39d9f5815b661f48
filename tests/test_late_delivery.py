"""The late-delivery evaluation (``model_export.eval.late_delivery``): its schedule and report."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from model_export.eval.late_delivery import DAY_NS, delivered, main
from model_export.eval.variant_gens import VARIANTS
from model_export.simulate import simulate
from stream.parsing import parse_obj
from stream.points import ParseResult


def _points(results: list[ParseResult]) -> Counter[tuple[str, int, str, int, int, float]]:
    return Counter(
        (b.user_id, int(b.channel), b.source, s, e, v)
        for r in results
        for b in r.batches
        for s, e, v in zip(b.start_ns.tolist(), b.end_ns.tolist(), b.value.tolist(), strict=True)
    )


def _day(result: ParseResult, origin: dict[str, int]) -> tuple[str, int]:
    user, start = min(
        ((b.user_id, int(b.start_ns.min())) for b in result.batches), key=lambda x: x[1]
    )
    return user, (start - origin[user]) // DAY_NS


@pytest.mark.parametrize("one_sync", [False, True])
def test_every_odd_day_arrives_after_the_next_one_and_nothing_is_lost(one_sync: bool) -> None:
    data = simulate(3, 4, 8, cheats=False, legit_unusual=False)
    results = [parse_obj(e) for e in data.events]
    ordered, origin = delivered(results, one_sync)
    assert _points(ordered) == _points(results)
    at: dict[tuple[str, int], list[int]] = {}
    for position, r in enumerate(ordered):
        if r.batches:
            at.setdefault(_day(r, origin), []).append(position)
    late = [(user, day) for user, day in at if day % 2]
    assert late
    for user, day in late:  # after all of the next day, before any of the day after
        if (user, day + 1) in at:
            assert min(at[(user, day)]) > max(at[(user, day + 1)])
        if (user, day + 2) in at:
            assert max(at[(user, day)]) < min(at[(user, day + 2)])
        if one_sync:
            assert len(at[(user, day)]) == 1  # one message per late day


def test_quick_report_has_every_variant_and_the_legitimate_families(tmp_path: Path) -> None:
    out = tmp_path / "late.md"
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| simulated | `")]
    named = [r.split("`")[1] for r in rows]
    assert named == [v for v in VARIANTS if v in named] and len(named) >= 10
    assert "| simulated legit | false alerts on normal time" in text
