"""Scene primitives, crop and scale to another shape (dense rectangles, pooling, Kronecker variants,
counts drawn as bars, canvases, layers): used only by ops of the scenes catalogue (solver/dsl/scenes.py);
see scene_lines.py.
"""
from __future__ import annotations

import numba
import numpy as np

from ...tasks import Grid, MAX_SIDE
from .basics import background
from .scene_fills import _largest_empty_rect


def pool(g: Grid, ky: int, kx: int) -> Grid | None:
    """Each ky x kx block becomes one cell: its one foreground colour, the background where it has none
    (a sparse picture of dots read at a coarser scale, where the exact `downscale` needs uniform blocks).
    None where the factors do not divide the shape or a block holds two foreground colours."""
    h, w = g.shape
    if h % ky or w % kx or (ky == 1 and kx == 1):
        return None
    bg = background(g)
    blocks = g.reshape(h // ky, ky, w // kx, kx).transpose(0, 2, 1, 3).reshape(h // ky, w // kx, ky * kx)
    hi = np.where(blocks == bg, -1, blocks.astype(np.int16)).max(axis=2)
    lo = np.where(blocks == bg, 99, blocks.astype(np.int16)).min(axis=2)
    if ((hi >= 0) & (hi != lo)).any():
        return None
    return np.where(hi >= 0, hi, bg).astype(np.uint8)


def colour_rings(g: Grid) -> Grid | None:
    """The foreground colours as concentric square rings, the most common outermost, the rarest a single
    centre cell (a (2n-1)-sided square for n colours): 'nest the colours by how much of each there is'.
    None with fewer than two foreground colours or a tie in the counts (the nesting order is unclear)."""
    bg = background(g)
    counts = np.bincount(g.ravel(), minlength=10)
    counts[bg] = 0
    present = np.flatnonzero(counts)
    if len(present) < 2 or len(set(counts[present].tolist())) != len(present):
        return None
    order = present[np.argsort(-counts[present])]
    n = len(order)
    side = 2 * n - 1
    out = np.empty((side, side), np.uint8)
    for k, c in enumerate(order):
        out[k:side - k, k:side - k] = c
    return out


def count_bars(g: Grid, axis: int) -> Grid | None:
    """A bar chart of the non-black colours: one column (axis 0; one row for axis 1) per colour, most
    common first (ties to the smaller colour), filled from the top (left) with as many cells of the colour
    as the grid has, on black. None with fewer than two colours or a bar longer than a grid side may be."""
    counts = np.bincount(g.ravel(), minlength=10)
    counts[0] = 0
    order = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c]]
    if len(order) < 2 or counts.max() > MAX_SIDE:
        return None
    out = np.zeros((int(counts.max()), len(order)), np.uint8)
    for k, c in enumerate(order):
        out[:counts[c], k] = c
    return out if axis == 0 else np.ascontiguousarray(out.T)


def kronecker_by_colour(g: Grid) -> Grid | None:
    """Each cell becomes a block the grid's size showing where the grid has that cell's colour (in it, on
    black): a fractal per colour (kronecker copies the whole grid). None when the result would be too big."""
    h, w = g.shape
    if h * h > MAX_SIDE or w * w > MAX_SIDE:
        return None
    # blocks[i, j, a, b]: g[i, j] where g[a, b] has that colour, else black.
    blocks = np.where(g[:, :, None, None] == g[None, None], g[:, :, None, None], 0).astype(np.uint8)
    return np.ascontiguousarray(blocks.transpose(0, 2, 1, 3).reshape(h * h, w * w))


def canvas(g: Grid, ky: int, kx: int) -> Grid | None:
    """The grid in the top-left corner of a background canvas ky x kx times its size (room to draw in)."""
    h, w = g.shape
    if (ky, kx) == (1, 1) or h * ky > MAX_SIDE or w * kx > MAX_SIDE or ky < 1 or kx < 1:
        return None
    out = np.full((h * ky, w * kx), background(g), np.uint8)
    out[:h, :w] = g
    return out


def kron_colour(g: Grid, colour: int | None) -> Grid | None:
    """Each cell of `colour` (None: the grid's most common colour) becomes a copy of the whole grid, every
    other cell a blank (0) block."""
    h, w = g.shape
    if h * h > MAX_SIDE or w * w > MAX_SIDE:
        return None
    if colour is None:
        counts = np.bincount(g.ravel(), minlength=10)
        if (counts == counts.max()).sum() > 1:
            return None
        colour = int(counts.argmax())
    mask = g == colour
    if not mask.any():
        return None
    return np.kron(mask.astype(np.uint8), g).astype(np.uint8)


def kron_halves(g: Grid) -> Grid | None:
    """Two equal halves, one a one-colour shape and one a picture: each picture cell becomes a copy of the
    shape in that cell's colour, each background cell a blank block."""
    h, w = g.shape
    halves = [g[:, :w // 2], g[:, w // 2:]] if w % 2 == 0 and w >= h else [g[:h // 2], g[h // 2:]]
    if halves[0].shape != halves[1].shape:
        return None
    bg = background(g)
    one = [len(set(np.unique(p).tolist()) - {bg}) == 1 for p in halves]
    if one[0] == one[1]:
        return None
    mask, pic = (halves[0], halves[1]) if one[0] else (halves[1], halves[0])
    if mask.shape[0] * pic.shape[0] > MAX_SIDE or mask.shape[1] * pic.shape[1] > MAX_SIDE:
        return None
    on = np.kron(pic != bg, mask != bg).astype(bool)
    return np.where(on, np.kron(pic, np.ones_like(mask)), bg).astype(np.uint8)


def staircase(g: Grid) -> Grid | None:
    """A single row starting with a run of one colour: rows are added, each run one cell longer, until
    the grid is half as tall as it is wide."""
    h, w = g.shape
    if h != 1 or w < 2 or w % 2:
        return None
    c = g[0, 0]
    n = int(np.argmin(g[0] == c)) if (g[0] != c).any() else w
    if n == w or (g[0, n:] != g[0, n]).any():
        return None
    out = np.full((w // 2, w), g[0, n], np.uint8)
    for i in range(w // 2):
        out[i, :min(w, n + i)] = c
    return out


_largest_rect_nb = numba.njit(cache=True)(_largest_empty_rect)


def crop_dense_rect(g: Grid) -> Grid | None:
    """Crop the largest rectangle that is mostly one colour standing in a noisy picture: the largest
    one-colour rectangle, grown side by side while each added row or column is at least three quarters
    that colour (so the few odd cells inside it are kept). None when that rectangle is smaller than 3 x 3,
    is the whole grid, or two colours tie for it."""
    h, w = g.shape
    if h < 4 or w < 4:
        return None
    found = []
    for c in np.unique(g):
        m = g == c
        r = m[:-2] & m[1:-1] & m[2:]
        if not (r[:, :-2] & r[:, 1:-1] & r[:, 2:]).any():  # no 3 x 3 block of the colour
            continue
        best, _, rect = _largest_rect_nb(np.ascontiguousarray(m))
        if best < 4:
            continue
        y0, x0, y1, x1 = (int(v) for v in rect)
        grown = True
        while grown:
            grown = False
            if y0 > 0 and m[y0 - 1, x0:x1].mean() >= 0.75:
                y0, grown = y0 - 1, True
            if y1 < h and m[y1, x0:x1].mean() >= 0.75:
                y1, grown = y1 + 1, True
            if x0 > 0 and m[y0:y1, x0 - 1].mean() >= 0.75:
                x0, grown = x0 - 1, True
            if x1 < w and m[y0:y1, x1].mean() >= 0.75:
                x1, grown = x1 + 1, True
        found.append(((y1 - y0) * (x1 - x0), (y0, x0, y1, x1)))
    if not found:
        return None
    found.sort(reverse=True)
    area, (y0, x0, y1, x1) = found[0]
    if (len(found) > 1 and found[1][0] == area) or y1 - y0 < 3 or x1 - x0 < 3 or area == h * w:
        return None
    return g[y0:y1, x0:x1].copy()


def crop_line_box(g: Grid) -> Grid | None:
    """Crop the box bounded by exactly two full row lines and two full column lines (each one colour, not
    the background, but for crossings and a few stray cells), the lines included. None otherwise."""
    h, w = g.shape
    if h < 4 or w < 4:
        return None
    bg = background(g)
    found = []
    for a in (g, g.T):
        n = a.shape[1]
        mode = np.array([np.bincount(r, minlength=10).argmax() for r in a])
        cnt = (a == mode[:, None]).sum(axis=1)
        found.append(np.flatnonzero((cnt >= n - 4) & (mode != bg) & (cnt >= 0.75 * n)))
    rows, cols = found
    if len(rows) != 2 or len(cols) != 2 or rows[1] - rows[0] < 2 or cols[1] - cols[0] < 2:
        return None
    out = g[rows[0]:rows[1] + 1, cols[0]:cols[1] + 1]
    return None if out.shape == g.shape else out.copy()


def continue_layers(g: Grid, ky: int, kx: int) -> Grid | None:
    """A square picture in the top-left corner made of nested L-shaped layers (cell (r, c) has the colour
    of layer max(r, c)), black elsewhere: the layers' colour sequence repeats outward over a canvas ky x kx
    times the grid. None when the corner picture is not layered or has a single layer."""
    h, w = g.shape
    k = 0
    while k < min(h, w) and (g[:k + 1, :k + 1] != 0).all():
        k += 1
    if k < 2 or g[k:].any() or g[:, k:].any():
        return None
    seq = np.diagonal(g)[:k]
    r = np.arange(k)
    if not (g[:k, :k] == seq[np.maximum(r[:, None], r[None, :])]).all():
        return None
    H, W = h * ky, w * kx
    if H > MAX_SIDE or W > MAX_SIDE:
        return None
    return seq[np.maximum(np.arange(H)[:, None], np.arange(W)[None, :]) % k].astype(np.uint8)
