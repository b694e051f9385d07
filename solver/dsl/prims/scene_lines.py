"""Scene primitives, lines and rays: used only by ops of the scenes catalogue (solver/dsl/scenes.py, ops
written from one development task each). A primitive moves to the general kind it belongs to when its op
is admitted to the general basis (catalogue.py).
"""
from __future__ import annotations

import numpy as np

from ...tasks import Grid
from .basics import background
from .drawing import RAY_DIRECTIONS


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
