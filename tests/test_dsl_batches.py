"""Op families evaluated per grid in one go (solver/dsl/batches.py): every member of every batch, computed
through the search's op cache with its batch, equals its own fn and the unbatched primitive it stands for,
on real ARC grids of development tasks and on random grids; and the search finds the same states and
programs with batching on and off (at a node cap, so that the comparison is deterministic)."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from .conftest import SHARED_ARC
from solver.budget import Deadline
from solver.config import DslConfig
from solver.dsl import grids as G
from solver.dsl import lists as L
from solver.dsl import objects as O
from solver.dsl import frontier as F
from solver.dsl import search as S
from solver.dsl.batches import Batched, UsesBg
from solver.dsl.catalogue import splitters
from solver.dsl.frontier import OpCache, apply_op
from solver.dsl.ops import build_ops, every_fact, family
from solver.tasks import Example, Task
from solver.vote import hash_grid

DEV_TASKS = ["017c7c7b", "1b2d62fb", "1cf80156", "1fad071e", "2013d3e2", "22425bda", "23581191", "25c199f5"]
SPLITTERS = dict(splitters())


def held_out(task_id: str) -> bool:  # bench/dsl.py is_held_out
    return int(hashlib.sha256(task_id.encode()).hexdigest(), 16) % 4 == 0


def challenges() -> dict:
    path = SHARED_ARC / "arc-agi-2_training_challenges.json"
    if not path.exists():
        pytest.skip("../shared/arc is not present")
    assert not any(held_out(t) for t in DEV_TASKS)
    data = json.loads(path.read_text())
    return {t: data[t] for t in DEV_TASKS}


def real_and_random_grids() -> list[np.ndarray]:
    grids = [np.array(ex["input"], np.uint8) for t in challenges().values() for ex in t["train"] + t["test"]]
    rng = np.random.default_rng(11)
    for shape in [(1, 1), (2, 6), (6, 6), (7, 9), (9, 9), (15, 15)]:
        for colours in (2, 4, 10):
            g = rng.integers(0, colours, shape).astype(np.uint8)
            grids.append(g)
            grids.append(np.where(rng.random(shape) < 0.7, 0, g).astype(np.uint8))  # sparse: several objects
    grids.append(G.tile(np.array([[1, 0], [0, 2]], np.uint8), 3, 3))  # equal parts: every splitter applies
    return grids


def unbatched(name: str):
    """The primitive an op of a batch stands for, called the way the catalogue called it before batches."""
    fam, args = family(name), name[name.index("[") + 1:-1]
    m, rest = args.split(",", 1) if "," in args else (args, "")
    if fam in ("crop_object", "object"):
        return lambda g: O.crop_object(g, m, rest, fam == "object")
    if fam in ("keep_object", "remove_object"):
        return lambda g: O.keep_object(g, m, rest, fam == "keep_object")
    if fam == "remove_noise":
        return lambda g: O.remove_small(g, m, 1)
    if fam == "filter":
        p, k = rest.split(",")
        return lambda g: L.filter_pieces(g, m, p, k)
    if fam == "map":
        return lambda g: L.map_pieces(g, m, rest)
    if fam == "stack":
        a, o = rest.split(",")
        return lambda g: L.stack_pieces(g, m, "vh".index(a), o)
    split = SPLITTERS[m]
    if fam == "combine":
        return lambda g: G.combine_masks(split(g), rest, G.background(g))
    if fam in ("overlay", "overlay_rev"):
        return lambda g: G.overlay(split(g), G.background(g), fam == "overlay_rev")
    if fam == "part":
        return lambda g: G.pick_part(split(g), rest, G.background(g))
    raise AssertionError(f"no unbatched form for {name}")


def same(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.shape == b.shape
                                         and np.array_equal(a, b))


@pytest.mark.parametrize("same_shape,eager", [(True, False), (False, False), (True, True)])
def test_every_batch_member_equals_its_fn_and_its_unbatched_primitive(same_shape, eager):
    ops = build_ops(every_fact(same_shape), ("general",))
    batches: dict[str, list] = {}
    for i, op in enumerate(ops):
        if op.batch is not None:
            batches.setdefault(op.batch, []).append((i, op.fn))
    assert {k.split("[")[0] for k in batches} == {"objects", "split"} and len(batches) == 3 + 6
    assert sum(len(v) for v in batches.values()) > 200
    grids = real_and_random_grids()
    defined = 0
    for g in grids:
        h = hash_grid(g)
        cache = OpCache(len(ops), 1e9, batches)
        cache.eager = eager  # every member on the first miss, or each member when asked (the default)
        for i, op in enumerate(ops):
            got = cache.apply(i, op.fn, g, h, op.batch)
            got = None if got is None else got[0]
            if eager and op.batch is not None and i != batches[op.batch][0][0]:
                continue  # (checked below: a hit, filled by its batch's first member)
            alone = apply_op(op.fn, g.copy())
            assert same(got, alone), op.name
        if eager:
            assert cache.misses == len(ops) - sum(len(v) - 1 for v in batches.values())  # one miss a batch
        else:
            assert cache.misses == len(ops) and len(cache.shared) == len(batches)  # one shared step a batch
        for members in batches.values():
            for i, fn in members:
                got = cache.apply(i, fn, g, h, ops[i].batch)
                got = None if got is None else got[0]
                assert same(got, apply_op(fn, g.copy())), ops[i].name
                assert same(got, apply_op(unbatched(ops[i].name), g.copy())), ops[i].name
                defined += got is not None
    assert defined > 1000  # the grids exercise the batches, not only their failures


def test_ops_reading_the_background_get_the_memo_and_equal_their_fn():
    ops = [op for op in build_ops(every_fact(True), ("general",)) if isinstance(op.fn, UsesBg)]
    assert len(ops) > 30
    g = real_and_random_grids()[0]
    cache = OpCache(len(ops), 1e9, {})
    for i, op in enumerate(ops):
        got = cache.apply(i, op.fn, g, hash_grid(g))
        assert same(None if got is None else got[0], apply_op(op.fn, g)), op.name
    assert list(cache.backgrounds.values()) == [G.background(g)]


@pytest.mark.parametrize("eager", [False, True])
def test_a_failing_shared_step_runs_once_and_makes_every_member_undefined(eager):
    calls = []

    def boom(g, bg):
        calls.append(g)
        raise ValueError("outside the domain")
    members = [(0, Batched("k", boom, lambda g, bg, s: g)), (1, Batched("k", boom, lambda g, bg, s: g))]
    g = np.zeros((2, 2), np.uint8)
    cache = OpCache(2, 1e9, {"k": members})
    cache.eager = eager
    assert cache.apply(1, members[1][1], g, hash_grid(g), "k") is None
    assert cache.apply(0, members[0][1], g, hash_grid(g), "k") is None and len(calls) == 1
    assert cache.apply(0, members[0][1], g, hash_grid(g), "k") is None and cache.hits == 1 + eager


def task_from(data: dict, task_id: str) -> Task:
    def ex(e):
        return Example(np.array(e["input"], np.uint8), None if "output" not in e else np.array(e["output"], np.uint8))
    return Task(task_id, tuple(ex(e) for e in data["train"]), tuple(Example(ex(e).input, None) for e in data["test"]))


@pytest.mark.parametrize("task_id,eager", [(DEV_TASKS[0], False), (DEV_TASKS[1], False), (DEV_TASKS[2], True)])
def test_search_is_the_same_with_batching_on_and_off(task_id, eager, monkeypatch):
    monkeypatch.setattr(F, "EAGER_BATCHES", eager)
    task = task_from(challenges()[task_id], task_id)
    results = []
    for batch in (True, False):
        cfg = DslConfig(seconds_per_task=1000.0, max_depth=3, max_nodes=1500, batch_ops=batch)
        search = S.Search(task, cfg, S.Clock(1000.0, Deadline.never()))
        results.append((search.run(), search))
    (on, s_on), (off, s_off) = results
    assert on.nodes == off.nodes and s_on.seen == s_off.seen
    assert [(p.text, p.cost) for p in on.programs] == [(p.text, p.cost) for p in off.programs]
    assert all(np.array_equal(a, b) for p, q in zip(on.programs, off.programs) for a, b in zip(p.outputs, q.outputs))
    assert s_on.cache.backgrounds and not s_off.cache.backgrounds
