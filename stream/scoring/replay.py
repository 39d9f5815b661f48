"""Replayed activity: an earlier walk sent again with shifted timestamps, found by fingerprints.

A replay reproduces the same per-minute steps and metres whenever it is shifted by whole minutes
(a day later, an hour later). Every run of ``GRAM_BINS`` consecutive walking minutes (each with
at least ``MIN_GRAM_STEPS`` steps, not all equal) gets a 63-bit fingerprint of its exact minute
values (steps and metres); a window whose walking repeats at least ``MIN_MATCHES`` fingerprints
of the user's recent history is a replay, wherever the walk sits in the hour and whatever else
the hour holds, even if the replay is only part of the original walk. Eight minutes of exact
minute counts do not repeat by chance (walkers vary by several steps a minute), and quiet
minutes never count.

Limit: a replay shifted by a fraction of a minute spreads its points over the bins differently
and is not recognised here; fingerprinting the points themselves (durations and values, not
times) in the buffer would catch those too.

Per-user state (the pipeline wires it): keep the user's recent fingerprints (a list of ints,
at most ``RECENT_LIMIT``, ~8 bytes each, serialisable with the buffer). Before scoring a window,
``remember(recent, window_fingerprints(window))`` says whether it repeats earlier activity and
returns the updated list; score the window as
``dataclasses.replace(window, repeats_earlier=True)`` if so. Windows must be remembered in
event-time order per user (the order the buffer completes them).
"""

from __future__ import annotations

import hashlib

import numpy as np

from stream.windows import Window

GRAM_BINS = 8
MIN_GRAM_STEPS = 30.0
MIN_MATCHES = 2
RECENT_LIMIT = 5_000  # about a month of walking minutes for an active user


def window_fingerprints(window: Window) -> tuple[int, ...]:
    """Fingerprints of every run of ``GRAM_BINS`` walking minutes in the window."""
    steps = np.where(window.mask[0], window.values[0], 0.0)
    n = steps.shape[0] - GRAM_BINS + 1
    if n <= 0:
        return ()
    grams = np.lib.stride_tricks.sliding_window_view(steps, GRAM_BINS)
    # Walking in every minute, and not machine-flat: constant streams (typed-in totals spread
    # evenly, injected feeds) are other findings' business, and would repeat trivially.
    varied = grams.max(axis=1) - grams.min(axis=1) >= 2.0
    starts = np.flatnonzero((grams >= MIN_GRAM_STEPS).all(axis=1) & varied)
    if starts.size == 0:
        return ()
    dist = np.where(window.mask[1], window.values[1], 0.0)
    rows = np.stack([np.rint(steps), np.rint(dist * 10.0)]).astype(np.int64)
    out: list[int] = []
    for lo in starts.tolist():
        digest = hashlib.blake2b(rows[:, lo : lo + GRAM_BINS].tobytes(), digest_size=8).digest()
        out.append(int.from_bytes(digest, "big") >> 1)
    return tuple(out)


def remember(
    recent: list[int], fingerprints: tuple[int, ...], limit: int = RECENT_LIMIT
) -> tuple[bool, list[int]]:
    """Whether at least ``MIN_MATCHES`` of ``fingerprints`` are in ``recent``, and the list with
    the new ones added (oldest dropped beyond ``limit``)."""
    if not fingerprints:
        return False, recent
    known = set(recent)
    seen = sum(f in known for f in fingerprints) >= MIN_MATCHES
    fresh = list(dict.fromkeys(f for f in fingerprints if f not in known))
    return seen, [*recent, *fresh][-limit:]
