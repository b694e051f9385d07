"""Selection rules of the published recipes: how one test input's distinct predicted grids are ranked from
what sampling and rescoring learnt of them. Pure functions; select.py ranks a family's rescored grids by
the one configured (select.rescore_rule), and its merge with the DSL still wraps the result.

Evidence per distinct grid: the NLL of each time sampling produced it (a "find": one greedy answer or one
depth-first completion, under one view) and its NLL under each rescoring view (the task, the test input
and the grid seen through that view). NLL = -log-likelihood, lower is better.

    mean-votes  the kit's: -(mean NLL over the views) + vote_weight * log(finds)
    kgmon       NVARC's score_kgmon: finds - mean NLL over the views
    nll-sum     the ARChitects' product of experts (paper): -(sum of NLL over the views)
    probmul     the ARChitects' score_full_probmul_3 (Kaggle 2024, NVARC's notebook): sum over finds of
                (3 - NLL) + mean over finds of the sum over views of (3 - NLL). The kit scores a grid once
                under the views, not once per find, so the mean over finds is that one sum.

MIT's hierarchical vote ranks candidates that were not rescored (select.vote = "hierarchical").
Ties keep the order in which the grids were first found.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

from .tasks import Grid

PROBMUL_BASELINE = 3.0


@dataclass(frozen=True)
class Evidence:
    grid: Grid
    finds: tuple[float, ...]  # NLL of each time sampling produced the grid
    views: tuple[float, ...]  # NLL under each rescoring view

    @property
    def mean_view_nll(self) -> float:
        return sum(self.views) / len(self.views) if self.views else math.inf


def mean_votes(e: Evidence, vote_weight: float = 1.0) -> float:
    return -e.mean_view_nll + vote_weight * math.log(max(1, len(e.finds)))


def kgmon(e: Evidence, vote_weight: float = 1.0) -> float:
    return len(e.finds) - e.mean_view_nll


def nll_sum(e: Evidence, vote_weight: float = 1.0) -> float:
    return -sum(e.views) if e.views else -math.inf


def probmul(e: Evidence, vote_weight: float = 1.0, baseline: float = PROBMUL_BASELINE) -> float:
    return sum(baseline - f for f in e.finds) + sum(baseline - v for v in e.views)


RULES: dict[str, Callable[..., float]] = {"mean-votes": mean_votes, "kgmon": kgmon, "nll-sum": nll_sum,
                                          "probmul": probmul}


def rank(evidence: Sequence[Evidence], rule: str, vote_weight: float = 1.0) -> list[tuple[Evidence, float]]:
    """The grids best first with their scores under `rule`; ties keep the input order (first found first)."""
    if rule not in RULES:
        raise ValueError(f"select.rescore_rule must be one of {', '.join(RULES)}, got {rule!r}")
    scored = [(e, RULES[rule](e, vote_weight)) for e in evidence]
    return sorted(scored, key=lambda s: -s[1])  # sorted is stable
