"""The repeated-sampling curve of a run: coverage and pass@2 of the model's candidates as the number of views
grows (1, 2, 4, ... up to all), from the journal, with coverage fitted as exp(a n^b).

Brown et al. 2024 ("Large Language Monkeys") found that coverage (any sample right) grows with the number of
samples as an exponentiated power law, and that picking the right sample is then the bottleneck. Here the
samples are a task's augmented views: the journal keeps each model candidate's view (Candidate.view, the D8
element it was predicted under), so a run's own candidates say what fewer views would have found. For each
n, every task keeps the candidates of its first n views in one fixed random order (the same order for every
n, so the subsets are nested); coverage counts test outputs for which one of them is the truth, pass@2 those
for which the kit's own selection (solver/select.py, on those candidates only) puts the truth in its two
attempts. The gap between the two is what better selection could win; the fit says what more views would.

Only the model's candidates count: the DSL's and the baseline's do not depend on the views. Views sharing a
D8 element are one view group in the journal (with 16 views, 8 groups of 2): the curve steps through groups
and reports its x axis in views (groups x views per group).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .augment import D8_NAMES
from .config import Config
from .journal import TaskRecord
from .metrics import coverage_at, fit_coverage_curve, same_grid
from .select import ranked_grids
from .tasks import Grid

MODEL_FAMILY = "neural"


@dataclass
class SamplingCurve:
    groups: list[int]        # view groups kept per task: 1, 2, 4, ..., all
    views: list[float]       # the same in views (groups x views per group)
    coverage: list[float]    # fraction of test outputs with the truth among the kept views' candidates
    pass2: list[float]       # fraction for which selection on those candidates puts the truth in its two attempts
    outputs: int             # test outputs counted (those of tasks with known truth the model ran on)
    tasks: int
    fit: tuple[float, float] | None  # coverage(views) = exp(a views^b); None when fewer than 2 points in (0, 1)

    def predict(self, views: float) -> float | None:
        return None if self.fit is None else coverage_at(self.fit, views)

    def doubling_gain(self, views: float) -> float | None:
        """What the fit says doubling the views from `views` adds to coverage (a fraction)."""
        return None if self.fit is None else coverage_at(self.fit, 2 * views) - coverage_at(self.fit, views)


def curve_points(n: int) -> list[int]:
    """1, 2, 4, ... below n, then n."""
    out, k = [], 1
    while k < n:
        out.append(k)
        k *= 2
    return out + [n] if n >= 1 else []


def view_groups(rec: TaskRecord, cfg: Config) -> list[str]:
    """The task's view groups, sorted. When the views are geometric and the plan says how many ran, the D8
    names of all of them (views_for_task gives view i the element i % 8), so that a view whose outputs all
    failed to parse counts as a view that found nothing; else the views its model candidates name."""
    seen = {c.view for c in rec.candidates if c.family == MODEL_FAMILY}
    planned = rec.plan.get("views", 0) if rec.plan.get("model") else 0
    if planned and "geometry" in cfg.sample.augment:
        seen |= {D8_NAMES[i % 8] for i in range(planned)}
    return sorted(seen)


def view_order(task_id: str, groups: Sequence[str], seed: int = 0) -> list[str]:
    """The task's view groups in a fixed random order: the same for every n (nested subsets) and whatever
    the order of the tasks in the journal."""
    rng = np.random.default_rng([seed, zlib.crc32(task_id.encode())])
    return [groups[i] for i in rng.permutation(len(groups))]


def sampling_curve(records: Iterable[TaskRecord], truths: dict[str, list[Grid]], cfg: Config,
                   seed: int = 0) -> SamplingCurve | None:
    """The curve over the tasks with known truth on which the model ran (a view group in the journal; not a
    task the budget cut short or whose model part was lost); None when there are none. `cfg` is the run's
    (its selection settings and sample.augment)."""
    tasks = []  # (view groups in order, per test input: (truth, its model candidates))
    views_run = groups_run = 0
    for rec in records:
        truth = truths.get(rec.task_id)
        groups = view_groups(rec, cfg)
        lost = (rec.parts and "gpu" not in rec.parts) or any("gpu part lost" in e for e in rec.errors)
        if truth is None or not groups or rec.status in ("cut", "invalid") or lost:
            continue
        model = [c for c in rec.candidates if c.family == MODEL_FAMILY]
        tasks.append((view_order(rec.task_id, groups, seed),
                      [(t, [c for c in model if c.test_index == i]) for i, t in enumerate(truth)]))
        views_run += max(rec.plan.get("views", 0) if rec.plan.get("model") else 0, len(groups))
        groups_run += len(groups)
    if not tasks:
        return None
    per_group = views_run / groups_run  # views per group: 1 up to 8 views, 2 with 16
    ns = curve_points(max(len(order) for order, _ in tasks))
    outputs = sum(len(tests) for _, tests in tasks)
    coverage, pass2 = [], []
    for n in ns:
        covered = right = 0
        for order, tests in tasks:
            kept = set(order[:n])
            for truth, cands in tests:
                mine = [c for c in cands if c.view in kept]
                covered += any(same_grid(c.grid, truth) for c in mine)
                right += any(same_grid(g, truth) for g in ranked_grids(mine, cfg.select)[:2])
        coverage.append(covered / outputs)
        pass2.append(right / outputs)
    views = [n * per_group for n in ns]
    return SamplingCurve(ns, views, coverage, pass2, outputs, len(tasks), fit_coverage_curve(views, coverage))


def saturation_views(curve: SamplingCurve, up_to: int, threshold: float) -> int | None:
    """The fewest views from which on (up to `up_to`) doubling adds less than `threshold` coverage by the
    fit; None without a fit, or when doubling `up_to` itself still adds that much."""
    if curve.fit is None or curve.doubling_gain(up_to) >= threshold:
        return None
    v = up_to
    while v > 1 and curve.doubling_gain(v - 1) < threshold:
        v -= 1
    return v


def describe(curve: SamplingCurve) -> list[str]:
    """Plain sentences on what the curve says: the selection gap at all views, and the fit's next doubling."""
    last = len(curve.views) - 1
    gap = curve.coverage[last] - curve.pass2[last]
    out = [f"With all {curve.views[last]:g} views the model's candidates hold the truth for "
           f"{curve.coverage[last]:.1%} of {curve.outputs} test outputs (coverage) and selection puts it in its "
           f"two attempts for {curve.pass2[last]:.1%} (pass@2): the gap, {100 * gap:.1f} points, is what better "
           f"selection could still win."]
    if curve.fit is None:
        out.append("No fit of coverage = exp(a n^b): it needs two points strictly between 0 and 1"
                   + (" (coverage is 0 at every n: the model found no truth, more views will not help)."
                      if max(curve.coverage) == 0 else "."))
    else:
        a, b = curve.fit
        n = curve.views[last]
        out.append(f"Fit coverage = exp({a:.3f} n^{b:.3f}): at {2 * n:g} views {curve.predict(2 * n):.1%}, "
                   f"{100 * curve.doubling_gain(n):+.1f} points over {n:g} views "
                   f"(fitted {curve.predict(n):.1%}).")
    return out
