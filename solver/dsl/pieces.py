"""Pieces composition (issue 16, after icecuber's greedy stacker): an output painted by up to ~10 nodes.

A piece is a visited node whose train grids have the train outputs' shapes, with a mode saying which of
its cells it paints over a base (the input, or a blank canvas when the outputs are not the inputs' shape):
'all' the cells where it differs from the base, 'paint' those of them it paints a foreground colour,
'erase' those it paints the background. Pieces are stacked in order and the first one to paint a cell
fixes it. The stacker is greedy: each next piece is one that paints no unfixed cell wrong, on any train pair
(it may be wrong only where earlier pieces already fixed the cell), fixes some cell the base has wrong on
every train pair (a piece that helps on one pair only is a patch for that pair, not a rule: such patchworks
fit the train pairs and miss the test), and of those fixes the most; it stops when every such cell is fixed
(a program) or no piece helps (nothing).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import grids as G
from .grids import Grid

MODES = {"all": "", "paint": "+", "erase": "-"}  # the mark each puts before its piece in a program


def paint_mask(g: Grid, base: Grid, mode: str) -> np.ndarray:
    """The cells a piece paints over the base: every changed cell ('all'), only those it paints a
    foreground colour on ('paint'), so that a node which also erased things can still contribute what it
    drew, or only those it paints background ('erase'), for a node that erased the right things but drew
    wrong ones."""
    diff = g != base
    if mode == "all":
        return diff
    on_bg = g == G.background(base)
    return diff & (on_bg if mode == "erase" else ~on_bg)


def render(pieces: Sequence[tuple[Grid, str]], base: Grid) -> Grid | None:
    """The pieces (grid, mode) stacked on the base, the first to paint a cell fixing it; None when a
    piece's shape is not the base's."""
    out = base.copy()
    written = np.zeros(base.shape, bool)
    for g, mode in pieces:
        if g.shape != base.shape:
            return None
        m = paint_mask(g, base, mode) & ~written
        out[m] = g[m]
        written |= m
    return out


class Stacker:
    """Pieces seen so far, as flat masks over all train output cells, and the greedy stack over them."""

    def __init__(self, targets: Sequence[Grid], bases: Sequence[Grid], modes: Sequence[str], limit: int):
        self.targets, self.bases, self.modes, self.limit = list(targets), list(bases), tuple(modes), limit
        self.needed = np.concatenate([(b != y).ravel() for b, y in zip(bases, targets)])
        self.starts = np.cumsum([0] + [y.size for y in targets[:-1]])  # where each pair's cells begin
        self.paint: list[np.ndarray] = []
        self.wrong: list[np.ndarray] = []
        self.items: list[tuple[object, str, float]] = []  # (the caller's node, mode, cost)
        self.keys: set[bytes] = set()  # pieces that paint the same cells the same way on every train pair

    def add(self, item: object, cost: float, xs: Sequence[Grid]) -> None:
        """Offer a node's train grids (the targets' shapes) as a piece, in every mode that could help."""
        if len(self.items) >= self.limit or not self.needed.any():
            return
        right = np.concatenate([(x == y).ravel() for x, y in zip(xs, self.targets)])
        for mode in self.modes:
            paint = np.concatenate([paint_mask(x, b, mode).ravel() for x, b in zip(xs, self.bases)])
            if not (paint & self.needed & right).any():
                continue
            wrong = paint & ~right
            key = np.packbits(paint).tobytes() + np.packbits(wrong).tobytes()
            if key in self.keys:
                continue  # the same piece on the train pairs, costlier (nodes come roughly cheapest first)
            self.keys.add(key)
            self.paint.append(paint)
            self.wrong.append(wrong)
            self.items.append((item, mode, cost))
            if not wrong.any():
                return  # the narrower modes paint subsets of these cells: nothing more to gain from them

    def stack(self, max_pieces: int) -> list[tuple[object, str]] | None:
        """The greedy stack that fixes every cell the base has wrong, or None."""
        if not self.items or not self.needed.any():
            return None
        order = sorted(range(len(self.items)), key=lambda i: self.items[i][2])  # cheapest first on ties
        paint = np.stack([self.paint[i] for i in order])
        wrong = np.stack([self.wrong[i] for i in order])
        fixed = np.zeros_like(self.needed)
        left = self.needed.copy()
        chosen: list[int] = []
        while left.any():
            if len(chosen) >= max_pieces:
                return None
            fixes = np.add.reduceat(paint & left, self.starts, axis=1)  # per piece, per train pair
            ok = ~(wrong & ~fixed).any(axis=1) & (fixes > 0).all(axis=1)
            gain = np.where(ok, fixes.sum(axis=1), 0)
            best = int(np.argmax(gain))
            if gain[best] == 0:
                return None
            chosen.append(best)
            fixed |= paint[best]
            left &= ~paint[best]
        return [self.items[order[i]][:2] for i in chosen]
