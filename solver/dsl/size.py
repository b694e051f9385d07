"""Output size from content (issue 16, after icecuber): small linear formulas of a node's size.

When the train outputs' shapes are neither their inputs' shapes nor one fixed shape, they often follow some
intermediate grid of the search: the largest object's box, the part of the grid between separator lines,
twice the input's width. A formula says each output side is a * (a side of the node) + b; one that fits
every train pair, read off the node's test grids, predicts the test outputs' shapes. The search uses it to
rank programs (a test output of another shape costs extra) and to check composed outputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

Shape = tuple[int, int]

SCALES = (Fraction(1), Fraction(2), Fraction(3), Fraction(1, 2), Fraction(1, 3), Fraction(4), Fraction(5))
OFFSETS = (0, 1, -1, 2, -2)


@dataclass(frozen=True)
class Side:
    """One output side: scale * (the node's rows if axis 0, columns if 1) + offset."""
    axis: int
    scale: Fraction
    offset: int

    def __call__(self, shape: Shape) -> int | None:
        v = self.scale * shape[self.axis] + self.offset
        return int(v) if v.denominator == 1 and v >= 1 else None

    def text(self) -> str:
        s = "hw"[self.axis] if self.scale == 1 else f"{self.scale}*{'hw'[self.axis]}"
        return s + (f"{self.offset:+d}" if self.offset else "")


def fit_side(nodes: Sequence[Shape], outs: Sequence[int]) -> Side | None:
    """The simplest side formula (same axis before the other, small scale and offset first) that gives
    every output side from its node's shape; None when none does."""
    for scale in SCALES:
        for offset in OFFSETS:
            for axis in (0, 1):
                side = Side(axis, scale, offset)
                if all(side(s) == o for s, o in zip(nodes, outs)):
                    return side
    return None


@dataclass(frozen=True)
class Formula:
    rows: Side
    cols: Side

    def __call__(self, shape: Shape) -> Shape | None:
        h, w = self.rows(shape), self.cols(shape)
        return None if h is None or w is None else (h, w)

    def text(self) -> str:
        return f"({self.rows.text()},{self.cols.text()})"


def fit_formula(nodes: Sequence[Shape], outs: Sequence[Shape]) -> Formula | None:
    """A formula giving every train output's shape from its node's shape, or None."""
    rows = fit_side(nodes, [o[0] for o in outs])
    cols = fit_side(nodes, [o[1] for o in outs]) if rows is not None else None
    if rows is None or cols is None:
        return None
    return Formula(rows, cols)


class SizePredictor:
    """Watches the search's nodes (cheapest first) for the first whose shapes predict the train outputs'
    shapes, and keeps what it says of the test outputs. It is for outputs whose shapes vary between train
    pairs (learn.predict_output_shapes knows the others), so a node of one fixed shape never fits."""

    def __init__(self, target_shapes: Sequence[Shape], n_train: int):
        self.targets = list(target_shapes)
        self.n_train = n_train
        self.tried: set[tuple[Shape, ...]] = set()
        self.test_shapes: list[Shape] | None = None
        self.source = ""  # the node's program and the formula, for the record

    def see(self, shapes: Sequence[Shape], program: str) -> None:
        if self.test_shapes is not None:
            return
        train = tuple(shapes[:self.n_train])
        if train in self.tried:
            return
        self.tried.add(train)
        f = fit_formula(train, self.targets)
        if f is None:
            return
        tests = [f(s) for s in shapes[self.n_train:]]
        if all(t is not None for t in tests):
            self.test_shapes = tests
            self.source = f"{f.text()} of {program}"
