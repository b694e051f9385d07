"""Choosing two attempts per test input from every stage's candidates.

Stages are taken in the configured priority order (by default: programs that fit every train pair, then the
model's voted predictions, then baselines). Within a stage family the candidates are ranked by their own
vote, and distinct grids are taken until there are two.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .config import SelectConfig
from .tasks import Candidate, Grid, MAX_SIDE, N_COLORS
from .vote import hierarchical_vote, tally


def family(stage: str) -> str:
    """'neural-greedy' and 'neural-dfs' are both of family 'neural'."""
    return stage.split("-", 1)[0]


def is_valid_grid(grid) -> bool:
    return (isinstance(grid, np.ndarray) and grid.dtype == np.uint8 and grid.ndim == 2
            and 1 <= grid.shape[0] <= MAX_SIDE and 1 <= grid.shape[1] <= MAX_SIDE
            and int(grid.max()) < N_COLORS)


def rank_family(candidates: Sequence[Candidate], vote: str) -> list[Grid]:
    """Distinct grids of one family, best first."""
    if not candidates:
        return []
    grids = [c.grid for c in candidates]
    views = {c.view for c in candidates}
    if vote == "hierarchical" and len(views) > 1:
        top = hierarchical_vote(grids, [c.view for c in candidates], "identity", k=len(grids))
        # The hierarchical vote ranks what its views chose; any other grid follows by count.
        rest = [g for g in rank_family(candidates, "flat") if not any(_same(g, t) for t in top)]
        return top + rest
    t = tally(grids, [c.score for c in candidates])
    if vote == "weighted":
        order = t.ranking("weight")
    else:  # flat: by count, then by summed score, then first seen
        order = np.lexsort((t.first_index, -t.weights, -t.counts))
    return [t.grids[i] for i in order]


def _same(a: Grid, b: Grid) -> bool:
    return a.shape == b.shape and np.array_equal(a, b)


def select_attempts(candidates: Sequence[Candidate], cfg: SelectConfig, fallback: Grid) -> tuple[Grid, Grid]:
    """Two attempts for one test input. With one distinct grid it is given twice; with none, `fallback`."""
    chosen: list[Grid] = []
    families = list(cfg.stage_priority)
    families += sorted({family(c.stage) for c in candidates} - set(families))  # unlisted stages go last
    for fam in families:
        for grid in rank_family([c for c in candidates if family(c.stage) == fam], cfg.vote):
            if not any(_same(grid, c) for c in chosen):
                chosen.append(grid)
            if len(chosen) == 2:
                return chosen[0], chosen[1]
    if not chosen:
        return fallback, fallback
    return chosen[0], chosen[0]
