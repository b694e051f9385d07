"""The deep search (issue 24 item 2): every composition of up to cfg.deep_depth ops of the general basis that
have numba kernels (kernels.py), a whole level at a time in compiled code, with the colour map as the final
step, after icecuber's depth-3 enumeration.

The main search (search.py) pays a Python call per op and grid and reaches depth 1 or 2 in its budget. Here
the states of a level live in one flat buffer (their grids packed, one offset per grid) and `_expand` applies
every op to a range of parents in one call: a child is computed train grid by train grid, dropped as soon
as it is undefined or (at the last level) cannot be colour-mapped onto its train output, deduplicated by a
64-bit hash of all its grids in an open-addressing table (across depths, as the main search does), and
dropped when it leaves every train grid as its parent had it (no evidence for the step). Levels below the
last are stored; the last is only checked, so depth 3 costs one op on one grid for most programs.

A child whose every train grid can be colour-mapped onto its output is a candidate fit: Python replays its
ops, fits learn.fit_colour_map (the main search's own final step, with its refusals) and gives the program
with the same text and cost the main search would give it. Parents of the last level go cheapest first,
and ops cheapest first, so a budget cut leaves the dearest programs unchecked.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numba
import numpy as np

from ..tasks import MAX_SIDE
from . import kernels as K
from . import learn
from .grids import Grid

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)
CHUNK_CHILDREN = 20_000  # children (parents x ops) per compiled call: the budget is checked between calls
MAX_FITS = 4096          # candidate fits kept per call


@dataclass(frozen=True)
class KernelOp:
    name: str
    cost: float
    kernel: tuple[int, int, int]


@dataclass
class DeepFit:
    text: str
    cost: float
    outputs: tuple[Grid, ...]  # one per test input
    depth: int


@dataclass
class DeepResult:
    fits: list[DeepFit] = field(default_factory=list)
    states: int = 0           # distinct states stored (depths below the last)
    checked: int = 0          # programs computed on every train grid, or dropped at a train grid's fit check
    depth_full: int = 0       # every program of up to this many kernel ops was checked
    cpu_seconds: float = 0.0
    stopped_by: str = "exhausted"  # exhausted | budget | checks | memory


@numba.njit(cache=True)
def _grid_hash(g, h, w):
    x = _FNV_OFFSET
    x = (x ^ np.uint64(h)) * _FNV_PRIME
    x = (x ^ np.uint64(w)) * _FNV_PRIME
    for i in range(h):
        for j in range(w):
            x = (x ^ np.uint64(g[i, j])) * _FNV_PRIME
    return x


@numba.njit(cache=True)
def _state_hash(cells, off, hs, ws, k0, k1, start):
    """Grids k0..k1-1 of a stored state folded into `start`, as _expand folds a child's."""
    key = start
    for k in range(k0, k1):
        g = cells[off[k]:off[k] + hs[k] * ws[k]].reshape((hs[k], ws[k]))
        key = (key ^ _grid_hash(g, hs[k], ws[k])) * _FNV_PRIME
    return key


@numba.njit(cache=True)
def _insert(table, key):
    """Add key to the open-addressing set; False when it was there (or the table is full: treated as seen)."""
    if key == 0:
        key = 1
    key = np.uint64(key)
    mask = np.uint64(table.shape[0] - 1)
    i = key & mask
    for _ in range(table.shape[0]):
        if table[i] == 0:
            table[i] = key
            return True
        if table[i] == key:
            return False
        i = (i + np.uint64(1)) & mask
    return False


@numba.njit(cache=True)
def _maps_onto(g, h, w, t, th, tw, cmap):
    """Whether g can be colour-mapped onto target t consistently with the map so far (updated)."""
    if h != th or w != tw:
        return False
    for i in range(h):
        for j in range(w):
            a, b = g[i, j], t[i, j]
            if cmap[a] < 0:
                cmap[a] = b
            elif cmap[a] != b:
                return False
    return True


@numba.njit(cache=True)
def _apply_to(kind, a, b, cells, off, hs, ws, p, k, scratch, sh, sw):
    """Op (kind, a, b) on grid k of stored state p, into scratch[k] (its shape in sh[k], sw[k]); False where
    the op is undefined there."""
    h, w = hs[p, k], ws[p, k]
    oh, ow = K.apply(kind, a, b, cells[off[p, k]:off[p, k] + h * w].reshape((h, w)), scratch[k])
    sh[k], sw[k] = oh, ow
    return oh >= 0


@numba.njit(cache=True)
def _expand(cells, off, hs, ws, thash, order, lo, hi, kinds, aa, bb, n_train,
            tcells, toff, th, tw, store, count, parent, opi, table, fit_par, fit_op, scratch, sh, sw, stats):
    """Every op on parents order[lo:hi]. Stored children go to the end of the buffers (count = [states,
    cells used]); candidate fits to fit_par/fit_op (stats[2] of them). stats: [programs checked, children
    stored, fits, buffers full]."""
    n_k = off.shape[1]
    n_ops = kinds.shape[0]
    cmap = np.empty(10, np.int64)
    for q in range(lo, hi):
        p = order[q]
        for o in range(n_ops):
            stats[0] += 1
            ok = True
            fits = True
            cmap[:] = -1
            for k in range(n_train):
                if not _apply_to(kinds[o], aa[o], bb[o], cells, off, hs, ws, p, k, scratch, sh, sw):
                    ok = False
                    break
                if fits:
                    t = tcells[toff[k]:toff[k] + th[k] * tw[k]].reshape((th[k], tw[k]))
                    fits = _maps_onto(scratch[k], sh[k], sw[k], t, th[k], tw[k], cmap)
                if not store and not fits:  # the last level: a child that cannot fit is of no use
                    ok = False
                    break
            if not ok:
                continue
            key = _FNV_OFFSET
            for k in range(n_train):
                key = (key ^ _grid_hash(scratch[k], sh[k], sw[k])) * _FNV_PRIME
            if store and key == thash[p]:
                continue  # no train grid changed: no evidence for this step
            for k in range(n_train, n_k):
                if not _apply_to(kinds[o], aa[o], bb[o], cells, off, hs, ws, p, k, scratch, sh, sw):
                    ok = False
                    break
            if not ok:
                continue
            if store:
                full = key
                for k in range(n_train, n_k):
                    full = (full ^ _grid_hash(scratch[k], sh[k], sw[k])) * _FNV_PRIME
                if not _insert(table, full):
                    continue
                size = 0
                for k in range(n_k):
                    size += sh[k] * sw[k]
                s = count[0]
                if s >= parent.shape[0] or count[1] + size > cells.shape[0]:
                    stats[3] = 1
                else:
                    c = count[1]
                    for k in range(n_k):
                        off[s, k], hs[s, k], ws[s, k] = c, sh[k], sw[k]
                        for i in range(sh[k]):
                            for j in range(sw[k]):
                                cells[c] = scratch[k][i, j]
                                c += 1
                    parent[s], opi[s], thash[s] = p, o, key
                    count[0], count[1] = s + 1, c
                    stats[1] += 1
            if fits and stats[2] < fit_par.shape[0]:
                fit_par[stats[2]], fit_op[stats[2]] = p, o
                stats[2] += 1


class Deep:
    """One task's deep search over `ops`: build the root, expand level by level, replay the fits."""

    def __init__(self, inputs: Sequence[Grid], n_train: int, targets: Sequence[Grid], ops: Sequence[KernelOp],
                 memory_bytes: int, max_depth: int = 3):
        self.inputs, self.n_train, self.targets = tuple(inputs), n_train, list(targets)
        self.ops = sorted(ops, key=lambda op: (op.cost, op.name))
        self.op_cost = np.array([op.cost for op in self.ops], np.float64)
        self.kinds = np.array([op.kernel[0] for op in self.ops], np.int64)
        self.aa = np.array([op.kernel[1] for op in self.ops], np.int64)
        self.bb = np.array([op.kernel[2] for op in self.ops], np.int64)
        n_k = len(self.inputs)
        per_state = sum(g.size for g in self.inputs) * 2 + n_k * 24 + 40  # cells (grids grow) and index
        stored = sum(len(ops) ** d for d in range(max_depth))  # states of the levels kept, at most
        cap = int(max(64, min(stored, 1_000_000, memory_bytes // per_state)))
        self.cells = np.zeros(int(max(cap * per_state // 2, 4 * MAX_SIDE * MAX_SIDE * n_k)), np.uint8)
        self.off = np.zeros((cap, n_k), np.int64)
        self.hs = np.zeros((cap, n_k), np.int64)
        self.ws = np.zeros((cap, n_k), np.int64)
        self.thash = np.zeros(cap, np.uint64)
        self.parent = np.full(cap, -1, np.int64)
        self.opi = np.full(cap, -1, np.int64)
        self.cost = np.zeros(cap, np.float64)
        self.depth = np.zeros(cap, np.int64)
        self.table = np.zeros(1 << int(np.ceil(np.log2(cap * 4))), np.uint64)
        self.count = np.zeros(2, np.int64)
        self.tcells = np.concatenate([t.ravel() for t in self.targets]).astype(np.uint8)
        self.toff = np.cumsum([0] + [t.size for t in self.targets])[:-1].astype(np.int64)
        self.th = np.array([t.shape[0] for t in self.targets], np.int64)
        self.tw = np.array([t.shape[1] for t in self.targets], np.int64)
        self.scratch = np.zeros((n_k, MAX_SIDE, MAX_SIDE), np.uint8)
        self.sh = np.zeros(n_k, np.int64)
        self.sw = np.zeros(n_k, np.int64)
        self.fit_par = np.zeros(MAX_FITS, np.int64)
        self.fit_op = np.zeros(MAX_FITS, np.int64)
        self.seen: set[tuple[bytes, ...]] = set()  # states of the fits kept
        self._add_root()

    def _add_root(self) -> None:
        c = 0
        for k, g in enumerate(self.inputs):
            self.off[0, k], self.hs[0, k], self.ws[0, k] = c, g.shape[0], g.shape[1]
            self.cells[c:c + g.size] = g.ravel()
            c += g.size
        train = _state_hash(self.cells, self.off[0], self.hs[0], self.ws[0], 0, self.n_train, _FNV_OFFSET)
        self.thash[0] = train
        full = _state_hash(self.cells, self.off[0], self.hs[0], self.ws[0], self.n_train, len(self.inputs),
                           np.uint64(train))
        _insert(self.table, np.uint64(full))
        self.count[:] = (1, c)

    def grids(self, s: int) -> list[Grid]:
        return [self.cells[self.off[s, k]:self.off[s, k] + self.hs[s, k] * self.ws[s, k]]
                .reshape(self.hs[s, k], self.ws[s, k]) for k in range(len(self.inputs))]

    def text(self, s: int) -> str:
        names = []
        while s > 0:
            names.append(self.ops[self.opi[s]].name)
            s = self.parent[s]
        out = "x"
        for name in reversed(names):
            out = f"{name}({out})"
        return out

    def run(self, max_depth: int, cpu_seconds: float, out_of_time=lambda: False, max_checked: int = 0) -> DeepResult:
        """Expand level by level, cheapest parents first, until max_depth, the CPU budget, the caller's
        out_of_time, or (when max_checked > 0) that many programs checked: a count that binds before the
        clocks gives the same programs on any machine, under any load."""
        start = time.process_time()
        res = DeepResult()
        stats = np.zeros(4, np.int64)
        level = np.array([0], np.int64)
        n_ops = len(self.ops)
        for depth in range(1, max_depth + 1):
            store = depth < max_depth
            first_new = int(self.count[0])
            level = level[np.argsort(self.cost[level], kind="stable")]  # cheapest parents first
            step = max(1, CHUNK_CHILDREN // max(1, n_ops))
            done_level = True
            for lo in range(0, len(level), step):
                if max_checked and stats[0] >= max_checked:
                    res.stopped_by, done_level = "checks", False
                    break
                if time.process_time() - start >= cpu_seconds or out_of_time():
                    res.stopped_by, done_level = "budget", False
                    break
                stats[2] = 0
                _expand(self.cells, self.off, self.hs, self.ws, self.thash, level, lo, min(lo + step, len(level)),
                        self.kinds, self.aa, self.bb, self.n_train, self.tcells, self.toff, self.th, self.tw,
                        store, self.count, self.parent, self.opi, self.table, self.fit_par, self.fit_op,
                        self.scratch, self.sh, self.sw, stats)
                new = np.arange(first_new, int(self.count[0]))
                self.cost[new] = self.cost[self.parent[new]] + self.op_cost[self.opi[new]]
                self.depth[new] = depth
                first_new = int(self.count[0])
                for p, o in zip(self.fit_par[:stats[2]].tolist(), self.fit_op[:stats[2]].tolist()):
                    self._replay(p, o, res)
            if not done_level:
                break
            if stats[3]:
                res.stopped_by = "memory"
                res.depth_full = depth  # this level was checked; only some of its children were stored
                break
            res.depth_full = depth
            level = np.flatnonzero(self.depth[:self.count[0]] == depth)
            level = level[level > 0]
            if len(level) == 0:
                break
        res.states = int(self.count[0])
        res.checked = int(stats[0])
        res.cpu_seconds = time.process_time() - start
        return res

    def _replay(self, p: int, o: int, res: DeepResult) -> None:
        """A candidate fit (op o on state p) as a program: its grids, the colour map fitted on them."""
        op = self.ops[o]
        grids = [K.run(op.kernel, g) for g in self.grids(p)]
        if any(g is None for g in grids):
            return
        step = learn.fit_colour_map(grids[:self.n_train], self.targets)
        if step is None:
            return
        outputs = []
        for g in grids[self.n_train:]:
            r = step.apply(g)
            if r is None:
                return
            outputs.append(r)
        key = tuple(g.tobytes() + bytes(g.shape) for g in grids)
        if key in self.seen:  # the same state by another path (a deeper one: parents go level by level)
            return
        self.seen.add(key)
        text = f"{op.name}({self.text(p)})"
        if step.name:
            text = f"{step.name}({text})"
        depth = int(self.depth[p]) + 1
        res.fits.append(DeepFit(text, float(self.cost[p] + op.cost + step.cost), tuple(outputs), depth))


def kernel_ops(ops) -> list[KernelOp]:
    """The ops (ops.Op) that have a kernel, with their names and costs."""
    out = []
    for op in ops:
        if op.scene:
            continue
        k = K.kernel_for(op.name)
        if k is not None:
            out.append(KernelOp(op.name, op.cost, k))
    return out


def warm_up() -> None:
    """Compile the deep search's kernels (or load them from numba's cache): one tiny search, every level."""
    g = np.array([[0, 1], [2, 0]], np.uint8)
    ops = [KernelOp(name, 1.0, K.kernel_for(name)) for name in ("flip_lr", "gravity[down]", "crop_content")]
    Deep((g, g), 1, (g[:, ::-1].copy(),), ops, 1 << 20, 3).run(3, 60.0)
