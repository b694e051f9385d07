"""Movement: gravity (cells fall in one of four directions) and shifting a grid.
"""
from __future__ import annotations

import numba
import numpy as np

from ...tasks import Grid
from .geometry import d8


def gravity(g: Grid, direction: str, bg: int) -> Grid | None:
    """Every foreground cell falls towards `direction` ('down', 'up', 'left', 'right') within its line,
    keeping the order of cells."""
    turn, back = _FALL_TURNS[direction]
    return d8(_fall_down(d8(g, turn), np.uint8(bg)), back)  # turned so that falling is 'down', and back


_FALL_TURNS = {"down": ("identity", "identity"), "left": ("rot90", "rot270"), "up": ("rot180", "rot180"),
               "right": ("rot270", "rot90")}


@numba.njit(cache=True)
def _fall_down(a, bg):
    h, w = a.shape
    out = np.full((h, w), bg, np.uint8)
    for j in range(w):
        k = h - 1
        for i in range(h - 1, -1, -1):
            if a[i, j] != bg:
                out[k, j] = a[i, j]
                k -= 1
    return out


def shift(g: Grid, dy: int, dx: int, bg: int) -> Grid:
    """Move the whole picture by (dy, dx); what leaves the grid is lost, what enters is background."""
    h, w = g.shape
    out = np.full_like(g, bg)
    ys, yd = (slice(0, max(0, h - dy)), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, max(0, w - dx)), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = g[ys, xs]
    return out
