"""Each published selection rule ranks a hand-built candidate set as its formula says."""
import math

import numpy as np
import pytest

from solver.rules import Evidence, rank

A = Evidence(np.full((1, 1), 1, np.uint8), finds=(0.5, 0.7), views=(1.0, 2.0, 3.0))  # mean 2.0, sum 6.0
B = Evidence(np.full((1, 1), 2, np.uint8), finds=(0.1,), views=(0.5, 0.5, 0.5))       # mean 0.5, sum 1.5
C = Evidence(np.full((1, 1), 3, np.uint8), finds=(0.2,) * 4, views=(2.5, 2.5, 2.5))  # mean 2.5, sum 7.5


@pytest.mark.parametrize("rule, order, scores", [
    # NVARC: times found - mean NLL over the views
    ("kgmon", "CBA", {"A": 2 - 2.0, "B": 1 - 0.5, "C": 4 - 2.5}),
    # the ARChitects' paper: lowest summed NLL first
    ("nll-sum", "BAC", {"A": -6.0, "B": -1.5, "C": -7.5}),
    # score_full_probmul_3: sum over finds (3 - NLL) + sum over views (3 - NLL)
    ("probmul", "CBA", {"A": (2.5 + 2.3) + (2 + 1 + 0), "B": 2.9 + 3 * 2.5, "C": 4 * 2.8 + 3 * 0.5}),
    # the kit's: -(mean NLL) + log(finds)
    ("mean-votes", "BCA", {"A": -2.0 + math.log(2), "B": -0.5, "C": -2.5 + math.log(4)}),
])
def test_each_rule_ranks_as_its_formula_says(rule, order, scores):
    ranked = rank([A, B, C], rule)
    names = {id(A): "A", id(B): "B", id(C): "C"}
    assert "".join(names[id(e)] for e, _ in ranked) == order
    for e, s in ranked:
        assert s == pytest.approx(scores[names[id(e)]])


def test_ties_keep_the_order_grids_were_first_found():
    x = Evidence(np.zeros((1, 1), np.uint8), finds=(1.0,), views=(1.0,))
    y = Evidence(np.ones((1, 1), np.uint8), finds=(1.0,), views=(1.0,))
    assert [e for e, _ in rank([x, y], "kgmon")] == [x, y]
    assert [e for e, _ in rank([y, x], "kgmon")] == [y, x]


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError, match="select.rescore_rule must be one of mean-votes, kgmon, nll-sum, probmul"):
        rank([A], "best")
