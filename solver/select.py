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

from .config import SelectConfig
from .tasks import Candidate, Grid
from .metrics import same_grid
from .rules import Evidence, RULES
from .vote import hierarchical_vote, tally

PARTIAL = "dsl-partial"


def _strength(c: Candidate) -> float:
    """A tie-break within a family when votes are equal: the model's log-probability of its grid, or a
    program's simplicity (minus its cost); 0 when a candidate has neither."""
    if c.logprob is not None:
        return c.logprob
    return -c.cost if c.cost is not None else 0.0


def rescored_value(grid_candidates: Sequence[Candidate], vote_weight: float, rule: str = "mean-votes") -> float | None:
    """The value of one distinct grid under the selection rule (solver/rules.py: by default minus the mean
    rescoring NLL plus vote_weight * log(votes)), from its candidates; None when none was rescored."""
    views = next((c.rescore_nll for c in grid_candidates if c.rescore_nll), None)
    if views is None:
        return None
    # Each candidate stands for `votes` finds of its grid, each with the candidate's generation NLL.
    finds = tuple(-(c.logprob or 0.0) for c in grid_candidates for _ in range(c.votes))
    return RULES[rule](Evidence(grid_candidates[0].grid, finds, tuple(views)), vote_weight)


def rank_family(candidates: Sequence[Candidate], vote: str, vote_weight: float = 1.0,
                rule: str = "mean-votes") -> list[Grid]:
    """Distinct grids of one family, best first.

    Grids that were rescored come first, by `rescored_value` under `rule`; the rest follow by the family's vote:
    hierarchical (over augmentation views, when there are several), weighted (summed probability of the
    candidates: exp(logprob) where the model gave one, else 1 each) or flat (by votes, then `_strength`)."""
    if not candidates:
        return []
    t = tally([c.grid for c in candidates])
    members = [[] for _ in t.grids]
    for c, g in zip(candidates, t.group_of):
        members[g].append(c)
    values = [rescored_value(m, vote_weight, rule) for m in members]
    rescored = sorted((i for i, v in enumerate(values) if v is not None), key=lambda i: (-values[i], i))
    rest = [c for i, m in enumerate(members) if values[i] is None for c in m]
    return [t.grids[i] for i in rescored] + _vote(rest, vote)


def _vote(candidates: Sequence[Candidate], vote: str) -> list[Grid]:
    if not candidates:
        return []
    grids = [c.grid for c in candidates]
    views = {c.view for c in candidates}
    if vote == "hierarchical" and len(views) > 1:
        top = hierarchical_vote(grids, [c.view for c in candidates], "identity", k=len(grids))
        # The hierarchical vote ranks what its views chose; any other grid follows by count.
        rest = [g for g in _vote(candidates, "flat") if not any(same_grid(g, t) for t in top)]
        return top + rest
    if vote == "weighted":
        t = tally(grids, [c.votes * (math.exp(c.logprob) if c.logprob is not None else 1.0) for c in candidates])
        order = t.ranking("weight")
    else:  # flat: by votes, then by summed strength, then first seen
        t = tally(grids, [float(c.votes) for c in candidates])
        strength = tally(grids, [_strength(c) for c in candidates]).weights
        order = np.lexsort((t.first_index, -strength, -t.weights))
    return [t.grids[i] for i in order]


def merge_family(c: Candidate, merge: str) -> str:
    """The family a candidate is ranked in: a DSL program that does not reproduce every train pair is a
    family of its own ('dsl-partial') except under the plain priority policy."""
    fam = c.family
    return PARTIAL if merge != "priority" and fam == "dsl" and not c.fits_train else fam


def calibrated(c: Candidate, cfg: SelectConfig) -> float:
    """An estimate of the probability that the candidate is right."""
    fam = c.family
    if fam == "neural":
        # The model's own probability of the grid: under the rescoring views when it was rescored (their
        # geometric mean), else as generated. Both are probabilities, at most 1; vote counts never raise
        # them, so a model's likelihood cannot outrank a fitting program unless it is really that sure.
        nll = c.mean_nll if c.mean_nll is not None else (None if c.logprob is None else -c.logprob)
        return 0.0 if nll is None else math.exp(-max(0.0, nll))
    if fam == "dsl":
        return cfg.fitting_precision if c.fits_train else cfg.partial_precision
    return cfg.baseline_precision


def ranked_grids(candidates: Sequence[Candidate], cfg: SelectConfig) -> list[Grid]:
    """Every distinct grid, best first, by the merge policy."""
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(merge_family(c, cfg.merge), []).append(c)
    families = [f for f in cfg.stage_priority if f in groups]
    families += sorted(set(groups) - set(families))  # unlisted families go last
    ranked = [(f, rank_family(groups[f], cfg.vote, cfg.rescore_vote_weight, cfg.rescore_rule)) for f in families]
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
