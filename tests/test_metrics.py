import math
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from solver.metrics import coverage, mean_pass_at_k, pass_at_k, score_submission

from .conftest import grid

TRUTH = {"a": [grid([[1]]), grid([[2]])], "b": [grid([[3, 3]])]}


def entry(a1, a2):
    return {"attempt_1": a1, "attempt_2": a2}


def test_kaggle_metric_counts_either_attempt_per_test_output():
    sub = {"a": [entry([[0]], [[1]]), entry([[2]], [[0]])], "b": [entry([[3]], [[3]])]}
    r = score_submission(sub, TRUTH)
    assert (r.n_correct, r.n_outputs) == (2, 3)
    assert r.score == pytest.approx(2 / 3)
    assert r.per_task == {"a": [True, True], "b": [False]}
    assert r.tasks_solved == 1


def test_missing_and_malformed_entries_score_zero():
    sub = {"a": [entry([[1]], "garbage")]}
    r = score_submission(sub, TRUTH)
    assert r.per_task == {"a": [True, False], "b": [False]}
    assert r.missing == ["b"]


def test_coverage_counts_any_candidate():
    pools = {"a": [[grid([[9]]), grid([[1]])], []], "b": [[grid([[3, 3]])]]}
    assert coverage(pools, TRUTH) == pytest.approx(2 / 3)


@given(st.integers(0, 12), st.data())
def test_pass_at_k_equals_exact_enumeration(n, data):
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, max(1, n)))
    if n == 0:
        assert pass_at_k(0, 0, k) == 0.0
        return
    samples = [True] * c + [False] * (n - c)
    subsets = list(combinations(range(n), min(k, n)))
    exact = sum(any(samples[i] for i in s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(exact)


def test_pass_at_k_rejects_impossible_counts_and_averages():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    pools = {"a": [[grid([[1]]), grid([[0]])], [grid([[0]])]], "b": [[grid([[3, 3]])]]}
    assert mean_pass_at_k(pools, TRUTH, 1) == pytest.approx((0.5 + 0 + 1) / 3)


def test_the_coverage_curve_fit_recovers_an_exponentiated_power_law():
    from solver.metrics import coverage_at, fit_coverage_curve
    ns = [1, 2, 4, 8, 16]
    a, b = fit_coverage_curve(ns, [math.exp(-0.9 * n ** -0.4) for n in ns])
    assert a == pytest.approx(-0.9) and b == pytest.approx(-0.4)
    assert coverage_at((a, b), 32) == pytest.approx(math.exp(-0.9 * 32 ** -0.4))
    assert fit_coverage_curve(ns, [0.0, 1.0, 1.0, 0.5, 1.0]) is None  # one informative point only
