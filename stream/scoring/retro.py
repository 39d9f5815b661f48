"""Retroactive alerts: a finding of one hour whose bout began in the hour before.

Windows close in event time, 15 minutes after their end: a shaker switched on at 10:55 has sent
at most 20 minutes when 10:00 closes, fewer if another source moved event time on first, too
few for a check that needs a stretch. The 11:00 window sees the bout whole, and through its
``Window.before`` context sees that it began at 10:55. The checks then report it as the
verdict's ``back`` (``stream.scoring.plausibility.back_findings``), and the rule below turns it
into an alert for 10:00 unless 10:00 was alerted already. ``lifeup score`` (all verdicts at
hand), the API (one request) and the worker (the earlier hour scored long ago: its recent
alerts tell) all apply this one rule, so they send the same alerts with the same ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stream.scoring.base import WindowScore
from stream.windows import Window


def carry(verdict: WindowScore, previous_alerted: bool) -> WindowScore | None:
    """The previous window's retroactive verdict: the ``back`` finding of ``verdict`` (its
    score, at least 1.0, its reasons, the carrying verdict's channels), marked ``carried``;
    None when there is none or the previous window was alerted already (one alert per
    window: its id is the window's, so a second one would only repeat it)."""
    back = verdict.back
    if back is None or previous_alerted:
        return None
    return WindowScore(back.score, dict(back.channels), back.reasons, carried=True)


@dataclass(frozen=True, slots=True)
class WindowSpan:
    """A window named without its bins (``stream.alerts.Span``): all a retroactive alert
    needs of a window scored earlier."""

    user_id: str
    start_ns: int
    end_ns: int


def previous_span(window: Window) -> WindowSpan:
    """The window before ``window`` on the tumbling grid."""
    width = window.end_ns - window.start_ns
    return WindowSpan(window.user_id, window.start_ns - width, window.start_ns)


def first_verdicts(
    verdicts: Sequence[tuple[Window, WindowScore]],
) -> list[tuple[Window, WindowScore]]:
    """One verdict per window of a run sorted (stably) by user and start: a window emitted again
    after it closed (``Window.after_close``: points that arrived late, ``stream.late``) only
    lends its verdict to the window scored first, when that one did not alert; the worker,
    which scored the first long before, sends the later alert only then (one id per window)."""
    out: list[tuple[Window, WindowScore]] = []
    for window, verdict in verdicts:
        if out and window.after_close:
            first, seen = out[-1]
            if (first.user_id, first.start_ns) == (window.user_id, window.start_ns):
                if not seen.anomalous and verdict.anomalous:
                    out[-1] = (first, verdict)
                continue
        out.append((window, verdict))
    return out


def carry_back(verdicts: Sequence[tuple[Window, WindowScore]]) -> list[tuple[Window, WindowScore]]:
    """The verdicts of a whole run (sorted by user and start) with each previous window's
    verdict replaced by its retroactive one where ``carry`` gives one. A window whose
    ``before`` context holds points always follows its previous window in the run (the buffer
    carries a tail only from a window it emitted), so the previous verdict is at hand."""
    out = list(verdicts)
    for i in range(1, len(out)):
        window, verdict = out[i]
        if verdict.back is None:
            continue
        previous, seen = out[i - 1]
        span = previous_span(window)
        if (previous.user_id, previous.start_ns, previous.end_ns) != (
            span.user_id,
            span.start_ns,
            span.end_ns,
        ):
            continue
        retro = carry(verdict, seen.anomalous)
        if retro is not None:
            out[i - 1] = (previous, retro)
    return out
