"""Scene primitives, movement (piles, rolls): used only by ops of the scenes catalogue
(solver/dsl/scenes.py); see scene_lines.py.
"""
from __future__ import annotations

import numpy as np

from ...tasks import Grid
from .basics import background


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
