"""Lattices: a grid cut into parts by separator lines or into equal parts, its cells read as pixels or
counts, and parts combined (as masks), overlaid, or one picked.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from ...tasks import Grid
from .basics import background, palette


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
