"""Product-of-experts rescoring (the ARChitects): the model judges each predicted grid from many views.

Sampling proposes grids; a wrong grid the model happened to write under one view is rarely likely under
the others, while the right answer stays likely under every view of the task. Each distinct grid of a test
input is therefore scored by its log-likelihood (teacher forcing) under K fresh augmented views: the view
applied to the demonstrations, the test input and the grid. Every candidate of that grid is given the
grid's negative log-likelihood under each view (`Candidate.rescore_nll`); selection (select.py) ranks
rescored grids by the mean over the views (the log of the geometric mean of their probabilities: a product
of experts, normalised so that K does not change its scale) together with the grid's votes from sampling.
No candidate is dropped or merged here: the votes stay countable and the views stay for the report.

Per view and test input the prompt is the same for every grid, so the backend computes it once
(`score_shared`) and scores all grids after it in batches.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from .augment import views_of_kinds
from .budget import Deadline
from .formats import ContextError, Format
from .config import RescoreConfig
from .tasks import Candidate, Example, Grid, Task
from .vote import tally


@dataclass
class RescoreReport:
    grids: int = 0           # distinct grids rescored, over all test inputs
    views: int = 0           # views that scored every grid of a test input
    skipped: Counter = field(default_factory=Counter)  # views left out, by reason
    seconds: float = 0.0


def rescore_test(task: Task, test_index: int, grids: Sequence[Grid], backend, fmt: Format, views,
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
        answers = [fmt.answer(g) for g in seen_grids]
        reserve = max(len(a) for a in answers)
        try:
            prompt = fmt.encode(seen.train, Example(query), max_len, reserve, task.id).ids
        except ContextError:
            report.skipped["does not fit the context"] += 1
            continue
        for s, lp in zip(scores, backend.score_shared(prompt, answers, batch_size)):
            s.append(lp)
        report.views += 1
    return scores


def rescore(task: Task, candidates: Sequence[Candidate], backend, fmt: Format, cfg: RescoreConfig,
            max_len: int, deadline: Deadline, rng: np.random.Generator) -> tuple[list[Candidate], RescoreReport]:
    """The same candidates, each carrying its grid's NLL per rescoring view. A test input that no view could
    score keeps its candidates as they were."""
    started = time.monotonic()
    report = RescoreReport()
    views = views_of_kinds(task, cfg.views, cfg.augment, rng, "rescore.augment")
    out: list[Candidate] = []
    for i in sorted({c.test_index for c in candidates}):
        mine = [c for c in candidates if c.test_index == i]
        t = tally([c.grid for c in mine])  # distinct grids, in order of first appearance
        logprobs = rescore_test(task, i, t.grids, backend, fmt, views, max_len, cfg.batch_size, deadline, report)
        if not logprobs or not logprobs[0]:  # no view scored this test input: keep the sampler's candidates
            out += mine
            continue
        report.grids += len(t.grids)
        out += [replace(c, rescore_nll=tuple(-lp for lp in logprobs[g])) for c, g in zip(mine, t.group_of)]
    report.seconds = time.monotonic() - started
    return out, report
