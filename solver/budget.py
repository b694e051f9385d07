"""Clocks, deadlines, each task's share of the time, and the degrade ladder.

The run owns one global deadline. When a worker takes a task, the task gets a share of the worker-seconds
that remain, by its size; `plan_task` then turns the task's config down the ladder until its estimated cost
fits that share:

    fewer TTT steps -> no TTT -> fewer rescoring views -> no rescoring -> fewer views -> greedy instead of DFS
    -> DSL only -> baseline attempts

All of it is pure: the coordinator (solver/coordinator.py) and the schedule simulator (solver/tune.py) plan
with the same functions. Deadlines are absolute points on the monotonic clock; worker processes get them as
seconds remaining.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

from .config import Config


@dataclass(frozen=True)
class Deadline:
    at: float  # time.monotonic() value; math.inf for no limit

    @classmethod
    def after(cls, seconds: float | None) -> "Deadline":
        return cls(math.inf if seconds is None else time.monotonic() + max(0.0, seconds))

    @classmethod
    def never(cls) -> "Deadline":
        return cls(math.inf)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def within(self, seconds: float | None) -> "Deadline":
        """The earlier of this deadline and `seconds` from now."""
        if seconds is None:
            return self
        return Deadline(min(self.at, time.monotonic() + max(0.0, seconds)))

    @property
    def unlimited(self) -> bool:
        return math.isinf(self.at)


def task_share(remaining: float, weight: float, weight_left: float, tasks_left: int, workers: int = 1,
               busy_seconds: float = 0.0, max_fraction: float = 4.0) -> float:
    """Seconds one task may use on one of `workers` parallel workers.

    The worker-seconds left (`workers * remaining`, less `busy_seconds` already promised to tasks running on
    the other workers) are split over the tasks not yet started by weight (`weight_left` and `tasks_left`
    include this task). A task gets at most `max_fraction` equal shares, so one large task cannot starve
    the rest, and never more than the run has left."""
    capacity = max(0.0, workers * remaining - busy_seconds)
    equal = capacity / max(1, tasks_left)
    share = min(capacity * weight / max(weight_left, 1e-9), equal * max_fraction)
    return min(share, remaining)


def task_weight(cfg: Config, device: str, cells: int, n_test: int) -> float:
    """How much of a device's time a task should get, relative to the others: on a model worker, the cost
    model's estimate at full settings (it grows with the task's size and its number of test inputs, plus
    the fixed cost every task pays); on the CPU pool, equal shares, since the program search's limit is per
    task; the size in cells where there is no model to estimate with."""
    if device == "cpu":
        return 1.0
    return model_seconds(cfg, cells, n_test) if cfg.model.active else float(cells)


def model_seconds(cfg: Config, cells: int, n_test: int) -> float:
    """Estimated seconds of a task's model stages under `cfg` (0 when there is no model). Training, sampling
    and rescoring cost grow with the task's size; a DFS pass costs `dfs_factor` greedy passes."""
    if not cfg.model.active:
        return 0.0
    return _sampling_seconds(cfg, cells, n_test) + _ttt_seconds(cfg, cells) + _rescore_seconds(cfg, cells, n_test)


def phase_seconds(cfg: Config, cells: int, n_test: int) -> dict[str, float]:
    """The estimate of `model_seconds`, phase by phase (the names the neural stage journals), plus "task":
    the fixed cost of every task."""
    if not cfg.model.active:
        return {}
    sampling = cfg.sample.views * _view_seconds(cfg, cells, n_test)
    return {"task": cfg.budget.model_task_seconds, "ttt": _ttt_seconds(cfg, cells),
            "dfs" if cfg.sample.method == "dfs" else "sample": sampling,
            "rescore": _rescore_seconds(cfg, cells, n_test)}


def _ttt_seconds(cfg: Config, cells: int) -> float:
    steps = cfg.ttt.steps if cfg.ttt.enabled else 0
    return cells / 1000 * steps * cfg.budget.ttt_step_seconds


def _view_seconds(cfg: Config, cells: int, n_test: int) -> float:
    b = cfg.budget
    return cells / 1000 * n_test * b.view_seconds * (b.dfs_factor if cfg.sample.method == "dfs" else 1.0)


def _sampling_seconds(cfg: Config, cells: int, n_test: int) -> float:
    return cfg.budget.model_task_seconds + cfg.sample.views * _view_seconds(cfg, cells, n_test)


def _rescore_view_seconds(cfg: Config, cells: int, n_test: int) -> float:
    return cells / 1000 * n_test * cfg.budget.rescore_view_seconds


def _rescore_seconds(cfg: Config, cells: int, n_test: int) -> float:
    return cfg.rescore.views * _rescore_view_seconds(cfg, cells, n_test) if cfg.rescore.enabled else 0.0


def plan_task(cfg: Config, cells: int, n_test: int, model_budget: float | None = None,
              dsl_budget: float | None = None) -> Config:
    """The task's own config: `cfg` with the ladder's knobs turned down until the estimated cost of the
    model stages fits `model_budget` seconds and the program search fits `dsl_budget`. None leaves that
    side as it is (no limit, or the side is planned by another worker)."""
    plan = copy.deepcopy(cfg)
    if dsl_budget is not None and plan.dsl.enabled:
        plan.dsl.seconds_per_task = min(plan.dsl.seconds_per_task, dsl_budget)
        if plan.dsl.seconds_per_task < plan.budget.min_dsl_seconds:
            plan.dsl.enabled = False  # the last rung: only the baseline's attempts are left
    if model_budget is not None and plan.model.active:
        _fit_model(plan, cells, n_test, model_budget)
    return plan


def _fit_model(plan: Config, cells: int, n_test: int, seconds: float) -> None:
    def fits() -> bool:
        return model_seconds(plan, cells, n_test) <= seconds

    if fits():
        return
    # 1. Fewer TTT steps: as many as fit beside sampling and rescoring; 2. none, when too few are left to be
    # worth it.
    if plan.ttt.enabled and plan.ttt.steps > 0 and _ttt_seconds(plan, cells) > 0:
        spare = seconds - _sampling_seconds(plan, cells, n_test) - _rescore_seconds(plan, cells, n_test)
        steps = math.floor(spare / _ttt_seconds(plan, cells) * plan.ttt.steps) if spare > 0 else 0
        if steps >= min(plan.budget.min_ttt_steps, plan.ttt.steps):
            plan.ttt.steps = steps
            return
        plan.ttt.enabled = False
        if fits():
            return
    # 3. Fewer rescoring views, as many as fit beside the sampling; 4. no rescoring.
    if plan.rescore.enabled:
        spare = seconds - _sampling_seconds(plan, cells, n_test)
        per_view = _rescore_view_seconds(plan, cells, n_test)
        views = math.floor(spare / per_view) if spare > 0 and per_view > 0 else 0
        if views >= 1:
            plan.rescore.views = min(plan.rescore.views, views)
            return
        plan.rescore.enabled = False
        if fits():
            return

    def views_that_fit() -> int:  # TTT is off by now: the fixed cost and the views are all there is
        spare = seconds - plan.budget.model_task_seconds
        return max(0, math.floor(spare / _view_seconds(plan, cells, n_test)))

    # 5. Fewer views: under DFS down to half of them; 6. then greedy, which affords more views per second.
    views = plan.sample.views
    if plan.sample.method == "dfs":
        if views_that_fit() >= max(1, math.ceil(views / 2)):
            plan.sample.views = min(views, views_that_fit())
            return
        plan.sample.method = "greedy"
    if views_that_fit() >= 1:
        plan.sample.views = min(views, views_that_fit())
        return
    # 7. Not even one greedy pass fits: the DSL (and the baseline) alone answer this task.
    plan.model.enabled = False


def lighter(plan: Config, device: str, phase: str | None = None) -> Config | None:
    """The next rung down for a task whose worker ran out of memory (in `phase`, when the stage said which)
    or died on it. The phase that failed is lightened first (`lighten_phase`); then training goes (it needs
    the most memory), then half the views, then DFS. On the CPU, half the search time. None when nothing is
    left to turn down."""
    p = copy.deepcopy(plan)
    if device == "cpu":
        p.dsl.seconds_per_task /= 2
        return p if p.dsl.enabled and p.dsl.seconds_per_task >= p.budget.min_dsl_seconds else None
    if phase is not None and lighten_phase(p, phase):
        return p
    if p.ttt.enabled and p.ttt.steps > 0:
        p.ttt.enabled = False
    elif p.sample.views > 1:
        p.sample.views //= 2
    elif p.sample.method == "dfs":
        p.sample.method = "greedy"
    else:
        return None
    return p


# The shortest sequences the out-of-memory rungs shorten TTT's to, and DFS's prompt passes to (tokens).
MIN_TTT_TOKENS = 512
MIN_PREFILL_TOKENS = 128


def lighten_phase(p: Config, phase: str, longest: int | None = None) -> bool:
    """Turn down what sets the memory of `phase` (the neural stage's phase names); False when it has nothing
    left to turn down, or the phase is not the neural stage's. `longest`: the tokens of the phase's longest
    sequence where the caller knows them (the stage's own retry), for the rungs that shorten sequences.

        ttt      half the sequences per forward pass (gradient accumulation: the same steps), down to one;
                 then training sequences of at most 3/4 of the longest (demonstrations dropped to fit, by
                 the format's rule), down to MIN_TTT_TOKENS
        sample   half the prompts per greedy batch, down to one
        dfs      the prompt fed in chunks, half the longest prompt, then half that, down to
                 MIN_PREFILL_TOKENS: the activations of a long prompt's pass are the search's peak beside
                 its cache (fewer views would not lower it: the views run one after the other)
        rescore  half the answers per batch, down to one (the prompt's cache is then never repeated);
                 then half the views; then no rescoring"""
    if phase == "ttt" and p.ttt.enabled and p.ttt.steps > 0:
        micro = p.ttt.micro_batch_size or p.ttt.batch_size
        if micro > 1:
            p.ttt.micro_batch_size = micro // 2
            return True
        cap = min(t for t in (longest, p.ttt.max_length or None, p.model.max_length) if t)
        if cap * 3 // 4 >= MIN_TTT_TOKENS:
            p.ttt.max_length = cap * 3 // 4
            return True
    elif phase == "sample" and p.sample.batch_size > 1:
        p.sample.batch_size //= 2
        return True
    elif phase == "dfs" and p.sample.method == "dfs":
        cap = min(t for t in (longest, p.sample.prefill_chunk or None, p.model.max_length) if t)
        if cap // 2 >= MIN_PREFILL_TOKENS:
            p.sample.prefill_chunk = cap // 2
            return True
    elif phase == "rescore" and p.rescore.enabled:
        if p.rescore.batch_size > 1:
            p.rescore.batch_size //= 2
        elif p.rescore.views > 1:
            p.rescore.views //= 2
        else:
            p.rescore.enabled = False
        return True
    return False


# The ladder's knobs, a fixed contract with the stages that read them.
LADDER_KNOBS = ("ttt.enabled", "ttt.steps", "ttt.micro_batch_size", "ttt.max_length", "sample.views",
                "sample.method", "sample.batch_size", "sample.prefill_chunk", "rescore.enabled", "rescore.views", "rescore.batch_size", "model.enabled",
                "dsl.enabled", "dsl.seconds_per_task")


def knob(cfg: Config, name: str):
    section, key = name.split(".")
    return getattr(getattr(cfg, section), key)


def degraded(full: Config, plan: Config) -> list[str]:
    """The ladder knobs `plan` turned down from `full`, e.g. ['ttt.steps', 'sample.views']."""
    return [name for name in LADDER_KNOBS if knob(full, name) != knob(plan, name)]


def knobs(cfg: Config) -> dict:
    """What the stages were told to do, as the journal records it."""
    return {"model": cfg.model.active,
            "ttt_steps": cfg.ttt.steps if cfg.ttt.enabled else 0,
            "views": cfg.sample.views, "method": cfg.sample.method,
            "rescore_views": cfg.rescore.views if cfg.rescore.enabled else 0,
            "dsl_seconds": round(cfg.dsl.seconds_per_task, 3) if cfg.dsl.enabled else 0.0}
