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
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..augment import D8, D8_NAMES
from ..budget import Deadline
from ..config import DslConfig
from ..tasks import Task
from ..vote import hash_grid
from . import learn, list_expand, pieces, roles, size
from .grids import Grid, defined
from .learn import Fitted
from .node import Node
from .ops import Op, build_ops, task_facts


CLOCK_STRIDE = 4
CACHE_FRACTION = 0.25  # of the task's memory: op results cached per grid (the rest: states, temporaries)
CACHE_ENTRY_BYTES = 120  # a cache entry's own cost beside its grid (dict slot, key and value ints), roughly
FILL_COST = 2.0  # filling holes from patches, as a step: like a plain op's
START_COST = 1.0  # a start state beside the input (_start_states), as a step


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
class Program:
    """A program that reproduces every train pair, with what it predicts for the test inputs."""
    text: str
    cost: float                # total cost of its steps; in a SearchResult, the rank cost (see _result)
    outputs: tuple[Grid, ...]  # one per test input
    depth: int = 0             # searched ops before the learned final steps (composition: its deepest edit)


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


def _state_key(grids: Sequence[Grid]) -> tuple[int, ...]:
    return tuple(hash_grid(g) for g in grids)


def _apply_all(fn, grids: Sequence[Grid]) -> tuple[Grid, ...] | None:
    out = []
    for g in grids:
        r = defined(fn, g)
        if r is None:
            return None
        out.append(r)
    return tuple(out)


class OpCache:
    """Each op's result on each grid, computed once per search (icecuber's per-input graph): (op index, grid
    hash) -> result hash, or None where the op is undefined on the grid; results stored once by hash. Grids
    are told apart by their 64-bit hash, as the search's states are. Stops growing at `max_bytes`."""

    def __init__(self, n_ops: int, max_bytes: float):
        self.n_ops = n_ops
        self.max_bytes = max_bytes
        self.results: dict[int, int | None] = {}
        self.grids: dict[int, Grid] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def apply(self, i: int, fn, g: Grid, h: int) -> tuple[Grid, int] | None:
        """(op i's result on grid g whose hash is h, the result's hash), or None where it is undefined."""
        key = h * self.n_ops + i  # exact: one integer per (grid hash, op index) pair
        rh = self.results.get(key, -1)
        if rh != -1:
            self.hits += 1
            return None if rh is None else (self.grids[rh], rh)
        self.misses += 1
        r = defined(fn, g)
        rh = None if r is None else hash_grid(r)
        if rh is not None:
            stored = self.grids.get(rh)
            if stored is not None:
                r = stored  # an equal grid is already held: share it
            elif self.bytes < self.max_bytes:
                self.grids[rh] = r
                self.bytes += r.nbytes
            else:
                return r, rh  # full: computed, not remembered
        if self.bytes < self.max_bytes:
            self.results[key] = rh
            self.bytes += CACHE_ENTRY_BYTES
        return None if r is None else (r, rh)


class Search:
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
        # every train output has most of (None when they differ, or when the shapes are the same).
        self.canvas = None if self.facts.same_shape else _common_background(self.targets)
        self.resize_cache: dict[tuple, list[Fitted]] = {}
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
        self.seen: set[bytes] = set()            # hashes of states on every input
        self.variants: dict[bytes, int] = {}     # train-input hash -> states seen with it
        self.state_bytes = 0
        self.nodes = 0
        self.stopped_by = "exhausted"
        self.cache = OpCache(len(self.ops), cfg.memory_mb * 2 ** 20 * CACHE_FRACTION)
        self.pushed = [0] * (cfg.max_depth + 1)    # nodes per depth put on the frontier (or refused for memory)
        self.expanded = [0] * (cfg.max_depth + 1)  # nodes per depth every op was applied to
        self.depth_reached = 0

    # ------------------------------------------------------------------------------------------- results

    def _keep(self, text: str, cost: float, outputs: tuple[Grid, ...], depth: int) -> None:
        if self.test_shapes is not None and any(o.shape != s for o, s in zip(outputs, self.test_shapes)):
            cost += self.cfg.shape_penalty  # the train pairs say otherwise about the output's shape
        key = _state_key(outputs)
        self.found.setdefault(key, []).append(Program(text, cost, outputs, depth))
        self.best_cost = min(self.best_cost, cost)

    def _finish(self, node: Node, *steps: Fitted) -> None:
        """Apply learned final steps to the node's test grids and keep the program if they apply."""
        outs = node.grids[self.n_train:]
        text, cost = node.program, node.cost
        for step in steps:
            outs = _apply_all(step.apply, outs)
            if outs is None:
                return
            if step.name:
                text = f"{step.name}({text})"
            cost += step.cost
        self._keep(text, cost, outs, node.depth)

    def _finish_fitted(self, node: Node, step: Fitted | None) -> None:
        if step is not None:
            self._finish(node, step)

    def _check(self, node: Node) -> None:
        """Every final step that makes the node reproduce the train outputs."""
        xs = node.grids[:self.n_train]
        if self.sizes is not None:
            self.sizes.see([g.shape for g in node.grids], node.program)
        shapes_match = all(x.shape == s for x, s in zip(xs, self.target_shapes))
        if shapes_match:
            step = learn.fit_colour_map(xs, self.targets)
            if step is not None:
                self._finish(node, step)
                return
            step = learn.fit_lookup(xs, self.targets)
            if step is not None:
                self._finish(node, step)
            step = learn.fit_role_map(xs, self.targets)
            if step is not None:
                self._finish(node, step)
            if node.depth <= self.cfg.local_rule_depth:
                self._finish_fitted(node, learn.fit_shape_swap(xs, self.targets))
            self._note_partial(node, xs)
            if node.depth > 0 and self.stacker is not None and (self.canvas is not None or all(
                    g.shape == i.shape for g, i in zip(node.grids, self.inputs))):
                self.stacker.add(node, node.cost, xs)
            if node.depth <= self.cfg.local_rule_depth:
                # Below the root only the cheap feature sets run now; the ones that label objects wait
                # until the search is done, for whatever budget is left.
                which = "cheap" if node.depth else "all"
                for step in learn.fit_local_rules(xs, self.targets, which):
                    self._finish(node, step)
                if node.depth == 0:
                    self._finish_fitted(node, learn.fit_stamp(xs, self.targets))
                if node.depth == 0 and self.cfg.roles:
                    self._roles(node, xs, lambda a, b: learn.fit_local_rules(a, b, which))
                if node.depth:
                    self.deferred.append(node)
            return
        for step in (learn.fit_lookup(xs, self.targets), learn.fit_block_tiling(xs, self.targets),
                     learn.fit_count_bar(xs, self.targets, self.bar_layouts)):
            if step is not None:
                self._finish(node, step)
        scaled = learn.fit_count_scale(xs, self.targets)
        shapes = tuple(x.shape for x in xs)
        steps = [(k, step) for k, step in enumerate(self._resize_steps(xs)) if (shapes, k) not in self.misfits]
        for k, step in steps + ([(-1, scaled)] if scaled else []):
            resized = _apply_all(step.apply, xs)
            if resized is None:
                continue
            if any(r.shape != s for r, s in zip(resized, self.target_shapes)):
                if k >= 0:  # a resize step's output shape follows from its input's: no use trying it again
                    self.misfits.add((shapes, k))
                continue
            cmap = learn.fit_colour_map(resized, self.targets)
            if cmap is not None:
                self._finish(node, step, cmap)
            elif node.depth == 0:
                for rule in learn.fit_local_rules(resized, self.targets):
                    self._finish(node, step, rule)

    def _roles(self, node: Node, xs: Sequence[Grid], fit) -> None:
        """Learned steps fitted with each grid's free colours renamed by their rank (roles.py)."""
        for step in roles.normalised(fit, xs, self.targets, node.grids[self.n_train:], Fitted):
            self._finish(node, step)

    def _resize_steps(self, xs: Sequence[Grid]) -> list[Fitted]:
        """learn.resize_steps, which reads only the node's shapes (the targets are fixed): once per shapes."""
        key = tuple(x.shape for x in xs)
        steps = self.resize_cache.get(key)
        if steps is None:
            steps = self.resize_cache[key] = learn.resize_steps(xs, self.targets)
        return steps

    def _note_partial(self, node: Node, xs: Sequence[Grid]) -> None:
        right = sum(int((x == y).sum()) for x, y in zip(xs, self.targets))
        total = sum(y.size for y in self.targets)
        acc = right / total
        if self.partial is None or acc > self.partial[0]:
            self.partial = (acc, Program(node.program, node.cost, node.grids[self.n_train:]))

    def _base(self, i: int, shape: tuple[int, int]) -> Grid:
        """What an edit paints on for input i: the input itself, or a blank canvas of the given shape."""
        return self.inputs[i] if self.canvas is None else np.full(shape, self.canvas, np.uint8)

    # -------------------------------------------------------------------------------------------- search

    def _train_ok(self, train_key: tuple[int, ...], parent: Node | None) -> bool:
        """Whether a state with these train-input hashes may be new: it changes something on the train
        inputs (else there is no evidence for the step) and its train result has test variants left."""
        if parent is not None and train_key == parent.train_key(self.n_train):
            return False
        return self.variants.get(train_key, 0) < self.cfg.test_variants

    def _new_state(self, hashes: tuple[int, ...], parent: Node | None) -> bool:
        """Whether the state with these grid hashes is worth keeping (and now remembered)."""
        train_key = hashes[:self.n_train]
        if not self._train_ok(train_key, parent) or hashes in self.seen:
            return False
        self.seen.add(hashes)
        self.variants[train_key] = self.variants.get(train_key, 0) + 1
        return True

    def _child(self, i: int, op: Op, node: Node) -> tuple[tuple[Grid, ...], tuple[int, ...]] | None:
        """Op i on every grid of the node (through the cache), with the results' hashes; None where the op
        is undefined on one of them, or where the train grids already show the child is not worth keeping
        (its test grids are then never computed)."""
        grids, hashes = [], []
        for j, (g, h) in enumerate(zip(node.grids, node.hashes)):
            if j == self.n_train and not self._train_ok(tuple(hashes), node):
                return None
            r = self.cache.apply(i, op.fn, g, h)
            if r is None:
                return None
            grids.append(r[0])
            hashes.append(r[1])
        return tuple(grids), tuple(hashes)

    def ops_at(self, depth: int) -> list[Op]:
        """The ops a node of this depth is expanded with: scene ops only within cfg.scene_depth of the root.
        (A prefix of self.ops, so an op's index, which keys the op cache, is the same either way.)"""
        return self.ops if depth < self.cfg.scene_depth else self.ops[:self.n_general]

    def _out_of_time(self) -> bool:
        if self.clock.out(self.cfg.search_fraction):
            self.stopped_by = "budget"
            return True
        return False

    def _expand(self, node: Node, frontier: list, counter: list[int]) -> bool:
        """Apply every op to the node; False when the budget ran out part way."""
        for i, op in enumerate(self.ops_at(node.depth)):
            # The clock is read every few ops (reading it costs about as much as a cheap op).
            if i % CLOCK_STRIDE == 0 and self._out_of_time():
                return False
            found = self._child(i, op, node)
            if found is not None:
                self._add_child(frontier, counter, node, found[0], op.name, op.cost, found[1])
        self.expanded[node.depth] += 1
        return True

    def _add_child(self, frontier: list, counter: list[int], node: Node, grids: tuple[Grid, ...], name: str,
                   cost: float, hashes: tuple[int, ...] | None = None) -> None:
        """Keep, check and queue a child of the node (one _expand made, or one made outside it), unless it
        is a state already seen or one not worth keeping. `hashes`: its grids' hashes, where known."""
        if hashes is None:
            hashes = _state_key(grids)
        if not self._new_state(hashes, node):
            return
        self.nodes += 1
        child = Node(grids, f"{name}({node.program})", node.cost + cost, node.depth + 1, hashes)
        self.depth_reached = max(self.depth_reached, child.depth)
        self._check(child)
        if child.depth < self.cfg.max_depth:
            self.pushed[child.depth] += 1
            size = sum(g.nbytes for g in grids) + 200  # + the node's own overhead, roughly
            if self.state_bytes + size > self.cfg.memory_mb * 2 ** 20 * self.cfg.state_memory_fraction:
                self.stopped_by = "memory"
                return
            self.state_bytes += size
            counter[0] += 1
            heapq.heappush(frontier, (child.cost, counter[0], child))

    def depth_full(self) -> int:
        """The largest d such that every program of up to d ops was checked: every state of depth below d
        was expanded (states merged as duplicates count as checked: an equal one was)."""
        full = 0
        for d in range(self.cfg.max_depth):
            if self.expanded[d] < self.pushed[d]:
                break
            full = d + 1
        return full

    def run(self) -> SearchResult:
        hashes = _state_key(self.inputs)
        self._new_state(hashes, None)
        root = Node(self.inputs, "x", 0.0, 0, hashes)
        self.pushed[0] = 1
        self._check(root)
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
            colour = _common_background(self.targets)
            if colour is not None and (stack[0][shared] != colour).any():
                template = np.where(shared, stack[0], colour).astype(np.uint8)
                out.append(("common_output", tuple(template for _ in sizes)))
        return out

    def _loop(self, frontier: list, counter: list[int]) -> None:
        while frontier:
            cost, _, node = heapq.heappop(frontier)
            if cost > self.best_cost + self.cfg.cost_slack:
                self.stopped_by = "enough"  # everything cheap enough to compete with the best fit is seen
                break
            if self.nodes >= self.cfg.max_nodes:
                self.stopped_by = "nodes"
                break
            if isinstance(node, list_expand.Job):  # issue 16 hook: a node's list children, in cost order
                parent = node.node
                if not list_expand.expand(parent, self.ops_at(parent.depth), self.facts.same_shape,
                                          self._out_of_time,
                                          lambda *a: self._add_child(frontier, counter, parent, *a)):
                    break
                continue
            if not self._expand(node, frontier, counter):
                break
            if node.depth < self.cfg.list_depth:
                counter[0] += 1
                heapq.heappush(frontier, (list_expand.job_cost(node), counter[0], list_expand.Job(node)))

    # ---------------------------------------------------------------------------------- edit composition

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
                            self.depth_reached, self.depth_full())


def _common_background(grids: Sequence[Grid]) -> int | None:
    """The colour every grid has most of; failing that black, if every grid has some; else None."""
    colours = {int(np.bincount(g.ravel(), minlength=10).argmax()) for g in grids}
    if len(colours) == 1:
        return colours.pop()
    return 0 if all((g == 0).any() for g in grids) else None


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
                        second.stopped_by, max(first.depth_reached, second.depth_reached), first.depth_full)
