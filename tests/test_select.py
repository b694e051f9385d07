import math

import numpy as np
import pytest

from solver.config import ConfigError, SelectConfig, load_config
from solver.select import ranked_grids, select_attempts
from solver.tasks import Candidate


def g(v: int) -> np.ndarray:
    return np.full((2, 2), v, dtype=np.uint8)


FITTING = Candidate(0, g(1), "dsl", program="fits", fits_train=True, cost=1.0)
PARTIAL = Candidate(0, g(2), "dsl", program="partial: x", fits_train=False, train_accuracy=0.8)
BASELINE = Candidate(0, g(4), "baseline")


def neural(v: int, p: float, stage="neural-greedy", view="identity") -> Candidate:
    return Candidate(0, g(v), stage, view=view, logprob=math.log(p))


def firsts(candidates, **cfg) -> list[int]:
    return [int(x[0, 0]) for x in ranked_grids(candidates, SelectConfig(**cfg))]


def test_fitting_first_puts_partial_programs_after_the_model():
    pool = [BASELINE, PARTIAL, neural(3, 0.3), FITTING]
    assert firsts(pool) == [1, 3, 2, 4]
    assert firsts([BASELINE, PARTIAL, neural(3, 0.3)]) == [3, 2, 4]  # nothing fits: the model leads


def test_priority_keeps_every_dsl_candidate_in_the_dsl_slot():
    assert firsts([BASELINE, PARTIAL, neural(3, 0.3)], merge="priority") == [2, 3, 4]
    assert firsts([BASELINE, FITTING, neural(3, 0.3)], merge="priority",
                  stage_priority=["neural", "dsl", "baseline"]) == [3, 1, 4]


def test_score_interleaves_families_by_calibrated_probability_keeping_each_family_s_order():
    pool = [FITTING, PARTIAL, BASELINE, neural(5, 0.95, "neural-dfs"), neural(6, 0.6), neural(7, 0.9)]
    # neural family order by votes (one each) then summed score: 5 (0.95), 7 (0.9), 6 (0.6)
    assert firsts(pool, merge="score", fitting_precision=0.8) == [5, 7, 1, 6, 2, 4]
    # a grid voted first keeps its place ahead of a likelier one of its own family, at its lowered value
    voted = [neural(8, 0.3), neural(8, 0.3, view="rot90"), neural(9, 0.9)]
    assert firsts(voted + [FITTING], merge="score", fitting_precision=0.8) == [1, 8, 9]


def test_two_attempts_one_grid_twice_or_the_fallback():
    a1, a2 = select_attempts([FITTING, neural(3, 0.5)], SelectConfig(), g(0))
    assert a1[0, 0] == 1 and a2[0, 0] == 3
    a1, a2 = select_attempts([FITTING], SelectConfig(), g(0))
    assert a1[0, 0] == a2[0, 0] == 1
    a1, a2 = select_attempts([], SelectConfig(), g(0))
    assert a1[0, 0] == a2[0, 0] == 0
    # Unknown policies are refused once, when the config loads (tests/test_config.py has every choice field).
    with pytest.raises(ConfigError, match="select.merge"):
        load_config(overrides=["select.merge=best"])
    with pytest.raises(ConfigError, match="select.vote must be one of hierarchical, flat, weighted, got 'majority'"):
        load_config(overrides=["select.vote=majority"])
