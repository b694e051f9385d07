"""The DSL stage: search one task for programs and turn them into candidates.

Candidates carry typed evidence (tasks.Candidate): `fits_train` True for a program that reproduces every
train pair, with its rank `cost` (lower: simpler, or agreed on by several programs); a best-effort program
that does not (offered only when no program does) has `fits_train` False, its share of train output cells
right as `train_accuracy`, and a text starting with "partial: ". At most two distinct grids per test input,
best first.
"""
from __future__ import annotations

import resource
from dataclasses import dataclass, field

import numpy as np

from ..budget import Deadline
from ..config import DslConfig
from ..tasks import Candidate, Example, Grid, Task
from ..vote import hash_grid, hash_grids, pack
from . import grids as G
from . import deep, learn
from . import objects as O
from .prims.completion import _shifted_row_period
from .prims.scene_completion import _rot_complete
from .prims.scene_fills import _clusters
from .search import Clock, SearchResult, search

STAGE = "dsl"
PARTIAL_PREFIX = "partial: "


def is_fitting(candidate: Candidate) -> bool:
    """Whether a DSL candidate comes from a program that reproduces every train pair."""
    return candidate.stage == STAGE and bool(candidate.fits_train)


@dataclass
class Outcome:
    """One task's candidates and the numbers a benchmark wants about how they were found."""
    task_id: str
    candidates: list[Candidate]
    fitting_programs: int  # distinct test predictions made by programs that reproduce every train pair
    nodes: int
    cpu_seconds: float
    state_bytes: int
    max_rss_mb: float
    stopped_by: str
    error: str | None = None
    depth_reached: int = 0  # deepest program checked (ops before the learned final steps)
    depth_full: int = 0     # every program of up to this many ops was checked
    deep_full: int = 0      # the deep search (deep.py): every program of up to this many kernel ops was checked
    deep_checked: int = 0   # programs the deep search checked
    # Every fitting program's prediction, best first: (text, rank cost, depth, one grid per test input).
    # For benchmarks (coverage: is the truth anywhere among them; depth of the programs that solve).
    predictions: list[tuple[str, float, int, tuple[np.ndarray, ...]]] = field(default_factory=list)


def candidates_from(result: SearchResult, n_test: int, partial: bool) -> list[Candidate]:
    out: list[Candidate] = []
    for i in range(n_test):
        chosen = []
        for prog in result.programs:
            g = prog.outputs[i]
            if any(c.shape == g.shape and (c == g).all() for c in chosen):
                continue
            chosen.append(g)
            out.append(Candidate(i, g, STAGE, program=prog.text, fits_train=True, cost=max(0.0, prog.cost)))
            if len(chosen) == 2:
                break
        if not chosen and partial and result.partial is not None:
            out.append(Candidate(i, result.partial.outputs[i], STAGE, program=PARTIAL_PREFIX + result.partial.text,
                                 fits_train=False, train_accuracy=result.partial_accuracy))
    return out


def warm_up() -> None:
    """Compile every numba kernel of the DSL, or load it from numba's on-disk cache, so that no task pays
    for it out of its own CPU budget. Call once per process before solving (pool initialisers, stages)."""
    g = np.array([[0, 1, 0, 0], [2, 2, 0, 3], [0, 0, 0, 3]], np.uint8)
    G.background(g)
    G.symmetrize_offset(g, "lr", 0)
    G.fill_enclosed(g, 4, 0)
    G.flood(g, 1, 0)
    G.rays(g, "cross", 0)
    G.connect_pairs(g, 0)
    G.periodic_fill(g, 3)
    G.denoise(g, 3)
    O.objects(g, "c4", 0)
    O.object_gravity(g, "c8", "down")
    hash_grids(pack([g]))
    hash_grid(g)
    learn._cell_map(g, g)
    G.gravity(g, "down", 0)
    G.extend_periodic(g, 4, 6)
    G.fill_largest_rect(g, 4)
    # Kernels that only some ops reach, with the argument types those ops pass (numba compiles one version
    # per type signature: a reversed view is a different array type from a fresh grid).
    learn._cell_map(g[::-1], g)
    _shifted_row_period(g, np.uint8(0))
    ys = np.array([0, 1], np.int64)
    _rot_complete(ys, ys, ys, 3, 4, 0, 0, 2, 2)
    _clusters(g == 2, 1)
    deep.warm_up()


def writable(task: Task) -> Task:
    """The task with every grid a writable C-ordered array. numba compiles a kernel once per argument type,
    and a read-only array is another type: a task that came through Ray's object store (a sweep's worker)
    has read-only grids, so without this each worker's first task compiled a dozen kernels again, out of its
    own CPU budget (seconds), and searched less than the same task did in a run."""
    def own(g: Grid | None) -> Grid | None:
        return g if g is None or (g.flags.writeable and g.flags.c_contiguous) else np.array(g, np.uint8, order="C")

    def examples(exs):
        return [Example(own(ex.input), own(ex.output)) for ex in exs]
    return task.with_examples(examples(task.train), examples(task.test))


def solve_with_stats(task: Task, cfg: DslConfig, deadline: Deadline) -> Outcome:
    task = writable(task)
    clock = Clock(cfg.seconds_per_task, deadline)
    result = search(task, cfg, clock)
    candidates = candidates_from(result, len(task.test), cfg.partial)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    predictions = [(p.text, p.cost, p.depth, p.outputs) for p in result.programs[:cfg.max_predictions]]
    return Outcome(task.id, candidates, len(result.programs), result.nodes, result.cpu_seconds,
                   result.state_bytes, max_rss, result.stopped_by, depth_reached=result.depth_reached,
                   depth_full=result.depth_full, predictions=predictions,
                   deep_full=result.deep.depth_full if result.deep else 0,
                   deep_checked=result.deep.checked if result.deep else 0)


def solve(task: Task, cfg: DslConfig, deadline: Deadline) -> list[Candidate]:
    """Candidates for every test input of the task, within cfg.seconds_per_task CPU seconds and the
    deadline, whichever comes first. Picklable (top-level), so a process pool can call it directly."""
    return solve_with_stats(task, cfg, deadline).candidates
