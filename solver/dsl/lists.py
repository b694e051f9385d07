"""Lists of sub-images: split a grid into pieces that remember where they were, filter them, map an op over
them, and join them again (in place, or stacked in a line).

A piece is an object of objects.py (its box, its cells, its mask). Filters keep every piece whose property
is the largest (or smallest, or not the largest...) rather than a unique winner: 'keep all the biggest
shapes' is a rule even when two tie. Maps apply a shape-keeping step to each piece inside its own box and
paste the result back where the piece was. Joins stack the pieces' crops in a row or a column, in an order
read off the pieces (reading order, left to right, largest first).
"""
from __future__ import annotations

from collections import Counter
from typing import Callable, NamedTuple, Sequence

import numpy as np

from . import grids as G
from .grids import Grid, background
from .objects import Obj, _has_hole, objects

def _shared(keys: list) -> list[int]:
    """For each key, how many keys equal it."""
    counts = Counter(keys)
    return [counts[k] for k in keys]


# name -> the property of every piece of one grid, compared across them.
PROPERTIES: dict[str, Callable[[Sequence[Obj]], list]] = {
    "size": lambda obs: [o.size for o in obs],
    "box": lambda obs: [o.height * o.width for o in obs],
    "colours": lambda obs: [o.n_colours for o in obs],
    "holes": lambda obs: [_has_hole(o) for o in obs],
    # How many pieces share its colour / its shape: 'the odd ones out' and 'the repeated ones'.
    "same_colour": lambda obs: _shared([o.colour for o in obs]),
    "same_shape": lambda obs: _shared([o.shape_key for o in obs]),
}
KEEPS = ("max", "min", "not_max", "not_min")


def filter_pieces(g: Grid, mode: str, prop: str, keep: str) -> Grid | None:
    """The grid with only the pieces whose property is the largest ('max'), smallest ('min'), or all but
    those ('not_max', 'not_min'); None when the property does not tell the pieces apart."""
    bg = background(g)
    obs = objects(g, mode, bg)
    return filter_by(g, bg, obs, None if len(obs) < 2 else PROPERTIES[prop](obs), keep)


def filter_by(g: Grid, bg: int, obs: Sequence[Obj], values: list | None, keep: str) -> Grid | None:
    """filter_pieces once the objects and their property values are known (None: fewer than two)."""
    if len(obs) < 2 or values is None:
        return None
    lo, hi = min(values), max(values)
    if lo == hi:
        return None
    target = hi if keep in ("max", "not_max") else lo
    wanted = [(v == target) != keep.startswith("not") for v in values]
    out = np.full_like(g, bg)
    for o, w in zip(obs, wanted):
        if w:
            region = out[o.top:o.top + o.height, o.left:o.left + o.width]
            region[o.mask] = o.cells[o.mask]
    return out


ORDERS: dict[str, Callable[[Obj], tuple]] = {
    "reading": lambda o: (o.top, o.left),
    "columns": lambda o: (o.left, o.top),
    "largest": lambda o: (-o.size, o.top, o.left),
}


def stack_pieces(g: Grid, mode: str, axis: int, order: str) -> Grid | None:
    """The pieces' crops (each alone on the background) side by side (axis 1) or one above the other
    (axis 0), in the given order; they must line up (same height for a row, same width for a column)."""
    bg = background(g)
    return stack_of(objects(g, mode, bg), axis, order)


def stack_of(obs: Sequence[Obj], axis: int, order: str) -> Grid | None:
    """stack_pieces once the objects are found."""
    if len(obs) < 2:
        return None
    crops = [o.cells for o in sorted(obs, key=ORDERS[order])]
    if len({c.shape[1 - axis] for c in crops}) != 1 or sum(c.shape[axis] for c in crops) > G.MAX_SIDE:
        return None
    return np.concatenate(crops, axis=axis)


# Shape-keeping steps a map applies inside each piece's box: per-piece symmetry completion, where the
# background cells of the box are the unknown ones.
PIECE_STEPS: dict[str, Callable[[Grid, int], Grid | None]] = {
    **{f"symmetrize[{k}]": (lambda c, bg, k=k: G.symmetrize(c, k, bg))
       for k in ("lr", "ud", "rot180", "transpose", "rot90")},
    "fill_holes": lambda c, bg: _fill_holes(c, bg),
}


def _fill_holes(c: Grid, bg: int) -> Grid | None:
    """Background cells enclosed by the piece, painted in the piece's least common colour (its marker)."""
    counts = np.bincount(c.ravel(), minlength=10)
    counts[bg] = 0
    present = np.flatnonzero(counts)
    if present.size == 0:
        return None
    return G.fill_enclosed(c, int(present[np.argmin(counts[present])]), bg)


def map_pieces(g: Grid, mode: str, step: str) -> Grid | None:
    """Apply a shape-keeping step to each piece inside its box and paste it back; a piece the step is not
    defined on stays as it was (other pieces may need the step)."""
    bg = background(g)
    return map_over(g, bg, objects(g, mode, bg), step)


def map_over(g: Grid, bg: int, obs: Sequence[Obj], step: str) -> Grid | None:
    """map_pieces once the objects are found."""
    if not obs:
        return None
    fn = PIECE_STEPS[step]
    out = g.copy()
    for o in obs:
        r = fn(o.cells, bg)
        if r is None or r.shape != o.cells.shape:
            continue
        region = out[o.top:o.top + o.height, o.left:o.left + o.width]
        paint = r != bg
        region[paint] = r[paint]
    return out


# --------------------------------------------------------------------------- lists of positioned pieces
# icecuber's lists of images (issue 16): a splitter turns a grid into pieces that remember where they were;
# any single-grid op maps over them; a filter keeps the extreme ones by a criterion; a join makes one grid
# again (paste back in place, stack in a line, or pick one). These are the pure parts; list_expand.py puts
# them into the search.


class Piece(NamedTuple):
    top: int
    left: int
    grid: Grid     # its cells; the cells of its box that are not its own hold the background
    own: np.ndarray  # bool, the grid's shape: which cells of the box the piece owns (erased before a paste)


def _object_pieces(g: Grid, mode: str) -> list[Piece] | None:
    return [Piece(o.top, o.left, o.cells, o.mask) for o in objects(g, mode, background(g))] or None


def split_colours(g: Grid) -> list[Piece] | None:
    """One piece per foreground colour: its cells, cropped to their box, in colour order."""
    bg = background(g)
    out = []
    for c in np.flatnonzero(np.bincount(g.ravel(), minlength=10)):
        if c == bg:
            continue
        mask = g == c
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        own = mask[r0:r1, c0:c1]
        out.append(Piece(int(r0), int(c0), np.where(own, np.uint8(c), np.uint8(bg)), own))
    return out or None


def split_cells(g: Grid) -> list[Piece] | None:
    """The cells of a lattice of separator lines (full rows/columns of one colour), row by row; each cell
    owns its whole box."""
    found = G.separator_lines(g)
    if found is None:
        return None
    rows, cols, _ = found
    return [Piece(r0, c0, g[r0:r1, c0:c1], np.ones((r1 - r0, c1 - c0), bool))
            for r0, r1 in G._parts_between(g.shape[0], rows) for c0, c1 in G._parts_between(g.shape[1], cols)]


SPLITTERS: dict[str, Callable[[Grid], list[Piece] | None]] = {
    "c8": lambda g: _object_pieces(g, "c8"),
    "m8": lambda g: _object_pieces(g, "m8"),
    "colour": split_colours,
    "cells": split_cells,
}


def _fg(p: Grid, bg: int) -> np.ndarray:
    return p != bg


# name -> the value of each piece of a list (bg: the split grid's background), compared across the list.
CRITERIA: dict[str, Callable[[Sequence[Piece], int], list]] = {
    "size": lambda ps, bg: [int(_fg(p.grid, bg).sum()) for p in ps],
    "area": lambda ps, bg: [p.grid.size for p in ps],
    "colours": lambda ps, bg: [len(G.palette(p.grid) - {bg}) for p in ps],
    # How many pieces look exactly alike: the odd one out (min) and the repeated ones (max).
    "same": lambda ps, bg: _shared([p.grid.tobytes() + bytes(p.grid.shape) for p in ps]),
    "same_shape": lambda ps, bg: _shared([_fg(p.grid, bg).tobytes() + bytes(p.grid.shape) for p in ps]),
    "top": lambda ps, bg: [p.top for p in ps],
    "left": lambda ps, bg: [p.left for p in ps],
}


def filter_list(pieces: Sequence[Piece], crit: str, keep: str, bg: int) -> list[Piece] | None:
    """The pieces whose value is the largest ('max'), smallest ('min'), or all but those ('not_max',
    'not_min'), ties kept; None when the criterion does not tell the pieces apart."""
    if len(pieces) < 2:
        return None
    values = CRITERIA[crit](pieces, bg)
    lo, hi = min(values), max(values)
    if lo == hi:
        return None
    target = hi if keep in ("max", "not_max") else lo
    kept = [p for p, v in zip(pieces, values) if (v == target) != keep.startswith("not")]
    return kept or None


def pick_list(pieces: Sequence[Piece], crit: str, largest: bool, bg: int) -> Grid | None:
    """The grid of the one piece whose value is the unique largest (smallest); None on a tie."""
    kept = filter_list(pieces, crit, "max" if largest else "min", bg)
    return kept[0].grid if kept is not None and len(kept) == 1 else None


def map_list(pieces: Sequence[Piece], fn: Callable[[Grid], Grid | None]) -> list[Piece] | None:
    """`fn` on every piece's grid (a piece keeps its place; a new shape owns its whole box); None when it
    fails on any piece or changes none."""
    out, changed = [], False
    for p in pieces:
        r = fn(p.grid)
        if r is None or r.ndim != 2 or r.size == 0:
            return None
        if r.dtype != np.uint8:
            r = r.astype(np.uint8)
        same_shape = r.shape == p.grid.shape
        changed = changed or not same_shape or not np.array_equal(r, p.grid)
        out.append(Piece(p.top, p.left, r, p.own if same_shape else np.ones(r.shape, bool)))
    return out if changed else None


def join_in_place(g: Grid, pieces: Sequence[Piece], originals: Sequence[Piece] | None = None,
                  on_blank: bool = False) -> Grid:
    """The pieces pasted back where they were, their foreground over what is there. The cells the original
    pieces owned are erased first (a moved or flipped piece leaves no trace), and with `on_blank` the
    canvas starts empty (only the pieces remain). A piece that runs off the grid is clipped."""
    bg = background(g)
    out = np.full_like(g, bg) if on_blank else g.copy()
    h, w = g.shape
    for p in originals or ():
        ph, pw = p.own.shape
        out[p.top:p.top + ph, p.left:p.left + pw][p.own] = bg
    for p in pieces:
        ph, pw = min(p.grid.shape[0], h - p.top), min(p.grid.shape[1], w - p.left)
        if ph <= 0 or pw <= 0:
            continue
        src = p.grid[:ph, :pw]
        paint = src != bg
        out[p.top:p.top + ph, p.left:p.left + pw][paint] = src[paint]
    return out


def join_stack(pieces: Sequence[Piece], axis: int) -> Grid | None:
    """The pieces' grids in a row (axis 1) or a column (axis 0), in list order; they must line up."""
    if len(pieces) < 2 or len({p.grid.shape[1 - axis] for p in pieces}) != 1:
        return None
    if sum(p.grid.shape[axis] for p in pieces) > G.MAX_SIDE:
        return None
    return np.concatenate([p.grid for p in pieces], axis=axis)


def join_overlay(pieces: Sequence[Piece], bg: int) -> Grid | None:
    """Pieces of one shape laid on top of each other, the first one's foreground on top."""
    if len(pieces) < 2 or len({p.grid.shape for p in pieces}) != 1:
        return None
    return G.overlay([p.grid for p in pieces], bg)
