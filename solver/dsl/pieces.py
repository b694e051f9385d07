"""Pieces composition (issue 16, after icecuber's greedy stacker): an output painted by up to ~10 nodes.

A piece is a visited node whose train grids have the train outputs' shapes, with a mode saying which of
its cells it paints over a base (the input, or a blank canvas when the outputs are not the inputs' shape):
'all' the cells where it differs from the base, 'paint' those of them it paints a foreground colour,
'erase' those it paints the background. Pieces are stacked in order and the first one to paint a cell
fixes it. The stacker is greedy: each next piece is one that paints no unfixed cell wrong, on any train pair
(it may be wrong only where earlier pieces already fixed the cell), fixes some cell the base has wrong on
every train pair the stack has not finished yet, two pairs at least (a piece that helps on one pair only is
a patch for that pair, not a rule: such patchworks fit the train pairs and miss the test), and of those
fixes the most; it stops when every such cell is fixed (a program) or no piece helps (nothing).

Two ways past a stack that stops short (after icecuber's compose):
- holes filled from 3x3 patches: the cells no piece painted that still show one colour (a mask, a blank)
  are filled from the grid's own fully known 3x3 patches under the 8 symmetries of the square, the window
  with the most known cells first (fill_from_patches). Filled this way the stack must reproduce every train
  output; a stack of no pieces is then the plain "inpaint the masked cells" rule.
- subsets of train pairs: a stack that fits every pair but one is kept as a best effort, not a program
  (search.py offers it when nothing fits and it gets more train cells right than the best partial).
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
    done = render_written(pieces, base)
    return None if done is None else done[0]


def render_written(pieces: Sequence[tuple[Grid, str]], base: Grid) -> tuple[Grid, np.ndarray] | None:
    """render, with the mask of the cells some piece painted."""
    out = base.copy()
    written = np.zeros(base.shape, bool)
    for g, mode in pieces:
        if g.shape != base.shape:
            return None
        m = paint_mask(g, base, mode) & ~written
        out[m] = g[m]
        written |= m
    return out, written


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

    def stack(self, max_pieces: int, pairs: Sequence[int] | None = None) -> list[tuple[object, str]] | None:
        """The greedy stack that fixes every cell the base has wrong (on the given train pairs; default
        all), or None."""
        chosen, done = self.greedy(max_pieces, pairs)
        return chosen if done and chosen else None

    def greedy(self, max_pieces: int, pairs: Sequence[int] | None = None) -> tuple[list[tuple[object, str]], bool]:
        """The greedy stack's pieces in order, and whether they fix every cell the base has wrong. With
        `pairs`, only those train pairs count: the others' cells are neither needed nor can be wrong."""
        care = np.ones_like(self.needed)
        if pairs is not None:
            care[:] = False
            for p in pairs:
                care[self.starts[p]:self.starts[p] + self.targets[p].size] = True
        left = self.needed & care
        if not self.items or not left.any():
            return [], not left.any()
        order = sorted(range(len(self.items)), key=lambda i: self.items[i][2])  # cheapest first on ties
        paint = np.stack([self.paint[i] for i in order])
        wrong = np.stack([self.wrong[i] for i in order]) & care
        fixed = np.zeros_like(self.needed)
        counted = np.array([pairs is None or p in pairs for p in range(len(self.targets))])
        chosen: list[int] = []
        while left.any():
            if len(chosen) >= max_pieces:
                break
            fixes = np.add.reduceat(paint & left, self.starts, axis=1)  # per piece, per train pair
            # Pairs the stack has already finished cannot ask for more (an overlay by priority finishes
            # some pairs with its first layer): the piece must fix cells on every pair with cells left, and
            # those must be two or more (a piece for the one pair left is a patch for it).
            open_ = counted & (np.add.reduceat(left, self.starts) > 0)
            if open_.sum() < min(2, counted.sum()):
                break
            ok = ~(wrong & ~fixed).any(axis=1) & (fixes[:, open_] > 0).all(axis=1)
            gain = np.where(ok, fixes.sum(axis=1), 0)
            best = int(np.argmax(gain))
            if gain[best] == 0:
                break
            chosen.append(best)
            fixed |= paint[best]
            left &= ~paint[best]
        return [self.items[order[i]][:2] for i in chosen], not left.any()


# ---------------------------------------------------------------------------------------- hole filling

PATCH = 3


def _known_patches(g: Grid, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every fully known PATCH x PATCH window of the grid, under the 8 symmetries of the square, once each,
    as rows of PATCH*PATCH colours, with how often each occurs (most frequent first)."""
    rows = []
    for name in G.D8_NAMES:
        t, k = G.d8(g, name), G.d8(known, name)
        if t.shape[0] < PATCH or t.shape[1] < PATCH:
            continue
        win = np.lib.stride_tricks.sliding_window_view(t, (PATCH, PATCH)).reshape(-1, PATCH * PATCH)
        full = np.lib.stride_tricks.sliding_window_view(k, (PATCH, PATCH)).reshape(-1, PATCH * PATCH).all(axis=1)
        rows.append(win[full])
    if not rows or not sum(len(r) for r in rows):
        return np.zeros((0, PATCH * PATCH), np.uint8), np.zeros(0, int)
    patches, counts = np.unique(np.concatenate(rows), axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    return patches[order], counts[order]


def fill_from_patches(g: Grid, holes: np.ndarray) -> Grid | None:
    """The grid with its hole cells filled from its own known 3x3 patches (any rotation or reflection):
    repeatedly, the window (inside the grid) with the most known cells among those holding a hole takes
    the most frequent patch that agrees with its known cells. None when some window has no such patch, when
    no cell is known, or when the grid is smaller than a patch. A grid without holes comes back as it is."""
    if not holes.any():
        return g.copy()
    h, w = g.shape
    if h < PATCH or w < PATCH or holes.all():
        return None
    known = ~holes
    patches, _ = _known_patches(g, known)
    if not len(patches):
        return None
    out = g.copy()
    while not known.all():
        kw = np.lib.stride_tricks.sliding_window_view(known, (PATCH, PATCH))
        n_known = kw.sum(axis=(2, 3))
        n_known[kw.all(axis=(2, 3))] = -1  # windows with no hole left have nothing to fill
        i, j = np.unravel_index(int(np.argmax(n_known)), n_known.shape)
        win = out[i:i + PATCH, j:j + PATCH].ravel()
        k = known[i:i + PATCH, j:j + PATCH].ravel()
        agree = (patches[:, k] == win[k]).all(axis=1)
        if not agree.any():
            return None
        p = patches[int(np.argmax(agree))].reshape(PATCH, PATCH)
        hole = ~known[i:i + PATCH, j:j + PATCH]
        out[i:i + PATCH, j:j + PATCH][hole] = p[hole]
        known[i:i + PATCH, j:j + PATCH] = True
    return out
