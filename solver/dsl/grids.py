"""Grid primitives: small pure functions on uint8 grids, in the spirit of arc-dsl.

Every function takes grids (2-D uint8 arrays) and plain parameters and returns a grid, or None where the
operation does not apply to that grid (nothing to crop, a factor that does not divide the shape). None is
how the search learns that a program is undefined on an input. An operation with nothing to do on a grid
(no enclosed cell to fill) returns the grid unchanged, not None: in another example of the same task it
may well have work. The input is never modified; no function here raises on a valid grid.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numba
import numpy as np

from ..augment import D8, D8_NAMES as AUGMENT_D8_NAMES
from ..tasks import Grid, MAX_SIDE

# ------------------------------------------------------------------------------------------------- basics


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


# ---------------------------------------------------------------------------------------------- D8 group

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


# ------------------------------------------------------------------------------------------------ cropping


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the True cells, bottom/right exclusive; None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


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


# ----------------------------------------------------------------------------------------- tiling, scaling


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


# --------------------------------------------------------------------------------- mirrors, concatenation


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


# ----------------------------------------------------------------------------------------------- colours


def keep_colour(g: Grid, colour: int, bg: int) -> Grid | None:
    mask = g == colour
    if not mask.any() or mask.all():
        return None
    return np.where(mask, g, np.uint8(bg)).astype(np.uint8)


def remove_colour(g: Grid, colour: int, bg: int) -> Grid | None:
    mask = g == colour
    if not mask.any() or colour == bg:
        return g
    return np.where(mask, np.uint8(bg), g).astype(np.uint8)


def apply_colour_map(g: Grid, mapping: dict[int, int]) -> Grid:
    """Colours missing from the mapping stay as they are."""
    lut = np.arange(10, dtype=np.uint8)
    for a, b in mapping.items():
        lut[a] = b
    return lut[g]


def binarise(g: Grid, bg: int) -> Grid:
    """1 for foreground, 0 for background: a mask a final colour map can paint."""
    return (g != bg).astype(np.uint8)


def majority_colour_grid(g: Grid, bg: int) -> Grid | None:
    """A 1x1 grid of the most common foreground colour (of any colour when bg is -1)."""
    counts = np.bincount(g.ravel(), minlength=10)
    if bg >= 0:
        counts[bg] = 0
    if counts.max() == 0:
        return None
    return np.array([[int(np.argmax(counts))]], dtype=np.uint8)


def minority_colour_grid(g: Grid, bg: int) -> Grid | None:
    """A 1x1 grid of the least common colour present (other than the background)."""
    counts = np.bincount(g.ravel(), minlength=10).astype(np.int64)
    counts[bg] = 0
    counts[counts == 0] = 1 << 40
    if counts.min() == 1 << 40:
        return None
    return np.array([[int(np.argmin(counts))]], dtype=np.uint8)


def keep_solid(g: Grid, bg: int) -> Grid:
    """Keep only the foreground cells that belong to some 2x2 block of one colour: strips lines one cell
    thick and scattered noise from solid shapes (a morphological opening)."""
    same = (g[:-1, :-1] == g[1:, :-1]) & (g[:-1, :-1] == g[:-1, 1:]) & (g[:-1, :-1] == g[1:, 1:])
    same &= g[:-1, :-1] != bg
    keep = np.zeros(g.shape, bool)
    keep[:-1, :-1] |= same
    keep[1:, :-1] |= same
    keep[:-1, 1:] |= same
    keep[1:, 1:] |= same
    return np.where(keep, g, np.uint8(bg)).astype(np.uint8)


def colours_by_count(g: Grid, bg: int, axis: int) -> Grid | None:
    """The foreground colours, most common first (ties to the smaller colour), as a column (axis 0) or a
    row (axis 1): 'list the colours by how much of each there is'."""
    counts = np.bincount(g.ravel(), minlength=10)
    counts[bg] = 0
    order = [int(c) for c in np.argsort(-counts, kind="stable") if counts[c]]
    if not order:
        return None
    out = np.array(order, np.uint8)
    return out[:, None] if axis == 0 else out[None, :]


def colour_stripes(g: Grid) -> Grid | None:
    """The colours of a picture of stripes, in order: when the first row holds every colour of the grid
    (stripes side by side) a row of its colours in order of first appearance, when the first column does
    (stripes one above the other) a column; None otherwise."""
    every = palette(g)
    for line, axis in ((g[0], 1), (g[:, 0], 0)):
        if palette(line[None, :]) == every and len(every) > 1:
            _, first = np.unique(line, return_index=True)
            out = line[np.sort(first)].astype(np.uint8)
            return out[None, :] if axis == 1 else out[:, None]
    return None


def uniform_colour(g: Grid, bg: int, minority: bool = False) -> Grid | None:
    """Every foreground cell painted the most common foreground colour (a shape 'in one colour'), or with
    `minority` the least common one (the colour of a marker)."""
    c = (minority_colour_grid if minority else majority_colour_grid)(g, bg)
    if c is None:
        return None
    out = g.copy()
    out[g != bg] = c[0, 0]
    return out


def denoise_minority(g: Grid) -> Grid | None:
    """Denoise the least common colour (for noise whose colour changes from grid to grid)."""
    c = minority_colour_grid(g, background(g))
    return None if c is None else denoise(g, int(c[0, 0]))


def line_majority(g: Grid, axis: int) -> Grid:
    """The most common colour of each column (axis 0: a 1 x W row) or of each row (axis 1: an H x 1
    column); ties go to the smaller colour."""
    lines = g.T if axis == 0 else g
    counts = np.zeros((lines.shape[0], 10), np.int64)
    np.add.at(counts, (np.repeat(np.arange(lines.shape[0]), lines.shape[1]), lines.ravel()), 1)
    best = counts.argmax(axis=1).astype(np.uint8)
    return best[None, :] if axis == 0 else best[:, None]


# ------------------------------------------------------------------------------------- movement, gravity


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


# ------------------------------------------------------------------------------------------ regions, lines


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


# -------------------------------------------------------------------------------------- splitting grids


def separator_lines(g: Grid) -> tuple[list[int], list[int], int] | None:
    """Rows and columns that are one colour across the whole grid, forming a lattice of one colour that
    splits the grid into at least two parts: (rows, cols, colour), or None."""
    return _separator_lines(g.tobytes(), g.shape[0], g.shape[1])


@lru_cache(maxsize=1024)
def _separator_lines(data: bytes, h: int, w: int) -> tuple[list[int], list[int], int] | None:
    # Cached by content: every split-based op asks the same question of the same grid.
    g = np.frombuffer(data, np.uint8).reshape(h, w)
    full_rows = np.flatnonzero((g == g[:, :1]).all(axis=1)).tolist()
    full_cols = np.flatnonzero((g == g[:1, :]).all(axis=0)).tolist()
    if not full_rows and not full_cols:
        return None
    for colour in sorted({int(g[i, 0]) for i in full_rows} | {int(g[0, j]) for j in full_cols}):
        rows = [i for i in full_rows if g[i, 0] == colour]
        cols = [j for j in full_cols if g[0, j] == colour]
        if len(rows) == h or len(cols) == w:
            continue
        # A separator colour may not also be the colour of whole parts: require it to split something.
        if rows or cols:
            parts = _parts_between(h, rows), _parts_between(w, cols)
            if len(parts[0]) * len(parts[1]) >= 2:
                return rows, cols, colour
    return None


def _parts_between(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    parts, start = [], 0
    for c in cuts + [n]:
        if c > start:
            parts.append((start, c))
        start = c + 1
    return parts


def split_by_separators(g: Grid) -> list[Grid] | None:
    """The parts between separator lines, row by row; None without separators."""
    found = separator_lines(g)
    if found is None:
        return None
    rows, cols, _ = found
    return [g[r0:r1, c0:c1].copy() for r0, r1 in _parts_between(g.shape[0], rows)
            for c0, c1 in _parts_between(g.shape[1], cols)]


def lattice(g: Grid) -> tuple[list[tuple[int, int]], list[tuple[int, int]], int] | None:
    """The row spans and column spans of the parts between separator lines, and the separator colour."""
    found = separator_lines(g)
    if found is None:
        return None
    rows, cols, sep = found
    return _parts_between(g.shape[0], rows), _parts_between(g.shape[1], cols), sep


def cells_to_pixels(g: Grid) -> Grid | None:
    """One pixel per part of a grid cut by separator lines: the part's most common foreground colour, or
    the background for an empty part."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, sep = found
    bg = background(g)
    out = np.full((len(row_parts), len(col_parts)), bg, np.uint8)
    for i, (r0, r1) in enumerate(row_parts):
        for j, (c0, c1) in enumerate(col_parts):
            counts = np.bincount(g[r0:r1, c0:c1].ravel(), minlength=10)
            counts[bg] = 0
            counts[sep] = 0
            if counts.any():
                out[i, j] = int(np.argmax(counts))
    return out


def cells_to_counts(g: Grid) -> Grid | None:
    """One pixel per part of a grid cut by separator lines, whose 'colour' is the number of foreground
    cells in the part (at most 9): a final colour map then says which counts matter."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, sep = found
    bg = background(g)
    out = np.zeros((len(row_parts), len(col_parts)), np.uint8)
    for i, (r0, r1) in enumerate(row_parts):
        for j, (c0, c1) in enumerate(col_parts):
            part = g[r0:r1, c0:c1]
            out[i, j] = min(9, int(((part != bg) & (part != sep)).sum()))
    return out


def fill_cells(g: Grid) -> Grid | None:
    """Paint each part of a grid cut by separator lines in its most common foreground colour."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, sep = found
    bg = background(g)
    out = g.copy()
    for r0, r1 in row_parts:
        for c0, c1 in col_parts:
            counts = np.bincount(g[r0:r1, c0:c1].ravel(), minlength=10)
            counts[bg] = 0
            counts[sep] = 0
            if counts.any():
                out[r0:r1, c0:c1] = int(np.argmax(counts))
    return out


def split_equal(g: Grid, ny: int, nx: int) -> list[Grid] | None:
    """ny x nx equal parts, allowing a one-cell gap between parts (a separator line of any colour)."""
    h, w = g.shape
    for gap in (0, 1):
        if (h - gap * (ny - 1)) % ny == 0 and (w - gap * (nx - 1)) % nx == 0:
            ph, pw = (h - gap * (ny - 1)) // ny, (w - gap * (nx - 1)) // nx
            if ph < 1 or pw < 1:
                continue
            return [g[i * (ph + gap):i * (ph + gap) + ph, j * (pw + gap):j * (pw + gap) + pw].copy()
                    for i in range(ny) for j in range(nx)]
    return None


PART_PICKS = ("first", "last", "most_fg", "least_fg", "most_colours", "least_colours", "unique")


def pick_part(parts: Sequence[Grid] | None, pick: str, bg: int) -> Grid | None:
    """One part of a split grid: the first or last, the one with the most/least foreground cells or
    colours, or the one unlike all the others; None when no single part qualifies."""
    if not parts or len(parts) < 2:
        return None
    if pick == "first":
        return parts[0]
    if pick == "last":
        return parts[-1]
    if pick == "unique":
        keys = [p.tobytes() + bytes(p.shape) for p in parts]
        lone = [i for i, k in enumerate(keys) if keys.count(k) == 1]
        return parts[lone[0]] if len(lone) == 1 and len(parts) > 2 else None
    if pick in ("most_fg", "least_fg"):
        vals = [int((p != bg).sum()) for p in parts]
    else:
        vals = [len(palette(p) - {bg}) for p in parts]
    best = max(vals) if pick.startswith("most") else min(vals)
    hits = [i for i, v in enumerate(vals) if v == best]
    return parts[hits[0]] if len(hits) == 1 else None


def combine_masks(parts: Sequence[Grid] | None, how: str, bg: int) -> Grid | None:
    """Logical combination of the parts' foreground masks as a 0/1 grid: and, or, xor, nor, nand,
    'one' (exactly one part set); parts must share a shape."""
    if not parts or len(parts) < 2 or any(p.shape != parts[0].shape for p in parts):
        return None
    masks = np.stack([p != bg for p in parts])
    count = masks.sum(axis=0)
    if how == "and":
        out = count == len(parts)
    elif how == "or":
        out = count > 0
    elif how == "xor":
        out = count % 2 == 1
    elif how == "one":
        out = count == 1
    elif how == "nor":
        out = count == 0
    elif how == "nand":
        out = count < len(parts)
    else:
        raise ValueError(f"unknown combination {how!r}")
    return out.astype(np.uint8)


def overlay(parts: Sequence[Grid] | None, bg: int, reverse: bool = False) -> Grid | None:
    """Stack the parts; the first part's foreground wins (the last's when `reverse`)."""
    if not parts or len(parts) < 2 or any(p.shape != parts[0].shape for p in parts):
        return None
    order = list(parts) if reverse else list(parts)[::-1]
    out = np.full_like(parts[0], bg)
    for p in order:
        m = p != bg
        out[m] = p[m]
    return out


# ------------------------------------------------------------------------------------------ periodicity


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


def motif(g: Grid) -> Grid | None:
    """The smallest block whose repetition is the whole grid (the tile of a tiling), if it is smaller."""
    h, w = g.shape
    py = next(p for p in range(1, h + 1) if (g[p:] == g[:-p]).all() or p == h)
    px = next(p for p in range(1, w + 1) if (g[:, p:] == g[:, :-p]).all() or p == w)
    if (py, px) == (h, w):
        return None
    return g[:py, :px].copy()


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


@numba.njit(cache=True)
def _clusters(mask, reach):
    """Label the True cells of `mask` into clusters: two cells within `reach` of each other (Chebyshev
    distance) are in one cluster. Returns the labels (-1 off the mask) and the number of clusters."""
    h, w = mask.shape
    lab = np.full((h, w), -1, np.int64)
    stack = np.empty((h * w, 2), np.int64)
    n = 0
    for i in range(h):
        for j in range(w):
            if not mask[i, j] or lab[i, j] >= 0:
                continue
            lab[i, j] = n
            stack[0, 0], stack[0, 1] = i, j
            top = 1
            while top:
                top -= 1
                y, x = stack[top, 0], stack[top, 1]
                for yy in range(max(0, y - reach), min(h, y + reach + 1)):
                    for xx in range(max(0, x - reach), min(w, x + reach + 1)):
                        if mask[yy, xx] and lab[yy, xx] < 0:
                            lab[yy, xx] = n
                            stack[top, 0], stack[top, 1] = yy, xx
                            top += 1
            n += 1
    return lab, n


def recolour_in_box(g: Grid, box_colour: int, colour: int, reach: int = 0) -> Grid | None:
    """Inside the bounding box of all cells of `box_colour`, repaint the cells of every other foreground
    colour with `colour` (a region marked by one colour recolours what lies in it). With `reach` > 0, the
    box of each cluster of that colour instead (cells within `reach` of each other, gaps of reach - 1 cells
    bridged): rectangles partly hidden under other colours, whose hidden part is shown. None when the colour
    is absent or no box holds anything else to repaint."""
    bg = background(g)
    if box_colour == bg or not (g == box_colour).any():
        return None
    if reach:
        lab, n = _clusters(np.ascontiguousarray(g == box_colour), reach)
        boxes = [bbox(lab == k) for k in range(n)]
    else:
        boxes = [bbox(g == box_colour)]
    out = g.copy()
    hits = 0
    for r0, c0, r1, c1 in boxes:
        region = g[r0:r1, c0:c1]
        hit = (region != bg) & (region != box_colour)
        out[r0:r1, c0:c1][hit] = colour
        hits += int(hit.sum())
    return out if hits else None


def pile_parts(parts: Sequence[Grid] | None, bg: int, from_bottom: bool) -> Grid | None:
    """Pile the rows that hold something of every part, in the parts' order, into one part-sized grid:
    from the bottom up (the first part's rows lowest, like blocks dropped into a box one part after the
    other) or from the top down. None when the parts differ in shape, hold nothing, or overflow."""
    if not parts or len(parts) < 2 or any(p.shape != parts[0].shape for p in parts):
        return None
    rows = [p[(p != bg).any(axis=1)] for p in parts]
    if from_bottom:
        rows = rows[::-1]
    pile = np.concatenate(rows, axis=0)
    h = parts[0].shape[0]
    if pile.shape[0] == 0 or pile.shape[0] > h:
        return None
    out = np.full_like(parts[0], bg)
    if from_bottom:
        out[h - pile.shape[0]:] = pile
    else:
        out[:pile.shape[0]] = pile
    return out


def seed_stripes(g: Grid) -> Grid | None:
    """Two seed cells become full lines across the grid's short side, repeated along its long side with the
    period the two seeds set (their distance twice), from the first seed on to the edge. The ARC pattern where
    two dots start a stripe sequence; None unless there are exactly two foreground cells on a non-square grid,
    at different positions along the long side."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    h, w = g.shape
    if len(ys) != 2 or h == w:
        return None
    along = xs if w > h else ys  # position along the long side
    order = np.argsort(along)
    p0, p1 = int(along[order[0]]), int(along[order[1]])
    if p0 == p1:
        return None
    c0, c1 = int(g[ys[order[0]], xs[order[0]]]), int(g[ys[order[1]], xs[order[1]]])
    out = np.full_like(g, bg)
    n = max(h, w)
    for k, p in enumerate(range(p0, n, p1 - p0)):
        c = c0 if k % 2 == 0 else c1
        if w > h:
            out[:, p] = c
        else:
            out[p, :] = c
    return out


def corner_halo(g: Grid, colour: int) -> Grid | None:
    """Paint the background cells diagonally next to a foreground cell (its four corners, not its sides):
    an X-shaped halo, the diagonal counterpart of an outline. None on an empty grid."""
    bg = background(g)
    fg = g != bg
    if not fg.any():
        return None
    near = np.zeros_like(fg)
    near[1:, 1:] |= fg[:-1, :-1]
    near[1:, :-1] |= fg[:-1, 1:]
    near[:-1, 1:] |= fg[1:, :-1]
    near[:-1, :-1] |= fg[1:, 1:]
    out = g.copy()
    out[near & ~fg] = colour
    return out


def key_to_cells(g: Grid, pick: str) -> Grid | None:
    """Blow one part of a lattice up to the whole lattice: the part chosen by `pick` (see pick_part) must
    have one cell per part of the lattice, and each part is painted the colour of its cell in the key (the
    background where the key's cell is empty); separators stay. For 'the odd cell is a map of the grid'."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, _ = found
    bg = background(g)
    parts = [g[r0:r1, c0:c1] for r0, r1 in row_parts for c0, c1 in col_parts]
    key = pick_part(parts, pick, bg)
    if key is None or key.shape != (len(row_parts), len(col_parts)):
        return None
    out = g.copy()
    for i, (r0, r1) in enumerate(row_parts):
        for j, (c0, c1) in enumerate(col_parts):
            out[r0:r1, c0:c1] = key[i, j]
    return out


def repeat_content(g: Grid, axes: str) -> Grid | None:
    """Repeat the content's bounding band over the whole grid, in phase with where it is: rows ('v'),
    columns ('h') or both ('hv'); a drawn strip that goes on up and down. None on an empty grid or
    when nothing changes."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    if not len(ys):
        return None
    out = g
    if "v" in axes:
        r0, r1 = int(ys.min()), int(ys.max()) + 1
        out = out[r0 + (np.arange(g.shape[0]) - r0) % (r1 - r0)]
    if "h" in axes:
        c0, c1 = int(xs.min()), int(xs.max()) + 1
        out = out[:, c0 + (np.arange(g.shape[1]) - c0) % (c1 - c0)]
    return None if np.array_equal(out, g) else np.ascontiguousarray(out)


def reverse_rings(g: Grid) -> Grid | None:
    """Swap the colours of concentric rings, outermost with innermost (a ring: the cells at one distance
    from the border). None unless every ring is one colour and there are at least two colours."""
    h, w = g.shape
    i, j = np.indices(g.shape)
    depth = np.minimum(np.minimum(i, j), np.minimum(h - 1 - i, w - 1 - j))
    n = int(depth.max()) + 1
    colours = []
    for k in range(n):
        ring = g[depth == k]
        if (ring != ring[0]).any():
            return None
        colours.append(ring[0])
    if len(set(colours)) < 2:
        return None
    return np.array(colours[::-1], np.uint8)[depth]


def complete_lines(g: Grid, axis: int) -> Grid | None:
    """Complete every partly drawn row (axis 0) or column (axis 1) to the pattern of the one full line,
    under the colour renaming its drawn cells give (template 1 4 1 1 4, drawn 2 3 . . . -> 2 3 2 2 3).
    None without exactly one full line, or when a line's cells do not rename the template's colours one
    to one, or leave one of them without a name."""
    a = g if axis == 0 else g.T
    bg = background(g)
    drawn = (a != bg).sum(axis=1)
    full = np.flatnonzero(drawn == a.shape[1])
    partial = np.flatnonzero((drawn > 0) & (drawn < a.shape[1]))
    if len(full) != 1 or not len(partial):
        return None
    template = a[full[0]]
    colours = set(template.tolist())
    out = a.copy()
    for i in partial:
        known = a[i] != bg
        rename: dict[int, int] = {}
        for t, c in zip(template[known].tolist(), a[i][known].tolist()):
            if rename.setdefault(t, c) != c:
                return None
        if rename.keys() != colours or len(set(rename.values())) != len(rename):
            return None
        out[i] = np.array([rename[t] for t in template.tolist()], np.uint8)
    return out if axis == 0 else np.ascontiguousarray(out.T)


def complete_cells(g: Grid, paint: str) -> Grid | None:
    """Make every part of a lattice show the first part's pattern: a cell of the pattern that is empty in
    another part is painted with the separator colour ('sep': the missing pieces stand out) or with the
    pattern's own colour there ('template'); what a part already has stays. None without a lattice of
    equal parts or with an empty first part."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, sep = found
    spans = [(r, c) for r in row_parts for c in col_parts]
    (r0, r1), (c0, c1) = spans[0]
    if any(b - a != r1 - r0 for a, b in row_parts) or any(b - a != c1 - c0 for a, b in col_parts):
        return None
    bg = background(g)
    first = g[r0:r1, c0:c1]
    pattern = (first != bg) & (first != sep)
    if not pattern.any():
        return None
    out = g.copy()
    for (a0, a1), (b0, b1) in spans[1:]:
        part = out[a0:a1, b0:b1]
        hole = pattern & (part == bg)
        part[hole] = sep if paint == "sep" else first[hole]
    return out


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


def on_cells(g: Grid, fn) -> Grid | None:
    """Run a pixel-level step on a lattice of one-colour parts as if each part were one pixel, and paint
    each part with the colour the step gives its pixel; separators stay. For pictures drawn in blocks
    between grid lines, where a rule (a stamp, a symmetry) acts on whole blocks. None without a lattice,
    with a part of several colours, or where the step is undefined or changes the shape."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, _ = found
    small = np.empty((len(row_parts), len(col_parts)), np.uint8)
    for i, (r0, r1) in enumerate(row_parts):
        for j, (c0, c1) in enumerate(col_parts):
            part = g[r0:r1, c0:c1]
            if (part != part[0, 0]).any():
                return None
            small[i, j] = part[0, 0]
    done = fn(small)
    if done is None or done.shape != small.shape:
        return None
    out = g.copy()
    for i, (r0, r1) in enumerate(row_parts):
        for j, (c0, c1) in enumerate(col_parts):
            out[r0:r1, c0:c1] = done[i, j]
    return out


def _largest_empty_rect(free):
    """The largest rectangle of True cells with both sides at least 2: its area, how many rectangles have
    that area, and the first one's (top, left, bottom, right), exclusive ends. Every pair of rows, then
    the runs of columns free on all of them: each maximal rectangle is seen once."""
    h, w = free.shape
    best, n_best = 0, 0
    rect = np.zeros(4, np.int64)
    col = np.empty(w, np.bool_)
    for top in range(h):
        col[:] = True
        for bot in range(top, h):
            for j in range(w):
                col[j] = col[j] and free[bot, j]
            if bot == top:
                continue
            j = 0
            while j < w:
                if not col[j]:
                    j += 1
                    continue
                k = j
                while k < w and col[k]:
                    k += 1
                area = (bot - top + 1) * (k - j) if k - j > 1 else 0
                if area > best:
                    best, n_best = area, 1
                    rect[0], rect[1], rect[2], rect[3] = top, j, bot + 1, k
                elif area == best and area > 0:
                    n_best += 1
                j = k
    return best, n_best, rect


def fill_largest_rect(g: Grid, colour: int) -> Grid | None:
    """Paint `colour` over the largest all-background rectangle (both sides at least 2, so a stray empty
    row does not win): 'mark the biggest empty space'. None when no such rectangle exists or two tie."""
    best, n_best, rect = _largest_empty_rect(np.ascontiguousarray(g == background(g)))
    if best == 0 or n_best != 1:
        return None
    out = g.copy()
    out[rect[0]:rect[2], rect[1]:rect[3]] = colour
    return out


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


def mirror_around_pivot(g: Grid) -> Grid | None:
    """Reflect every other foreground cell left-right, up-down and through the centre of the bounding box
    of the rarest foreground colour (the pivot): a quarter of a four-fold picture completed around its
    marked centre. None without a unique rarest colour and another one, when a reflection leaves the grid
    or lands on a cell of another foreground colour."""
    bg = background(g)
    counts = np.bincount(g.ravel(), minlength=10)
    counts[bg] = 0
    present = np.flatnonzero(counts)
    if len(present) < 2:
        return None
    least = counts[present].min()
    if (counts[present] == least).sum() != 1:
        return None
    pivot = int(present[np.argmin(counts[present])])
    ys, xs = np.nonzero(g == pivot)
    cy2, cx2 = ys.min() + ys.max(), xs.min() + xs.max()  # twice the centre: exact for even and odd boxes
    fy, fx = np.nonzero((g != bg) & (g != pivot))
    h, w = g.shape
    out = g.copy()
    src = g[fy, fx]
    for my, mx in ((cy2 - fy, fx), (fy, cx2 - fx), (cy2 - fy, cx2 - fx)):
        if my.min() < 0 or my.max() >= h or mx.min() < 0 or mx.max() >= w:
            return None
        there = out[my, mx]
        if ((there != bg) & (there != src)).any():
            return None
        out[my, mx] = src
    return out


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


def fill_largest_square(g: Grid, colour: int) -> Grid | None:
    """Paint `colour` over the square windows of background of the largest size the grid has (at least
    2x2), in reading order, skipping a window that overlaps one already painted: 'find the biggest empty
    square' in a noisy picture. None without a 2x2 empty window."""
    bg = background(g)
    if colour == bg:
        return None
    empty = (g == bg).astype(np.int32)
    h, w = g.shape
    s = np.zeros((h + 1, w + 1), np.int32)
    s[1:, 1:] = empty.cumsum(0).cumsum(1)
    best, where = 0, None
    for k in range(2, min(h, w) + 1):
        sums = s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]
        full = np.argwhere(sums == k * k)
        if not len(full):
            break
        best, where = k, full
    if where is None:
        return None
    out = g.copy()
    for y, x in where:  # argwhere is in reading order
        if (out[y:y + best, x:x + best] == bg).all():
            out[y:y + best, x:x + best] = colour
    return out


def key_paint(g: Grid) -> Grid | None:
    """A lattice with one full multicolour part (the key) and one one-colour part (the pattern) whose shape
    is a multiple of the key's, the other parts empty: the pattern, each cell painted the colour of the key
    cell its block maps to (the key blown up over the pattern). For 'the small key colours the picture'."""
    parts = split_by_separators(g)
    if parts is None:
        return None
    bg = background(g)
    sep = separator_lines(g)[2]
    full = [p for p in parts if (p != bg).any()]
    if len(full) != 2:
        return None
    keys = [p for p in full if (p != bg).all() and len(palette(p)) >= 2]
    pats = [p for p in full if len(palette(p) - {bg}) == 1 and (p == bg).any()]
    if len(keys) != 1 or len(pats) != 1:
        return None
    key, pat = keys[0], pats[0]
    (kh, kw), (ph, pw) = key.shape, pat.shape
    if ph % kh or pw % kw or sep in palette(pat):
        return None
    out = np.full_like(pat, bg)
    big = upscale(key, ph // kh, pw // kw)
    fg = pat != bg
    out[fg] = big[fg]
    return out



def _wall(g: Grid, bg: int) -> tuple[int, int, int] | None:
    """The one full row (axis 0) or column (axis 1) of a single foreground colour: (axis, index, colour)."""
    found = []
    for axis, a in ((0, g), (1, g.T)):
        for i in np.flatnonzero((a == a[:, :1]).all(axis=1) & (a[:, 0] != bg)):
            found.append((axis, int(i), int(a[i, 0])))
    return found[0] if len(found) == 1 else None


def wall_rays(g: Grid, colour: int, toward: bool) -> Grid | None:
    """Every cell of `colour` extends a line of its colour straight toward the grid's one wall (a full row
    or column of another colour; the line stops before the wall) or, with toward=False, away from it to the
    grid's edge; lines cross only background and stop at the first other cell. None without a single wall
    or without a cell of `colour` off it, or when nothing is drawn."""
    bg = background(g)
    wall = _wall(g, bg)
    if wall is None or wall[2] == colour:
        return None
    axis, k, _ = wall
    a = g if axis == 0 else g.T
    out = a.copy()
    ys, xs = np.nonzero(a == colour)
    if not len(ys):
        return None
    for y, x in zip(ys.tolist(), xs.tolist()):
        step = (1 if y < k else -1) * (1 if toward else -1)
        yy = y + step
        while 0 <= yy < a.shape[0] and a[yy, x] == bg:
            out[yy, x] = colour
            yy += step
    if np.array_equal(out, a):
        return None
    return out if axis == 0 else np.ascontiguousarray(out.T)


def elbow(g: Grid, paint: int, first: int) -> Grid | None:
    """Join the grid's only two foreground cells by an L of `paint`: along the row of the cell of colour
    `first` to the other's column, then down or up that column to it (the two cells keep their colours).
    None unless the grid has exactly two foreground cells, one of them `first`, in different rows and
    columns."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    if len(ys) != 2 or ys[0] == ys[1] or xs[0] == xs[1]:
        return None
    i = 0 if g[ys[0], xs[0]] == first else 1 if g[ys[1], xs[1]] == first else -1
    if i < 0 or g[ys[0], xs[0]] == g[ys[1], xs[1]]:
        return None
    (y0, x0), (y1, x1) = (int(ys[i]), int(xs[i])), (int(ys[1 - i]), int(xs[1 - i]))
    out = g.copy()
    lo, hi = sorted((x0, x1))
    out[y0, lo:hi + 1] = paint
    lo, hi = sorted((y0, y1))
    out[lo:hi + 1, x1] = paint
    out[y0, x0], out[y1, x1] = g[y0, x0], g[y1, x1]
    return out


def hole_lines(g: Grid) -> Grid | None:
    """In a picture of solid one-colour bands, every hole (a black cell inside a band's box) becomes a line
    of black across the band, along its shorter side. None unless the non-black colours' boxes hold only
    their colour and black, do not overlap, and some box has a hole."""
    out = g.copy()
    taken = np.zeros(g.shape, bool)
    holes = 0
    for c in np.flatnonzero(np.bincount(g.ravel(), minlength=10)[1:]) + 1:
        ys, xs = np.nonzero(g == c)
        r0, r1, c0, c1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        box = g[r0:r1, c0:c1]
        if taken[r0:r1, c0:c1].any() or not ((box == c) | (box == 0)).all():
            return None
        taken[r0:r1, c0:c1] = True
        hy, hx = np.nonzero(box == 0)
        holes += len(hy)
        if r1 - r0 <= c1 - c0:
            out[r0:r1, c0 + hx] = 0
        else:
            out[r0 + hy, c0:c1] = 0
    return out if holes else None


def opposite_corners(g: Grid) -> Grid | None:
    """A lone 2 x 2 block of four cells sends each cell's colour as a 2 x 2 square to the diagonally
    opposite corner outside the block (clipped at the grid's edge). None unless the foreground is exactly
    one full 2 x 2 block with no other foreground cell."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    if len(ys) != 4 or ys.max() - ys.min() != 1 or xs.max() - xs.min() != 1:
        return None
    y, x = int(ys.min()), int(xs.min())
    out = g.copy()
    for dy in (0, 1):
        for dx in (0, 1):
            ty, tx = y - 2 if dy else y + 2, x - 2 if dx else x + 2  # the corner across from (y+dy, x+dx)
            out[max(ty, 0):max(ty + 2, 0), max(tx, 0):max(tx + 2, 0)] = g[y + dy, x + dx]
    return out


def dashed_rays(g: Grid, colour: int, direction: str) -> Grid | None:
    """From every foreground cell, a dashed line to the grid's edge in `direction`: `colour`, then the cell's
    own colour, alternating, over background cells only. None when the grid is mostly foreground or
    nothing is drawn."""
    bg = background(g)
    if (g != bg).sum() * 2 > g.size:
        return None
    (dy, dx), = RAY_DIRECTIONS[direction]
    out = g.copy()
    for y, x in zip(*np.nonzero(g != bg)):
        own, k = g[y, x], 1
        yy, xx = y + dy, x + dx
        while 0 <= yy < g.shape[0] and 0 <= xx < g.shape[1] and g[yy, xx] == bg:
            out[yy, xx] = colour if k % 2 else own
            yy, xx, k = yy + dy, xx + dx, k + 1
    return None if np.array_equal(out, g) else out


def xor_lines(g: Grid, edge: str) -> Grid | None:
    """Every foreground cell on the top row ('top') or left column ('left') draws its colour along its
    whole column (row) through everything, except that cells already of its colour turn to background:
    lines that show as gaps where they cross their own colour. None without such a marker cell."""
    a = g if edge == "top" else g.T
    bg = background(g)
    cols = np.flatnonzero(a[0] != bg)
    if not len(cols) or len(cols) * 2 > a.shape[1]:
        return None
    out = a.copy()
    for x in cols:
        c = a[0, x]
        out[:, x] = np.where(a[:, x] == c, bg, c)
        out[0, x] = c
    return out if edge == "top" else np.ascontiguousarray(out.T)


def roll_alternate(g: Grid, axis: int, shift: int) -> Grid | None:
    """Roll every second drawn row (axis 0; the second, fourth, ... of the rows not all one colour) or
    column (axis 1) cyclically by `shift` cells. None with fewer than two drawn rows (columns)."""
    a = g if axis == 0 else g.T
    drawn = np.flatnonzero((a != a[:, :1]).any(axis=1))
    if len(drawn) < 2:
        return None
    out = a.copy()
    out[drawn[1::2]] = np.roll(a[drawn[1::2]], shift, axis=1)
    return out if axis == 0 else np.ascontiguousarray(out.T)


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


def gather_to_rarest(g: Grid) -> Grid | None:
    """The cells of the rarest colours are anchors; every other foreground cell in line with an anchor
    (same row or column) slides along that line until it touches the nearest one, as satellites gather
    round their centre; others stay. None with fewer than two colours, when nothing moves or when two
    cells land on one place."""
    bg = background(g)
    counts = np.bincount(g.ravel(), minlength=10)
    counts[bg] = 0
    if (counts > 0).sum() < 2:
        return None
    rare = counts == counts[counts > 0].min()
    anchors = [(int(y), int(x)) for y, x in zip(*np.nonzero(rare[g] & (g != bg)))]
    out = np.full_like(g, bg)
    for y, x in anchors:
        out[y, x] = g[y, x]
    moved = False
    for y, x in zip(*np.nonzero(~rare[g] & (g != bg))):
        y, x = int(y), int(x)
        near = [(abs(ay - y) + abs(ax - x), ay, ax) for ay, ax in anchors if ay == y or ax == x]
        ty, tx = y, x
        if near:
            d, ay, ax = min(near)
            if len([n for n in near if n[0] == d]) == 1 and d > 1:
                ty, tx = ay + np.sign(y - ay), ax + np.sign(x - ax)
                moved = True
        if out[ty, tx] != bg:
            return None
        out[ty, tx] = g[y, x]
    return out if moved else None


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


def recolour_by_edge_key(g: Grid, colour: int, edge: str) -> Grid | None:
    """Cells of `colour` take the colour of the key cell at the grid's `edge` (left/right: same row,
    top/bottom: same column) when that key is foreground."""
    bg = background(g)
    a = g if edge in ("left", "right") else g.T
    key = a[:, 0] if edge in ("left", "top") else a[:, -1]
    hit = (a == colour) & ((key != bg) & (key != colour))[:, None]
    if not hit.any():
        return None
    out = a.copy()
    out[hit] = np.broadcast_to(key[:, None], a.shape)[hit]
    return out if edge in ("left", "right") else np.ascontiguousarray(out.T)


def alternate_flood(g: Grid, passable: int) -> Grid | None:
    """Two adjacent seed cells of two rare colours flood the region of `passable` cells they touch
    (4-connected), painting it as a checkerboard of the two colours that continues the seeds' parity."""
    counts = np.bincount(g.ravel(), minlength=10)
    others = [c for c in np.argsort(counts, kind="stable") if counts[c] and c != passable]
    if len(others) < 3:
        return None
    a, b = int(others[0]), int(others[1])
    if counts[a] + counts[b] > 0.1 * g.size:
        return None
    yy, xx = np.indices(g.shape)
    par = (yy + xx) % 2
    pa, pb = np.unique(par[g == a]), np.unique(par[g == b])
    if len(pa) != 1 or len(pb) != 1 or pa[0] == pb[0]:
        return None
    seeds = (g == a) | (g == b)
    free = g == passable
    reach = seeds.copy()
    while True:
        grow = reach.copy()
        grow[1:] |= reach[:-1]
        grow[:-1] |= reach[1:]
        grow[:, 1:] |= reach[:, :-1]
        grow[:, :-1] |= reach[:, 1:]
        grow &= free | seeds
        if (grow == reach).all():
            break
        reach = grow
    out = g.copy()
    fill = reach & free
    out[fill & (par == pa[0])] = a
    out[fill & (par != pa[0])] = b
    return out


def header_rows(g: Grid) -> Grid | None:
    """A key row on top, a full separator row under it and an empty rest: the empty rows are painted whole,
    one per key cell in turn, repeating the key's colours downward."""
    h, w = g.shape
    if h < 4 or w < 2:
        return None
    key, sep, rest = g[0], g[1], g[2:]
    if (sep != sep[0]).any() or (key == sep[0]).any() or len(np.unique(rest)) != 1 or rest[0, 0] in key:
        return None
    out = g.copy()
    out[2:] = key[np.arange(h - 2) % w][:, None]
    return out


def copy_part_to_all(g: Grid) -> Grid | None:
    """A lattice of equal parts where exactly one part has content: that part is copied into every part."""
    bg = background(g)
    rows = np.flatnonzero((g == g[:, :1]).all(axis=1) & (g[:, 0] != bg))
    cols = np.flatnonzero((g == g[:1, :]).all(axis=0) & (g[0, :] != bg))
    seps = set(g[rows, 0].tolist()) | set(g[0, cols].tolist())
    if len(seps) != 1:
        return None
    sep = seps.pop()
    row_parts, col_parts = _parts_between(g.shape[0], rows.tolist()), _parts_between(g.shape[1], cols.tolist())
    if not row_parts or not col_parts:
        return None
    (r0, r1), (c0, c1) = row_parts[0], col_parts[0]
    if any(b - a != r1 - r0 for a, b in row_parts) or any(b - a != c1 - c0 for a, b in col_parts):
        return None
    spans = [(r, c) for r in row_parts for c in col_parts]
    if len(spans) < 2:
        return None
    full = [s for s in spans if ((g[s[0][0]:s[0][1], s[1][0]:s[1][1]] != bg)
                                 & (g[s[0][0]:s[0][1], s[1][0]:s[1][1]] != sep)).any()]
    if len(full) != 1:
        return None
    (a0, a1), (b0, b1) = full[0]
    src = g[a0:a1, b0:b1]
    out = g.copy()
    for (p0, p1), (q0, q1) in spans:
        out[p0:p1, q0:q1] = src
    return out


def lower_half_bars(g: Grid, colour: int) -> Grid | None:
    """In every vertical run of foreground cells, the lower half (rounded down) is recoloured `colour`."""
    bg = background(g)
    fg = g != bg
    if not fg.any() or fg.sum() * 2 > g.size:
        return None
    h = g.shape[0]
    below = np.zeros(g.shape, np.int64)  # run length from this cell down
    above = np.zeros(g.shape, np.int64)
    for y in range(h - 1, -1, -1):
        below[y] = fg[y] * (1 + (below[y + 1] if y + 1 < h else 0))
    for y in range(h):
        above[y] = fg[y] * (1 + (above[y - 1] if y > 0 else 0))
    n = above + below - 1
    out = g.copy()
    out[fg & (below <= n // 2)] = colour
    return out


def parity_recolour(g: Grid, colour: int, edge: str) -> Grid | None:
    """Foreground cells in every other column (or row) counting from `edge` (the one at the edge
    included) are recoloured `colour`."""
    bg = background(g)
    fg = g != bg
    if not fg.any():
        return None
    h, w = g.shape
    if edge in ("left", "right"):
        idx = np.arange(w) if edge == "left" else w - 1 - np.arange(w)
        sel = np.broadcast_to((idx % 2 == 0)[None, :], g.shape)
    else:
        idx = np.arange(h) if edge == "top" else h - 1 - np.arange(h)
        sel = np.broadcast_to((idx % 2 == 0)[:, None], g.shape)
    out = g.copy()
    out[fg & sel] = colour
    return out


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


# prim-g -------------------------------------------------------------------------------------------------


def midpoint_plus(g: Grid, colour: int) -> Grid | None:
    """Two lone cells of one colour in a row or a column mark a plus (a cell and its four neighbours) drawn
    midway between them. None unless every foreground cell is lone and some such pair has a midpoint."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    if not 2 <= len(ys) <= 20:
        return None
    fg = np.pad(g != bg, 1)
    h, w = g.shape
    for y, x in zip(ys, xs):
        if fg[y:y + 3, x:x + 3].sum() != 1:
            return None
    out = g.copy()
    found = False
    n = len(ys)
    for i in range(n):
        for j in range(i + 1, n):
            y0, x0, y1, x1 = int(ys[i]), int(xs[i]), int(ys[j]), int(xs[j])
            if g[y0, x0] != g[y1, x1] or (y0 != y1 and x0 != x1) or (y0 + y1) % 2 or (x0 + x1) % 2:
                continue
            cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
            for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
                yy, xx = cy + dy, cx + dx
                if 0 <= yy < h and 0 <= xx < w and g[yy, xx] == bg:
                    out[yy, xx] = colour
                    found = True
    return out if found else None


@numba.njit(cache=True)
def _rot_complete(ys, xs, cs, h, w, y0, x0, y1, x1):
    """Per doubled centre (cy2, cx2) over the content's box: -1 if the four quarter turns of the cells
    leave the grid or disagree on a cell, else how many cells they add. Returns the best centre and
    whether it is the only best one."""
    n = len(ys)
    best = 1 << 30
    by = -1
    bx = -1
    unique = False
    scratch = np.full((h, w), -1, np.int64)
    for cy2 in range(2 * y0, 2 * y1 - 1):
        for cx2 in range(2 * x0, 2 * x1 - 1):
            if (cy2 - cx2) % 2 != 0:
                continue
            scratch[:, :] = -1
            for k in range(n):
                scratch[ys[k], xs[k]] = cs[k]
            added = 0
            ok = True
            for k in range(n):
                y = 2 * ys[k] - cy2
                x = 2 * xs[k] - cx2
                for _ in range(3):
                    y, x = x, -y
                    yy = (cy2 + y) // 2
                    xx = (cx2 + x) // 2
                    if yy < 0 or yy >= h or xx < 0 or xx >= w:
                        ok = False
                        break
                    v = scratch[yy, xx]
                    if v < 0:
                        scratch[yy, xx] = cs[k]
                        added += 1
                    elif v != cs[k]:
                        ok = False
                        break
                if not ok:
                    break
            if ok and added > 0:
                if added < best:
                    best = added
                    by = cy2
                    bx = cx2
                    unique = True
                elif added == best:
                    unique = False
    return by, bx, unique


def complete_rot90(g: Grid) -> Grid | None:
    """The foreground completed to a picture unchanged by quarter turns about the centre that needs the
    fewest added cells (an unambiguous one, the turns agreeing on every cell and staying in the grid)."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    if not 2 <= len(ys) <= 80:
        return None
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    cs = g[ys, xs].astype(np.int64)
    cy2, cx2, unique = _rot_complete(ys.astype(np.int64), xs.astype(np.int64), cs, g.shape[0], g.shape[1],
                                     y0, x0, y1, x1)
    if cy2 < 0 or not unique:
        return None
    out = g.copy()
    y, x = 2 * ys - cy2, 2 * xs - cx2
    for _ in range(3):
        y, x = x, -y
        out[(cy2 + y) // 2, (cx2 + x) // 2] = g[ys, xs]
    return out


def _equal_parts(g: Grid):
    """The lattice's parts as one (n_parts, h, w) array with their spans and the separator colour, when all
    parts have one size; else None."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, sep = found
    hs = {b - a for a, b in row_parts}
    ws = {b - a for a, b in col_parts}
    if len(hs) != 1 or len(ws) != 1:
        return None
    spans = [(r, c) for r in row_parts for c in col_parts]
    parts = np.stack([g[r0:r1, c0:c1] for (r0, r1), (c0, c1) in spans])
    return parts, spans, sep


def lattice_defects(g: Grid, colour: int) -> Grid | None:
    """Parts of a lattice that are copies of one tile, a few with cells changed: the tile (each cell's most
    common value over the parts) with every cell that some part changes painted `colour`."""
    found = _equal_parts(g)
    if found is None:
        return None
    parts, _, _ = found
    n = len(parts)
    if n < 3:
        return None
    counts = (parts[None] == np.arange(10, dtype=np.uint8)[:, None, None, None]).sum(axis=1)
    tile = counts.argmax(axis=0).astype(np.uint8)
    if (counts.max(axis=0) * 2 <= n).any():
        return None  # no clear majority: not copies of one tile
    changed = (parts != tile[None]).any(axis=0)
    if not changed.any():
        return None
    out = tile.copy()
    out[changed] = colour
    return out


def template_to_marked(g: Grid) -> Grid | None:
    """A lattice of plain parts (one colour), one template part (the plain colour and others) and marked
    parts (plain ones with holes of the separator or background colour): each marked part becomes a copy
    of the template."""
    found = _equal_parts(g)
    if found is None:
        return None
    parts, spans, sep = found
    bg = background(g)
    plain = np.bincount(parts[:, 0, 0]).argmax()
    holes = (parts == sep) | ((parts == bg) & (bg != plain))
    solid = ((parts == plain) | holes).all(axis=(1, 2))
    marked = solid & holes.any(axis=(1, 2)) & (parts == plain).any(axis=(1, 2))
    others = np.flatnonzero(~solid)
    if not marked.any() or len(others) == 0:
        return None
    template = parts[others[0]]
    if any(not np.array_equal(parts[k], template) for k in others[1:]):
        return None
    out = g.copy()
    for k in np.flatnonzero(marked):
        (r0, r1), (c0, c1) = spans[k]
        out[r0:r1, c0:c1] = template
    return out


def zigzag(g: Grid) -> Grid | None:
    """A lone cell on the top or bottom row climbs (or falls) diagonally across the grid one row a step,
    bouncing between the side walls, starting away from the nearer one. None unless the grid holds just
    that one cell, off the middle column, in a grid at least 2 wide."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    h, w = g.shape
    if len(ys) != 1 or w < 2 or h < 2:
        return None
    y, x = int(ys[0]), int(xs[0])
    if y not in (0, h - 1) or 2 * x == w - 1:
        return None
    dy = 1 if y == 0 else -1
    dx = 1 if 2 * x < w - 1 else -1
    out = g.copy()
    colour = g[y, x]
    for _ in range(h - 1):
        if not 0 <= x + dx < w:
            dx = -dx
        y, x = y + dy, x + dx
        out[y, x] = colour
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


# prim-h: a lone cell grown to its nearest corner, dashed lines completed, a spiral drawn on an empty grid,
# a hollow box filled with the loose shape's colour.
def grow_to_corner(g: Grid) -> Grid | None:
    """The one non-background cell grows into the rectangle between it and the nearest grid corner
    (Manhattan distance; a tie is not applicable)."""
    bg = background(g)
    ys, xs = np.nonzero(g != bg)
    if len(ys) != 1:
        return None
    h, w = g.shape
    y, x = int(ys[0]), int(xs[0])
    dist = {(cy, cx): abs(y - cy) + abs(x - cx) for cy in (0, h - 1) for cx in (0, w - 1)}
    best = min(dist.values())
    near = [k for k, v in dist.items() if v == best]
    if len(near) != 1:
        return None
    cy, cx = near[0]
    out = g.copy()
    out[min(y, cy):max(y, cy) + 1, min(x, cx):max(x, cx) + 1] = g[y, x]
    return out


def complete_dashed(g: Grid, colour: int) -> Grid | None:
    """Rows and columns of the content's box that are at least half covered are dashed lines: their gaps
    across the whole box are painted `colour` (a dashed frame and its cross walls made solid)."""
    bg = background(g)
    fg = g != bg
    if colour == bg or not fg.any():
        return None
    ys, xs = np.nonzero(fg)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if y1 - y0 < 3 or x1 - x0 < 3:
        return None
    box = fg[y0:y1, x0:x1]
    rows = box.sum(1) * 2 >= box.shape[1]
    cols = box.sum(0) * 2 >= box.shape[0]
    fill = np.zeros_like(box)
    fill[rows] = True
    fill[:, cols] = True
    fill &= ~box
    if not fill.any():
        return None
    out = g.copy()
    out[y0:y1, x0:x1][fill] = colour
    return out


def spiral(g: Grid, colour: int) -> Grid | None:
    """An empty grid gets a clockwise spiral of `colour` from its top-left corner, one cell between turns."""
    h, w = g.shape
    if (g != g[0, 0]).any() or colour == g[0, 0] or h < 3 or w < 3:
        return None
    on = np.zeros((h, w), bool)
    dirs = ((0, 1), (1, 0), (0, -1), (-1, 0))
    y = x = k = 0
    on[0, 0] = True
    turns = 0

    def free(a, b):
        return 0 <= a < h and 0 <= b < w and not on[a, b]

    while turns < 2:
        dy, dx = dirs[k]
        ny, nx = y + dy, x + dx
        if free(ny, nx) and (not (0 <= ny + dy < h and 0 <= nx + dx < w) or not on[ny + dy, nx + dx]):
            y, x = ny, nx
            on[y, x] = True
            turns = 0
        else:
            k = (k + 1) % 4
            turns += 1
    out = g.copy()
    out[on] = colour
    return out


def fill_with_loose(g: Grid) -> Grid | None:
    """The one rectangular hole (background enclosed by a shape) takes the one loose shape (a colour whose
    cells touch no hole cell), stretched to the hole's size by repeating its middle row and column (of a
    two-line shape, the cells on in both lines); the loose shape is cleared."""
    bg = background(g)
    hole = (g == bg) & ~outside_mask(g == bg)
    if not hole.any():
        return None
    hy, hx = np.nonzero(hole)
    y0, x0 = hy.min(), hx.min()
    H, W = hy.max() + 1 - y0, hx.max() + 1 - x0
    if len(hy) != H * W:
        return None
    near = np.zeros_like(hole)
    near[1:] |= hole[:-1]
    near[:-1] |= hole[1:]
    near[:, 1:] |= hole[:, :-1]
    near[:, :-1] |= hole[:, 1:]
    walls = set(np.unique(g[near & (g != bg)]).tolist())
    loose = set(np.unique(g[g != bg]).tolist()) - walls
    if len(loose) != 1:
        return None
    c = loose.pop()
    ly, lx = np.nonzero(g == c)
    shape = g[ly.min():ly.max() + 1, lx.min():lx.max() + 1] == c
    sh, sw = shape.shape
    if sh > H or sw > W:
        return None

    if sh == 2:  # a stroke runs through the stretched middle only where it joins both edges
        shape = np.stack([shape[0], shape[0] & shape[1], shape[1]])
    if sw == 2:
        shape = np.stack([shape[:, 0], shape[:, 0] & shape[:, 1], shape[:, 1]], 1)

    def index(n, m):
        return np.zeros(n, int) if m == 1 else \
            np.array([0 if i == 0 else m - 1 if i == n - 1 else (m - 1) // 2 for i in range(n)])

    big = shape if shape.shape == (H, W) else shape[index(H, shape.shape[0])][:, index(W, shape.shape[1])]
    out = g.copy()
    out[g == c] = bg
    out[y0:y0 + H, x0:x0 + W][big] = c
    return out


def pile_pyramid(g: Grid) -> Grid | None:
    """The cells scattered down each column (n * n of them) fall into a pyramid of rows 1, 3, 5, ... cells
    wide standing on the bottom edge, centred on their column; its cells take the colours in order from
    the top."""
    bg = background(g)
    h, w = g.shape
    fg = g != bg
    cols = np.flatnonzero(fg.any(0))
    if len(cols) == 0 or len(cols) > 4:
        return None
    out = np.full_like(g, bg)
    for x in cols.tolist():
        colours = g[fg[:, x], x]
        n = int(round(len(colours) ** 0.5))
        if n < 2 or n * n != len(colours) or n > h or x - n + 1 < 0 or x + n > w:
            return None
        i = 0
        for r in range(n):
            out[h - n + r, x - r:x + r + 1] = colours[i:i + 2 * r + 1]
            i += 2 * r + 1
    return out


_MARKER_EDGE_SETS = (("top", "left"), ("top", "right"), ("bottom", "left"), ("bottom", "right"),
                     ("left",), ("top",), ("right",), ("bottom",))


def roll_by_marker(g: Grid) -> Grid | None:
    """Edge lines of one colour with one marker cell (colours found nowhere else in the grid) are cut off,
    and the rest is rolled cyclically along each such line by the marker's position: a marker column rolls
    the rows down, a marker row rolls the columns right (a corner shared by two such lines is ignored).
    None when no edge line (or pair of edge lines meeting at a corner) is like that."""
    h, w = g.shape
    if h < 3 or w < 3:
        return None
    for edges in _MARKER_EDGE_SETS:
        y0 = 1 if "top" in edges else 0
        y1 = h - 1 if "bottom" in edges else h
        x0 = 1 if "left" in edges else 0
        x1 = w - 1 if "right" in edges else w
        rest = g[y0:y1, x0:x1]
        rest_cols = np.zeros(10, bool)
        rest_cols[rest.ravel()] = True
        shifts = []
        for e in edges:
            line = {"top": g[0, x0:x1], "bottom": g[-1, x0:x1], "left": g[y0:y1, 0], "right": g[y0:y1, -1]}[e]
            full = {"top": g[0], "bottom": g[-1], "left": g[:, 0], "right": g[:, -1]}[e]
            if rest_cols[full].any():
                break
            counts = np.bincount(line, minlength=10)
            if len(line) < 3 or np.count_nonzero(counts) != 2 or counts.max() != len(line) - 1:
                break
            odd = np.flatnonzero(line != int(np.argmax(counts)))
            shifts.append((0 if e in ("left", "right") else 1, int(odd[0])))
        else:
            out = rest
            for axis, s in shifts:
                out = np.roll(out, s, axis=axis)
            return np.ascontiguousarray(out)
    return None


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


def place_marked_cell(g: Grid, colour: int) -> Grid | None:
    """A lattice of n x m parts, each part n x m cells: the part holding the grid's one cell of `colour`
    is copied to the part at that cell's position inside it, every other part cleared to the background.
    None without such a lattice or unless exactly one cell has the colour."""
    found = lattice(g)
    if found is None:
        return None
    row_parts, col_parts, sep = found
    n, m = len(row_parts), len(col_parts)
    if n * m < 4 or any(r1 - r0 != n for r0, r1 in row_parts) or any(c1 - c0 != m for c0, c1 in col_parts):
        return None
    ys, xs = np.nonzero(g == colour)
    if len(ys) != 1 or colour == sep:
        return None
    y, x = int(ys[0]), int(xs[0])
    i = next(k for k, (r0, r1) in enumerate(row_parts) if r0 <= y < r1)
    j = next(k for k, (c0, c1) in enumerate(col_parts) if c0 <= x < c1)
    part = g[row_parts[i][0]:row_parts[i][1], col_parts[j][0]:col_parts[j][1]].copy()
    bg = background(g)
    out = g.copy()
    for r0, r1 in row_parts:
        for c0, c1 in col_parts:
            out[r0:r1, c0:c1] = bg
    ti, tj = y - row_parts[i][0], x - col_parts[j][0]
    out[row_parts[ti][0]:row_parts[ti][1], col_parts[tj][0]:col_parts[tj][1]] = part
    return out


def diagonal_tails(g: Grid) -> Grid | None:
    """A cell touching the rest of its shape only by one corner is a tail: it extends as a diagonal line
    of its colour away from that corner, over background cells, to the edge. None without such a cell."""
    bg = background(g)
    fg = g != bg
    h, w = g.shape
    p = np.pad(fg, 1)
    orth = p[:-2, 1:-1].astype(np.int8) + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
    diag = {(dy, dx): p[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx] for dy in (-1, 1) for dx in (-1, 1)}
    ndiag = sum(d.astype(np.int8) for d in diag.values())
    tails = fg & (orth == 0) & (ndiag == 1)
    if not tails.any():
        return None
    out = g.copy()
    for y, x in np.argwhere(tails):
        dy, dx = next((-a, -b) for (a, b), d in diag.items() if d[y, x])
        yy, xx = y + dy, x + dx
        while 0 <= yy < h and 0 <= xx < w and g[yy, xx] == bg:
            out[yy, xx] = g[y, x]
            yy, xx = yy + dy, xx + dx
    return out
