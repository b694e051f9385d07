"""Geometry: the D8 group (the 7 symmetries of the square and identity), cropping and padding, tiling and
scaling (up, down, Kronecker, repeats compressed, the tile of a tiling), mirrored copies and concatenation.
"""
from __future__ import annotations

import numpy as np

from ...augment import D8, D8_NAMES as AUGMENT_D8_NAMES
from ...tasks import Grid, MAX_SIDE
from .basics import background, bbox


D8_NAMES = ("identity", "rot90", "rot180", "rot270", "flip_lr", "flip_ud", "transpose", "antitranspose")


# The DSL's names (they appear in program texts) for the kit's own D8 elements (solver/augment.py).
_D8 = {name: D8(AUGMENT_D8_NAMES.index("anti_transpose" if name == "antitranspose" else name))
       for name in D8_NAMES}


# The same elements as slicings: np.rot90's argument handling costs more than the copy on ARC-sized grids,
# and the search applies these to almost every state (tests check they equal _D8).
_D8_SLICES = {
    "identity": lambda g: g,
    "rot90": lambda g: g.T[::-1],
    "rot180": lambda g: g[::-1, ::-1],
    "rot270": lambda g: g[::-1].T,
    "flip_lr": lambda g: g[:, ::-1],
    "flip_ud": lambda g: g[::-1],
    "transpose": lambda g: g.T,
    "antitranspose": lambda g: g[::-1, ::-1].T,
}


def d8(g: Grid, name: str) -> Grid:
    """One of the eight rotations/reflections; rot90 turns counter-clockwise (numpy's convention)."""
    f = _D8_SLICES.get(name)
    if f is None:
        raise ValueError(f"unknown D8 element {name!r}")
    return np.ascontiguousarray(f(g))


def crop_to_content(g: Grid, bg: int) -> Grid | None:
    box = bbox(g != bg)
    if box is None:
        return None
    r0, c0, r1, c1 = box
    return g[r0:r1, c0:c1].copy()


def pad(g: Grid, kind: str) -> Grid | None:
    """One more cell on every side: background ('bg'), or a copy of the edge row/column with background
    corners ('edge')."""
    h, w = g.shape
    if h + 2 > MAX_SIDE or w + 2 > MAX_SIDE:
        return None
    bg = background(g)
    out = np.full((h + 2, w + 2), bg, np.uint8)
    out[1:-1, 1:-1] = g
    if kind == "edge":
        out[0, 1:-1], out[-1, 1:-1] = g[0], g[-1]
        out[1:-1, 0], out[1:-1, -1] = g[:, 0], g[:, -1]
    return out


def trim_border(g: Grid) -> Grid | None:
    """Drop the outermost ring of cells (a frame around the content)."""
    if g.shape[0] < 3 or g.shape[1] < 3:
        return None
    return g[1:-1, 1:-1].copy()


def tile(g: Grid, ny: int, nx: int) -> Grid | None:
    if g.shape[0] * ny > MAX_SIDE or g.shape[1] * nx > MAX_SIDE:
        return None
    return np.tile(g, (ny, nx))


def upscale(g: Grid, ky: int, kx: int) -> Grid | None:
    if g.shape[0] * ky > MAX_SIDE or g.shape[1] * kx > MAX_SIDE:
        return None
    return np.repeat(np.repeat(g, ky, axis=0), kx, axis=1)


def downscale(g: Grid, ky: int, kx: int) -> Grid | None:
    """Each ky x kx block becomes one cell; only when every block is one colour (an exact inverse of upscale)."""
    h, w = g.shape
    if h % ky or w % kx or (ky == 1 and kx == 1):
        return None
    blocks = g.reshape(h // ky, ky, w // kx, kx)
    first = blocks[:, :1, :, :1]
    if not (blocks == first).all():
        return None
    return np.ascontiguousarray(first[:, 0, :, 0])


def kronecker(g: Grid, bg: int, inverse: bool = False) -> Grid | None:
    """Each foreground cell becomes a copy of the whole grid, each background cell a blank block (a
    fractal); with `inverse`, the copies go where the background is."""
    h, w = g.shape
    if h * h > MAX_SIDE or w * w > MAX_SIDE:
        return None
    mask = ((g == bg) if inverse else (g != bg)).astype(np.uint8)
    out = np.kron(mask, g)
    out[np.kron(mask, np.ones_like(g)) == 0] = bg
    return out.astype(np.uint8)


def compress_repeats(g: Grid) -> Grid:
    """Collapse runs of identical adjacent rows and columns to one (undoes stretching)."""
    keep_r = np.ones(g.shape[0], bool)
    keep_r[1:] = (g[1:] != g[:-1]).any(axis=1)
    g = g[keep_r]
    keep_c = np.ones(g.shape[1], bool)
    keep_c[1:] = (g[:, 1:] != g[:, :-1]).any(axis=0)
    return np.ascontiguousarray(g[:, keep_c])


def concat(a: Grid, b: Grid, axis: int) -> Grid | None:
    """Side by side (axis 1) or stacked (axis 0); None when the shapes do not line up or grow too big."""
    if a.shape[1 - axis] != b.shape[1 - axis] or a.shape[axis] + b.shape[axis] > MAX_SIDE:
        return None
    return np.concatenate([a, b], axis=axis)


def mirror(g: Grid, kind: str) -> Grid | None:
    """The grid joined with its own reflection: 'right', 'left', 'down', 'up', or 'quad' (2x2 kaleidoscope)."""
    if kind == "right":
        return concat(g, g[:, ::-1], 1)
    if kind == "left":
        return concat(g[:, ::-1], g, 1)
    if kind == "down":
        return concat(g, g[::-1], 0)
    if kind == "up":
        return concat(g[::-1], g, 0)
    if kind == "quad":
        top = concat(g, g[:, ::-1], 1)
        return None if top is None else concat(top, top[::-1], 0)
    raise ValueError(f"unknown mirror {kind!r}")


def motif(g: Grid) -> Grid | None:
    """The smallest block whose repetition is the whole grid (the tile of a tiling), if it is smaller."""
    h, w = g.shape
    py = next(p for p in range(1, h + 1) if (g[p:] == g[:-p]).all() or p == h)
    px = next(p for p in range(1, w + 1) if (g[:, p:] == g[:, :-p]).all() or p == w)
    if (py, px) == (h, w):
        return None
    return g[:py, :px].copy()
