"""Scene primitives, pattern completion (lines, cells, rings, rotations, repeats): used only by ops of the
scenes catalogue (solver/dsl/scenes.py); see scene_lines.py.
"""
from __future__ import annotations

import numba
import numpy as np

from ...tasks import Grid
from .basics import background
from .lattices import lattice


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
