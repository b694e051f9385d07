"""Edit composition, the search's last resort (search.py): when no program fits, the nodes kept as pieces
(pieces.Stacker) are stacked greedily on each input (or on a blank canvas) until the stack reproduces the
train outputs; failing that, holes of one colour are filled from 3x3 patches, or a stack fitting every
train pair but one is kept as a best effort. After icecuber's composition of edits.

A mixin of search.Search: it reads the search's inputs, targets, n_train, canvas, stacker, cfg and clock, and
keeps programs through Fitting._keep.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import pieces
from .fitting import Program
from .grids import Grid

FILL_COST = 2.0  # filling holes from patches, as a step: like a plain op's


class Composer:
    """Pieces stacked into a program when nothing fits."""

    def _base(self, i: int, shape: tuple[int, int]) -> Grid:
        """What an edit paints on for input i: the input itself, or a blank canvas of the given shape."""
        return self.inputs[i] if self.canvas is None else np.full(shape, self.canvas, np.uint8)

    def _compose(self) -> None:
        """Pieces composition (pieces.py): the greedy stack that reproduces every train output; failing
        that, the shortest start of it whose unpainted cells of one colour, filled from 3x3 patches, do;
        failing that, a stack that fits every train pair but one, as a best effort."""
        chosen, done = self.stacker.greedy(self.cfg.max_compose)
        if done and chosen:
            outs = self._render_tests(chosen)
            if outs is not None:
                self._keep(self._stack_text(chosen), self._stack_cost(chosen), outs,
                           max(node.depth for node, _ in chosen))
            return
        for k in range(len(chosen) + 1):
            if self.clock.out() or self._fill_holes(chosen[:k]):
                return
        if self.n_train < 3:
            return  # leaving one of two pairs out leaves one pair: any patchwork fits it
        for p in range(self.n_train):
            if self.clock.out():
                return
            chosen = self.stacker.stack(self.cfg.max_compose, [q for q in range(self.n_train) if q != p])
            outs = None if chosen is None else self._render_tests(chosen)
            if outs is None:
                continue
            train = self._render_train(chosen)
            if train is None:
                continue
            acc = sum(int((g == y).sum()) for (g, _), y in zip(train, self.targets)) / sum(y.size for y in self.targets)
            if self.partial is None or acc > self.partial[0]:
                self.partial = (acc, Program(self._stack_text(chosen), self._stack_cost(chosen), outs))

    def _stack_text(self, chosen) -> str:
        return "compose(" + ", ".join(pieces.MODES[mode] + node.program for node, mode in chosen) + ")"

    def _stack_cost(self, chosen) -> float:
        return sum(node.cost for node, _ in chosen) + self.cfg.compose_cost

    def _render_tests(self, chosen, fill: int | None = None) -> tuple[Grid, ...] | None:
        """The stacked pieces on each test input's base (then its unpainted cells of colour `fill` filled
        from patches), or None where the pieces disagree about a test output's shape or the fill fails."""
        outs = []
        for t in range(self.n_train, len(self.inputs)):
            shapes = {node.grids[t].shape for node, _ in chosen}
            if not shapes and self.canvas is not None:
                return None  # a blank canvas with no pieces has no shape of its own, nor patches to fill from
            if len(shapes) > 1:
                return None  # the pieces disagree about the test output's shape
            base = self._base(t, shapes.pop() if shapes else self.inputs[t].shape)
            done = pieces.render_written([(node.grids[t], mode) for node, mode in chosen], base)
            if done is None:
                return None
            out, written = done
            if fill is not None:
                out = pieces.fill_from_patches(out, (out == fill) & ~written)
                if out is None:
                    return None
            outs.append(out)
        return tuple(outs)

    def _render_train(self, chosen) -> list[tuple[Grid, np.ndarray]] | None:
        """The stacked pieces on each train pair's base, with the cells they painted (pieces.render_written)."""
        out = []
        for i, y in enumerate(self.targets):
            done = pieces.render_written([(node.grids[i], mode) for node, mode in chosen], self._base(i, y.shape))
            if done is None:
                return None
            out.append(done)
        return out

    def _fill_holes(self, chosen) -> bool:
        """Whether the stacked pieces, with their unpainted cells of one colour filled from 3x3 patches
        (pieces.fill_from_patches), reproduce every train output; if so the program is kept."""
        rendered = self._render_train(chosen)
        if rendered is None:
            return False
        wrong = {int(c) for (g, _), y in zip(rendered, self.targets) for c in np.unique(g[g != y])}
        if len(wrong) != 1:
            return False  # every cell left wrong must show the one colour the fill reads as a hole
        hole = wrong.pop()
        for (g, written), y in zip(rendered, self.targets):
            filled = pieces.fill_from_patches(g, (g == hole) & ~written)
            if filled is None or not np.array_equal(filled, y):
                return False
        outs = self._render_tests(chosen, hole)
        if outs is None:
            return False
        inner = self._stack_text(chosen) if chosen else "x"
        cost = (self._stack_cost(chosen) if chosen else 0.0) + FILL_COST
        self._keep(f"fill_patches[{hole}]({inner})", cost, outs, max((node.depth for node, _ in chosen), default=1))
        return True


def common_background(grids: Sequence[Grid]) -> int | None:
    """The colour every grid has most of; failing that black, if every grid has some; else None."""
    colours = {int(np.bincount(g.ravel(), minlength=10).argmax()) for g in grids}
    if len(colours) == 1:
        return colours.pop()
    return 0 if all((g == 0).any() for g in grids) else None

