"""`lifeup inspect`: what LifeUp makes of some inputs, per user.

Totals come from the same ``UserBuffer`` the worker uses (same ranking, bins and de-duplication),
fed in event-time order (``stream.parsing.order``) so the result does not depend on file order.
The JSON object is the contract's, plus two additive top-level fields: ``ignored`` (points of
data types LifeUp does not use; a result does not say whose they were) and, when there are any,
``rejected_unattributed`` (rejections that name no user, e.g. a file that is not JSON).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stream.buffer import UserBuffer
from stream.grid import DEFAULT_GRID, GridSpec
from stream.parsing.errors import TOO_MANY_SOURCES
from stream.parsing.order import in_event_time
from stream.parsing.times import format_rfc3339
from stream.pipeline import message_ends
from stream.points import ParseResult
from stream.sources import source_rank


@dataclass(slots=True)
class _User:
    buffer: UserBuffer
    rejected: Counter[str] = field(default_factory=Counter)
    first_ns: int | None = None  # earliest start of a batch the buffer took points from


def inspect_results(
    results: Iterable[ParseResult], grid: GridSpec = DEFAULT_GRID
) -> dict[str, Any]:
    """The ``lifeup inspect --json`` object for these parse results."""
    users: dict[str, _User] = {}
    unattributed: Counter[str] = Counter()
    ignored = 0

    def user(user_id: str) -> _User:
        found = users.get(user_id)
        if found is None:
            found = users[user_id] = _User(UserBuffer(user_id, grid))
        return found

    for result in in_event_time(results, grid=grid):
        ignored += result.ignored
        for rejection in result.rejections:
            if rejection.user_id:
                user(rejection.user_id).rejected[rejection.code] += 1
            else:
                unattributed[rejection.code] += 1
        # each result is one arrival: added at once, as the pipeline adds a message, so no
        # stream of it closes hours another stream of it still reaches
        defer = len(result.batches) > 1
        for batch in result.batches:
            state = user(batch.user_id)
            rank = source_rank(batch.channel, batch.source)
            revised, _ = state.buffer.revise(batch, rank)
            added = state.buffer.add(revised, rank, defer)
            if added.refused:
                state.rejected[TOO_MANY_SOURCES] += added.refused
            if added.accepted:
                start = int(revised.start_ns.min())
                state.first_ns = start if state.first_ns is None else min(state.first_ns, start)
        latest, _ = message_ends(result.batches, grid)
        for user_id, (end, steps_end) in latest.items():
            if defer:
                users[user_id].buffer.settle(end, steps_end)
            users[user_id].buffer.pop_complete()  # windows are not needed, only their totals
    report: dict[str, Any] = {"users": [_summary(uid, users[uid]) for uid in sorted(users)]}
    report["ignored"] = ignored
    if unattributed:
        report["rejected_unattributed"] = dict(sorted(unattributed.items()))
    return report


def _summary(user_id: str, state: _User) -> dict[str, Any]:
    buffer = state.buffer
    totals = buffer.totals()
    used, shadowed = buffer.sources()
    first, last = state.first_ns, buffer.watermark_ns
    return {
        "user_id": user_id,
        "start": None if first is None else format_rfc3339(first),
        "end": None if last is None else format_rfc3339(last),
        "totals": {
            "steps": totals.steps,
            "distance_m": round(totals.distance_m, 2),
            "speed_samples": totals.speed_samples,
        },
        "sources": {"used": used, "shadowed": shadowed},
        "rejected": dict(sorted(state.rejected.items())),
    }


def format_text(report: dict[str, Any]) -> str:
    """The human-readable form of ``inspect_results``' object."""
    lines: list[str] = []
    for entry in report["users"]:
        totals = entry["totals"]
        lines.append(f"user {entry['user_id']}")
        lines.append(f"  from {entry['start'] or '-'} to {entry['end'] or '-'}")
        lines.append(
            f"  steps {totals['steps']:,}   distance {totals['distance_m']:,.1f} m"
            f"   speed samples {totals['speed_samples']:,}"
        )
        for label in ("used", "shadowed"):
            names = entry["sources"][label]
            lines.append(f"  sources {label} ({len(names)}):")
            lines.extend(f"    {name}" for name in names)
        if entry["rejected"]:
            counts = ", ".join(f"{code} {n}" for code, n in entry["rejected"].items())
            lines.append(f"  rejected: {counts}")
    if not report["users"]:
        lines.append("no data points found")
    if report.get("ignored"):
        lines.append(f"ignored points (data types LifeUp does not use): {report['ignored']:,}")
    if report.get("rejected_unattributed"):
        counts = ", ".join(f"{c} {n}" for c, n in report["rejected_unattributed"].items())
        lines.append(f"rejected without a user: {counts}")
    return "\n".join(lines)
