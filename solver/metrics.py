"""Scores: the Kaggle metric, coverage of the candidate pool, and the unbiased pass@k estimator.

Selected score against coverage is the number to watch: coverage counts test outputs for which *any*
candidate was right, so the gap between the two is what better selection could still win.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import math
from math import comb
from typing import Any, Sequence

import numpy as np

from .tasks import Grid, GridError, as_grid


def same_grid(a: Grid | None, b: Grid | None) -> bool:
    return a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b)


@dataclass
class ScoreReport:
    n_outputs: int = 0
    n_correct: int = 0
    per_task: dict[str, list[bool]] = field(default_factory=dict)  # per test output: attempt 1 or 2 right
    missing: list[str] = field(default_factory=list)  # tasks of the solutions absent from the submission

    @property
    def score(self) -> float:
        """Kaggle metric: correct test outputs / all test outputs."""
        return self.n_correct / self.n_outputs if self.n_outputs else 0.0

    @property
    def tasks_solved(self) -> int:
        return sum(all(v) for v in self.per_task.values())

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "correct": self.n_correct, "outputs": self.n_outputs,
                "tasks": len(self.per_task), "tasks_solved": self.tasks_solved,
                "missing": self.missing, "per_task": self.per_task}


def _read_attempt(entry: Any, key: str) -> Grid | None:
    try:
        return as_grid(entry[key])
    except (GridError, KeyError, TypeError):
        return None


def score_submission(submission: dict[str, Any], solutions: dict[str, list[Grid]]) -> ScoreReport:
    """Score a submission in its JSON form. A missing or malformed entry scores 0 for its outputs."""
    report = ScoreReport()
    for task_id, truths in solutions.items():
        entries = submission.get(task_id)
        if not isinstance(entries, list):
            report.missing.append(task_id)
            entries = []
        results = []
        for i, truth in enumerate(truths):
            entry = entries[i] if i < len(entries) else None
            ok = entry is not None and any(same_grid(_read_attempt(entry, k), truth)
                                           for k in ("attempt_1", "attempt_2"))
            results.append(bool(ok))
        report.per_task[task_id] = results
        report.n_outputs += len(truths)
        report.n_correct += sum(results)
    return report


def coverage(candidates: dict[str, list[Sequence[Grid]]], solutions: dict[str, list[Grid]]) -> float:
    """Fraction of all test outputs for which any candidate grid equals the truth."""
    total = hit = 0
    for task_id, truths in solutions.items():
        per_test = candidates.get(task_id, [])
        for i, truth in enumerate(truths):
            total += 1
            pool = per_test[i] if i < len(per_test) else []
            hit += any(same_grid(g, truth) for g in pool)
    return hit / total if total else 0.0


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of P(at least one of k draws is right) from n samples of which c are right
    (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n} c={c}")
    if n == 0:
        return 0.0
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def mean_pass_at_k(samples: dict[str, list[Sequence[Grid]]], solutions: dict[str, list[Grid]], k: int) -> float:
    """pass@k averaged over test outputs, each candidate list taken as n independent samples."""
    values = []
    for task_id, truths in solutions.items():
        per_test = samples.get(task_id, [])
        for i, truth in enumerate(truths):
            pool = per_test[i] if i < len(per_test) else []
            values.append(pass_at_k(len(pool), sum(same_grid(g, truth) for g in pool), k))
    return float(np.mean(values)) if values else 0.0


def fit_coverage_curve(samples: Sequence[float], coverage_values: Sequence[float]) -> tuple[float, float] | None:
    """Fit coverage(n) = exp(a * n**b) to coverage measured at n samples (Brown et al. 2024, "Large Language
    Monkeys": coverage grows with the number of samples as an exponentiated power law, a < 0, b < 0).
    Least squares on log(-log c) = log(-a) + b log n over the points with 0 < c < 1; None with fewer than
    two such points (a curve already at 0 or 1 says nothing about the next doubling)."""
    pts = [(math.log(n), math.log(-math.log(c))) for n, c in zip(samples, coverage_values) if 0 < c < 1 and n > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    xs, ys = np.array([x for x, _ in pts]), np.array([y for _, y in pts])
    b, log_minus_a = np.polyfit(xs, ys, 1)
    return -math.exp(log_minus_a), float(b)


def coverage_at(fit: tuple[float, float], n: float) -> float:
    a, b = fit
    return math.exp(a * n ** b)
