"""The deep search (solver/dsl/deep.py): depth 3 over the whole kernel basis finds three-step programs that
depth 2 cannot; its states and fits are exactly those of a plain Python enumeration of the same programs;
it stops cleanly on its budget, its memory and a count of programs checked; the main search keeps its
programs."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from solver.budget import Deadline
from solver.config import DslConfig
from solver.dsl import deep as D
from solver.dsl import kernels as K
from solver.dsl import learn
from solver.dsl import search as S
from solver.dsl.ops import build_ops, task_facts

from .test_dsl_search import three_step_task


def task_arrays(task):
    inputs = tuple(ex.input for ex in task.train) + tuple(ex.input for ex in task.test)
    return inputs, len(task.train), [ex.output for ex in task.train]


def kernel_basis(task):
    return D.kernel_ops(build_ops(task_facts(task), ("general",)))


@pytest.mark.parametrize("program", [("gravity[down]", "rot90", "gravity[down]"),
                                     ("shift[right]", "gravity[up]", "flip_ud"),
                                     ("gravity[left]", "crop_content", "mirror[down]")])
def test_depth_3_over_the_whole_kernel_basis_finds_what_depth_2_cannot(program):
    task = three_step_task(program, seed=3)
    inputs, n_train, targets = task_arrays(task)
    ops = kernel_basis(task)
    assert len(ops) > 60
    shallow = D.Deep(inputs, n_train, targets, ops, 256 << 20, 2).run(2, 60.0)
    assert shallow.stopped_by == "exhausted" and shallow.depth_full == 2 and not shallow.fits
    found = D.Deep(inputs, n_train, targets, ops, 256 << 20, 3).run(3, 60.0)
    assert found.depth_full == 3 and found.checked >= len(ops) ** 2  # the last level: every parent, every op
    # the generating program's state is among the fits (kept under the first path found to it; other programs
    # may fit the three train pairs too)
    assert any(f.depth == 3 and all(np.array_equal(o, ex.output) for o, ex in zip(f.outputs, task.test))
               for f in found.fits)


def brute_force(inputs, n_train, targets, ops, depth):
    """Every program of up to `depth` ops, by plain Python: the distinct states of the levels below the
    last (the root and states equal to their parent on the train grids left out, as deep.py does), and the
    distinct states of every level that a colour map fits (learn.fit_colour_map) onto the train outputs."""
    seen = {tuple(g.tobytes() + bytes(g.shape) for g in inputs)}
    level, stored, fits = [tuple(inputs)], 0, set()
    for d in range(1, depth + 1):
        nxt = []
        for state in level:
            for op in ops:
                child = [K.run(op.kernel, g) for g in state]
                if any(c is None for c in child):
                    continue
                key = tuple(g.tobytes() + bytes(g.shape) for g in child)
                if d < depth:
                    if all(np.array_equal(a, b) and a.shape == b.shape for a, b in zip(child[:n_train], state)):
                        continue
                    if key in seen:
                        continue
                    seen.add(key)
                    nxt.append(tuple(child))
                    stored += 1
                step = learn.fit_colour_map(child[:n_train], targets)
                if step is not None and all(step.apply(g) is not None for g in child[n_train:]):
                    fits.add(key)
        level = nxt
    return stored, fits


def test_states_and_fits_are_those_of_a_plain_enumeration():
    task = three_step_task(("gravity[down]", "rot90", "gravity[down]"), seed=1)
    inputs, n_train, targets = task_arrays(task)
    names = {"rot90", "flip_lr", "transpose", "gravity[down]", "gravity[left]", "shift[up]", "crop_content",
             "mirror[right]", "remove_colour[1]", "fill_enclosed[2]"}
    ops = [op for op in kernel_basis(task) if op.name in names]
    assert len(ops) == len(names)
    stored, fits = brute_force(inputs, n_train, targets, ops, 3)
    runner = D.Deep(inputs, n_train, targets, ops, 64 << 20, 3)
    res = runner.run(3, 60.0)
    assert res.states - 1 == stored  # the root is stored too
    assert res.checked == len(ops) * res.states  # every op on every stored state, the root included
    assert len(res.fits) == len(fits) > 0
    assert len({f.text for f in res.fits}) == len(res.fits)


def test_a_budget_cut_and_a_memory_cut_stop_cleanly():
    task = three_step_task(("shift[right]", "gravity[up]", "flip_ud"), seed=0)
    inputs, n_train, targets = task_arrays(task)
    ops = kernel_basis(task)
    none = D.Deep(inputs, n_train, targets, ops, 64 << 20, 3).run(3, 0.0)
    assert none.stopped_by == "budget" and none.depth_full == 0 and none.checked == 0
    small = D.Deep(inputs, n_train, targets, ops, 1 << 16, 3)  # room for a few dozen states
    res = small.run(3, 60.0)
    assert res.stopped_by == "memory" and res.depth_full < 3 and 0 < res.states <= small.parent.shape[0]


def test_a_count_cut_stops_at_the_same_programs_under_any_clock():
    """deep_max_checked, not the CPU clock, decides where the search stops when it binds first: the same
    states and fits with a generous budget and a slow out_of_time, and fewer than the uncut search."""
    task = three_step_task(("gravity[left]", "crop_content", "mirror[down]"), seed=2)
    inputs, n_train, targets = task_arrays(task)
    ops = kernel_basis(task)
    full = D.Deep(inputs, n_train, targets, ops, 64 << 20, 3).run(3, 60.0)
    cap = full.checked // 3
    calls = []

    def slow_clock():  # a caller's deadline that costs time on every check, as a loaded machine would
        calls.append(1)
        sum(range(20_000))
        return False

    a = D.Deep(inputs, n_train, targets, ops, 64 << 20, 3).run(3, 60.0, max_checked=cap)
    b = D.Deep(inputs, n_train, targets, ops, 64 << 20, 3).run(3, 600.0, slow_clock, max_checked=cap)
    assert a.stopped_by == b.stopped_by == "checks" and calls
    assert cap <= a.checked == b.checked < full.checked and a.states == b.states
    assert [(f.text, f.cost) for f in a.fits] == [(f.text, f.cost) for f in b.fits]


def test_the_search_keeps_the_deep_programs_and_counts_them_once():
    task = three_step_task(("gravity[down]", "rot90", "gravity[down]"), seed=0)
    cfg = DslConfig(seconds_per_task=60.0, catalogues=("general",), max_nodes=200, second_pass="")
    off = S.Search(task, DslConfig(**{**cfg.__dict__, "deep_depth": 0}), S.Clock(60.0, Deadline.never())).run()
    assert not off.programs  # the main search alone, at this node cap, does not get there
    on = S.Search(task, cfg, S.Clock(60.0, Deadline.never())).run()
    assert on.deep is not None and on.deep.depth_full == 3
    assert on.programs and all(np.array_equal(o, ex.output) for o, ex in zip(on.programs[0].outputs, task.test))
    texts = [p.text for p in on.programs]
    assert len(texts) == len(set(texts))


def test_a_deep_search_out_of_memory_leaves_the_main_search_to_go_on(monkeypatch):
    task = three_step_task(("gravity[down]",), seed=0)

    def no_room(*args, **kwargs):
        raise MemoryError  # what numpy raises under the worker's address-space cap (pool.limit_memory)
    monkeypatch.setattr(D.Deep, "__init__", no_room)
    cfg = DslConfig(catalogues=("general",), second_pass="", max_nodes=3000)
    res = S.Search(task, cfg, S.Clock(60.0, Deadline.never())).run()
    assert res.deep is None
    assert res.programs and all(np.array_equal(o, ex.output) for o, ex in zip(res.programs[0].outputs, task.test))
