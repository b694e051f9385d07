"""More general ops as numba kernels, for the deep search (deep.py): lines and rays, colour roles, pattern
completion, lattice cells. kernels.py dispatches every kind code from FIRST up here; the conventions are
kernels.py's (an op is (kind, a, b); `apply` writes the result into the top-left corner of a MAX_SIDE x
MAX_SIDE buffer and returns its (height, width), or (-1, -1) where the Python op gives None). Each kernel
repeats its primitive's loops in the same order (solver/dsl/prims/drawing.py, colours.py, completion.py,
lattices.py), so that cells painted twice end in the same colour; tests/test_dsl_kernels.py checks every
kernel against the op of the same name.

Not here (no kernel yet): denoise_minority, cells_to_counts, the scene ops.
"""
from __future__ import annotations

import numba
import numpy as np

from .prims.basics import _background
from .prims.completion import _best_mirror_axis, _first_period, _denoise as _denoise_rounds  # (numba: called as they are)

# kind codes (kernels.py's run below FIRST)
FIRST = 40
RAYS, CONNECT, CLEAR_LINES = 40, 41, 42
COLOUR_OF, UNIFORM, LINE_MAJORITY = 43, 44, 45
SYMMETRIZE, HIDDEN_SYMMETRY, PERIODIC, HIDDEN_PERIOD, DENOISE, SYMMETRIZE_OFFSET = 46, 47, 48, 49, 50, 51
CELLS_TO_PIXELS, FILL_CELLS = 52, 53
OUTLINE, INTERIOR = 54, 55

# The 8 steps in drawing.RAY_DIRECTIONS' order: each ray direction is a range of them (a, b).
_DY = np.array([0, 0, 1, -1, 1, 1, -1, -1], np.int64)
_DX = np.array([1, -1, 0, 0, 1, -1, 1, -1], np.int64)
RAY_RANGES = {"right": (0, 1), "left": (1, 2), "down": (2, 3), "up": (3, 4), "horizontal": (0, 2),
              "vertical": (2, 4), "cross": (0, 4), "diagonal": (4, 8), "star": (0, 8)}
AXES = ("hv", "h", "v", "d")
COLOUR_PICKS = ("majority_colour", "minority_colour", "most_common_colour")
SYMMETRIES = ("lr", "ud", "rot180", "transpose", "rot90", "lr_ud")  # completion.SYMMETRIES

FAMILIES = frozenset({"rays", "connect", "fill_clear_lines", "uniform_colour", "uniform_minority",
                      "column_majority", "row_majority", "symmetrize", "hidden_by_symmetry", "periodic_fill",
                      "hidden_by_period", "denoise", "symmetrize_offset", "cells_to_pixels", "fill_cells",
                      "outline", "outline4", "interior", *COLOUR_PICKS})


def kernel_for(fam: str, args: list[str]) -> tuple[int, int, int] | None:
    """The kernel of family `fam` with parameters `args`, or None; raises ValueError/IndexError (kernels.py
    catches them) on a parameter no kernel takes."""
    if fam == "rays" and len(args) == 1:
        return (RAYS, *RAY_RANGES[args[0]]) if args[0] in RAY_RANGES else None
    if fam == "connect" and len(args) <= 2:
        return CONNECT, AXES.index(args[0]), int(args[1]) if len(args) == 2 else -1
    if fam in ("fill_clear_lines", "denoise", "hidden_by_period") and len(args) == 1:
        kind = {"fill_clear_lines": CLEAR_LINES, "denoise": DENOISE, "hidden_by_period": HIDDEN_PERIOD}[fam]
        return kind, int(args[0]), 0
    if fam in ("symmetrize", "hidden_by_symmetry") and len(args) == 2:
        return (SYMMETRIZE if fam == "symmetrize" else HIDDEN_SYMMETRY), SYMMETRIES.index(args[0]), int(args[1])
    if fam == "symmetrize_offset" and len(args) == 2:
        return SYMMETRIZE_OFFSET, ("lr", "ud").index(args[0]), int(args[1])
    if fam == "periodic_fill" and len(args) == 2:
        return PERIODIC, int(args[0]), int(args[1])
    if fam in ("outline", "outline4") and len(args) == 1:
        return OUTLINE, int(args[0]), int(fam == "outline")
    if fam == "interior" and len(args) == 1:
        return INTERIOR, int(args[0]), 0
    if args:
        return None
    if fam in COLOUR_PICKS:
        return COLOUR_OF, COLOUR_PICKS.index(fam), 0
    simple = {"uniform_colour": (UNIFORM, 0), "uniform_minority": (UNIFORM, 1), "column_majority":
              (LINE_MAJORITY, 0), "row_majority": (LINE_MAJORITY, 1), "cells_to_pixels": (CELLS_TO_PIXELS, 0),
              "fill_cells": (FILL_CELLS, 0)}
    if fam in simple:
        return simple[fam][0], simple[fam][1], 0
    return None


@numba.njit(cache=True)
def _copy(src, dst):
    h, w = src.shape
    for i in range(h):
        for j in range(w):
            dst[i, j] = src[i, j]
    return h, w


# ---- lines (drawing.rays, connect_pairs, fill_clear_lines)

@numba.njit(cache=True)
def _rays(lo, hi, bg, src, dst):
    """Steps lo..hi-1 from every foreground cell over background, stopping at foreground; None when over
    half the grid is foreground."""
    h, w = _copy(src, dst)
    n = 0
    for i in range(h):
        for j in range(w):
            n += src[i, j] != bg
    if n * 2 > h * w:
        return -1, -1
    for y in range(h):
        for x in range(w):
            c = src[y, x]
            if c == bg:
                continue
            for d in range(lo, hi):
                dy, dx = _DY[d], _DX[d]
                yy, xx = y + dy, x + dx
                while 0 <= yy < h and 0 <= xx < w and src[yy, xx] == bg:
                    dst[yy, xx] = c
                    yy += dy
                    xx += dx
    return h, w


@numba.njit(cache=True)
def _connect_line(src, bg, scenery, y0, x0, dy, dx, paint, first, last, dst):
    """One line of connect_pairs: the background between the first and last cell of each colour (bar the
    background and the scenery colours, which connect_pairs hides) painted, colour by colour."""
    h, w = src.shape
    first[:] = -1
    last[:] = -1
    y, x, n = y0, x0, 0
    while 0 <= y < h and 0 <= x < w:
        c = src[y, x]
        if first[c] < 0:
            first[c] = n
        last[c] = n
        y += dy
        x += dx
        n += 1
    for c in range(10):
        if c == bg or scenery[c] or first[c] < 0:
            continue
        for k in range(first[c] + 1, last[c]):
            yy, xx = y0 + k * dy, x0 + k * dx
            if src[yy, xx] == bg:  # (connect_pairs paints hidden scenery too, then puts it back)
                dst[yy, xx] = c if paint < 0 else paint


@numba.njit(cache=True)
def _put(lines, n, y0, x0, dy, dx):
    """Line n is (y0, x0, dy, dx); the next free index. (Scalar stores: a tuple stored into a row costs
    numba seconds of compiling.)"""
    lines[n, 0], lines[n, 1], lines[n, 2], lines[n, 3] = y0, x0, dy, dx
    return n + 1


@numba.njit(cache=True)
def _connect(axes, paint, bg, src, dst):
    """connect_pairs over AXES[axes], its lines in _lines' order: rows, columns, then the diagonals."""
    h, w = _copy(src, dst)
    counts = np.zeros(10, np.int64)
    for i in range(h):
        for j in range(w):
            counts[src[i, j]] += 1
    scenery = np.zeros(10, np.bool_)
    for c in range(10):
        scenery[c] = c != bg and counts[c] > 2 * max(h, w)
    lines = np.empty((2 * (h + w), 4), np.int64)  # (y0, x0, dy, dx), as drawing._lines lists them
    n = 0
    if axes <= 1:
        for y in range(h):
            n = _put(lines, n, y, 0, 0, 1)
    if axes == 0 or axes == 2:
        for x in range(w):
            n = _put(lines, n, 0, x, 1, 0)
    if axes == 3:
        for x in range(w):
            n = _put(lines, n, 0, x, 1, 1)
        for y in range(1, h):
            n = _put(lines, n, y, 0, 1, 1)
        for x in range(w):
            n = _put(lines, n, 0, x, 1, -1)
        for y in range(1, h):
            n = _put(lines, n, y, w - 1, 1, -1)
    first = np.empty(10, np.int64)
    last = np.empty(10, np.int64)
    for k in range(n):  # (one call site: numba compiles the line loop once, not once per kind of line)
        _connect_line(src, bg, scenery, lines[k, 0], lines[k, 1], lines[k, 2], lines[k, 3], paint, first, last, dst)
    return h, w


@numba.njit(cache=True)
def _clear_lines(colour, bg, src, dst):
    """Rows and columns background but for their end cells painted; None when there is none."""
    h, w = src.shape
    if h < 3 or w < 3:
        return -1, -1
    rows = np.ones(h, np.bool_)
    cols = np.ones(w, np.bool_)
    for i in range(h):
        for j in range(w):
            if src[i, j] != bg:
                if 0 < j < w - 1:
                    rows[i] = False
                if 0 < i < h - 1:
                    cols[j] = False
    if not rows.any() and not cols.any():
        return -1, -1
    for i in range(h):
        for j in range(w):
            v = src[i, j]
            dst[i, j] = colour if v == bg and (rows[i] or cols[j]) else v
    return h, w


# ---- colour roles (colours.majority_colour_grid, minority_colour_grid, uniform_colour, line_majority)

@numba.njit(cache=True)
def _colour_of(pick, bg, src):
    """COLOUR_PICKS[pick]'s colour (the smallest on ties), or -1 when there is none."""
    h, w = src.shape
    counts = np.zeros(10, np.int64)
    for i in range(h):
        for j in range(w):
            counts[src[i, j]] += 1
    if pick != 2:
        counts[bg] = 0
    best = -1
    for c in range(10):
        if counts[c] > 0 and (best < 0 or (counts[c] < counts[best] if pick == 1 else counts[c] > counts[best])):
            best = c
    return best


@numba.njit(cache=True)
def _colours(kind, a, bg, src, dst):
    h, w = src.shape
    if kind == COLOUR_OF:
        c = _colour_of(a, bg, src)
        if c < 0:
            return -1, -1
        dst[0, 0] = c
        return 1, 1
    if kind == UNIFORM:
        c = _colour_of(a, bg, src)
        if c < 0:
            return -1, -1
        for i in range(h):
            for j in range(w):
                dst[i, j] = c if src[i, j] != bg else src[i, j]
        return h, w
    # LINE_MAJORITY: each column's most common colour as a row (a = 0), each row's as a column (a = 1)
    n, m = (w, h) if a == 0 else (h, w)
    counts = np.zeros(10, np.int64)
    for k in range(n):
        counts[:] = 0
        for t in range(m):
            counts[src[t, k] if a == 0 else src[k, t]] += 1
        best = 0
        for c in range(10):
            if counts[c] > counts[best]:
                best = c
        if a == 0:
            dst[0, k] = best
        else:
            dst[k, 0] = best
    return (1, w) if a == 0 else (h, 1)


# ---- completion (completion.symmetrize, hidden_part, periodic_fill, denoise, symmetrize_offset)

@numba.njit(cache=True)
def _image(s, t, src, i, j):
    """Cell (i, j) of image t of symmetry SYMMETRIES[s] (completion._reflections)."""
    h, w = src.shape
    if s == 0 or s == 5 and t == 0:
        return src[i, w - 1 - j]
    if s == 1 or s == 5 and t == 1:
        return src[h - 1 - i, j]
    if s == 2 or s == 5 or s == 4 and t == 1:
        return src[h - 1 - i, w - 1 - j]
    if s == 3:
        return src[j, i]
    if t == 0:  # rot90's three images on a square grid
        return src[j, h - 1 - i]
    return src[h - 1 - j, i]


@numba.njit(cache=True)
def _symmetrize(s, u, src, dst):
    """Cells of colour u filled from each image in turn; None when a known pair disagrees."""
    h, w = src.shape
    if (s == 3 or s == 4) and h != w:
        return -1, -1
    _copy(src, dst)
    for t in range(3 if s >= 4 else 1):
        for i in range(h):
            for j in range(w):
                v, m = dst[i, j], _image(s, t, src, i, j)
                if v != u and m != u and v != m:
                    return -1, -1
        for i in range(h):
            for j in range(w):
                m = _image(s, t, src, i, j)
                if dst[i, j] == u and m != u:
                    dst[i, j] = m
    return h, w


@numba.njit(cache=True)
def _hidden(u, src, h, w, dst):
    """completion.hidden_part: the box of colour u in src cut from the filled grid in dst's corner."""
    if h < 0:
        return -1, -1
    r0, c0, r1, c1 = h, w, -1, -1
    for i in range(h):
        for j in range(w):
            if src[i, j] == u:
                r0, r1 = min(r0, i), max(r1, i)
                c0, c1 = min(c0, j), max(c1, j)
    if r1 < 0:
        return -1, -1
    for i in range(r0, r1 + 1):
        for j in range(c0, c1 + 1):
            if dst[i, j] == u:
                return -1, -1
    for i in range(r1 + 1 - r0):  # moved to the corner in place: each source cell lies after its target
        for j in range(c1 + 1 - c0):
            dst[i, j] = dst[r0 + i, c0 + j]
    return r1 + 1 - r0, c1 + 1 - c0


@numba.njit(cache=True)
def _periodic(u, kind, src, dst):
    """Cells of colour u filled from the first period (smallest area, then fewest rows: completion._periods)
    every known cell agrees with (completion._first_period's kinds); None when no cell is known or no
    period fits."""
    h, w = _copy(src, dst)
    unknown = 0
    for i in range(h):
        for j in range(w):
            unknown += src[i, j] == u
    if unknown == 0:
        return h, w
    if unknown == h * w:
        return -1, -1
    periods = np.empty((h * w, 2), np.int64)  # completion._periods' order: area, then rows; py <= h, px <= w
    n = 0
    for area in range(1, h * w + 1):
        if area * 2 > h * w + max(h, w) or area > h * w - unknown:
            break  # (a motif larger than the known cells cannot be complete: no later period fits either)
        for py in range(1, min(h, area) + 1):
            px = area // py
            if area % py == 0 and px <= w and not (py == h and px == w):
                periods[n, 0], periods[n, 1] = py, px
                n += 1
    k, motif = _first_period(src, np.uint8(u), periods[:n], kind)
    if k >= 0:
        py, px = periods[k, 0], periods[k, 1]
        for i in range(h):
            for j in range(w):
                if src[i, j] == u:
                    jj = j if kind == 0 else (j - i if kind == 1 else j + i)
                    dst[i, j] = motif[(i % py) * px + jj % px]
        return h, w
    return -1, -1  # no period fits (a 1x1 grid, whose only period is itself, was answered above)


@numba.njit(cache=True)
def _denoise(noise, src, dst):
    """completion._denoise's result in dst; None when a round changes nothing and noise is left."""
    out, ok = _denoise_rounds(src, noise)
    return _copy(out, dst) if ok else (-1, -1)


@numba.njit(cache=True)
def _symmetrize_offset(s, u, src, dst):
    """completion.symmetrize_offset: mirrored about the best column axis (s = 0) or row axis (s = 1)."""
    h, w = _copy(src, dst)
    found = False
    for i in range(h):
        for j in range(w):
            found = found or src[i, j] == u
    if not found:
        return h, w
    g = src.copy() if s == 0 else np.ascontiguousarray(src.T)
    gh, gw = g.shape
    best = _best_mirror_axis(g, u)  # column j <-> best - j
    if best < 0:
        return -1, -1
    lo, hi = max(0, best - (gw - 1)), min(gw - 1, best)
    for i in range(gh):
        for j in range(lo, hi + 1):
            m = g[i, best - j]
            if g[i, j] == u and m != u:
                if s == 0:
                    dst[i, j] = m
                else:
                    dst[j, i] = m
    return h, w


# ---- lattice cells (lattices.separator_lines, cells_to_pixels, fill_cells)

@numba.njit(cache=True)
def _runs(cut, starts, ends):
    """The spans between cut lines (lattices._parts_between): their count, spans in starts/ends."""
    n = 0
    for i in range(cut.shape[0]):
        if not cut[i] and (i == 0 or cut[i - 1]):
            starts[n] = i
            n += 1
        if not cut[i] and (i == cut.shape[0] - 1 or cut[i + 1]):
            ends[n - 1] = i + 1
    return n


@numba.njit(cache=True)
def _cells(kind, bg, src, dst):
    """One pixel per lattice cell (CELLS_TO_PIXELS) or each cell painted (FILL_CELLS) in the cell's most
    common colour but the background and the separators'; None without separator lines."""
    h, w = src.shape
    full_r = np.zeros(h, np.bool_)
    full_c = np.zeros(w, np.bool_)
    for i in range(h):
        full_r[i] = True
        for j in range(w):
            if src[i, j] != src[i, 0]:
                full_r[i] = False
                break
    for j in range(w):
        full_c[j] = True
        for i in range(h):
            if src[i, j] != src[0, j]:
                full_c[j] = False
                break
    cut_r = np.zeros(h, np.bool_)
    cut_c = np.zeros(w, np.bool_)
    rs, re = np.empty(h, np.int64), np.empty(h, np.int64)
    cs, ce = np.empty(w, np.int64), np.empty(w, np.int64)
    sep, nr, nc = -1, 0, 0
    for colour in range(10):  # separator_lines: the first colour (smallest) whose lines split the grid
        nrow, ncol = 0, 0
        for i in range(h):
            cut_r[i] = full_r[i] and src[i, 0] == colour
            nrow += cut_r[i]
        for j in range(w):
            cut_c[j] = full_c[j] and src[0, j] == colour
            ncol += cut_c[j]
        if nrow + ncol == 0 or nrow == h or ncol == w:
            continue
        nr, nc = _runs(cut_r, rs, re), _runs(cut_c, cs, ce)
        if nr * nc >= 2:
            sep = colour
            break
    if sep < 0:
        return -1, -1
    if kind == FILL_CELLS:
        _copy(src, dst)
    counts = np.zeros(10, np.int64)
    for p in range(nr):
        for q in range(nc):
            counts[:] = 0
            for i in range(rs[p], re[p]):
                for j in range(cs[q], ce[q]):
                    counts[src[i, j]] += 1
            counts[bg] = 0
            counts[sep] = 0
            best = 0
            for c in range(10):
                if counts[c] > counts[best]:
                    best = c
            if kind == CELLS_TO_PIXELS:
                dst[p, q] = best if counts[best] > 0 else bg
            elif counts[best] > 0:
                for i in range(rs[p], re[p]):
                    for j in range(cs[q], ce[q]):
                        dst[i, j] = best
    if kind == CELLS_TO_PIXELS:
        return nr, nc
    return h, w


# ---- outlines (objects.outline_objects, objects.interior)

@numba.njit(cache=True)
def _outline(kind, colour, diagonal, bg, src, dst):
    """OUTLINE: the background cells next to the foreground (4-, or with `diagonal` 8-neighbours) painted
    `colour`; undefined on a grid of background only. INTERIOR: the foreground cells whose four neighbours
    are all foreground (the grid's edge counts as background) painted `colour`."""
    h, w = src.shape
    any_fg = False
    for i in range(h):
        for j in range(w):
            dst[i, j] = src[i, j]
            any_fg = any_fg or src[i, j] != bg
    if kind == OUTLINE and not any_fg:
        return -1, -1
    for i in range(h):
        for j in range(w):
            fg = src[i, j] != bg
            if kind == INTERIOR:
                if fg and 0 < i < h - 1 and 0 < j < w - 1 and src[i - 1, j] != bg and src[i + 1, j] != bg \
                        and src[i, j - 1] != bg and src[i, j + 1] != bg:
                    dst[i, j] = colour
                continue
            if fg:
                continue
            near = False
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    if (di == 0 and dj == 0) or (not diagonal and di != 0 and dj != 0):
                        continue
                    y, x = i + di, j + dj
                    if 0 <= y < h and 0 <= x < w and src[y, x] != bg:
                        near = True
            if near:
                dst[i, j] = colour
    return h, w


@numba.njit(cache=True)
def apply(kind, a, b, src, dst):
    """Op (kind, a, b), kind >= FIRST, on src into dst's corner (kernels.apply's contract). (Each helper has
    one call site: numba's compile time grows with them.)"""
    if kind == SYMMETRIZE or kind == HIDDEN_SYMMETRY or kind == PERIODIC or kind == HIDDEN_PERIOD:
        if kind == SYMMETRIZE or kind == HIDDEN_SYMMETRY:
            h, w = _symmetrize(a, b, src, dst)
            u = b
        else:
            h, w = _periodic(a, b if kind == PERIODIC else 0, src, dst)
            u = a
        return (h, w) if kind == SYMMETRIZE or kind == PERIODIC else _hidden(u, src, h, w, dst)
    if kind == DENOISE:
        return _denoise(a, src, dst)
    if kind == SYMMETRIZE_OFFSET:
        return _symmetrize_offset(a, b, src, dst)
    bg = 0 if kind == LINE_MAJORITY else _background(src)
    if kind == RAYS:
        return _rays(a, b, bg, src, dst)
    if kind == CONNECT:
        return _connect(a, b, bg, src, dst)
    if kind == CLEAR_LINES:
        return _clear_lines(a, bg, src, dst)
    if kind == COLOUR_OF or kind == UNIFORM or kind == LINE_MAJORITY:
        return _colours(kind, a, bg, src, dst)
    if kind == CELLS_TO_PIXELS or kind == FILL_CELLS:
        return _cells(kind, bg, src, dst)
    if kind == OUTLINE or kind == INTERIOR:
        return _outline(kind, a, b, bg, src, dst)
    return -1, -1
