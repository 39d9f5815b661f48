"""Benchmark traffic that looks like walkers: per-minute counts that vary without repeating.

Constant counts would be a phone shaker and repeating ones a replayed walk, so every window of a
benchmark would raise an alert and the figures would measure the alert path (and the replay
detector's marks) rather than the stream. Seeded, so every run sends the same bytes.
"""

from __future__ import annotations

_SEED = 0x2545F491


def _mix(h: int, x: int) -> int:
    h = ((h ^ x) * 0x5BD1E995) & 0xFFFFFFFF
    return h ^ (h >> 15)


def draw(minute: int, user: int, span: int) -> int:
    """A value in ``range(span)`` for this user's minute, uniform enough for traffic."""
    return _mix(_mix(_SEED, minute), user) % span
