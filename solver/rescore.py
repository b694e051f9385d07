"""Product-of-experts rescoring (the ARChitects): the model judges each predicted grid from many views.

Sampling proposes grids; a wrong grid the model happened to write under one view is rarely likely under
the others, while the right answer stays likely under every view of the task. Each distinct grid of a test
input is therefore scored by its log-likelihood (teacher forcing) under K fresh augmented views: the view
applied to the demonstrations, the test input and the grid. The views' scores are averaged (the log of the
geometric mean of their probabilities: a product of experts, normalised so that K does not change its
scale) and the grid's vote count from sampling is added as vote_weight * log(votes).

Per view and test input the prompt is the same for every grid, so the backend computes it once
(`score_shared`) and scores all grids after it in batches.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .augment import views_of_kinds
from .budget import Deadline
from .codec import CodecError, Vocab, answer_length, encode, encode_grid
from .config import RescoreConfig
from .tasks import Candidate, Example, Grid, Task
from .vote import tally


@dataclass
class RescoreReport:
    grids: int = 0           # distinct grids rescored, over all test inputs
    views: int = 0           # views that scored every grid of a test input
    skipped: Counter = field(default_factory=Counter)  # views left out, by reason
    seconds: float = 0.0


@dataclass(frozen=True)
class Scored:
    """One distinct grid of one test input and what rescoring learnt of it."""
    grid: Grid
    votes: int
    stage: str
    logprobs: tuple[float, ...]  # one per view that scored it

    def score(self, vote_weight: float) -> float:
        return float(np.mean(self.logprobs)) + vote_weight * float(np.log(self.votes))


def _distinct(candidates: Sequence[Candidate]) -> list[tuple[Grid, int, str]]:
    """(grid, votes, stage of its first candidate) per distinct grid, in order of first appearance."""
    t = tally([c.grid for c in candidates])  # distinct grids already in order of first appearance
    return [(g, int(n), candidates[int(f)].stage) for g, n, f in zip(t.grids, t.counts, t.first_index)]


def rescore_test(task: Task, test_index: int, grids: Sequence[Grid], backend, vocab: Vocab, views,
                 max_len: int, batch_size: int, deadline: Deadline,
                 report: RescoreReport) -> list[list[float]]:
    """Per grid, its log-likelihood under each view that fitted the context before the deadline."""
    scores: list[list[float]] = [[] for _ in grids]
    for view in views:
        if deadline.expired():
            report.skipped["deadline"] += 1
            continue
        seen = view.apply_task(task)
        query = seen.test[test_index].input
        seen_grids = [view.apply(g) for g in grids]
        answers = [np.concatenate([encode_grid(g, vocab), [vocab.end]]) for g in seen_grids]
        reserve = max(answer_length(g) for g in seen_grids)
        try:
            prompt = encode(seen.train, Example(query), vocab, max_len, reserve, task.id).ids
        except CodecError:
            report.skipped["does not fit the context"] += 1
            continue
        for s, lp in zip(scores, backend.score_shared(prompt, answers, batch_size)):
            s.append(lp)
        report.views += 1
    return scores


def rescore(task: Task, candidates: Sequence[Candidate], backend, vocab: Vocab, cfg: RescoreConfig,
            max_len: int, deadline: Deadline, rng: np.random.Generator) -> tuple[list[Candidate], RescoreReport]:
    """One candidate per distinct grid and test input, scored as the module says, best first. A test input
    that no view could score keeps its candidates as they were."""
    started = time.monotonic()
    report = RescoreReport()
    views = views_of_kinds(task, cfg.views, cfg.augment, rng, "rescore.augment")
    out: list[Candidate] = []
    for i in sorted({c.test_index for c in candidates}):
        mine = [c for c in candidates if c.test_index == i]
        distinct = _distinct(mine)
        logprobs = rescore_test(task, i, [g for g, _, _ in distinct], backend, vocab, views, max_len,
                                cfg.batch_size, deadline, report)
        if not logprobs or not logprobs[0]:  # no view scored this test input: keep the sampler's candidates
            out += mine
            continue
        report.grids += len(distinct)
        scored = [Scored(g, votes, stage, tuple(lp)) for (g, votes, stage), lp in zip(distinct, logprobs)]
        scored.sort(key=lambda s: -s.score(cfg.vote_weight))
        out += [Candidate(i, s.grid, s.stage, score=s.score(cfg.vote_weight)) for s in scored]
    report.seconds = time.monotonic() - started
    return out, report
