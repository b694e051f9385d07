"""Colours: a colour kept or removed, colour maps, binarising, the majority / minority colour of a grid
or of each line, solid colours kept, colours counted into bars or stripes.
"""
from __future__ import annotations

import numpy as np

from ...tasks import Grid
from .basics import palette


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


def line_majority(g: Grid, axis: int) -> Grid:
    """The most common colour of each column (axis 0: a 1 x W row) or of each row (axis 1: an H x 1
    column); ties go to the smaller colour."""
    lines = g.T if axis == 0 else g
    counts = np.zeros((lines.shape[0], 10), np.int64)
    np.add.at(counts, (np.repeat(np.arange(lines.shape[0]), lines.shape[1]), lines.ravel()), 1)
    best = counts.argmax(axis=1).astype(np.uint8)
    return best[None, :] if axis == 0 else best[:, None]
