"""The identity of a point, for counting a point that arrives twice once.

A user's buffer keeps one 6-byte key per held point (``UserBuffer._keys``: one immutable bytes
object, never over-allocated, so memory per user stays bounded) and drops the keys of points
whose bins left its ring, as such points are late anyway. The functions here make keys, look
them up and prune them; the buffer decides when.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from stream.hashing import MASK, mix, mix_np, seeded

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

KEY_BYTES: Final = 6
_KEY_SEED: Final = 0x3C6EF372 & MASK
# the duration's low bits share a 30-bit lane with the source entry (8 bits)
_DURATION_BITS: Final = (1 << 22) - 1
_KEY_BITS: Final = np.uint64((1 << 8 * KEY_BYTES) - 1)


def point_keys(entry: int, start: I64, end: I64, last_bin: I64) -> U64:
    """46-bit identity of each point: its last bin (16 bits) over a 30-bit hash of the rest.

    The hash mixes the start (two 30-bit parts), then the duration's low 22 bits with the source
    entry (8 bits) in one lane, with ``stream.hashing``'s rounds, the same in numpy and in Python
    ints, so the batch and single-point paths agree bit for bit (durations a multiple of 2**22 ns
    apart end hours apart, so in other bins). Two arrivals of the same point (same source entry,
    start and end) get the same key; two different points share one only if they end in the same
    bin and collide in 30 bits (about one in 10**9 per such pair). The bin part lets keys be pruned
    with the ring without any lookup.
    """
    h = mix_np(mix_np(seeded(_KEY_SEED, start.shape[0]), start), start >> 30)
    h = mix_np(h, ((end - start) & _DURATION_BITS) | (entry << 22))
    out: U64 = h.view(np.uint64) | ((last_bin.view(np.uint64) & np.uint64(0xFFFF)) << np.uint64(32))
    return out


def point_key(entry: int, start: int, end: int, last_bin: int) -> bytes:
    """``point_keys`` for one point, bit for bit, in Python ints, as its held bytes."""
    h = mix(
        mix(mix(_KEY_SEED, start), start >> 30), ((end - start) & _DURATION_BITS) | (entry << 22)
    )
    return (((last_bin & 0xFFFF) << 32) | h).to_bytes(KEY_BYTES, "little")


def holds(keys: bytes, key: bytes) -> bool:
    """Whether ``keys`` holds ``key`` at a key boundary (a match straddling two keys is not
    one)."""
    at = keys.find(key)
    while at >= 0:
        if at % KEY_BYTES == 0:
            return True
        at = keys.find(key, at + 1)
    return False


def fresh(held: bytes, keys: U64) -> npt.NDArray[np.bool_] | None:
    """Which of ``keys`` are seen neither in ``held`` nor earlier among themselves (None: all
    of them, the usual answer, found with one sort)."""
    old = as_array(held)
    both = np.concatenate((old, keys))
    ordered = np.sort(both)
    if not np.count_nonzero(ordered[1:] == ordered[:-1]):
        return None
    _, first_at = np.unique(both, return_index=True)
    if first_at.shape[0] == both.shape[0]:
        return None
    out = np.zeros(both.shape[0], dtype=np.bool_)
    out[first_at] = True
    return out[old.shape[0] :]


def pruned(keys: bytes, first_bin: int) -> bytes:
    """``keys`` without those of points whose last bin is before ``first_bin`` (the ring's
    first bin), compared as the 16-bit bin tag wraps."""
    tags = np.frombuffer(keys, dtype="<u2")[2::3]  # bytes 4-5 of each 6-byte key
    keep = (tags - np.uint16(first_bin & 0xFFFF)) < 0x8000
    if np.count_nonzero(keep) == keep.shape[0]:
        return keys
    raw = np.frombuffer(keys, dtype=np.uint8).reshape(-1, KEY_BYTES)
    return raw[keep].tobytes()


def as_array(keys: bytes) -> U64:
    """The held keys as integers: 8 bytes read every 6 (two of padding for the last), masked."""
    count = len(keys) // KEY_BYTES
    wide: U64 = np.ndarray((count,), dtype="<u8", buffer=keys + b"\0\0", strides=(KEY_BYTES,))
    return wide & _KEY_BITS


def as_bytes(keys: U64) -> bytes:
    """Integer keys as the bytes a buffer holds."""
    return keys.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :KEY_BYTES].tobytes()
