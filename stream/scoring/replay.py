"""Replayed activity: the same walk submitted again, found by an exact fingerprint.

A replay re-sends recorded points with shifted timestamps; on the grid it reproduces the same
per-minute steps and metres. ``window_fingerprint`` hashes the active stretch of a window (leading
and trailing idle minutes trimmed, so the walk may sit at another minute of the hour); identical
activity gives the same 63-bit integer. Windows with too little activity get ``None``: quiet
hours look alike for everyone and must never count as replays.

Per-user state (wired by the pipeline): keep the fingerprints of the user's last
``RECENT_LIMIT`` scored windows (a list of ints, ~8 bytes each, serialisable with the buffer);
before scoring a window, ``remember`` says whether its fingerprint is among them, and the window is
scored as ``dataclasses.replace(window, repeats_earlier=True)`` if so.
"""

from __future__ import annotations

import hashlib

import numpy as np

from stream.windows import Window

MIN_ACTIVE_BINS = 10
MIN_STEPS = 500.0
RECENT_LIMIT = 24 * 30  # a month of hour windows


def window_fingerprint(window: Window) -> int | None:
    """A 63-bit hash of the window's active stretch; None if too quiet to be distinctive."""
    steps = np.where(window.mask[0], window.values[0], 0.0)
    active = np.flatnonzero(steps > 0)
    if active.size < MIN_ACTIVE_BINS or float(steps.sum()) < MIN_STEPS:
        return None
    lo, hi = int(active[0]), int(active[-1]) + 1
    dist = np.where(window.mask[1], window.values[1], 0.0)
    rows = np.stack([np.rint(steps[lo:hi]), np.rint(dist[lo:hi] * 10.0)]).astype(np.int64)
    digest = hashlib.blake2b(rows.tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def remember(
    recent: list[int], fingerprint: int | None, limit: int = RECENT_LIMIT
) -> tuple[bool, list[int]]:
    """Whether ``fingerprint`` repeats one in ``recent``, and the updated list (oldest dropped)."""
    if fingerprint is None:
        return False, recent
    if fingerprint in recent:
        return True, recent
    updated = [*recent, fingerprint]
    return False, updated[-limit:]
