"""Colour-role normalisation per grid, so that rules whose colours change from pair to pair become one rule.

A colour is FIXED for a task when every grid (train and test inputs of a node) has it, or none does (a
colour only the outputs use). Every other colour is FREE: some grids have it, some do not, like the
marker colour of a task whose marker changes from pair to pair. Each grid's free colours are renamed by
their cell count, the most common to the first free slot (the smallest free colour), and so on; the
renaming is a permutation of the ten colours, applied to the pair's input and output alike, and undone on
the answer. A learned step (colour map, local rule) fitted on the renamed pairs then speaks of 'the most
common free colour' instead of 'blue in pair 1, green in pair 2'.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .grids import Grid


def free_colours(grids: Sequence[Grid]) -> tuple[int, ...]:
    """Colours some of the grids have and some do not, in increasing order: the slots."""
    present = np.array([np.bincount(g.ravel(), minlength=10)[:10] > 0 for g in grids])
    some, every = present.any(axis=0), present.all(axis=0)
    return tuple(int(c) for c in np.flatnonzero(some & ~every))


def permutation(g: Grid, slots: Sequence[int]) -> np.ndarray:
    """The renaming of one grid: its free colours, most common first (ties to the smaller colour), to the
    slots in order; the slots it leaves over take its absent free colours; fixed colours stay."""
    counts = np.bincount(g.ravel(), minlength=10)[:10]
    here = sorted((c for c in slots if counts[c]), key=lambda c: (-counts[c], c))
    absent = [c for c in slots if not counts[c]]
    perm = np.arange(10, dtype=np.uint8)
    perm[np.array(here + absent, dtype=np.int64)] = np.array(slots, dtype=np.uint8)
    return perm


def inverse(perm: np.ndarray) -> np.ndarray:
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size, dtype=perm.dtype)
    return inv


Fitter = Callable[[Sequence[Grid], Sequence[Grid]], list]


def normalised(fit: Fitter, xs: Sequence[Grid], ys: Sequence[Grid], tests: Sequence[Grid],
               make_step: Callable) -> list:
    """Steps fitted by `fit` on the renamed train pairs, each wrapped to rename a grid, apply, and rename
    back. Empty when renaming changes no train pair (the plain fit already saw these pairs)."""
    slots = free_colours(list(xs) + list(tests))
    if not slots:
        return []
    perms = [permutation(x, slots) for x in xs]
    if all((p == np.arange(10)).all() for p in perms):
        return []
    xs2 = [p[x] for p, x in zip(perms, xs)]
    ys2 = [p[y] for p, y in zip(perms, ys)]
    out = []
    for step in fit(xs2, ys2):
        def apply(g: Grid, step=step) -> Grid | None:
            p = permutation(g, slots)
            r = step.apply(p[g])
            return None if r is None else inverse(p)[r]
        out.append(make_step(f"roles:{step.name}" if step.name else "roles", step.cost + 0.5, apply))
    return out
