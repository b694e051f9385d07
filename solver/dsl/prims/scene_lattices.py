"""Scene primitives, lattices (keys, templates, marked cells, piles of parts): used only by ops of the
scenes catalogue (solver/dsl/scenes.py); see scene_lines.py.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...tasks import Grid
from .basics import background, palette
from .geometry import upscale
from .lattices import _parts_between, lattice, pick_part, separator_lines, split_by_separators


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
