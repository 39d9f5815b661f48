"""Which data source wins when several report the same activity of one user.

Rule: per bin of the grid and per channel, only the highest-ranked source that touched the bin
counts (``stream.buffer`` applies it); a step, a metre or a speed sample is counted once however
many streams repeat it. ``source_rank`` orders sources in tiers, higher wins:

- 7 manual: ``user_input`` in the id (Google Fit manual streams, Health Connect
  ``MANUAL_ENTRY``). A typed-in number is a signal of its own: never hidden behind measured data.
- 6 paid: steps ``estimated_steps``, distance ``merge_distance_delta``, speed ``merge_speed``.
  What the Fit app shows and the REST aggregate returns by default: what reward apps pay on.
- 5 merged: steps ``merge_step_deltas``; distance and speed derived ``from_*_location`` or
  ``high_fidelity``. The same merge minus Fit's estimation; location-based, not pedometer-based.
- 4 app: another app's stream (its package in the id) or a Health Connect ``dataOrigin``. Such
  data reaches the paid total through the merge (or Health Connect's priority list); injected
  steps come this way, so they must not hide behind the phone's own sensor.
- 3 device: the phone's own streams (``:top_level``, ``raw:`` hardware sensors): the raw
  material of the merges, which already contain it.
- 2 other: any other Google stream, whose meaning is not documented.
- 1 coarse: ``:aggregated`` (REST aggregate buckets): a sum over a bucket, often a day, that may
  only fill bins nothing finer covers, never smear a day over the fine data.
- 0 unknown: no source at all.

Anti-cheat view: LifeUp must judge the numbers a user is paid for, so the merged stream a reward app
pays on outranks the raw device sensor; the raw sensor adds no steps the merge lacks, while the
merge adds those of other apps and of manual entry, which is where cheats come in.

Distance in ``../shared/data/google-fit-takeout`` (one walk on 2024-03-01) disagrees by source:
``top_level`` (pedometer: steps × stride) 1,386.5 m; ``merge_distance_delta`` 970.6 m;
``from_third_party_location`` (GPS of the Fit app) 430.2 m over 5,100–6,294 s of the day's
recording only; ``from_high_accuracy_location`` empty. The merge is the pedometer outside the
GPS-tracked stretch and the GPS inside it (its 17 points are those of the other two streams), so it
is the winner: it is what the user sees and is paid for, and it is the only complete stream whose
distance does not follow from the step count. Pedometer distance is steps times a stride, so a phone
shaker gets matching "distance" for free and a car ride gets none; location-based distance is the
independent witness that the vehicle, teleport and shaker checks compare steps against.
Caveat, measured on the same sample: over the GPS-tracked stretch (5,100-6,207 s) the pedometer
says 831 m for 1,229 steps (0.68 m a step, the day's usual 0.66) and GPS 430 m (0.35 m a step).
Sparse fixes cut corners, so GPS can under-read a short walk: the plausibility checks must not
call "steps without distance" on such a ratio alone. With this
rule LifeUp counts 2,091 steps (not 6,273), 970.6 m and 38 speed samples (not 74: the two speed
streams share 36 timestamps and each has one the other lacks, which fills a bin of its own).

Within a tier, distinct sources get distinct ranks from a CRC-32 of the stream id (deterministic
across processes), so the winner never depends on arrival order; ranks fit in an int16.
"""

from __future__ import annotations

import zlib
from typing import Final

from stream.points import Channel

MANUAL: Final = 7
PAID: Final = 6
MERGED: Final = 5
APP: Final = 4
DEVICE: Final = 3
OTHER: Final = 2
COARSE: Final = 1
UNKNOWN: Final = 0

_TIE_BITS: Final = 12  # 8 tiers x 4096 < 2**15

_PAID: Final[dict[Channel, tuple[str, ...]]] = {
    Channel.STEPS: (":estimated_steps",),
    Channel.DISTANCE: (":merge_distance_delta",),
    Channel.SPEED: (":merge_speed",),
}
_MERGED: Final[dict[Channel, tuple[str, ...]]] = {
    Channel.STEPS: (":merge_step_deltas",),
    Channel.DISTANCE: ("_location", "high_fidelity"),
    Channel.SPEED: ("_location", "high_fidelity"),
}
_GOOGLE_APPS: Final = ("com.google.android.gms", "com.google.android.fit")


def source_tier(channel: Channel, source: str) -> int:
    """The tier of a stream id (see the module's table); the basis of ``source_rank``."""
    if not source or source == "unknown":
        return UNKNOWN
    if "user_input" in source:
        return MANUAL
    stream = source.split("<-", 1)[0]  # "derived:...:from_x_location<-derived:..." names its input
    if stream.endswith(_PAID[channel]):
        return PAID
    if any(mark in stream for mark in _MERGED[channel]):
        return MERGED
    if stream.endswith(":aggregated"):
        return COARSE
    parts = stream.split(":")
    if parts[0] not in ("raw", "derived"):
        return APP  # a bare package name: a Health Connect dataOrigin
    app = parts[2] if len(parts) > 2 else ""
    if stream.endswith(":top_level") or (parts[0] == "raw" and "." not in app):
        return DEVICE
    if "." in app and not app.startswith(_GOOGLE_APPS):
        return APP
    return OTHER


_RANK_CACHE_MAX: Final = 4096
_RANKS: Final[tuple[dict[str, int], ...]] = tuple({} for _ in Channel)


def source_rank(channel: Channel, source: str) -> int:
    """Higher wins; distinct sources of one tier are ordered by a stable hash of the stream id."""
    cache = _RANKS[channel]  # per channel, keyed by the id: cheaper than hashing an IntEnum
    rank = cache.get(source)
    if rank is None:
        if len(cache) >= _RANK_CACHE_MAX:  # ids come from clients: keep the cache bounded
            cache.clear()
        tie = zlib.crc32(source.encode("utf-8", "replace")) & ((1 << _TIE_BITS) - 1)
        rank = cache[source] = (source_tier(channel, source) << _TIE_BITS) | tie
    return rank
