"""Scene primitives, fills and recolouring by place: used only by ops of the scenes catalogue
(solver/dsl/scenes.py); see scene_lines.py.
"""
from __future__ import annotations

import numba
import numpy as np

from ...tasks import Grid
from .basics import background, bbox
from .drawing import outside_mask


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
