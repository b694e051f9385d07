"""The operation library the search composes: grid -> grid steps with their parameters bound, for one task.

The ops come from two tables grouped by concept: the general basis (catalogue.py) and the scenes
(scenes.py); the task's facts (colours in their roles, scale factors, whether shapes are kept) bind their
parameters. Each op has a cost, learned from how often development tasks' solving programs use its family
(fit_costs.py -> costs.json): the search explores cheap compositions first and ranks fitting programs by
total cost, so a cost is a prior on how often such a step is the answer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from . import grids as G
from .batches import Batched
from .catalogue import GENERAL
from .grids import Grid
from .learn import shape_ratio
from .scenes import SCENES_TABLE
from ..tasks import Task

COSTS_PATH = Path(__file__).with_name("costs.json")


@dataclass(frozen=True)
class Op:
    name: str
    cost: float
    fn: Callable[[Grid], Grid | None]
    scene: bool = False  # of the scenes catalogue (scenes.py): searched only near the root
    batch: str | None = None  # ops with one key share work on a grid and are computed together (batches.py)


def family(name: str) -> str:
    """An op's family: its name without the bracketed parameters (crop_object[c8,largest] -> crop_object)."""
    return name.split("[", 1)[0]


@lru_cache(maxsize=1)
def learned_costs() -> tuple[dict[str, float], float]:
    """The committed cost table (costs.json, made by fit_costs.py): (cost per family, cost of any other)."""
    data = json.loads(COSTS_PATH.read_text())
    return data["costs"], data["default"]


@dataclass(frozen=True)
class TaskFacts:
    """What the op library is parameterised by, all read off the task's grids."""
    in_colours: frozenset[int]      # in any input (train or test)
    out_colours: frozenset[int]     # in any train output
    new_colours: frozenset[int]     # in some train output but in no train input
    mask_colours: frozenset[int]    # in every train input, in no train output: cells to fill in
    scale_factors: frozenset[tuple[int, int]]  # the output/input shape ratio, when all pairs share one
    same_shape: bool                # every train output has its input's shape
    common_colours: frozenset[int] = frozenset()  # in every train input


def task_facts(task: Task) -> TaskFacts:
    xs = [ex.input for ex in task.train]
    ys = [ex.output for ex in task.train]
    in_colours = frozenset().union(*(G.palette(ex.input) for ex in task.train + task.test))
    train_in = frozenset().union(*(G.palette(x) for x in xs))
    out_colours = frozenset().union(*(G.palette(y) for y in ys))
    common = frozenset.intersection(*(G.palette(x) for x in xs))
    mask = common - out_colours
    factors = set()
    ry, rx = shape_ratio(xs, ys, 0), shape_ratio(xs, ys, 1)
    if ry and rx:
        factors.add((ry[1], rx[1]))
    return TaskFacts(in_colours, out_colours, out_colours - train_in, mask, frozenset(factors),
                     all(x.shape == y.shape for x, y in zip(xs, ys)), common)


def build_ops(facts: TaskFacts, catalogues: Sequence[str] = ("general", "scenes"), learned: bool = True) -> list[Op]:
    """Every op of the given catalogues for this task: the general basis first, then cheapest first, then by
    name (the order is part of the search's determinism). Costs: the learned table (costs.json), or with
    learned=False the hand-set ones of the tables."""
    costs, default = learned_costs() if learned else ({}, None)
    ops = []
    for catalogue, table in (("general", GENERAL), ("scenes", SCENES_TABLE)):
        if catalogue not in catalogues:
            continue
        for _, cost, make in table:
            for name, fn in make(facts):
                ops.append(Op(name, costs.get(family(name), default) if learned else cost, fn,
                              catalogue == "scenes", fn.key if isinstance(fn, Batched) else None))
    return sorted(ops, key=lambda op: (op.scene, op.cost, op.name))


def every_fact(same_shape: bool, factors: frozenset[tuple[int, int]] = frozenset({(2, 2)})) -> TaskFacts:
    """Facts under which a table makes every op it has for one shape case (every colour in every role)."""
    every = frozenset(range(10))
    return TaskFacts(every, every, every, every, factors, same_shape, every)


# The families of the scenes catalogue (bench/op_usage.py compares them with the admission rule).
SCENES = frozenset(family(name) for same in (True, False) for _, _, make in SCENES_TABLE
                   for name, _ in make(every_fact(same)))
