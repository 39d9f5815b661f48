"""The per-stream syncs evaluation (``model_export.eval.stream_syncs``): its syncs and report."""

from __future__ import annotations

from pathlib import Path

from model_export.eval.stream_syncs import SYNC_NS, main, syncs_of
from model_export.eval.variant_gens import VARIANTS
from model_export.simulate import simulate
from stream.parsing import parse_obj
from stream.points import Channel
from tests.test_late_delivery import _points


def test_syncs_hold_every_point_once_a_stream_per_message_steps_first() -> None:
    events = list(simulate(3, 2, 8).events)
    syncs = syncs_of(events)
    assert _points([m for sync in syncs for m in sync]) == _points([parse_obj(e) for e in events])
    for sync in syncs:
        assert all(len(m.batches) == 1 for m in sync)
        batches = [m.batches[0] for m in sync]
        assert len({b.user_id for b in batches}) == 1
        assert len({int(s) // SYNC_NS for b in batches for s in b.start_ns.tolist()}) == 1
        channels = [int(b.channel) for b in batches]
        assert channels == sorted(channels)
    assert any(int(s[0].batches[0].channel) == Channel.STEPS and len(s) > 1 for s in syncs)


def test_quick_report_shows_a_take_recovering_what_messages_one_by_one_lose(
    tmp_path: Path,
) -> None:
    out = tmp_path / "syncs.md"
    assert main(["--quick", "--out", str(out)]) == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| simulated |")]
    named = [r.split("`")[1] for r in rows if "`" in r]
    assert named == [v for v in VARIANTS if v in named] and len(named) >= 10
    late = next(r for r in rows if "late points" in r)
    one_message, in_takes = (cell.strip() for cell in late.split("|")[3:5])
    assert one_message == "0" and in_takes.startswith("0 (") and in_takes != "0 (0)"
