"""Voting over candidate grids: numba hashing of a packed batch, exact grouping, and the vote rules.

Grids are packed into one flat uint8 buffer with offsets and shapes, hashed in one numba pass (shape
included), then grouped: candidates with equal hashes are compared cell by cell, so two different grids are
never merged even when their hashes collide. Every vote rule works on the resulting tally.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import attrgetter
from typing import Hashable, Sequence

import numba
import numpy as np

from .tasks import Grid

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_FULL_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class Packed:
    """A batch of grids in one flat buffer: grid i is cells[offsets[i]:offsets[i+1]] of shape (heights[i], widths[i])."""
    cells: np.ndarray    # uint8
    offsets: np.ndarray  # int64, len n+1
    heights: np.ndarray  # int64
    widths: np.ndarray   # int64

    def __len__(self) -> int:
        return len(self.heights)

    def grid(self, i: int) -> Grid:
        return self.cells[self.offsets[i]:self.offsets[i + 1]].reshape(self.heights[i], self.widths[i])


def pack(grids: Sequence[Grid]) -> Packed:
    # map() over C-level callables keeps the per-grid Python cost to a minimum: with a million candidates,
    # packing, not hashing, is what takes the time.
    n = len(grids)
    if n == 0:
        z = np.zeros(0, np.int64)
        return Packed(np.zeros(0, np.uint8), np.zeros(1, np.int64), z, z)
    heights = np.fromiter(map(len, grids), dtype=np.int64, count=n)
    sizes = np.fromiter(map(attrgetter("size"), grids), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    cells = np.concatenate(grids, axis=None).astype(np.uint8, copy=False)
    return Packed(cells, offsets, heights, sizes // heights)


def _hash_packed_py(cells, offsets, heights, widths, mask):
    n = heights.shape[0]
    out = np.empty(n, dtype=np.uint64)
    for i in numba.prange(n):
        h = _FNV_OFFSET
        # The shape goes into the hash so that a 2x3 and a 3x2 grid with the same cells differ.
        h = (h ^ np.uint64(heights[i])) * _FNV_PRIME
        h = (h ^ np.uint64(widths[i])) * _FNV_PRIME
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(cells[j])) * _FNV_PRIME
        out[i] = h & mask
    return out


# Threads pay off only for big batches (benchmarks, pooled rescoring); a task's few hundred candidates hash
# faster on one thread than the thread pool takes to wake up.
_hash_serial = numba.njit(cache=True)(_hash_packed_py)
_hash_parallel = numba.njit(cache=True, parallel=True)(_hash_packed_py)
PARALLEL_MIN_BATCH = 20_000


@numba.njit(cache=True)
def _same(cells, offsets, heights, widths, a, b):
    if heights[a] != heights[b] or widths[a] != widths[b]:
        return False
    oa, ob = offsets[a], offsets[b]
    for j in range(offsets[a + 1] - oa):
        if cells[oa + j] != cells[ob + j]:
            return False
    return True


@numba.njit(cache=True)
def _group_by_hash_table(cells, offsets, heights, widths, hashes):
    """Assign each candidate the id of its distinct grid, ids numbered by first appearance.

    An open-addressing table keyed by hash: a slot holding an equal hash is only taken as a match after a
    cell-by-cell comparison, so colliding hashes of different grids probe on to separate groups."""
    n = hashes.shape[0]
    capacity = 1
    while capacity < 2 * n:
        capacity <<= 1
    slot_mask = np.uint64(capacity - 1)
    slots = np.full(capacity, -1, dtype=np.int64)
    reps = np.empty(n, dtype=np.int64)  # first candidate of each group
    group = np.empty(n, dtype=np.int64)
    n_groups = 0
    for i in range(n):
        h = hashes[i]
        s = np.int64((h ^ (h >> np.uint64(29))) & slot_mask)
        while True:
            g = slots[s]
            if g < 0:
                slots[s] = n_groups
                reps[n_groups] = i
                group[i] = n_groups
                n_groups += 1
                break
            r = reps[g]
            if hashes[r] == h and _same(cells, offsets, heights, widths, r, i):
                group[i] = g
                break
            s = (s + 1) & (capacity - 1)
    return group, reps[:n_groups]


@numba.njit(cache=True)
def _hash_one(g):
    h = _FNV_OFFSET
    h = (h ^ np.uint64(g.shape[0])) * _FNV_PRIME
    h = (h ^ np.uint64(g.shape[1])) * _FNV_PRIME
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            h = (h ^ np.uint64(g[i, j])) * _FNV_PRIME
    return h


def hash_grid(g: Grid) -> int:
    """hash_grids of one grid, without packing it (the DSL search hashes every op result on its own)."""
    return int(_hash_one(np.ascontiguousarray(g, dtype=np.uint8)))


def hash_grids(packed: Packed, mask: np.uint64 = _FULL_MASK) -> np.ndarray:
    kernel = _hash_parallel if len(packed) >= PARALLEL_MIN_BATCH else _hash_serial
    return kernel(packed.cells, packed.offsets, packed.heights, packed.widths, np.uint64(mask))


def group_packed(packed: Packed, mask: np.uint64 = _FULL_MASK) -> tuple[np.ndarray, np.ndarray]:
    """Group id of every candidate (numbered by first appearance) and the first candidate of each group.
    `mask` narrows the hash; tests use it to force collisions."""
    if len(packed) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return _group_by_hash_table(packed.cells, packed.offsets, packed.heights, packed.widths,
                                hash_grids(packed, mask))


@dataclass(frozen=True)
class Tally:
    """Distinct grids of a batch, in order of first appearance, with counts and summed weights."""
    grids: list[Grid]
    counts: np.ndarray       # int64 per distinct grid
    weights: np.ndarray      # float64 per distinct grid (sum of candidate weights)
    first_index: np.ndarray  # index of the first candidate holding each grid
    group_of: np.ndarray     # distinct-grid index of every candidate

    def ranking(self, by: str = "count") -> np.ndarray:
        """Indices of distinct grids, best first; ties go to the grid seen first."""
        key = self.counts if by == "count" else self.weights
        return np.lexsort((self.first_index, -key))


def tally(grids: Sequence[Grid], weights: Sequence[float] | None = None,
          mask: np.uint64 = _FULL_MASK) -> Tally:
    packed = pack(grids)
    group_of, first = group_packed(packed, mask)
    n_distinct = len(first)
    counts = np.bincount(group_of, minlength=n_distinct).astype(np.int64)
    w = np.ones(len(grids)) if weights is None else np.asarray(weights, dtype=np.float64)
    summed = np.bincount(group_of, weights=w, minlength=n_distinct) if len(grids) else np.zeros(0)
    return Tally([np.asarray(grids[i], dtype=np.uint8) for i in first], counts, summed, first, group_of)


def flat_vote(grids: Sequence[Grid], k: int = 2) -> list[Grid]:
    """The k most frequent distinct grids."""
    t = tally(grids)
    return [t.grids[i] for i in t.ranking("count")[:k]]


def weighted_vote(grids: Sequence[Grid], weights: Sequence[float], k: int = 2) -> list[Grid]:
    """The k distinct grids with the largest summed weight (e.g. probabilities or stage weights)."""
    t = tally(grids, weights)
    return [t.grids[i] for i in t.ranking("weight")[:k]]


def _majority_lines(grids: Sequence[Grid]) -> Grid | None:
    """Row by row, the most common row among the grids of the most common shape."""
    if not grids:
        return None
    shape = Counter(g.shape for g in grids).most_common(1)[0][0]
    same = [g for g in grids if g.shape == shape]
    rows = []
    for r in range(shape[0]):
        counts = Counter(g[r].tobytes() for g in same)
        best = max(counts.items(), key=lambda kv: kv[1])[0]  # max keeps the first of equal counts
        rows.append(np.frombuffer(best, dtype=np.uint8))
    return np.stack(rows)


def row_majority(grids: Sequence[Grid]) -> Grid | None:
    return _majority_lines(grids)


def column_majority(grids: Sequence[Grid]) -> Grid | None:
    out = _majority_lines([np.ascontiguousarray(g.T) for g in grids])
    return None if out is None else np.ascontiguousarray(out.T)


def hierarchical_vote(grids: Sequence[Grid], views: Sequence[Hashable], identity_view: Hashable,
                      k: int = 2, per_view: int = 3) -> list[Grid]:
    """The two-stage vote of the MIT TTT paper (Akyurek et al. 2024).

    Stage 1, within each view: the `per_view` most frequent grids, filled up with the row-wise and
    column-wise majority grids when the view has fewer distinct grids. Stage 2, across views: the k grids
    chosen by the most views; ties go to grids the identity view chose, then to more raw votes, then to the
    grid seen first.
    """
    if not grids:
        return []
    by_view: dict[Hashable, list[int]] = {}
    for i, v in enumerate(views):
        by_view.setdefault(v, []).append(i)
    pooled: list[Grid] = []
    pooled_view: list[Hashable] = []
    for view, idx in by_view.items():
        members = [grids[i] for i in idx]
        t = tally(members)
        chosen = [t.grids[i] for i in t.ranking("count")[:per_view]]
        if len(chosen) < per_view:
            for extra in (row_majority(members), column_majority(members)):
                if len(chosen) < per_view and extra is not None and not any(
                        c.shape == extra.shape and np.array_equal(c, extra) for c in chosen):
                    chosen.append(extra)
        pooled += chosen
        pooled_view += [view] * len(chosen)

    stage2 = tally(pooled)
    raw = tally(list(grids) + stage2.grids)  # raw votes per stage-2 grid (majority fills may have none)
    raw_count = raw.counts[raw.group_of[len(grids):]] - 1
    chosen_by_identity = np.zeros(len(stage2.grids), dtype=bool)
    for i, v in enumerate(pooled_view):
        if v == identity_view:
            chosen_by_identity[stage2.group_of[i]] = True
    order = np.lexsort((stage2.first_index, -raw_count, ~chosen_by_identity, -stage2.counts))
    return [stage2.grids[i] for i in order[:k]]
