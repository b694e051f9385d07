"""Choosing two attempts per test input from every stage's candidates.

Within a family of stages ('neural-greedy' and 'neural-dfs' are both 'neural') candidates are ranked by the
family's own vote. Families then merge by the configured policy (config.SelectConfig.merge): in a fixed
priority order, with programs that reproduce every train pair first (the default), or by a calibrated
probability of being right. Distinct grids are taken until there are two.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .config import MERGES, VOTES, SelectConfig
from .tasks import Candidate, Grid, MAX_SIDE, N_COLORS
from .dsl.stage import is_fitting
from .metrics import same_grid
from .vote import hierarchical_vote, tally

PARTIAL = "dsl-partial"


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
        rest = [g for g in rank_family(candidates, "flat") if not any(same_grid(g, t) for t in top)]
        return top + rest
    t = tally(grids, [c.score for c in candidates])
    if vote == "weighted":
        order = t.ranking("weight")
    else:  # flat: by count, then by summed score, then first seen
        order = np.lexsort((t.first_index, -t.weights, -t.counts))
    return [t.grids[i] for i in order]


def merge_family(c: Candidate, merge: str) -> str:
    """The family a candidate is ranked in: a DSL program that does not reproduce every train pair is a
    family of its own ('dsl-partial') except under the plain priority policy."""
    fam = family(c.stage)
    return PARTIAL if merge != "priority" and fam == "dsl" and not is_fitting(c) else fam


def calibrated(c: Candidate, cfg: SelectConfig) -> float:
    """An estimate of the probability that the candidate is right."""
    fam = family(c.stage)
    if fam == "neural":
        return math.exp(min(0.0, c.score))
    if fam == "dsl":
        return cfg.fitting_precision if is_fitting(c) else cfg.partial_precision
    return cfg.baseline_precision


def ranked_grids(candidates: Sequence[Candidate], cfg: SelectConfig) -> list[Grid]:
    """Every distinct grid, best first, by the merge policy."""
    if cfg.merge not in MERGES:
        raise ValueError(f"select.merge must be one of {', '.join(MERGES)}, got {cfg.merge!r}")
    if cfg.vote not in VOTES:  # rank_family would treat an unknown vote as flat
        raise ValueError(f"select.vote must be one of {', '.join(VOTES)}, got {cfg.vote!r}")
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(merge_family(c, cfg.merge), []).append(c)
    families = [f for f in cfg.stage_priority if f in groups]
    families += sorted(set(groups) - set(families))  # unlisted families go last
    ranked = [(f, rank_family(groups[f], cfg.vote)) for f in families]
    if cfg.merge == "score":
        # Each family keeps its own order (its vote); a grid's value is its best candidate's calibrated
        # probability, lowered to that of the grid before it, so that families interleave by value.
        entries = []
        for rank, (f, grids) in enumerate(ranked):
            value = 1.0
            for pos, g in enumerate(grids):
                value = min(value, max(calibrated(c, cfg) for c in groups[f] if same_grid(c.grid, g)))
                entries.append((-value, rank, pos, g))
        entries.sort(key=lambda e: e[:3])
        ordered = [e[3] for e in entries]
    else:
        ordered = [g for _, grids in ranked for g in grids]
    out: list[Grid] = []
    for g in ordered:
        if not any(same_grid(g, o) for o in out):
            out.append(g)
    return out


def select_attempts(candidates: Sequence[Candidate], cfg: SelectConfig, fallback: Grid) -> tuple[Grid, Grid]:
    """Two attempts for one test input. With one distinct grid it is given twice; with none, `fallback`."""
    chosen = ranked_grids(candidates, cfg)[:2]
    if not chosen:
        return fallback, fallback
    return chosen[0], chosen[-1]
