"""The search's speed machinery: the per-grid op cache, children dropped on their train grids before their
test grids are computed, the kernels that replaced numpy calls, depth figures, and the CPU budget."""
from __future__ import annotations

import time

import numpy as np
import pytest

from .conftest import grid
from solver.budget import Deadline
from solver.config import DslConfig
from solver.dsl import grids as G
from solver.dsl import learn
from solver.dsl import fitting as FIT
from solver.dsl import frontier as F
from solver.dsl import search as S
from solver.dsl import solve_with_stats
from solver.dsl.ops import Op, build_ops, every_fact, family
from solver.tasks import Example, Task
from solver.vote import hash_grid, hash_grids, pack


def task_of(pairs, tests, task_id="synthetic"):
    return Task(task_id, tuple(Example(grid(i), grid(o)) for i, o in pairs),
                tuple(Example(grid(i), None if o is None else grid(o)) for i, o in tests))


def flip_task() -> Task:
    """Output = the input flipped left-right, then 1 -> 2: a depth-1 program plus a colour map."""
    pairs = [([[1, 0, 0], [0, 3, 0]], [[0, 0, 2], [0, 3, 0]]),
             ([[1, 1, 0], [3, 0, 0]], [[0, 2, 2], [0, 0, 3]])]
    return task_of(pairs, [([[0, 1, 3], [1, 0, 0]], [[3, 2, 0], [0, 0, 2]])])


RNG = np.random.default_rng(7)
GRIDS = [RNG.integers(0, 10, size=s).astype(np.uint8) for s in [(1, 1), (3, 5), (5, 3), (7, 7), (30, 30)]]


# -------------------------------------------------------------------------------------------- hashing

def test_hash_grid_equals_hash_grids_on_contiguous_and_strided_grids():
    for g in GRIDS:
        for view in (g, g[:, ::-1], g.T, g[::2]):
            assert hash_grid(view) == int(hash_grids(pack([np.ascontiguousarray(view)]))[0])
    assert hash_grid(grid([[1, 2, 3]])) != hash_grid(grid([[1], [2], [3]]))  # the shape counts


# ------------------------------------------------------------------------------------------ op cache

def counting(fn):
    calls = []

    def wrapped(g):
        calls.append(g)
        return fn(g)
    return wrapped, calls


def test_cached_result_equals_a_fresh_one_and_is_computed_once():
    fn, calls = counting(lambda g: G.d8(g, "rot90"))
    cache = S.OpCache(n_ops=3, max_bytes=1e9)
    for g in GRIDS:
        h = hash_grid(g)
        first = cache.apply(1, fn, g, h)
        again = cache.apply(1, fn, g.copy(), h)
        fresh = G.d8(g, "rot90")
        assert np.array_equal(first[0], fresh) and np.array_equal(again[0], fresh)
        assert first[1] == again[1] == hash_grid(fresh)
    assert len(calls) == len(GRIDS) and cache.hits == len(GRIDS)


def test_the_cache_keys_on_the_op_as_well_as_the_grid():
    cache = S.OpCache(n_ops=2, max_bytes=1e9)
    g = GRIDS[1]
    a = cache.apply(0, lambda x: G.d8(x, "flip_lr"), g, hash_grid(g))
    b = cache.apply(1, lambda x: G.d8(x, "flip_ud"), g, hash_grid(g))
    assert np.array_equal(a[0], g[:, ::-1]) and np.array_equal(b[0], g[::-1])


def test_failures_are_cached_and_equal_results_are_stored_once():
    fail, fail_calls = counting(lambda g: None)
    crop, _ = counting(lambda g: g[:1, :1].copy())
    cache = S.OpCache(n_ops=2, max_bytes=1e9)
    g = GRIDS[2]
    assert cache.apply(0, fail, g, hash_grid(g)) is None
    assert cache.apply(0, fail, g, hash_grid(g)) is None and len(fail_calls) == 1
    h2 = np.array(g)
    h2[1:, :] = (h2[1:, :] + 1) % 10  # a different grid with the same top-left cell
    r1 = cache.apply(1, crop, g, hash_grid(g))
    r2 = cache.apply(1, crop, h2, hash_grid(h2))
    assert r1[1] == r2[1] and r1[0] is r2[0]


def test_invalid_results_and_domain_errors_count_as_undefined():
    cache = S.OpCache(n_ops=2, max_bytes=1e9)
    g = GRIDS[1]

    def raises(x):
        raise ValueError("outside the domain")
    assert cache.apply(0, raises, g, hash_grid(g)) is None
    assert cache.apply(1, lambda x: np.zeros((0, 3), np.uint8), g, hash_grid(g)) is None


def test_a_full_cache_still_gives_right_results_without_remembering_them():
    fn, calls = counting(lambda g: G.d8(g, "transpose"))
    cache = S.OpCache(n_ops=1, max_bytes=0)
    g = GRIDS[3]
    for _ in range(2):
        r = cache.apply(0, fn, g, hash_grid(g))
        assert np.array_equal(r[0], g.T) and r[1] == hash_grid(g.T)
    assert len(calls) == 2 and not cache.results and not cache.grids


# ------------------------------------------------------------------------------------ step cache

def test_step_cache_computes_a_step_once_per_train_grid_and_tells_mappability():
    fn, calls = counting(lambda g: G.upscale(g, 2, 2))
    step = learn.Fitted("upscale[2,2]", 1.0, fn)
    xs = [grid([[1, 0], [0, 2]]), grid([[3]])]
    ys = [G.upscale(xs[0], 2, 2), grid([[5, 5], [5, 5]])]  # the second is a recolouring of its upscale
    cache = FIT.StepCache(max_bytes=1e9)
    hashes = [hash_grid(x) for x in xs]
    for _ in range(2):
        resized, mappable = cache.apply(step, xs, hashes, ys)
        assert mappable and all(np.array_equal(r, G.upscale(x, 2, 2)) for r, x in zip(resized, xs))
    assert len(calls) == 2
    wrong = [grid([[1, 0, 0, 0]] * 4), ys[1]]  # no colour map turns the first upscale into this
    cache = FIT.StepCache(max_bytes=1e9)  # a search's targets are fixed: other targets, another cache
    resized, mappable = cache.apply(step, xs, hashes, wrong)
    assert not mappable and len(resized) == 2  # whole: every grid, for the local rules at the root
    resized, mappable = cache.apply(step, xs, hashes, wrong, whole=False)
    assert not mappable and len(resized) == 1  # below the root it stops at the first unmappable grid
    assert cache.apply(learn.Fitted("none", 1.0, lambda g: None), xs, hashes, ys) is None


def test_step_cache_on_and_off_give_the_same_search(monkeypatch):
    # Output = the input upscaled 2x2 then 1 -> 2: a resize step and a colour map on the root and on
    # every node below it.
    rng = np.random.default_rng(3)
    pairs = []
    for _ in range(4):
        x = rng.integers(0, 3, (3, 3)).astype(np.uint8)
        pairs.append((x.tolist(), np.where(G.upscale(x, 2, 2) == 1, 2, G.upscale(x, 2, 2)).tolist()))
    task = task_of(pairs[:3], pairs[3:])
    cfg = dict(max_depth=2, max_nodes=3000, cost_slack=100.0, catalogues=("general",))
    on = search_of(task, **cfg)
    with_cache = on.run()
    monkeypatch.setattr(FIT, "STEP_CACHE_FRACTION", 0.0)
    monkeypatch.setattr(S, "STEP_CACHE_FRACTION", 0.0)
    off = search_of(task, **cfg)
    without = off.run()
    assert on.step_cache.results and not off.step_cache.results
    assert with_cache.nodes == without.nodes and with_cache.programs
    assert [(p.text, p.cost) for p in with_cache.programs] == [(p.text, p.cost) for p in without.programs]
    assert any("upscale[2,2]" in p.text for p in with_cache.programs)


# ---------------------------------------------------------------------------------- dropped children

def search_of(task: Task, **cfg) -> S.Search:
    return S.Search(task, DslConfig(**{"seconds_per_task": 100.0, **cfg}), S.Clock(100.0, Deadline.never()))


def test_a_child_that_changes_no_train_grid_never_computes_its_test_grids():
    # Colour 5 is only in the test input: removing it changes nothing on the train inputs.
    task = task_of([([[1, 0], [0, 1]], [[1, 0], [0, 1]]), ([[2, 2], [0, 0]], [[2, 2], [0, 0]])],
                   [([[5, 1], [0, 0]], None)])
    s = search_of(task)
    root = S.Node(s.inputs, "x", 0.0, 0, S._state_key(s.inputs))
    fn, calls = counting(lambda g: G.remove_colour(g, 5, G.background(g)))
    assert s._child(0, Op("remove_colour[5]", 1.5, fn), root) is None
    assert len(calls) == 2  # the two train inputs, not the test input
    fn, calls = counting(lambda g: G.d8(g, "flip_lr"))
    grids, hashes = s._child(1, Op("flip_lr", 1.0, fn), root)
    assert len(calls) == 3 and hashes == S._state_key(grids)
    assert all(np.array_equal(a, G.d8(b, "flip_lr")) for a, b in zip(grids, s.inputs))


def test_cache_on_and_off_give_the_same_search(monkeypatch):
    task = flip_task()
    cfg = dict(max_depth=2, max_nodes=1000, cost_slack=100.0)
    on = search_of(task, **cfg)
    with_cache = on.run()
    monkeypatch.setattr(F, "CACHE_FRACTION", 0.0)
    off = search_of(task, **cfg)
    without = off.run()
    assert on.cache.hits > 0 and not off.cache.results
    assert with_cache.nodes == without.nodes
    assert [(p.text, p.cost) for p in with_cache.programs] == [(p.text, p.cost) for p in without.programs]
    assert all(np.array_equal(a, b) for p, q in zip(with_cache.programs, without.programs)
               for a, b in zip(p.outputs, q.outputs))
    assert with_cache.programs[0].text == "recolour[1>2](flip_lr(x))"


# ------------------------------------------------------------------------------------ depth figures

def test_depth_figures_of_an_exhausted_and_of_a_cut_search():
    task = flip_task()
    done = search_of(task, max_depth=1).run()
    assert done.stopped_by in ("exhausted", "enough") and done.depth_reached == 1
    assert done.depth_full == (1 if done.stopped_by == "exhausted" else 0)
    cut = search_of(task, max_depth=3, max_nodes=200, cost_slack=100.0).run()
    assert cut.stopped_by == "nodes" and cut.depth_reached >= 2 and cut.depth_full <= 2
    assert cut.depth_full <= cut.depth_reached


# --------------------------------------------------------------------------- kernels equal to numpy

def test_d8_by_slicing_equals_the_kits_d8_elements():
    for g in GRIDS:
        for name in G.D8_NAMES:
            out = G.d8(g, name)
            assert np.array_equal(out, G._D8[name].apply(g)) and out.flags.c_contiguous


def test_reflections_are_the_rotations_they_name():
    g = GRIDS[3]
    assert all(np.array_equal(a, b) for a, b in zip(G._reflections(g, "rot90"),
                                                     [np.rot90(g, 1), np.rot90(g, 2), np.rot90(g, 3)]))
    assert np.array_equal(G._reflections(g, "rot180")[0], np.rot90(g, 2))


def reference_extend(g, h, w):
    py = next(p for p in range(1, g.shape[0] + 1) if p == g.shape[0] or (g[p:] == g[:-p]).all())
    px = next(p for p in range(1, g.shape[1] + 1) if p == g.shape[1] or (g[:, p:] == g[:, :-p]).all())
    ii, jj = np.indices((h, w))
    return g[ii % py, jj % px]


def test_extend_periodic_continues_the_smallest_periods():
    rng = np.random.default_rng(3)
    for _ in range(300):
        base = rng.integers(0, 3, size=rng.integers(1, 4, size=2)).astype(np.uint8)
        g = np.tile(base, (3, 3))[:rng.integers(1, 3 * base.shape[0] + 1), :rng.integers(1, 3 * base.shape[1] + 1)]
        h, w = g.shape[0] + int(rng.integers(0, 4)), g.shape[1] + int(rng.integers(1, 4))
        assert np.array_equal(G.extend_periodic(g, h, w), reference_extend(g, h, w))
    assert G.extend_periodic(grid([[1, 2]]), 1, 2) is None


def test_colour_maps_from_the_kernel():
    xs = [grid([[1, 2], [2, 0]]), grid([[3, 1], [0, 0]])]
    ys = [grid([[4, 5], [5, 0]]), grid([[3, 4], [0, 0]])]
    assert learn.learn_colour_map(xs, ys) == {1: 4, 2: 5}
    assert learn.learn_colour_map([x.T for x in xs], [y.T for y in ys]) == {1: 4, 2: 5}  # strided views
    assert learn.learn_colour_map([grid([[1, 1]])], [grid([[4, 5]])]) is None
    assert learn._pair_map(grid([[7, 0], [0, 7]]), grid([[8, 0], [0, 8]])) == {0: 0, 7: 8}


def test_resize_steps_output_shapes_follow_input_shapes():
    # The search skips a resize step on node shapes it already gave wrong shapes for; that is only sound
    # if the output shape never depends on the cells.
    cases = [([(3, 3)], [(9, 9)]), ([(2, 3)], [(4, 6)]), ([(4, 6)], [(2, 3)]), ([(3, 4)], [(5, 6)]),
             ([(5, 5)], [(3, 3)]), ([(2, 2)], [(4, 4)]), ([(3, 3)], [(3, 5)])]
    rng = np.random.default_rng(5)
    for xshapes, yshapes in cases:
        xs = [rng.integers(0, 3, size=s).astype(np.uint8) for s in xshapes]
        ys = [rng.integers(0, 3, size=s).astype(np.uint8) for s in yshapes]
        for step in learn.resize_steps(xs, ys):
            shapes = set()
            for _ in range(20):
                g = rng.integers(0, int(rng.integers(1, 4)), size=xshapes[0]).astype(np.uint8)
                out = step.apply(g)
                if out is not None:
                    shapes.add(out.shape)
            assert len(shapes) <= 1, (step.name, shapes)


# ------------------------------------------------------------------------------------------- budget

@pytest.mark.slow
def test_search_with_a_warm_cache_still_stops_on_its_cpu_budget():
    rng = np.random.default_rng(11)
    pairs = []
    for _ in range(3):
        x = np.zeros((12, 12), np.uint8)
        for _ in range(5):  # a few coloured boxes: object ops apply, the cache fills
            r, c = rng.integers(0, 10, size=2)
            x[r:r + 2, c:c + 3] = rng.integers(1, 10)
        y = rng.integers(0, 10, size=(12, 12))  # no program explains noise: the search runs to its budget
        pairs.append((x.tolist(), y.tolist()))
    task = task_of(pairs, [(pairs[0][0], None)])
    budget = 1.0
    start = time.process_time()
    out = solve_with_stats(task, DslConfig(seconds_per_task=budget), Deadline.never())
    used = time.process_time() - start
    assert out.stopped_by == "budget" and out.depth_reached >= 2
    assert used < budget + 1.0  # one op past the check at most; generous for a loaded machine


def reference_gravity(g, direction, bg):
    k = {"down": 0, "left": 1, "up": 2, "right": 3}[direction]
    a = np.rot90(g, k)
    out = np.full_like(a, bg)
    for j in range(a.shape[1]):
        fg = a[:, j][a[:, j] != bg]
        if fg.size:
            out[a.shape[0] - fg.size:, j] = fg
    return np.rot90(out, -k)


def test_gravity_kernel_equals_falling_cells_line_by_line():
    rng = np.random.default_rng(2)
    for _ in range(100):
        g = rng.integers(0, 4, size=rng.integers(1, 9, size=2)).astype(np.uint8)
        for direction in ("down", "up", "left", "right"):
            bg = int(rng.integers(0, 4))
            assert np.array_equal(G.gravity(g, direction, bg), reference_gravity(g, direction, bg))


def test_block_tiling_with_the_colour_count_precheck_still_fits_and_refuses():
    x = grid([[1, 2], [0, 3]])
    y = np.block([[x, np.rot90(x)], [np.zeros_like(x), x[:, ::-1]]]).astype(np.uint8)
    fitted = learn.fit_block_tiling([x], [y])
    assert fitted.name == "tile_blocks[2x2:identity,rot90,blank,flip_lr]"
    assert learn.fit_block_tiling([x], [np.tile(grid([[1, 1], [1, 1]]), (2, 2))]) is None


# --------------------------------------------------------------------------------- depth-3 search

# A basis of same-shape general families (geometry, shifts, gravity, colour removal, crop) small enough for
# depth 3 in a unit test: the full basis enumerates depth 2 in seconds but depth 3 in minutes.
SMALL_BASIS = {"flip_lr", "flip_ud", "rot90", "rot180", "rot270", "transpose", "antitranspose", "mirror", "shift",
               "gravity", "crop_content", "remove_colour"}


class SmallSearch(S.Search):
    """The search with its ops cut down to SMALL_BASIS (the cache keys stay exact: fewer ops than its n_ops)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.ops = [op for op in self.ops if family(op.name) in SMALL_BASIS]
        self.n_general = len(self.ops)


def three_step_task(program: tuple[str, ...], seed: int) -> Task:
    """Fresh random sparse grids; each output is the input through the named general ops, in order."""
    fns = {op.name: op.fn for op in build_ops(every_fact(True), ("general",))}
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(4):
        x = np.where(rng.random((6, 7)) < 0.3, rng.integers(1, 4, (6, 7)), 0).astype(np.uint8)
        y = x
        for name in program:
            y = fns[name](y)
        pairs.append(Example(x, y))
    return Task("synthetic", tuple(pairs[:-1]), (pairs[-1],))


@pytest.mark.parametrize("program", [("gravity[down]", "rot90", "gravity[down]"),
                                     ("shift[right]", "gravity[up]", "flip_ud")])
@pytest.mark.parametrize("seed", [0, 1])
def test_depth_3_search_solves_three_step_tasks_that_depth_2_cannot(program, seed):
    task = three_step_task(program, seed)

    def run(depth: int) -> S.SearchResult:
        cfg = DslConfig(seconds_per_task=100.0, max_depth=depth, catalogues=("general",), list_depth=0,
                        max_nodes=100_000, cost_slack=0.0, deep_depth=0)  # the main search's own depth
        return SmallSearch(task, cfg, S.Clock(100.0, Deadline.never())).run()

    shallow = run(2)
    assert shallow.stopped_by == "exhausted" and not shallow.programs  # every depth-2 program was tried
    deep = run(3)
    assert deep.programs and deep.programs[0].depth == 3
    assert all(np.array_equal(o, ex.output) for o, ex in zip(deep.programs[0].outputs, task.test))
