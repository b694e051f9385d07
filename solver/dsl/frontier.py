"""The frontier, the search's half that makes states (search.py): nodes expanded cheapest first (uniform-cost
search), each op applied to every grid of a node through the op cache, new states deduplicated by hash
across depths, the memory cap on stored states, and the depth counters (depth_full).

A mixin of search.Search: it reads the search's ops, cfg, clock, n_train and inputs, and calls
Fitting._check on every new state.
"""
from __future__ import annotations

import heapq

import numpy as np

from ..tasks import MAX_SIDE, Grid
from ..vote import hash_grid
from . import list_expand
from .batches import Batched, UsesBg
from .grids import background
from .fitting import state_key
from .node import Node
from .ops import Op

CLOCK_STRIDE = 4
CACHE_FRACTION = 0.2  # of the task's memory: op results cached per grid (with fitting.STEP_CACHE_FRACTION, a quarter)
# A batch's every member computed on a miss of one, else each member when asked (its shared step once a
# grid either way). Off by measurement: the first 6 development tasks of ARC-AGI-2 training at 3 CPU-s
# each, the three ways alternating task by task in one process, gave 4.4k states per CPU-s eager, 4.9k
# per member, 3.7k unbatched (one run, a loaded machine; bench/results/dsl_depth.txt has the benchmark).
EAGER_BATCHES = False
CACHE_ENTRY_BYTES = 120  # a cache entry's own cost beside its grid (dict slot, key and value ints), roughly


def apply_op(fn, *args) -> Grid | None:
    """grids.defined(fn, *args) inlined for the search's hottest line (about half a million calls in ten
    CPU-seconds): fn(*args) as a valid uint8 grid, or None where the op is undefined there."""
    try:
        r = fn(*args)
    except (ValueError, IndexError, MemoryError):  # an op outside its domain behaves as undefined
        return None
    if r is None or r.ndim != 2:
        return None
    h, w = r.shape
    if not (0 < h <= MAX_SIDE and 0 < w <= MAX_SIDE):
        return None
    return r if r.dtype == np.uint8 else r.astype(np.uint8)


_MISSING = object()


class OpCache:
    """Each op's result on each grid, computed once per search (icecuber's per-input graph): (op index, grid
    hash) -> result hash, or None where the op is undefined on the grid; results stored once by hash. Grids
    are told apart by their 64-bit hash, as the search's states are. Stops growing at `max_bytes`.

    With `batches` (batch key -> [(op index, fn)] of the search's batched ops, batches.py), a batch's
    shared step runs once a grid (memo `shared`) and each member on its result when the member is asked
    for; with `eager`, a miss of one member computes and stores every member at once (slower, measured:
    a member undefined on a node's first grid is never asked for on its other grids, so computing it
    there is waste). Each grid's background is read once (an op of batches.UsesBg is handed it). Without
    batches, every op's fn runs alone: the same results, slower."""

    def __init__(self, n_ops: int, max_bytes: float, batches: dict[str, list[tuple[int, Batched]]] | None = None):
        self.n_ops = n_ops
        self.max_bytes = max_bytes
        self.batches = batches
        self.results: dict[int, int | None] = {}
        self.grids: dict[int, Grid] = {}
        self.backgrounds: dict[int, int] = {}  # grid hash -> its background (an int a grid: not capped)
        # (batch key, grid hash) -> (shared step's result,) or None where it failed; emptied by the frontier
        # before each node's expansion, so it holds the shared steps of one node's grids at most.
        self.shared: dict[tuple[str, int], tuple | None] = {}
        self.eager = EAGER_BATCHES
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def background(self, g: Grid, h: int) -> int:
        b = self.backgrounds.get(h)
        if b is None:
            b = self.backgrounds[h] = background(g)
        return b

    def apply(self, i: int, fn, g: Grid, h: int, batch: str | None = None) -> tuple[Grid, int] | None:
        """(op i's result on grid g whose hash is h, the result's hash), or None where it is undefined.
        `batch`: the op's batch key (Op.batch), where it has one."""
        key = h * self.n_ops + i  # exact: one integer per (grid hash, op index) pair
        rh = self.results.get(key, -1)
        if rh != -1:
            self.hits += 1
            return None if rh is None else (self.grids[rh], rh)
        self.misses += 1
        if self.batches is None:
            return self._store(key, apply_op(fn, g))
        if batch is not None:
            if self.eager:
                return self._apply_batch(i, fn, self.batches[batch], g, h)
            return self._store(key, self._member(fn, batch, g, h))
        if isinstance(fn, UsesBg):
            return self._store(key, apply_op(fn.f, g, self.background(g, h)))
        return self._store(key, apply_op(fn, g))

    def _member(self, fn: Batched, batch: str, g: Grid, h: int) -> Grid | None:
        """A batch member on grid g, its batch's shared step computed once a grid (while the memo lasts)."""
        bg = self.background(g, h)
        shared = self.shared.get((batch, h), _MISSING)
        if shared is _MISSING:
            try:
                shared = (fn.share(g, bg),)
            except (ValueError, IndexError, MemoryError):  # outside its domain: every member is undefined
                shared = None
            self.shared[(batch, h)] = shared
        return None if shared is None else apply_op(fn.member, g, bg, shared[0])

    def _apply_batch(self, i: int, fn: Batched, members: list[tuple[int, Batched]], g: Grid,
                     h: int) -> tuple[Grid, int] | None:
        """Every member of op i's batch on grid g, stored; op i's result. The shared step runs once; where it
        fails (outside its domain) every member does, as each member's fn alone would."""
        bg = self.background(g, h)
        try:
            shared = fn.share(g, bg)
            ok = True
        except (ValueError, IndexError, MemoryError):
            shared, ok = None, False
        own = None
        base = h * self.n_ops
        for j, member in members:
            found = self._store(base + j, apply_op(member.member, g, bg, shared) if ok else None)
            if j == i:
                own = found
        return own

    def _store(self, key: int, r: Grid | None) -> tuple[Grid, int] | None:
        """Remember result r under key (while there is room); (r or an equal grid already held, its hash)."""
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



class Frontier:
    """States made from states by the ops, queued by cost."""

    def _init_frontier(self) -> None:
        self.seen: set[tuple[int, ...]] = set()          # hashes of states on every input
        self.variants: dict[tuple[int, ...], int] = {}   # train-input hashes -> states seen with them
        self.state_bytes = 0
        self.nodes = 0
        self.stopped_by = "exhausted"
        batches: dict[str, list[tuple[int, Batched]]] | None = None
        if self.cfg.batch_ops:
            batches = {}
            for i, op in enumerate(self.ops):
                if op.batch is not None:
                    batches.setdefault(op.batch, []).append((i, op.fn))
        self.cache = OpCache(len(self.ops), self.cfg.memory_mb * 2 ** 20 * CACHE_FRACTION, batches)
        self.pushed = [0] * (self.cfg.max_depth + 1)    # nodes per depth put on the frontier (or refused for memory)
        self.expanded = [0] * (self.cfg.max_depth + 1)  # nodes per depth every op was applied to
        self.depth_reached = 0

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
            r = self.cache.apply(i, op.fn, g, h, op.batch)
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
        self.cache.shared.clear()
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
            hashes = state_key(grids)
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
