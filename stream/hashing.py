"""31-bit mixing for the fingerprints kept in per-user state (point keys, replay grams).

Every product stays below 2**62, so the compiled single-point path (``stream.native``) works in
machine words, and numpy's int64 never overflows: the scalar and the vectorised round agree bit
for bit, which lets a point's key or a walk's gram be the same whichever path saw it. Quality is
that of a multiply-xorshift round per input: enough to tell points and walking patterns apart
(collisions about one in 2**31 per pair), never meant to resist a chosen input.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

M31: Final = (1 << 31) - 1
K: Final = 0x5BD1E995  # odd, < 2**31

I64 = npt.NDArray[np.int64]


def mix(g: int, x: int) -> int:
    """One round: a 31-bit state, the input masked to 31 bits."""
    t = ((g ^ (x & M31)) * K) & M31
    return t ^ (t >> 16)


def mix_np(g: I64, x: I64) -> I64:
    """``mix`` on arrays."""
    t = ((g ^ (x & M31)) * K) & M31
    out: I64 = t ^ (t >> 16)
    return out


def seeded(seed: int, n: int) -> I64:
    return np.full(n, seed, dtype=np.int64)
