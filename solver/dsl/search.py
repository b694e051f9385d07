"""The program search: compositions of ops, cheapest first, with learned final steps, lists and pieces.

A node is the result of one program on every input of the task (train inputs, then test inputs). Nodes are
expanded in order of total cost (uniform-cost search, i.e. iterative deepening by cost). States are merged
by hashing their grids (numba hashes from solver/vote.py): a node equal to an earlier one on every input is
dropped, and so is a node equal to its parent on every train input (a step that changes only a test input,
say removing a colour only the test has, has no evidence behind it). States equal on the train inputs but
different on a test input are alternatives the train pairs cannot tell apart; a few of them are kept
(cfg.test_variants), since the second attempt is for exactly that doubt.
Every new node is checked against the train outputs through the final steps of learn.py (as is, colour
map, resize, local rule); a program that reproduces every train pair is kept with its test outputs.
The ops (ops.build_ops) are the general basis, then the scene ops, each cheapest first by their learned
costs; a node deeper than cfg.scene_depth - 1 is expanded with the general basis only (ops_at). Fitting
programs rank by cost, the test-shape penalties and the agreement of programs on their outputs (_result).

Speed, which buys depth (after icecuber): an op's result on a grid is computed once per search and cached by
the grid's hash, whichever node the grid belongs to (nodes share many grids: a step that changes one input
leaves the others as they were), failures included; equal results are stored once. A child's train grids
come first, so a child that changes nothing on them, or whose train result already has its test variants,
is dropped before its test grids are computed.

Three issue-16 parts live in modules of their own, hooked in here: list children of the root (split /
pick / filter / map / join, list_expand.py), pieces composition when nothing fits (a greedy stack of nodes
of the outputs' shapes, pieces.py) and the output size read off a node's size (size.py). Also after
icecuber: start states beside the input (_start_states), holes filled from patches and stacks on all train
pairs but one when the stack stops short (_compose), and a second search on the transposed task when the
first finds nothing (search()).

Before the main search, the deep search (deep.py) checks every program of up to three general ops that have
numba kernels, with a colour map as the final step, in compiled code; its programs join `found` with the
texts and costs this search would give them.

The search is three mixins over one state: frontier.py (expansion, dedup, the memory cap), fitting.py (the
learned final steps on each new state) and compose.py (pieces stacked when nothing fits); this module joins
them, starts the search and ranks what it found.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..augment import D8, D8_NAMES
from ..budget import Deadline
from ..config import DslConfig
from ..tasks import Task
from . import deep, learn, pieces, size
from .compose import Composer, common_background
from .fitting import STEP_CACHE_FRACTION, Fitting, Program, StepCache, state_key
from .frontier import Frontier, OpCache
from .grids import Grid
from .learn import Fitted
from .node import Node
from .ops import Op, build_ops, task_facts

__all__ = ["Clock", "Program", "SearchResult", "Search", "search", "OpCache", "Node"]

START_COST = 1.0  # a start state beside the input (_start_states), as a step
_state_key = state_key  # the old name, for callers from before the split


class Clock:
    """The task's CPU-second budget (time.process_time) and the caller's wall-clock deadline, together."""

    def __init__(self, cpu_seconds: float, deadline: Deadline):
        self.start = time.process_time()
        self.cpu_end = self.start + cpu_seconds
        self.deadline = deadline

    def out(self, fraction: float = 1.0) -> bool:
        """Whether `fraction` of the CPU budget is used, or the deadline has passed."""
        now = time.process_time()
        return now >= self.start + fraction * (self.cpu_end - self.start) or self.deadline.expired()

    def used(self) -> float:
        return time.process_time() - self.start


@dataclass
class SearchResult:
    programs: list[Program]                  # fitting programs, one per distinct test prediction, best first
    agreement: list[int]                     # how many fitting programs gave each prediction
    partial: Program | None                  # the best non-fitting program, when nothing fits
    partial_accuracy: float = 0.0            # its share of train output cells right
    nodes: int = 0                           # distinct states visited
    state_bytes: int = 0                     # bytes held by stored states at the end
    cpu_seconds: float = 0.0
    stopped_by: str = "exhausted"            # exhausted | budget | memory | nodes | enough
    depth_reached: int = 0                   # deepest program (ops before the final steps) checked
    depth_full: int = 0                      # every program of up to this many ops was checked (see _depth_full)
    deep: deep.DeepResult | None = None      # the deep search's counts (deep.py), when it ran


class Search(Frontier, Fitting, Composer):
    """One task's search: the task read once (shapes, facts, ops, canvas), the three halves' state, run()."""

    def __init__(self, task: Task, cfg: DslConfig, clock: Clock):
        self.cfg = cfg
        self.clock = clock
        self.n_train = len(task.train)
        self.targets = [ex.output for ex in task.train]
        self.inputs = tuple(ex.input for ex in task.train) + tuple(ex.input for ex in task.test)
        self.facts = task_facts(task)
        self.ops: list[Op] = build_ops(self.facts, cfg.catalogues, cfg.learned_costs)  # the general basis first, then scenes
        self.n_general = sum(not op.scene for op in self.ops)
        self.target_shapes = [y.shape for y in self.targets]
        self.test_shapes = learn.predict_output_shapes(self.inputs[:self.n_train], self.targets,
                                                       self.inputs[self.n_train:])
        self.bar_layouts = learn.bar_layouts(self.targets)
        # Issue 16 hook (size.py): when the inputs do not tell the outputs' shapes, some node's shapes may.
        self.sizes = size.SizePredictor(self.target_shapes, self.n_train) if self.test_shapes is None else None
        # Composition on a blank canvas, for tasks whose outputs are not their inputs' shape: the colour
        # every train output has most of; when they have none in common (layers laid over each other cover
        # every cell), the inputs' background, which pieces leave unpainted (icecuber's transparent black).
        # None when the shapes are the same.
        self.canvas = None
        if not self.facts.same_shape:
            self.canvas = common_background(self.targets)
            if self.canvas is None:
                self.canvas = common_background(self.inputs[:self.n_train])
        self.resize_cache: dict[tuple, list[Fitted]] = {}
        self.step_cache = StepCache(cfg.memory_mb * 2 ** 20 * STEP_CACHE_FRACTION)
        self.misfits: set[tuple] = set()  # (node shapes, resize step index): gives the wrong output shapes
        self.found: dict[bytes, list[Program]] = {}  # test-output key -> programs giving it
        self.best_cost = float("inf")
        self.partial: tuple[float, Program] | None = None
        # Pieces for composition (pieces.py): on the input, or on a blank canvas only the painted cells count
        # (painting it all is a fit, not a piece).
        self.stacker = None if not (self.facts.same_shape or self.canvas is not None) else pieces.Stacker(
            self.targets, [self._base(i, y.shape) for i, y in enumerate(self.targets)],
            ("paint",) if self.canvas is not None else tuple(pieces.MODES), cfg.max_edits)
        self.deferred: list[Node] = []  # nodes still owed the costly local rules
        self._init_frontier()

    def run(self) -> SearchResult:
        hashes = state_key(self.inputs)
        self._new_state(hashes, None)
        root = Node(self.inputs, "x", 0.0, 0, hashes)
        self.pushed[0] = 1
        self._check(root)
        self.deep = None
        if min(self.cfg.deep_depth, self.cfg.max_depth) > 0:
            try:
                self.deep = self._deep()
            except MemoryError:  # the worker's address-space cap: the main search goes on without it
                pass
        frontier: list = [(0.0, 0, root)]
        counter = [0]
        for name, grids in self._start_states():
            self._add_child(frontier, counter, root, grids, name, START_COST)
        try:
            self._loop(frontier, counter)
        except MemoryError:  # the worker's address-space cap: keep what was found so far
            self.stopped_by = "memory"
            frontier.clear()
        for node in sorted(self.deferred, key=lambda n: n.cost):
            if self.clock.out(self.cfg.rules_fraction):
                break
            for step in learn.fit_local_rules(node.grids[:self.n_train], self.targets, "rich"):
                self._finish(node, step)
            self._finish_fitted(node, learn.fit_stamp(node.grids[:self.n_train], self.targets))
        if not self.found and self.stacker is not None:
            self._compose()
        return self._result()

    def _deep(self) -> deep.DeepResult:
        """The deep search (deep.py) over this task's general ops that have kernels; its programs are kept as
        the main search keeps its own (same texts and costs, so one found by both counts once)."""
        budget = self.cfg.deep_share * (self.clock.cpu_end - self.clock.start)
        memory = int(self.cfg.memory_mb * 2 ** 20 * self.cfg.deep_memory_fraction)
        depth = min(self.cfg.deep_depth, self.cfg.max_depth)  # max_depth bounds every program searched
        runner = deep.Deep(self.inputs, self.n_train, self.targets, deep.kernel_ops(self.ops), memory, depth)
        result = runner.run(depth, budget, self.clock.deadline.expired, self.cfg.deep_max_checked)
        for fit in result.fits:
            self._keep(fit.text, fit.cost, fit.outputs, fit.depth)
        return result

    def _start_states(self) -> list[tuple[str, tuple[Grid, ...]]]:
        """States to search from beside the input (issue 16, after icecuber), where the train pairs tell
        the test outputs' shapes: a blank canvas of the output's size, for outputs drawn from scratch
        (a learned rule or an op paints it; composition stacks pieces on it), and the cells every train
        output shares, for outputs built on a fixed template."""
        shapes = self.test_shapes
        if shapes is None:  # the train pairs' shape rules (a ratio, an offset): used when they all agree
            rules = learn.output_shape_rules(self.inputs[:self.n_train], self.targets)
            said = {tuple(rule(t) for t in self.inputs[self.n_train:]) for _, rule in rules}
            if len(said) != 1:
                return []
            shapes = list(said.pop())
            if any(not (1 <= h <= 30 and 1 <= w <= 30) for h, w in shapes):
                return []
        out = []
        sizes = self.target_shapes + list(shapes)
        if not self.facts.same_shape and self.canvas is not None:
            out.append(("blank_canvas", tuple(np.full(s, self.canvas, np.uint8) for s in sizes)))
        if len(set(sizes)) == 1:
            stack = np.stack(self.targets)
            shared = (stack == stack[0]).all(axis=0)
            colour = common_background(self.targets)
            if colour is not None and (stack[0][shared] != colour).any():
                template = np.where(shared, stack[0], colour).astype(np.uint8)
                out.append(("common_output", tuple(template for _ in sizes)))
        return out

    # ----------------------------------------------------------------------------------------- ranking

    def _predicted_shape_cost(self, outputs: tuple[Grid, ...]) -> float:
        """shape_penalty when the size predictor (size.py) found the test outputs' shapes and these differ."""
        shapes = None if self.sizes is None else self.sizes.test_shapes
        if shapes is None or all(o.shape == s for o, s in zip(outputs, shapes)):
            return 0.0
        return self.cfg.shape_penalty

    def _result(self) -> SearchResult:
        groups = []
        for progs in self.found.values():
            best = min(progs, key=lambda p: (p.cost, p.text))
            # Agreement between programs is weak evidence (programs that differ by a no-op agree for free),
            # so it only breaks near-ties: each doubling of the count is worth a fifth of a step, at most one.
            rank_cost = best.cost - min(1.0, 0.2 * np.log2(len(progs))) + self._predicted_shape_cost(best.outputs)
            groups.append((rank_cost, best.text, best, len(progs)))
        groups.sort(key=lambda t: (t[0], t[1]))
        partial, acc = (None, 0.0) if self.partial is None else (self.partial[1], self.partial[0])
        return SearchResult([Program(g[2].text, g[0], g[2].outputs, g[2].depth) for g in groups], [g[3] for g in groups],
                            partial, acc, self.nodes, self.state_bytes, self.clock.used(), self.stopped_by,
                            self.depth_reached, self.depth_full(), self.deep)



def search(task: Task, cfg: DslConfig, clock: Clock) -> SearchResult:
    """The search, and when it finds no program, a second one on the task under cfg.second_pass (a
    symmetry of the square; after icecuber, who reruns on transposed pairs), its answers mapped back."""
    if not cfg.second_pass:
        return Search(task, cfg, clock).run()
    total = clock.cpu_end - clock.start
    first = Search(task, cfg, Clock(total * (1 - cfg.second_pass_share), clock.deadline)).run()
    if first.programs or clock.out():
        return first
    view = D8(D8_NAMES.index(cfg.second_pass))
    second = Search(view.apply_task(task), cfg, Clock(clock.cpu_end - time.process_time(), clock.deadline)).run()
    return _merge(first, second, view, clock)


def _merge(first: SearchResult, second: SearchResult, view: D8, clock: Clock) -> SearchResult:
    """The second pass's programs (the first found none), its test outputs mapped back to the task's frame;
    the better best effort of the two; the work of both."""
    def back(p: Program) -> Program:
        return Program(f"{view.name}^-1({p.text} on {view.name}(task))", p.cost,
                       tuple(view.invert(o) for o in p.outputs), p.depth)
    partial, acc = first.partial, first.partial_accuracy
    if second.partial is not None and (partial is None or second.partial_accuracy > acc):
        partial, acc = back(second.partial), second.partial_accuracy
    return SearchResult([back(p) for p in second.programs], second.agreement, partial, acc,
                        first.nodes + second.nodes, max(first.state_bytes, second.state_bytes), clock.used(),
                        second.stopped_by, max(first.depth_reached, second.depth_reached), first.depth_full,
                        first.deep)
