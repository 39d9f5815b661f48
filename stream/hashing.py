"""30-bit mixing for the fingerprints kept in per-user state (point keys, replay grams).

Both factors of every product stay below 2**30, which is what mypyc's multiply needs to stay in
machine words (larger ones take its arbitrary-precision path), so the compiled single-point path
(``stream.native``) allocates nothing here, and numpy's int64 never overflows: the scalar and the
vectorised round agree bit for bit, which lets a point's key or a walk's gram be the same
whichever path saw it. Quality is that of a multiply-xorshift round per input: enough to tell
points and walking patterns apart (collisions about one in 10**9 per pair), never meant to
resist a chosen input.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

MASK: Final = (1 << 30) - 1
K: Final = 0x1B873593  # odd, < 2**30

I64 = npt.NDArray[np.int64]


def mix(g: int, x: int) -> int:
    """One round: a 30-bit state, the input masked to 30 bits."""
    t = ((g ^ (x & MASK)) * K) & MASK
    return t ^ (t >> 15)


def mix_np(g: I64, x: I64) -> I64:
    """``mix`` on arrays."""
    t = ((g ^ (x & MASK)) * K) & MASK
    out: I64 = t ^ (t >> 15)
    return out


def seeded(seed: int, n: int) -> I64:
    return np.full(n, seed, dtype=np.int64)
