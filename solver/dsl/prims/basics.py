"""Basics: what every other kind of primitive uses: a grid's validity, its background colour, its palette,
grid equality, a mask's bounding box.

The primitives (this package) are small pure functions on uint8 grids, in the spirit of arc-dsl. Every
function takes grids (2-D uint8 arrays) and plain parameters and returns a grid, or None where the
operation does not apply to that grid (nothing to crop, a factor that does not divide the shape). None is
how the search learns that a program is undefined on an input. An operation with nothing to do on a grid
(no enclosed cell to fill) returns the grid unchanged, not None: in another example of the same task it
may well have work. The input is never modified; no function here raises on a valid grid.
"""
from __future__ import annotations

import numba
import numpy as np

from ...tasks import Grid, MAX_SIDE


def valid(g: Grid | None) -> bool:
    return g is not None and g.ndim == 2 and 1 <= g.shape[0] <= MAX_SIDE and 1 <= g.shape[1] <= MAX_SIDE


def defined(fn, *args) -> Grid | None:
    """fn(*args) as a valid uint8 grid, or None where the op is undefined there."""
    try:
        r = fn(*args)
    except (ValueError, IndexError, MemoryError):  # an op outside its domain behaves as undefined
        return None
    if r is None or not valid(r):
        return None
    return r if r.dtype == np.uint8 else r.astype(np.uint8)


@numba.njit(cache=True)
def _background(g):
    counts = np.zeros(10, np.int64)
    for v in g.ravel():
        counts[v] += 1
    top = 0
    for c in range(10):
        if counts[c] > counts[top]:
            top = c
    return 0 if counts[0] * 2 >= counts[top] else top


def background(g: Grid) -> int:
    """Black when it covers at least half as many cells as the most common colour (black is ARC's usual
    background, and a busy picture can outnumber it), else the most common colour. (numba: nearly every
    op asks, so this is one of the hottest functions of the search.)"""
    return _background(np.ascontiguousarray(g))


def palette(g: Grid) -> frozenset[int]:
    return frozenset(np.flatnonzero(np.bincount(g.ravel(), minlength=10)).tolist())


def same(a: Grid | None, b: Grid | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b)


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the True cells, bottom/right exclusive; None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1
