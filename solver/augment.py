"""Invertible augmentations of ARC tasks.

Every transform has `apply` (task frame -> augmented frame) and `invert` (back) on a single grid, and
`apply_task` on a whole task. Grid-level transforms act on every train input/output and test input; the
demo-order transform acts only on the order of the train pairs. A model predicts in the augmented frame;
`invert` maps its prediction back to the task's frame so predictions from different views can be voted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .config import AUGMENT_KINDS, D8_NAMES
from .tasks import Example, Grid, Task, N_COLORS


def _d8(grid: Grid, k: int) -> Grid:
    # k in 0..3: counter-clockwise rotation by k*90; k in 4..7: transpose first, then rotate by (k-4)*90.
    # np.rot90 turns counter-clockwise, so 4 = transpose, 5 = rot90(transpose) = flip_ud,
    # 6 = rot180(transpose) = anti-transpose, 7 = rot270(transpose) = flip_lr.
    g = grid.T if k >= 4 else grid
    return np.ascontiguousarray(np.rot90(g, k % 4))


_D8_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)  # rotations invert to the opposite rotation; reflections to themselves


@dataclass(frozen=True)
class D8:
    """One of the 8 symmetries of the square: rotations by 90 degrees and reflections."""
    k: int

    def __post_init__(self):
        if not 0 <= self.k < 8:
            raise ValueError(f"D8 index must be 0..7, got {self.k}")

    @property
    def name(self) -> str:
        return D8_NAMES[self.k]

    @property
    def is_identity(self) -> bool:
        return self.k == 0

    def apply(self, grid: Grid) -> Grid:
        return _d8(grid, self.k)

    def invert(self, grid: Grid) -> Grid:
        return _d8(grid, _D8_INVERSE[self.k])

    def apply_task(self, task: Task) -> Task:
        return map_grids(task, self.apply)


@dataclass(frozen=True)
class ColorPerm:
    """A permutation of the 10 colours: colour c becomes perm[c]."""
    perm: tuple[int, ...]

    def __post_init__(self):
        if sorted(self.perm) != list(range(N_COLORS)):
            raise ValueError(f"colour permutation must permute 0..9, got {self.perm}")

    @property
    def name(self) -> str:
        return "colors" + "".join(map(str, self.perm))

    @property
    def is_identity(self) -> bool:
        return self.perm == tuple(range(N_COLORS))

    def apply(self, grid: Grid) -> Grid:
        return np.asarray(self.perm, dtype=np.uint8)[grid]

    def invert(self, grid: Grid) -> Grid:
        return np.argsort(np.asarray(self.perm)).astype(np.uint8)[grid]

    def apply_task(self, task: Task) -> Task:
        return map_grids(task, self.apply)


@dataclass(frozen=True)
class DemoOrder:
    """A reordering of the train pairs: augmented pair i is original pair order[i]. Grids are untouched."""
    order: tuple[int, ...]

    @property
    def name(self) -> str:
        return "order" + "-".join(map(str, self.order))

    @property
    def is_identity(self) -> bool:
        return self.order == tuple(range(len(self.order)))

    def apply(self, grid: Grid) -> Grid:
        return grid

    def invert(self, grid: Grid) -> Grid:
        return grid

    def apply_task(self, task: Task) -> Task:
        if sorted(self.order) != list(range(len(task.train))):
            raise ValueError(f"demo order {self.order} does not fit task {task.id} "
                             f"with {len(task.train)} train pairs")
        return task.with_examples(train=[task.train[i] for i in self.order])


@dataclass(frozen=True)
class Compose:
    """Transforms applied left to right; inverted right to left."""
    parts: tuple

    @property
    def name(self) -> str:
        named = [p.name for p in self.parts if not p.is_identity]
        return "+".join(named) if named else "identity"

    @property
    def is_identity(self) -> bool:
        return all(p.is_identity for p in self.parts)

    @property
    def geometry(self) -> D8:
        """The combined D8 part; views that share it are grouped in the hierarchical vote."""
        k = np.arange(6).reshape(2, 3)  # a probe grid with no symmetry identifies the composed element
        probe = k
        for p in self.parts:
            if isinstance(p, D8):
                probe = p.apply(probe)
        for j in range(8):
            if _d8(k, j).shape == probe.shape and np.array_equal(_d8(k, j), probe):
                return D8(j)
        raise AssertionError("unreachable: D8 is closed under composition")

    def apply(self, grid: Grid) -> Grid:
        for p in self.parts:
            grid = p.apply(grid)
        return grid

    def invert(self, grid: Grid) -> Grid:
        for p in reversed(self.parts):
            grid = p.invert(grid)
        return grid

    def apply_task(self, task: Task) -> Task:
        for p in self.parts:
            task = p.apply_task(task)
        return task


IDENTITY = Compose(())


def map_grids(task: Task, fn) -> Task:
    """Apply a grid function to every grid of a task (train pairs, test inputs and known test outputs)."""
    def ex(e: Example) -> Example:
        return Example(fn(e.input), None if e.output is None else fn(e.output))
    return task.with_examples(train=[ex(e) for e in task.train], test=[ex(e) for e in task.test])


def random_color_perm(rng: np.random.Generator, keep_background: bool = True) -> ColorPerm:
    if keep_background:  # colour 0 is the background in most tasks; moving it hurts more than it helps
        return ColorPerm((0, *(int(c) for c in rng.permutation(np.arange(1, N_COLORS)))))
    return ColorPerm(tuple(int(c) for c in rng.permutation(N_COLORS)))


def random_view(rng: np.random.Generator, n_train: int, *, geometry: bool = True, colors: bool = True,
                keep_background: bool = True, demo_order: bool = True, k: int | None = None) -> Compose:
    """One random view: a D8 element (given or drawn), a colour permutation and a demo order."""
    if k is None:
        k = int(rng.integers(8)) if geometry else 0
    parts = [D8(k)]
    if colors:
        parts.append(random_color_perm(rng, keep_background))
    if demo_order:
        parts.append(DemoOrder(tuple(int(i) for i in rng.permutation(n_train))))
    return Compose(tuple(parts))


def views_for_task(task: Task, n: int, rng: np.random.Generator, *, geometry: bool = True,
                   colors: bool = True, keep_background: bool = True, demo_order: bool = True) -> list[Compose]:
    """n views: the identity first, then the D8 elements in turn (so every symmetry is covered before
    any repeats), each with a random colour permutation and demo order."""
    views = [IDENTITY]
    for i in range(1, n):
        views.append(random_view(rng, len(task.train), colors=colors, keep_background=keep_background,
                                 demo_order=demo_order, k=i % 8 if geometry else 0))
    return views[:n]


def views_of_kinds(task: Task, n: int, kinds: Sequence[str], rng: np.random.Generator,
                   where: str = "augment") -> list[Compose]:
    """`views_for_task` with the augmentations named as in the config ('geometry', 'colors', 'demo_order');
    `where` names the config field in the error for an unknown name."""
    unknown = set(kinds) - set(AUGMENT_KINDS)
    if unknown:
        raise ValueError(f"{where}: unknown augmentation {sorted(unknown)}; known: {', '.join(AUGMENT_KINDS)}")
    return views_for_task(task, n, rng, geometry="geometry" in kinds, colors="colors" in kinds,
                          demo_order="demo_order" in kinds)
