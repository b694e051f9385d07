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


@pytest.mark.parametrize("rule, first, second", [("kgmon", "C", "B"), ("nll-sum", "B", "A"),
                                                  ("probmul", "C", "B"), ("mean-votes", "B", "C")])
def test_selection_ranks_rescored_model_candidates_by_the_configured_rule(rule, first, second):
    from solver.config import SelectConfig
    from solver.select import select_attempts
    from solver.tasks import Candidate
    cands = [Candidate(0, e.grid, "neural-dfs", logprob=-f, rescore_nll=e.views)
             for e in (A, B, C) for f in e.finds]
    grids = {"A": A.grid, "B": B.grid, "C": C.grid}
    a1, a2 = select_attempts(cands, SelectConfig(rescore_rule=rule), A.grid)
    assert np.array_equal(a1, grids[first]) and np.array_equal(a2, grids[second])
