"""Pattern completion: hidden cells restored from a symmetry (also off-centre) or from a period, the
hidden part cut out, noise removed, and a grid grown to a larger size by continuing its period (also
shifted from row to row) or by reflecting it.
"""
from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

from ...tasks import Grid
from .basics import background, bbox
from .colours import minority_colour_grid


SYMMETRIES = ("lr", "ud", "rot180", "transpose", "rot90", "lr_ud")


def _reflections(g: Grid, kind: str) -> list[Grid]:
    if kind == "lr":
        return [g[:, ::-1]]
    if kind == "ud":
        return [g[::-1]]
    if kind == "rot180":
        return [g[::-1, ::-1]]
    if kind == "lr_ud":
        return [g[:, ::-1], g[::-1], g[::-1, ::-1]]
    if g.shape[0] != g.shape[1]:
        return []
    if kind == "transpose":
        return [g.T]
    if kind == "rot90":
        return [g.T[::-1], g[::-1, ::-1], g[::-1].T]
    raise ValueError(f"unknown symmetry {kind!r}")


def symmetrize(g: Grid, kind: str, unknown: int) -> Grid | None:
    """Fill cells of colour `unknown` from their mirror images under a symmetry of the whole grid.

    Known cells are never changed. None when a mirror pair of known cells disagrees (the grid does not have
    this symmetry).
    """
    images = _reflections(g, kind)
    if not images:
        return None
    out = g.copy()
    for im in images:
        known = (out != unknown) & (im != unknown)
        if (out[known] != im[known]).any():
            return None
        fill = (out == unknown) & (im != unknown)
        out[fill] = im[fill]
    return out


@numba.njit(cache=True)
def _best_mirror_axis(g, unknown):
    """For mirroring columns about axis position a/2 (column j <-> a - j): the a where the most known cell
    pairs agree, no known pair disagrees, at least one unknown cell gets filled, and the mirrored part
    covers most of the grid; -1 if none."""
    h, w = g.shape
    best, best_support = -1, 0
    for a in range(1, 2 * w - 2):
        lo, hi = max(0, a - (w - 1)), min(w - 1, a)
        if hi - lo + 1 < w // 2 + 1:
            continue
        support, fills, ok = 0, 0, True
        for j in range(lo, hi + 1):
            m = a - j
            for i in range(h):
                u, v = g[i, j], g[i, m]
                if u != unknown and v != unknown:
                    if u != v:
                        ok = False
                        break
                    support += 1
                elif u == unknown and v != unknown:
                    fills += 1
            if not ok:
                break
        if ok and fills > 0 and support > best_support:
            best, best_support = a, support
    return best


def hidden_part(g: Grid, filled: Grid | None, unknown: int) -> Grid | None:
    """The cells that were hidden (the bounding box of colour `unknown` in g), as filled in: for tasks
    that ask only for the missing piece."""
    if filled is None:
        return None
    box = bbox(g == unknown)
    if box is None:
        return None
    r0, c0, r1, c1 = box
    out = filled[r0:r1, c0:c1]
    return None if (out == unknown).any() else out.copy()


def symmetrize_offset(g: Grid, kind: str, unknown: int) -> Grid | None:
    """Like `symmetrize` for a pattern whose mirror axis is not the grid's centre ('lr': a vertical axis,
    'ud': a horizontal one): the axis position where the most known cells confirm each other wins."""
    if not (g == unknown).any():
        return g
    a_grid = g if kind == "lr" else g.T
    a = _best_mirror_axis(np.ascontiguousarray(a_grid), np.uint8(unknown))
    if a < 0:
        return None
    out = a_grid.copy()
    w = a_grid.shape[1]
    cols = np.arange(max(0, a - (w - 1)), min(w - 1, a) + 1)
    mirrored = a_grid[:, a - cols]
    fill = (a_grid[:, cols] == unknown) & (mirrored != unknown)
    sub = out[:, cols]
    sub[fill] = mirrored[fill]
    out[:, cols] = sub
    return out if kind == "lr" else np.ascontiguousarray(out.T)


def denoise_minority(g: Grid) -> Grid | None:
    """Denoise the least common colour (for noise whose colour changes from grid to grid)."""
    c = minority_colour_grid(g, background(g))
    return None if c is None else denoise(g, int(c[0, 0]))


@numba.njit(cache=True)
def _first_period(g, unknown, periods, kind):
    """The first (py, px) in `periods` that every known cell agrees with, and its motif. kind 0: cell (i, j)
    repeats at (i + py, j) and (i, j + px); kind 1/2: the colour depends on (i % py, (j -/+ i) % px), a
    pattern of diagonal stripes."""
    h, w = g.shape
    motif = np.empty(h * w, np.int16)
    for n in range(periods.shape[0]):
        py, px = periods[n, 0], periods[n, 1]
        motif[:py * px] = -1
        ok = True
        for i in range(h):
            for j in range(w):
                v = g[i, j]
                if v == unknown:
                    continue
                jj = j if kind == 0 else ((j - i) % px if kind == 1 else (j + i) % px)
                k = (i % py) * px + jj % px
                if motif[k] < 0:
                    motif[k] = v
                elif motif[k] != v:
                    ok = False
                    break
            if not ok:
                break
        if ok:
            for k in range(py * px):
                if motif[k] < 0:
                    ok = False
                    break
        if ok:
            return n, motif[:py * px].copy()
    return -1, motif[:0].copy()


@lru_cache(maxsize=1024)
def _periods(h: int, w: int) -> np.ndarray:
    """Candidate periods smallest first, each small enough that the motif repeats about twice."""
    pairs = sorted((py * px, py, px) for py in range(1, h + 1) for px in range(1, w + 1)
                   if (py, px) != (h, w) and py * px * 2 <= h * w + max(h, w))
    return np.array([(py, px) for _, py, px in pairs] or [(h, w)], dtype=np.int64)


def periodic_fill(g: Grid, unknown: int, kind: int = 0) -> Grid | None:
    """Fill cells of colour `unknown` from the smallest period that every known cell agrees with (see
    `_first_period` for the kinds); None when no cell is known or no period is smaller than the
    grid."""
    h, w = g.shape
    known = g != unknown
    if known.all():
        return g
    if not known.any():
        return None
    n, motif = _first_period(np.ascontiguousarray(g), np.uint8(unknown), _periods(h, w), kind)
    if n < 0:
        return None
    py, px = _periods(h, w)[n]
    ii, jj = np.indices((h, w))
    if kind == 1:
        jj = jj - ii
    elif kind == 2:
        jj = jj + ii
    full = motif.reshape(py, px)[ii % py, jj % px].astype(np.uint8)
    out = g.copy()
    out[~known] = full[~known]
    return out


@numba.njit(cache=True)
def _denoise(g, noise):
    h, w = g.shape
    out = g.copy()
    counts = np.zeros(10, np.int64)
    for _ in range(h * w):
        left, changed = 0, False
        snapshot = out.copy()  # each round reads the previous round, so clumps fill from their edges
        for y in range(h):
            for x in range(w):
                if snapshot[y, x] != noise:
                    continue
                left += 1
                counts[:] = 0
                for yy in range(max(0, y - 1), min(h, y + 2)):
                    for xx in range(max(0, x - 1), min(w, x + 2)):
                        if snapshot[yy, xx] != noise:
                            counts[snapshot[yy, xx]] += 1
                best = 0
                for c in range(10):
                    if counts[c] > counts[best]:
                        best = c
                if counts[best] > 0:
                    out[y, x] = best
                    changed = True
        if left == 0:
            return out, True
        if not changed:
            return out, False
    return out, True


def denoise(g: Grid, noise: int) -> Grid | None:
    """Replace every cell of colour `noise` by the most common other colour among its 8 neighbours
    (repeatedly, so clumps of noise fill in from their edges); None if the grid is all noise."""
    out, ok = _denoise(np.ascontiguousarray(g), np.uint8(noise))
    return out if ok else None


@numba.njit(cache=True)
def _row_period(g):
    """The smallest p such that every row equals the row p below it (the number of rows if none)."""
    h, w = g.shape
    for p in range(1, h):
        ok = True
        for i in range(h - p):
            for j in range(w):
                if g[i, j] != g[i + p, j]:
                    ok = False
                    break
            if not ok:
                break
        if ok:
            return p
    return h


def extend_periodic(g: Grid, h: int, w: int) -> Grid | None:
    """Grow the grid to h x w by continuing its smallest row and column periods (a pattern that goes on)."""
    if h < g.shape[0] or w < g.shape[1] or (h, w) == g.shape:
        return None
    g = np.ascontiguousarray(g)
    py, px = _row_period(g), _row_period(g.T)
    return np.tile(g[:py, :px], (-(-h // py), -(-w // px)))[:h, :w]


@numba.njit(cache=True)
def _shifted_row_period(g, bg):
    """The smallest (p, s), p <= h/2 and s != 0 smallest in size (rightward first), such that every row is
    the row p above it moved s cells sideways (cells moved in from outside are background); (0, 0) if none."""
    h, w = g.shape
    for p in range(1, h // 2 + 1):
        for a in range(1, w):
            for s in (a, -a):
                ok = True
                for i in range(p, h):
                    for j in range(w):
                        k = j - s
                        v = g[i - p, k] if 0 <= k < w else bg
                        if g[i, j] != v:
                            ok = False
                            break
                    if not ok:
                        break
                if ok:
                    return p, s
    return 0, 0


def extend_shifted(g: Grid, h: int, w: int) -> Grid | None:
    """Grow the grid to h x w (more rows, or more columns, not both) by continuing a pattern that repeats
    with a sideways shift: a staircase or a diagonal, where every row is the row p above moved s cells (and
    likewise for columns). Where the growing side has a plain period instead (or no shifted one), this is
    `extend_periodic`, so one program covers a task whose pairs mix both kinds. None when both sides grow
    or the shape shrinks."""
    H, W = g.shape
    if (h > H) == (w > W) or h < H or w < W:
        return None
    if w > W:
        out = extend_shifted(np.ascontiguousarray(g.T), w, h)
        return None if out is None else np.ascontiguousarray(out.T)
    g = np.ascontiguousarray(g)
    if _row_period(g) < H:
        return extend_periodic(g, h, w)
    bg = background(g)
    p, s = _shifted_row_period(g, np.uint8(bg))
    if p == 0:
        return extend_periodic(g, h, w)
    out = np.full((h, W), bg, np.uint8)
    out[:H] = g
    for i in range(H, h):
        src = out[i - p]
        if s > 0:
            out[i, s:] = src[:W - s]
        else:
            out[i, :W + s] = src[-s:]
    return out


def _bounce(n: int, size: int) -> np.ndarray:
    """Indices 0..n-1 then back down to 0 and up again (edge lines not repeated), `size` of them."""
    if n == 1:
        return np.zeros(size, np.int64)
    i = np.arange(size) % (2 * n - 2)
    return np.where(i < n, i, 2 * n - 2 - i)


def extend_reflect(g: Grid, h: int, w: int) -> Grid | None:
    """Grow the grid to h x w by reflecting it back and forth about its last row and column, the mirror
    lines not doubled (a zigzag pattern continued)."""
    if h < g.shape[0] or w < g.shape[1] or (h, w) == g.shape:
        return None
    return g[np.ix_(_bounce(g.shape[0], h), _bounce(g.shape[1], w))]
