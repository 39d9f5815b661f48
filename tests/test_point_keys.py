"""Point identity (``stream.point_keys``): keys made two ways agree, and the held-key lookups
answer as a set of keys would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stream import point_keys as pk

T0 = 1_709_301_600_000_000_000
keys_46 = st.integers(0, (1 << 46) - 1)


@given(st.integers(0, 2**40), st.integers(0, 2**40), st.integers(0, 255), st.integers(0, 2**30))
def test_scalar_and_vector_keys_agree(offset: int, length: int, entry: int, last: int) -> None:
    start, end = T0 + offset, T0 + offset + length
    vector = pk.point_keys(entry, np.array([start]), np.array([end]), np.array([last]))
    scalar = pk.point_key(entry, start, end, last)
    assert pk.as_bytes(vector) == scalar
    assert int(vector[0]) >> 32 == last & 0xFFFF


@given(st.lists(keys_46, max_size=30), keys_46)
def test_holds_is_membership_at_key_boundaries(held: list[int], candidate: int) -> None:
    keys = pk.as_bytes(np.array(held, dtype=np.uint64))
    assert pk.as_array(keys).tolist() == held
    assert pk.holds(keys, pk.as_bytes(np.array([candidate], dtype=np.uint64))) == (
        candidate in held
    )


def test_a_match_straddling_two_keys_is_not_held() -> None:
    keys = bytes(range(12))  # two keys: 00..05 and 06..0b
    assert not pk.holds(keys, bytes(range(3, 9)))
    assert pk.holds(keys, bytes(range(6, 12)))


@settings(max_examples=200)
@given(st.lists(keys_46, max_size=20), st.lists(keys_46, min_size=1, max_size=20))
def test_fresh_marks_first_sightings(held: list[int], incoming: list[int]) -> None:
    seen = set(held)
    expected = []
    for key in incoming:
        expected.append(key not in seen)
        seen.add(key)
    got = pk.fresh(pk.as_bytes(np.array(held, dtype=np.uint64)), np.array(incoming, np.uint64))
    assert (got is None and all(expected)) or (got is not None and got.tolist() == expected)


@given(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 2**32 - 1)), max_size=30),
       st.integers(0, 2000))  # fmt: skip
def test_pruned_keeps_the_keys_of_points_ending_in_the_ring(
    points: list[tuple[int, int]], first_bin: int
) -> None:
    base = 70_000  # bins past one 16-bit wrap of the tag
    keys = [((base + last) & 0xFFFF) << 32 | h for last, h in points]
    held = pk.as_bytes(np.array(keys, dtype=np.uint64))
    kept = pk.as_array(pk.pruned(held, base + first_bin)).tolist()
    assert kept == [k for k, (last, _) in zip(keys, points, strict=True) if last >= first_bin]
