"""The DSL's lists of pieces, colour roles, position features, windows and frames, and composition on a
blank canvas: each primitive on hand-made grids, then the search on small synthetic tasks."""
from __future__ import annotations

import time

import numpy as np

from .conftest import grid
from .test_dsl import fast_cfg, task_of
from solver.budget import Deadline
from solver.config import DslConfig
from solver.dsl import grids as G
from solver.dsl import learn, roles
from solver.dsl import lists as L
from solver.dsl import is_fitting, solve, solve_with_stats
from solver.dsl.learn import Fitted

# ------------------------------------------------------------------------------------------------ lists

PIECES = grid([[1, 1, 0, 0, 0, 0],
               [1, 1, 0, 2, 2, 0],
               [0, 0, 0, 2, 2, 0],
               [3, 0, 0, 0, 0, 0],
               [0, 0, 0, 0, 4, 4]])  # two 2x2 squares (tied for largest), a dot, a 1x2 bar


def test_filter_keeps_every_piece_that_ties_for_the_extreme():
    largest = L.filter_pieces(PIECES, "c8", "size", "max")
    assert np.array_equal(largest, np.where(np.isin(PIECES, [1, 2]), PIECES, 0))
    rest = L.filter_pieces(PIECES, "c8", "size", "not_max")
    assert np.array_equal(rest, np.where(np.isin(PIECES, [3, 4]), PIECES, 0))
    assert np.array_equal(L.filter_pieces(PIECES, "c8", "size", "min"), np.where(PIECES == 3, PIECES, 0))
    same = grid([[1, 0, 2]])
    assert L.filter_pieces(same, "c8", "size", "max") is None  # the property tells nothing apart


def test_filter_by_shared_shape_keeps_the_repeated_ones():
    g = grid([[1, 0, 2, 0, 3, 3]])  # two dots share a shape, the bar is alone
    assert np.array_equal(L.filter_pieces(g, "c8", "same_shape", "max"), grid([[1, 0, 2, 0, 0, 0]]))
    assert np.array_equal(L.filter_pieces(g, "c8", "same_shape", "min"), grid([[0, 0, 0, 0, 3, 3]]))


def test_stack_joins_crops_in_order_and_needs_them_to_line_up():
    g = grid([[0, 2, 2, 0, 1],
              [0, 2, 2, 0, 1],
              [3, 0, 0, 0, 0],
              [3, 0, 0, 0, 0]])
    row = L.stack_pieces(g, "c8", 1, "columns")  # left to right: the 3s, the 2s, the 1s
    assert np.array_equal(row, grid([[3, 2, 2, 1], [3, 2, 2, 1]]))
    assert np.array_equal(L.stack_pieces(g, "c8", 1, "largest")[:, :2], grid([[2, 2], [2, 2]]))
    assert L.stack_pieces(g, "c8", 0, "reading") is None  # widths 2, 1, 1 do not line up in a column


def test_map_completes_each_piece_by_its_own_symmetry_in_place():
    g = grid([[1, 1, 0, 0, 0, 0],
              [1, 0, 0, 2, 0, 2],
              [0, 0, 0, 2, 2, 0]])
    out = L.map_pieces(g, "c8", "symmetrize[lr]")
    assert np.array_equal(out, grid([[1, 1, 0, 0, 0, 0],
                                     [1, 1, 0, 2, 0, 2],
                                     [0, 0, 0, 2, 2, 2]]))
    holes = grid([[0, 0, 0, 0, 0],
                  [0, 5, 5, 5, 0],
                  [0, 5, 0, 5, 0],
                  [0, 5, 7, 5, 0],
                  [0, 5, 5, 5, 0]])
    filled = L.map_pieces(holes, "m8", "fill_holes")
    assert filled[2, 2] == 7 and filled[0, 0] == 0  # the hole takes the piece's marker colour


# ----------------------------------------------------------------------------------------- colour roles


def test_role_map_keeps_the_most_common_colour_and_paints_the_rest():
    xs = [grid([[2, 2, 2], [2, 1, 8], [2, 8, 8]]), grid([[1, 1, 1], [8, 1, 3], [8, 2, 2]])]
    ys = [np.where(x == np.bincount(x.ravel()).argmax(), x, 5).astype(np.uint8) for x in xs]
    step = learn.fit_role_map(xs, ys)
    assert step is not None and "#0" not in step.name.split("[")[1].split(">")[0]
    test = grid([[4, 4], [4, 6]])  # colours never seen: roles still say what to do
    assert np.array_equal(step.apply(test), grid([[4, 4], [4, 5]]))
    assert learn.fit_colour_map(xs, ys) is None  # no plain colour map explains both pairs


def test_role_map_swaps_the_two_colours():
    xs = [grid([[2, 2, 2], [2, 4, 2]]), grid([[3, 1, 3], [3, 3, 3]])]
    ys = [grid([[4, 4, 4], [4, 2, 4]]), grid([[1, 3, 1], [1, 1, 1]])]
    step = learn.fit_role_map(xs, ys)
    assert step is not None
    assert np.array_equal(step.apply(grid([[6, 7], [6, 6]])), grid([[7, 6], [7, 7]]))
    assert step.apply(grid([[6, 7, 8]])) is None  # a third role was never seen


def test_renamed_local_rule_carries_a_rule_to_a_marker_colour_never_seen():
    # Each pair: one marker colour (different per pair) on black; a marker cell with a marker right of it
    # turns 9. A plain table cannot know colour 4 (test); on renamed pairs it is 'the first free colour'.
    def pair(c, cells):
        x = np.zeros((3, 5), np.uint8)
        for i, j in cells:
            x[i, j] = c
        y = x.copy()
        for i, j in cells:
            if (i, j + 1) in cells:
                y[i, j] = 9
        return x, y
    train = [pair(1, [(0, 0), (0, 1), (2, 3)]), pair(2, [(1, 1), (1, 2), (1, 3)]), pair(3, [(2, 0), (2, 1)])]
    xs, ys = [p[0] for p in train], [p[1] for p in train]
    tx, ty = pair(4, [(0, 2), (0, 3), (2, 1)])
    assert not any(s.apply(tx) is not None and np.array_equal(s.apply(tx), ty)
                   for s in learn.fit_local_rules(xs, ys))
    steps = roles.normalised(learn.fit_local_rules, xs, ys, [tx], Fitted)
    assert steps and all(s.name.startswith("roles:") for s in steps)
    assert np.array_equal(steps[0].apply(tx), ty)


def test_permutation_renames_free_colours_by_count_and_keeps_fixed_ones():
    slots = roles.free_colours([grid([[0, 1, 1]]), grid([[0, 2, 3, 3]])])
    assert slots == (1, 2, 3)  # 0 is in every grid: fixed
    p = roles.permutation(grid([[0, 2, 3, 3]]), slots)
    assert p[0] == 0 and p[3] == 1 and p[2] == 2  # 3 is the most common free colour: the first slot
    assert np.array_equal(roles.inverse(p)[p], np.arange(10))


# -------------------------------------------------------------------------------- positions and shapes


def test_column_period_feature_learns_every_third_column():
    xs = [np.full((3, n), 4, np.uint8) for n in (7, 9, 10)]
    ys = []
    for x in xs:
        y = x.copy()
        y[:, ::3] = 6
        ys.append(y)
    names = [s.name for s in learn.fit_local_rules(xs, ys)]
    assert "local_rule[col%3]" in names
    step = next(s for s in learn.fit_local_rules(xs, ys) if s.name == "local_rule[col%3]")
    assert np.array_equal(step.apply(np.full((2, 4), 4, np.uint8)), grid([[6, 4, 4, 6], [6, 4, 4, 6]]))


def test_window_cuts_the_output_size_at_a_corner_or_the_centre():
    g = np.arange(20, dtype=np.uint8).reshape(4, 5) % 10
    assert np.array_equal(learn.window(g, 2, 2, "top_left"), g[:2, :2])
    assert np.array_equal(learn.window(g, 2, 3, "bottom_right"), g[2:, 2:])
    assert np.array_equal(learn.window(g, 2, 3, "centre"), g[1:3, 1:4])
    assert learn.window(g, 3, 3, "centre") is None  # not exactly centred
    assert learn.window(g, 4, 5, "top_left") is None  # the whole grid is no window


def test_size_predictor_gives_windows_for_a_fixed_output_size():
    rng = np.random.default_rng(3)
    xs = [rng.integers(1, 9, size=s).astype(np.uint8) for s in ((5, 6), (7, 4), (6, 6))]
    ys = [x[-2:, :3] for x in xs]
    names = {s.name: s for s in learn.resize_steps(xs, ys)}
    step = names["window[bottom_left(2,3)]"]
    assert all(np.array_equal(step.apply(x), y) for x, y in zip(xs, ys))
    ys2 = [x[:-1, 1:] for x in xs]  # the node's size less one row and one column
    step2 = {s.name: s for s in learn.resize_steps(xs, ys2)}["window[top_right(-1,-1)]"]
    assert all(np.array_equal(step2.apply(x), y) for x, y in zip(xs, ys2))


def test_frame_uses_the_corner_colour_of_the_outputs():
    xs = [grid([[1, 2], [3, 4]]), grid([[5, 6, 7]])]
    ys = [grid([[0, 1, 2, 0], [1, 1, 2, 2], [3, 3, 4, 4], [0, 3, 4, 0]]),
          grid([[0, 5, 6, 7, 0], [5, 5, 6, 7, 7], [0, 5, 6, 7, 0]])]
    steps = {s.name: s for s in learn.resize_steps(xs, ys)}
    assert all(np.array_equal(steps["frame[edge,0]"].apply(x), y) for x, y in zip(xs, ys))


# ------------------------------------------------------------------------------------------ the search


def test_search_keeps_all_tied_largest_objects():
    # Two 2x2 squares (a tie: no unique largest object) and two 1x2 bars in colours that change from pair
    # to pair; the output keeps the squares. Removing a colour or the noise does not do it.
    def make(seed):
        rng = np.random.default_rng(seed)
        g = np.zeros((10, 10), np.uint8)
        ra, ca, rb, cb = rng.integers(3, 5), rng.integers(3, 5), rng.integers(7, 9), rng.integers(6, 9)
        g[ra:ra + 2, ca:ca + 2] = rng.integers(1, 4)
        g[rb:rb + 2, cb:cb + 2] = rng.integers(4, 7)
        out = g.copy()
        c = rng.integers(0, 8)
        g[1, c:c + 2] = rng.integers(7, 10)  # the bars lie outside the squares' box, not on the border
        r = rng.integers(3, 9)
        g[r:r + 2, 1] = rng.integers(7, 10)
        return g.tolist(), out.tolist()
    task = task_of([make(1), make(2), make(3)], [make(4)])
    cands = solve(task, fast_cfg(max_depth=1), Deadline.never())
    assert cands and is_fitting(cands[0]) and np.array_equal(cands[0].grid, task.test[0].output)
    # Under the learned costs keep_solid, cheaper, reaches the very same state first (the filter's is then
    # a duplicate); with the hand-set ones the filter is the program.
    cands = solve(task, fast_cfg(max_depth=1, learned_costs=False), Deadline.never())
    assert "filter[" in cands[0].program


def test_composition_on_a_canvas_joins_two_rules_no_single_program_fits():
    # Input: a diagonal (3 cells) and a diamond (4 cells), apart, each in a colour of its own. Output (3x3):
    # both shapes in one box, as if laid on top of each other. Each crop alone is half the answer; no
    # single op lays two objects on one canvas, two correct pieces on a blank canvas do.
    diagonal = [(0, 0), (1, 1), (2, 2)]
    diamond = [(0, 1), (1, 0), (1, 2), (2, 1)]

    def make(seed):
        rng = np.random.default_rng(seed)
        a, b = rng.choice([1, 2, 3, 4, 6], size=2, replace=False)
        x = np.zeros((9, 9), np.uint8)
        ra, ca, rb, cb = rng.integers(0, 2), rng.integers(0, 6), rng.integers(5, 6), rng.integers(0, 6)
        y = np.zeros((3, 3), np.uint8)
        for (i, j) in diagonal:
            x[ra + i, ca + j] = y[i, j] = a
        for (i, j) in diamond:
            x[rb + i, cb + j] = y[i, j] = b
        return x.tolist(), y.tolist()
    task = task_of([make(s) for s in range(1, 5)], [make(9)])
    out = solve_with_stats(task, fast_cfg(max_depth=1, list_depth=0), Deadline.never())
    best = out.candidates[0]
    assert is_fitting(best) and best.program.startswith("compose(")
    # A list join lays the objects' crops on top of each other: one program, no composition needed.
    best = solve_with_stats(task, fast_cfg(max_depth=1), Deadline.never()).candidates[0]
    assert is_fitting(best) and best.program == "join[c8|overlay](x)"
    assert np.array_equal(best.grid, task.test[0].output)
    assert np.array_equal(best.grid, task.test[0].output)


def test_search_with_the_new_ops_still_stops_on_its_cpu_budget():
    rng = np.random.default_rng(5)
    big = lambda: (rng.integers(0, 10, size=(30, 30)) * (rng.random((30, 30)) < 0.3)).tolist()
    task = task_of([(big(), big()) for _ in range(3)], [(big(), None)])
    budget = 1.0
    start = time.process_time()
    out = solve_with_stats(task, DslConfig(seconds_per_task=budget), Deadline.never())
    assert out.stopped_by == "budget"
    assert time.process_time() - start < budget + 1.0


def test_colour_lists_by_count_and_by_stripes():
    g = grid([[0, 3, 3, 3], [1, 1, 0, 2], [0, 0, 0, 2]])
    assert np.array_equal(G.colours_by_count(g, 0, 0), grid([[3], [1], [2]]))  # 1 and 2 tie: smaller first
    assert np.array_equal(G.colours_by_count(g, 0, 1), grid([[3, 1, 2]]))
    side_by_side = grid([[4, 4, 2, 2, 8], [4, 2, 2, 8, 8]])
    assert np.array_equal(G.colour_stripes(side_by_side), grid([[4, 2, 8]]))
    stacked = side_by_side.T.copy()
    assert np.array_equal(G.colour_stripes(stacked), grid([[4], [2], [8]]))
    assert G.colour_stripes(grid([[1, 1], [2, 3]])) is None  # neither the first row nor column has all


def test_paint_masks_count_all_painted_or_erased_cells():
    from solver.dsl import pieces
    x = grid([[0, 0, 0, 0, 0],
              [0, 2, 0, 3, 0],
              [0, 0, 0, 0, 0]])
    node = x.copy()
    node[1, 1] = 0  # erases the red cell
    node[0, 4] = 7  # and paints a stroke
    assert pieces.paint_mask(node, x, "all").sum() == 2
    assert np.argwhere(pieces.paint_mask(node, x, "erase")).tolist() == [[1, 1]]
    assert np.argwhere(pieces.paint_mask(node, x, "paint")).tolist() == [[0, 4]]
    assert set(pieces.MODES) == {"all", "paint", "erase"}


# ------------------------------------------------------------------------- lists of positioned pieces


def test_split_colours_and_cells_keep_positions():
    g = grid([[0, 2, 0, 0],
              [1, 0, 0, 2],
              [0, 0, 0, 0]])
    layers = L.split_colours(g)
    assert [(p.top, p.left) for p in layers] == [(1, 0), (0, 1)]
    assert np.array_equal(layers[1].grid, grid([[2, 0, 0], [0, 0, 2]]))
    lattice = grid([[1, 5, 2, 3],
                    [5, 5, 5, 5],
                    [4, 5, 0, 6]])
    cells = L.split_cells(lattice)
    assert [(p.top, p.left, p.grid.tolist()) for p in cells] == [
        (0, 0, [[1]]), (0, 2, [[2, 3]]), (2, 0, [[4]]), (2, 2, [[0, 6]])]
    assert L.split_cells(grid([[1, 2], [3, 4]])) is None


def test_filter_pick_and_joins_on_a_list():
    g = grid([[1, 1, 0, 2],
              [1, 1, 0, 0],
              [0, 0, 0, 3]])
    pieces = L.SPLITTERS["c8"](g)
    assert np.array_equal(L.pick_list(pieces, "size", True, 0), grid([[1, 1], [1, 1]]))
    assert L.pick_list(pieces, "size", False, 0) is None  # two dots tie for smallest
    small = L.filter_list(pieces, "size", "not_max", 0)
    assert np.array_equal(L.join_in_place(g, small, pieces, on_blank=False),
                          grid([[0, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 3]]))
    assert np.array_equal(L.join_stack(small, 1), grid([[2, 3]]))
    assert L.join_stack(pieces, 1) is None  # heights 2, 1, 1 do not line up
    assert np.array_equal(L.join_overlay(small, 0), grid([[2]]))  # the first one's foreground on top


def test_map_any_op_over_pieces_and_paste_back_in_place():
    g = grid([[1, 2, 5, 3, 0],
              [0, 0, 5, 0, 4]])
    cells = L.split_cells(g)
    flipped = L.map_list(cells, lambda c: G.d8(c, "flip_lr"))
    assert np.array_equal(L.join_in_place(g, flipped, cells), grid([[2, 1, 5, 0, 3], [0, 0, 5, 4, 0]]))
    assert L.map_list(cells, lambda c: c) is None  # changes nothing: no evidence for the step
    assert L.map_list(cells, lambda c: None) is None
    moved = grid([[0, 0, 0, 0], [0, 7, 7, 0], [0, 0, 0, 0]])
    obs = L.SPLITTERS["c8"](moved)
    shifted = [L.Piece(p.top, p.left + 1, p.grid, p.own) for p in obs]  # the old cells are erased first
    assert np.array_equal(L.join_in_place(moved, shifted, obs), grid([[0, 0, 0, 0], [0, 0, 7, 7], [0, 0, 0, 0]]))


def _lattice_task(seed: int, fn) -> tuple[list, list]:
    """A 2x3 lattice of 3x3 cells cut by grey lines, random sparse contents; the output applies fn per cell."""
    rng = np.random.default_rng(seed)
    x = np.full((7, 11), 5, np.uint8)
    y = x.copy()
    for r in (0, 4):
        for c in (0, 4, 8):
            w = 3 if c < 8 else 3
            cell = (rng.integers(1, 5, size=(3, w)) * (rng.random((3, w)) < 0.4)).astype(np.uint8)
            x[r:r + 3, c:c + w] = cell
            y[r:r + 3, c:c + w] = fn(cell)
    return x.tolist(), y.tolist()


def test_search_maps_an_op_over_the_cells_of_a_lattice():
    # Each cell falls down on its own (gravity inside its cell): a whole-grid gravity would cross the lines.
    fn = lambda c: G.gravity(c, "down", 0)
    task = task_of([_lattice_task(s, fn) for s in range(3)], [_lattice_task(7, fn)])
    cands = solve(task, fast_cfg(max_depth=1), Deadline.never())
    assert cands and is_fitting(cands[0]) and np.array_equal(cands[0].grid, task.test[0].output)
    assert cands[0].program.startswith("map[cells,gravity[down]")


def test_search_picks_the_colour_with_most_cells():
    # Scattered dots of three colours; the output is the most frequent colour's layer, cropped to its box.
    def make(seed):
        rng = np.random.default_rng(seed)
        x = np.zeros((9, 9), np.uint8)
        cols = rng.choice([1, 2, 3, 4, 6, 8], size=3, replace=False)
        free = [(i, j) for i in range(0, 9, 2) for j in range(0, 9, 2)]
        rng.shuffle(free)
        k = 0
        for colour, n in zip(cols, (6, 3, 2)):
            for (i, j) in free[k:k + n]:
                x[i, j] = colour
            k += n
        return x.tolist(), L.pick_list(L.split_colours(x), "size", True, 0).tolist()
    task = task_of([make(s) for s in range(4)], [make(11)])
    cands = solve(task, fast_cfg(max_depth=1), Deadline.never())
    assert cands and is_fitting(cands[0]) and np.array_equal(cands[0].grid, task.test[0].output)


# ------------------------------------------------------------------------------------ pieces composition


def test_stacker_lets_a_later_piece_be_wrong_only_where_an_earlier_one_fixed_the_cell():
    from solver.dsl import pieces
    base = np.zeros((1, 4), np.uint8)
    target = grid([[2, 2, 1, 0]])
    a = grid([[2, 2, 0, 0]])       # right wherever it paints
    b = grid([[1, 1, 1, 0]])       # wrong on the first two cells, right on the third
    c = grid([[0, 0, 1, 3]])       # wrong on the last cell, which nothing else fixes
    st = pieces.Stacker([target], [base], ("paint",), limit=10)
    for name, g in (("c", c), ("b", b), ("a", a)):
        st.add(name, 1.0, [g])
    assert st.stack(3) == [("a", "paint"), ("b", "paint")]  # b only after a; c never
    assert np.array_equal(pieces.render([(a, "paint"), (b, "paint")], base), target)
    assert st.stack(1) is None  # one piece does not cover the target


def test_stacker_refuses_a_patchwork_of_pieces_that_each_help_on_one_pair_only():
    from solver.dsl import pieces
    base = np.zeros((1, 2), np.uint8)
    targets = [grid([[3, 0]]), grid([[0, 4]])]
    st = pieces.Stacker(targets, [base, base], ("paint",), limit=10)
    st.add("first pair only", 1.0, [grid([[3, 0]]), grid([[0, 0]])])
    st.add("second pair only", 1.0, [grid([[0, 0]]), grid([[0, 4]])])
    assert st.stack(6) is None
    st.add("both", 2.0, [grid([[3, 0]]), grid([[0, 4]])])
    assert st.stack(6) == [("both", "paint")]


def test_stacker_asks_only_the_pairs_left_open_and_never_one_pair_alone():
    from solver.dsl import pieces
    base = np.zeros((1, 2), np.uint8)
    # "top" finishes the first two pairs; "under" fixes what is left of the other two (and paints the first
    # two wrong, but only where "top" fixed them). It fixes nothing on the finished pairs: it may follow.
    targets = [grid([[3, 3]]), grid([[3, 3]]), grid([[3, 4]]), grid([[4, 3]])]
    st = pieces.Stacker(targets, [base] * 4, ("paint",), limit=10)
    st.add("top", 1.0, [grid([[3, 3]]), grid([[3, 3]]), grid([[3, 0]]), grid([[0, 3]])])
    st.add("under", 1.0, [grid([[4, 4]]), grid([[4, 4]]), grid([[4, 4]]), grid([[4, 4]])])
    assert st.stack(6) == [("top", "paint"), ("under", "paint")]
    # With one pair left open a piece for it alone is a patch: the stack stops.
    targets = [grid([[3, 3]]), grid([[3, 3]]), grid([[3, 4]])]
    st = pieces.Stacker(targets, [base] * 3, ("paint",), limit=10)
    st.add("top", 1.0, [grid([[3, 3]]), grid([[3, 3]]), grid([[3, 0]])])
    st.add("under", 1.0, [grid([[4, 4]])] * 3)
    assert st.stack(6) is None


def layers_pair(seed: int, order=(1, 3, 2, 0), colours=(5, 6, 9, 4)) -> tuple[list, list]:
    """Four 3x3 layers, one colour each, in the quadrants of a 6x6 input; the output lays them on top of each
    other in a fixed order (quadrant 1 on top, then 3, 2, 0) that no single program of the search was
    seen to give. Every output cell is covered by some layer, so the outputs share no background colour."""
    rng = np.random.default_rng(seed)
    while True:
        masks = rng.random((4, 3, 3)) < 0.45
        if masks.any(axis=0).all() and all(masks[i].any() for i in range(4)):
            break
    x = np.zeros((6, 6), np.uint8)
    y = np.zeros((3, 3), np.uint8)
    for i, (r, c) in enumerate([(0, 0), (0, 3), (3, 0), (3, 3)]):
        x[r:r + 3, c:c + 3] = np.where(masks[i], colours[i], 0)
    for i in reversed(order):
        y[masks[i]] = colours[i]
    return x.tolist(), y.tolist()


def test_layers_laid_in_order_compose_on_the_inputs_background():
    # The outputs have no colour in common to draw on: the blank canvas is then the inputs' background, and
    # the stack (layer by layer, the top first) reproduces every pair where no single op does.
    from solver.dsl.compose import common_background
    from solver.dsl.stage import warm_up
    task = task_of([layers_pair(s) for s in (0, 1, 3, 9)], [layers_pair(11)])
    assert common_background([ex.output for ex in task.train]) is None
    warm_up()  # the kernels compiled (or loaded) outside the task's CPU budget, as the stage does
    out = solve_with_stats(task, fast_cfg(seconds_per_task=20.0, max_nodes=6000), Deadline.never())
    best = out.candidates[0]
    # The stack is found on the task or, under a tighter clock, on its transpose (the second pass).
    assert is_fitting(best) and "compose(" in best.program, best.program
    assert np.array_equal(best.grid, task.test[0].output)


def rays_pair(seed: int) -> tuple[list, list]:
    """Red dots cast rays to the right, blue dots rays down; where they cross the red one is on top. Red
    dots keep out of blue columns, blue dots out of red rows, so each rule alone is right off the
    crossings."""
    rng = np.random.default_rng(seed)
    x = np.zeros((10, 10), np.uint8)
    red_rows = rng.choice(10, size=2, replace=False)
    blue_cols = rng.choice(10, size=2, replace=False)
    free_cols = [c for c in range(8) if c not in blue_cols]
    free_rows = [r for r in range(8) if r not in red_rows]
    reds = [(int(r), int(rng.choice(free_cols))) for r in red_rows]
    blues = [(int(rng.choice(free_rows)), int(c)) for c in blue_cols]
    for r, c in reds:
        x[r, c] = 2
    for r, c in blues:
        x[r, c] = 1
    y = x.copy()
    for r, c in blues:
        y[r + 1:, c] = 1
    for r, c in reds:
        y[r, c + 1:] = 2
    return x.tolist(), y.tolist()


def test_pieces_compose_two_rules_where_the_second_is_wrong_only_under_the_first():
    task = task_of([rays_pair(s) for s in range(3)], [rays_pair(5)])
    out = solve_with_stats(task, fast_cfg(), Deadline.never())
    best = out.candidates[0]
    assert is_fitting(best) and best.program.startswith("compose(")
    assert np.array_equal(best.grid, task.test[0].output)


def test_stacker_on_a_subset_of_pairs_ignores_the_others():
    from solver.dsl import pieces
    base = np.zeros((1, 2), np.uint8)
    targets = [grid([[3, 0]]), grid([[3, 0]]), grid([[0, 4]])]  # the third pair breaks the rule
    st = pieces.Stacker(targets, [base] * 3, ("paint",), limit=10)
    st.add("threes", 1.0, [grid([[3, 0]])] * 3)
    assert st.stack(6) is None  # paints the third pair wrong and leaves its 4 unfixed
    assert st.stack(6, pairs=[0, 1]) == [("threes", "paint")]
    assert st.greedy(6) == ([], False)
    assert st.greedy(6, pairs=[0, 1]) == ([("threes", "paint")], True)


def diagonal_stripes(seed: int, h: int = 11, w: int = 12) -> tuple[list, list]:
    """Diagonal stripes of random colours (no period, no mirror symmetry), a 3x4 block masked with 0."""
    rng = np.random.default_rng(seed)
    seq = rng.integers(1, 5, size=h + w)
    r, c = np.indices((h, w))
    y = seq[c - r + h].astype(np.uint8)
    a, b = rng.integers(1, h - 4), rng.integers(1, w - 5)
    x = y.copy()
    x[a:a + 3, b:b + 4] = 0
    return x.tolist(), y.tolist()


def test_fill_from_patches_inpaints_masked_cells_from_the_grids_own_patches():
    from solver.dsl import pieces
    x, y = map(grid, diagonal_stripes(0))
    filled = pieces.fill_from_patches(x, x == 0)
    assert np.array_equal(filled, y)
    # The patches may come rotated or reflected: anti-diagonal stripes are filled as well.
    assert np.array_equal(pieces.fill_from_patches(x[:, ::-1].copy(), x[:, ::-1] == 0), y[:, ::-1])
    assert np.array_equal(pieces.fill_from_patches(y, np.zeros(y.shape, bool)), y)  # nothing to fill
    # The only fully known patches are all 1s; the hole's window holds a known 2: nothing agrees.
    odd = grid([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 2, 0], [1, 1, 1, 1, 1, 1]])
    assert pieces.fill_from_patches(odd, odd == 0) is None
    assert pieces.fill_from_patches(grid([[1, 0]]), grid([[1, 0]]) == 0) is None  # smaller than a patch


def test_search_fills_masked_cells_from_patches_when_nothing_else_fits():
    task = task_of([diagonal_stripes(s) for s in range(3)], [diagonal_stripes(7)])
    best = solve_with_stats(task, fast_cfg(), Deadline.never()).candidates[0]
    assert is_fitting(best) and best.program == "fill_patches[0](x)"
    assert np.array_equal(best.grid, task.test[0].output)


def rays_with_a_stray_cell(seeds: list[int]) -> list[tuple[list, list]]:
    """Rays pairs (rays_pair), the last with one stray cell in its output: no program fits every pair."""
    pairs = [rays_pair(s) for s in seeds]
    x, y = pairs[-1]
    y = [row[:] for row in y]
    y[0][0] = 7
    return pairs[:-1] + [(x, y)]


def test_a_stack_that_fits_every_pair_but_one_is_the_best_effort():
    # The two rules stacked fit the other pairs and get all but the stray cell right, which beats any
    # single program.
    task = task_of(rays_with_a_stray_cell([0, 1, 2]), [rays_pair(5)])
    # Hand-set costs: under the learned ones the cheapest pieces that fit two pairs are keep_solid(rays(x))
    # ones, which get more of the third pair wrong; the mechanism, not the prior, is tested here.
    best = solve_with_stats(task, fast_cfg(learned_costs=False), Deadline.never()).candidates[0]
    assert not is_fitting(best) and best.program.startswith("partial: compose(")
    assert best.train_accuracy > 0.99
    assert np.array_equal(best.grid, task.test[0].output)


def checker_pair(seed: int) -> tuple[list, list]:
    """A checkerboard twice the input's size, whatever the input holds."""
    rng = np.random.default_rng(seed)
    h, w = rng.integers(2, 6, size=2)
    x = rng.integers(1, 10, size=(h, w)) * (rng.random((h, w)) < 0.5)
    r, c = np.indices((2 * h, 2 * w))
    return x.tolist(), np.where((r + c) % 2 == 0, 4, 0).tolist()


def test_a_blank_canvas_of_the_predicted_size_is_a_start_state():
    # Drawn on a blank canvas of the size the shape rule (2h, 2w) predicts, one learned rule makes it.
    task = task_of([checker_pair(s) for s in range(3)], [checker_pair(7)])
    best = solve_with_stats(task, fast_cfg(), Deadline.never()).candidates[0]
    assert is_fitting(best) and "blank_canvas(x)" in best.program
    assert np.array_equal(best.grid, task.test[0].output)


ZIGZAG = [(0, 0), (1, 1), (2, 1), (3, 2), (4, 4), (5, 3), (6, 6)]


def zigzag_pair(seed: int) -> tuple[list, list]:
    """Random dots, and in the output a fixed zigzag of 8s drawn over them, a shape no op draws."""
    rng = np.random.default_rng(seed)
    x = np.zeros((7, 7), np.uint8)
    for _ in range(6):
        r, c = rng.integers(0, 7, size=2)
        if abs(r - c) > 1:
            x[r, c] = rng.integers(1, 4)
    y = x.copy()
    for r, c in ZIGZAG:
        y[r, c] = 8
    return x.tolist(), y.tolist()


def test_the_cells_every_train_output_shares_are_a_start_state():
    # The cells all train outputs share are the zigzag: a piece painted on the input.
    task = task_of([zigzag_pair(s) for s in range(3)], [zigzag_pair(7)])
    best = solve_with_stats(task, fast_cfg(), Deadline.never()).candidates[0]
    assert is_fitting(best) and "common_output(x)" in best.program
    assert np.array_equal(best.grid, task.test[0].output)


def mark_right_pair(seed: int) -> tuple[list, list]:
    """Every object, of odd height, marks the right edge at its middle row with a 4."""
    rng = np.random.default_rng(seed)
    x = np.zeros((9, 8), np.uint8)
    y = x.copy()
    for r in ([0, 4] if seed % 2 else [1, 5]):
        h, c = int(rng.choice([1, 3])), int(rng.integers(0, 5))
        x[r:r + h, c:c + 2] = rng.integers(1, 4)
        y[r + h // 2, -1] = 4
    y[x != 0] = x[x != 0]
    return x.tolist(), y.tolist()


def test_a_second_pass_on_the_transposed_task_finds_what_only_one_direction_of_an_op_does():
    # The op library has the downward version only (mark_below); the transposed task is exactly that, while
    # in the task's own frame it takes transpose, mark_below, transpose: depth 3, beyond this search's 2.
    task = task_of([mark_right_pair(s) for s in range(3)], [mark_right_pair(7)])
    assert not is_fitting(solve(task, fast_cfg(second_pass=""), Deadline.never())[0])
    best = solve(task, fast_cfg(), Deadline.never())[0]
    assert is_fitting(best) and best.program == "transpose^-1(mark_below[4](x) on transpose(task))"
    assert np.array_equal(best.grid, task.test[0].output)


def test_search_filters_the_cells_of_a_lattice_in_place():
    # A 3x3 lattice of 3x3 cells, each with a dot or two of one colour, but one with two colours: it alone
    # stays.
    def make(seed):
        rng = np.random.default_rng(seed)
        x = np.full((11, 11), 5, np.uint8)
        y = x.copy()
        odd = int(rng.integers(0, 9))
        for k in range(9):
            r, c = 4 * (k // 3), 4 * (k % 3)
            a, b = rng.choice([1, 2, 3, 4, 6], size=2, replace=False)
            cell = np.zeros((3, 3), np.uint8)
            spots = rng.choice(9, size=2, replace=False)
            cell.flat[spots[0]] = a
            cell.flat[spots[1]] = b if k == odd else a
            if k == odd:
                y[r:r + 3, c:c + 3] = cell
            else:
                y[r:r + 3, c:c + 3] = 0
            x[r:r + 3, c:c + 3] = cell
        return x.tolist(), y.tolist()
    task = task_of([make(s) for s in range(3)], [make(8)])
    cands = solve(task, fast_cfg(max_depth=1), Deadline.never())
    assert cands and is_fitting(cands[0]) and np.array_equal(cands[0].grid, task.test[0].output)
    assert cands[0].program.startswith("filter[cells,colours,max|in_place]")
