"""Drawing: regions reached from a seed (flood, fill of enclosed cells, the outside of a wall), rays from
cells, lines connecting pairs of cells, a border, and clear rows or columns painted.
"""
from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

from ...tasks import Grid
from .basics import background


@numba.njit(cache=True)
def _reach(start, passable, diagonal):
    """Passable cells connected to a start cell through passable cells (4- or 8-connected); a start cell
    counts itself only when it is passable."""
    h, w = passable.shape
    reach = np.zeros((h, w), np.bool_)
    stack = np.empty(h * w, np.int64)  # a cell is pushed once: as a start cell or when first reached
    top = 0
    for i in range(h):
        for j in range(w):
            if start[i, j]:
                reach[i, j] = passable[i, j]
                stack[top] = i * w + j
                top += 1
    while top > 0:
        top -= 1
        y, x = stack[top] // w, stack[top] % w
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                if (dy == 0 and dx == 0) or (not diagonal and dy != 0 and dx != 0):
                    continue
                yy, xx = y + dy, x + dx
                if 0 <= yy < h and 0 <= xx < w and passable[yy, xx] and not reach[yy, xx]:
                    reach[yy, xx] = True
                    stack[top] = yy * w + xx
                    top += 1
    return reach


def outside_mask(passable: np.ndarray, diagonal: bool = False) -> np.ndarray:
    """Cells of `passable` reachable from the grid border through passable cells."""
    border = np.zeros(passable.shape, np.bool_)
    border[0, :] = border[-1, :] = border[:, 0] = border[:, -1] = True
    return _reach(border & passable, np.ascontiguousarray(passable), diagonal)


def flood(g: Grid, seed: int, bg: int) -> Grid | None:
    """Spread colour `seed` over every background region that touches one of its cells (a paint bucket)."""
    if seed == bg or not (g == seed).any():
        return None
    out = g.copy()
    out[_reach(g == seed, g == bg, False)] = seed  # background 4-connected to a cell of `seed`
    return out


def fill_enclosed(g: Grid, colour: int, bg: int) -> Grid | None:
    """Paint background cells that cannot reach the border (through background, 4-connected)."""
    inside = (g == bg) & ~outside_mask(g == bg)
    out = g.copy()
    out[inside] = colour
    return out


RAY_DIRECTIONS = {
    "right": [(0, 1)], "left": [(0, -1)], "down": [(1, 0)], "up": [(-1, 0)],
    "horizontal": [(0, 1), (0, -1)], "vertical": [(1, 0), (-1, 0)],
    "cross": [(0, 1), (0, -1), (1, 0), (-1, 0)],
    "diagonal": [(1, 1), (1, -1), (-1, 1), (-1, -1)],
    "star": [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1)],
}


@numba.njit(cache=True)
def _rays(g, bg, dirs, colour, through):
    h, w = g.shape
    out = g.copy()
    for y in range(h):
        for x in range(w):
            if g[y, x] == bg:
                continue
            c = g[y, x] if colour < 0 else colour
            for d in range(dirs.shape[0]):
                dy, dx = dirs[d, 0], dirs[d, 1]
                yy, xx = y + dy, x + dx
                while 0 <= yy < h and 0 <= xx < w:
                    if g[yy, xx] != bg:
                        if not through:
                            break
                    else:
                        out[yy, xx] = c
                    yy += dy
                    xx += dx
    return out


def rays(g: Grid, directions: str, bg: int, colour: int | None = None, through: bool = False) -> Grid | None:
    """From every foreground cell, extend a line of its colour (or `colour`) in each direction over
    background cells, stopping at the first foreground cell (or crossing it when `through`)."""
    fg = g != bg
    if fg.sum() * 2 > g.size:  # rays from a mostly-full grid are meaningless
        return None
    dirs = np.array(RAY_DIRECTIONS[directions], dtype=np.int64)
    return _rays(np.ascontiguousarray(g), np.uint8(bg), dirs, -1 if colour is None else colour, through)


@numba.njit(cache=True)
def _connect(g, bg, lines, colour):
    """On each line (y0, x0, dy, dx), paint the background cells between the first and the last cell of
    each colour."""
    h, w = g.shape
    out = g.copy()
    for li in range(lines.shape[0]):
        y0, x0, dy, dx = lines[li, 0], lines[li, 1], lines[li, 2], lines[li, 3]
        for c in range(10):
            if c == bg:
                continue
            first, last, n = -1, -1, 0
            y, x = y0, x0
            while 0 <= y < h and 0 <= x < w:
                if g[y, x] == c:
                    if first < 0:
                        first = n
                    last = n
                y += dy
                x += dx
                n += 1
            for k in range(first + 1, last):
                yy, xx = y0 + k * dy, x0 + k * dx
                if g[yy, xx] == bg:
                    out[yy, xx] = c if colour < 0 else colour
    return out


@lru_cache(maxsize=1024)
def _lines(h: int, w: int, axes: str) -> np.ndarray:
    """Every row ('h'), column ('v') or diagonal ('d', both ways) as (start y, start x, dy, dx)."""
    lines = []
    if "h" in axes:
        lines += [(y, 0, 0, 1) for y in range(h)]
    if "v" in axes:
        lines += [(0, x, 1, 0) for x in range(w)]
    if "d" in axes:
        lines += [(0, x, 1, 1) for x in range(w)] + [(y, 0, 1, 1) for y in range(1, h)]
        lines += [(0, x, 1, -1) for x in range(w)] + [(y, w - 1, 1, -1) for y in range(1, h)]
    return np.array(lines, dtype=np.int64).reshape(-1, 4)


def connect_pairs(g: Grid, bg: int, axes: str = "hv", colour: int | None = None) -> Grid | None:
    """Join cells of the same colour that share a row ('h' in axes), a column ('v') or a diagonal ('d')
    with a line over the background cells between them, in their colour or `colour`. Only sparse colours
    are joined: a colour with more than two cells per grid line is scenery (walls, separators), not ends
    of lines."""
    scenery = np.bincount(g.ravel(), minlength=10) > 2 * max(g.shape)
    scenery[bg] = False
    lines = _lines(g.shape[0], g.shape[1], axes)
    paint = -1 if colour is None else colour
    if not scenery.any():
        return _connect(np.ascontiguousarray(g), np.uint8(bg), lines, paint)
    keep = scenery[g]  # hide the scenery by painting it background, then put it back
    base = g.copy()
    base[keep] = bg
    out = _connect(base, np.uint8(bg), lines, paint)
    out[keep] = g[keep]
    return out


def draw_border(g: Grid, colour: int) -> Grid:
    out = g.copy()
    out[0, :] = out[-1, :] = colour
    out[:, 0] = out[:, -1] = colour
    return out


def fill_clear_lines(g: Grid, colour: int) -> Grid | None:
    """Paint the background cells of every row and column that is background from end to end but for its
    two end cells (a frame's sides): the straight corridors that cross a framed picture unobstructed.
    None when no line is clear."""
    bg = background(g)
    h, w = g.shape
    if h < 3 or w < 3:
        return None
    free = g == bg
    rows = free[:, 1:-1].all(axis=1)
    cols = free[1:-1, :].all(axis=0)
    if not rows.any() and not cols.any():
        return None
    out = g.copy()
    lines = np.zeros_like(free)
    lines[rows, :] = True
    lines[:, cols] = True
    out[lines & free] = colour
    return out
