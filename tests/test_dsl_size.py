"""The output-size predictor (solver/dsl/size.py): formulas on hand-made shapes, then on a synthetic task
whose output size is the size of an object inside the input."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from .test_dsl import fast_cfg, task_of
from solver.budget import Deadline
from solver.dsl import size
from solver.dsl.search import Clock, Search


def test_side_formulas_fit_scales_offsets_and_the_other_axis():
    assert size.fit_side([(3, 5), (4, 2)], [6, 8]) == size.Side(0, Fraction(2), 0)
    assert size.fit_side([(3, 5), (4, 2)], [4, 1]) == size.Side(1, Fraction(1), -1)
    assert size.fit_side([(4, 9), (6, 3)], [2, 3]) == size.Side(0, Fraction(1, 2), 0)
    assert size.fit_side([(4, 9), (6, 3)], [7, 2]) is None
    f = size.fit_formula([(3, 5), (4, 2)], [(5, 3), (2, 4)])  # transposed
    assert f is not None and f((7, 1)) == (1, 7) and f.text() == "(w,h)"
    assert size.Side(0, Fraction(1, 2), 0)((5, 5)) is None  # not a whole number of cells


def test_predictor_takes_the_first_node_whose_shapes_fit():
    p = size.SizePredictor([(2, 3), (4, 1)], n_train=2)
    p.see([(5, 5), (5, 5), (6, 6)], "x")      # a fixed shape cannot give varying outputs
    assert p.test_shapes is None
    p.see([(2, 3), (4, 1), (3, 3)], "crop(x)")
    p.see([(4, 6), (8, 2), (1, 1)], "later(x)")
    assert p.test_shapes == [(3, 3)] and p.source == "(h,w) of crop(x)"


def _object_pair(seed: int):
    """A noisy grid with one big solid rectangle of random size; the output is a blank grid of the
    rectangle's size (its colour gone), so its size is a node's size, not the input's."""
    rng = np.random.default_rng(seed)
    x = (rng.integers(1, 4, size=(12, 12)) * (rng.random((12, 12)) < 0.1)).astype(np.uint8)
    h, w = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    r, c = int(rng.integers(0, 12 - h)), int(rng.integers(0, 12 - w))
    x[max(r - 1, 0):r + h + 1, max(c - 1, 0):c + w + 1] = 0
    x[r:r + h, c:c + w] = 5
    return x.tolist(), np.full((h, w), 8, np.uint8).tolist()


def test_search_predicts_the_test_output_size_from_an_object():
    task = task_of([_object_pair(s) for s in range(3)], [_object_pair(9)])
    search = Search(task, fast_cfg(max_depth=1), Clock(5.0, Deadline.never()))
    search.run()
    assert search.sizes is not None and search.sizes.test_shapes == [task.test[0].output.shape]
