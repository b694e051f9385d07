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
from typing import Callable, Sequence

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
    if len(obs) < 2:
        return None
    values = PROPERTIES[prop](obs)
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
    obs = objects(g, mode, bg)
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
    obs = objects(g, mode, bg)
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
