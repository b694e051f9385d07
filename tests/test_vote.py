from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.vote import (column_majority, flat_vote, hash_grids, hierarchical_vote, pack, row_majority, tally,
                         weighted_vote)

from .conftest import grid


def key(g):
    return (g.shape, g.tobytes())


small_grids = st.builds(
    lambda h, w, seed: np.random.default_rng(seed).integers(0, 3, (h, w)).astype(np.uint8),
    st.integers(1, 3), st.integers(1, 3), st.integers(0, 5))


@settings(max_examples=200, deadline=None)
@given(st.lists(small_grids, min_size=0, max_size=40), st.sampled_from([0, 1, 0xFFFFFFFFFFFFFFFF]))
def test_tally_counts_match_a_python_counter_even_under_forced_collisions(grids, mask):
    # mask 0 makes every hash equal: grouping must still keep different grids apart.
    t = tally(grids, mask=np.uint64(mask))
    want = Counter(key(g) for g in grids)
    got = {key(g): int(c) for g, c in zip(t.grids, t.counts)}
    assert got == dict(want)
    # Distinct grids come in order of first appearance, and every candidate maps to its own grid.
    assert [key(g) for g in t.grids] == list(dict.fromkeys(key(g) for g in grids))
    for g, group in zip(grids, t.group_of):
        assert key(t.grids[group]) == key(g)


def test_shape_is_part_of_the_hash():
    a, b = grid([[1, 2, 3], [4, 5, 6]]), grid([[1, 2], [3, 4], [5, 6]])
    h = hash_grids(pack([a, b]))
    assert h[0] != h[1]
    assert len(tally([a, b]).grids) == 2


def test_large_batch_uses_the_parallel_kernel_with_the_same_result():
    rng = np.random.default_rng(0)
    pool = [rng.integers(0, 10, (rng.integers(1, 6), rng.integers(1, 6))).astype(np.uint8) for _ in range(50)]
    grids = [pool[i] for i in rng.integers(0, 50, 30_000)]
    t = tally(grids)
    assert int(t.counts.sum()) == 30_000
    assert dict(Counter(key(g) for g in grids)) == {key(g): int(c) for g, c in zip(t.grids, t.counts)}


def test_flat_vote_takes_most_frequent_and_breaks_ties_by_first_seen():
    a, b, c = grid([[1]]), grid([[2]]), grid([[3]])
    assert [g.item() for g in flat_vote([c, a, b, a, b])] == [1, 2]
    assert [g.item() for g in flat_vote([c, b, a])] == [3, 2]
    assert flat_vote([]) == []


def test_weighted_vote_sums_weights():
    a, b = grid([[1]]), grid([[2]])
    assert [g.item() for g in weighted_vote([a, a, b], [0.1, 0.1, 0.5])] == [2, 1]


def test_row_and_column_majority():
    grids = [grid([[1, 1], [2, 2]]), grid([[1, 1], [3, 3]]), grid([[4, 4], [3, 3]]), grid([[9]])]
    assert row_majority(grids).tolist() == [[1, 1], [3, 3]]
    cols = [grid([[1, 2], [1, 2]]), grid([[1, 5], [1, 5]]), grid([[7, 5], [7, 5]])]
    assert column_majority(cols).tolist() == [[1, 5], [1, 5]]
    assert row_majority([]) is None


def test_hierarchical_vote_counts_views_not_raw_samples():
    a, b, c = grid([[1]]), grid([[2]]), grid([[3]])
    # View v1 produced `a` 10 times; but `b` is among the top-3 of three views and `c` of two.
    grids = [a] * 10 + [b, c] + [b, c] + [b]
    views = ["v1"] * 10 + ["v2", "v2"] + ["v3", "v3"] + ["v4"]
    top = hierarchical_vote(grids, views, identity_view="v1")
    assert [g.item() for g in top] == [2, 3]
    # A flat vote would have picked `a`: the two rules really differ.
    assert flat_vote(grids)[0].item() == 1


def test_hierarchical_vote_breaks_ties_toward_the_identity_view():
    a, b = grid([[1]]), grid([[2]])
    grids = [a, a, a, b]
    views = ["rot90", "rot90", "rot90", "identity"]
    assert [g.item() for g in hierarchical_vote(grids, views, "identity")] == [2, 1]


def test_hierarchical_vote_fills_views_with_row_and_column_majority():
    # One view, four distinct candidates; row by row the majority is [1 1] then [2 2], a grid no sample
    # produced whole. With room for five per view it fills the fifth place.
    grids = [grid([[1, 1], [5, 5]]), grid([[1, 1], [6, 6]]), grid([[7, 7], [2, 2]]), grid([[8, 8], [2, 2]])]
    keys = [g.tolist() for g in hierarchical_vote(grids, ["v"] * 4, "v", k=10, per_view=5)]
    assert len(keys) == 5 and keys[-1] == [[1, 1], [2, 2]]
    keys = [g.tolist() for g in hierarchical_vote(grids, ["v"] * 4, "v", k=10, per_view=4)]
    assert [[1, 1], [2, 2]] not in keys
