"""The stage protocol: what a stage is, which stages run where, and running them on one task.

A stage is a function (task, plan, deadline) -> candidates, where `plan` is the task's own config (the run's
config turned down the degrade ladder for this task, solver/budget.py). Whether the plan runs a stage at all
is the stage's `enabled(plan)` flag, read here by the runner, never by the stage. Stages never touch the
journal or the submission; a stage that raises costs only its own candidates.

A stage made of phases (the neural stage: TTT, sampling or DFS, rescoring) returns a `StageResult`
(solver/phases.py) instead of a bare list: its candidates, the seconds of each phase, what it generated, and
the phases that failed. A phase that runs out of memory is retried lighter in its own process first; the
coordinator requeues the task only when that retry failed too, from the plan the retry ran with.

Both the coordinator (solver/coordinator.py, for the inline stages) and the worker processes
(solver/workers.py) import this module; it imports neither.
"""
from __future__ import annotations

import copy
import importlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import baseline
from .budget import Deadline, degraded, knobs
from .config import Config, ConfigError
from .journal import TaskRecord
from .phases import PhaseFailure, StageResult, is_out_of_memory, release_accelerator_memory
from .select import select_attempts
from .submission import fallback_attempts
from .tasks import Candidate, Task, is_grid


Solve = Callable[[Task, Config, Deadline], "list[Candidate] | StageResult"]


def _always(plan: Config) -> bool:
    return True


@dataclass(frozen=True)
class Stage:
    name: str
    solve: Solve                                   # (task, the task's own config, deadline) -> candidates
    enabled: Callable[[Config], bool] = _always    # does this task's plan run the stage? (the ladder's flag)
    setup: Callable[[], None] | None = None        # once in the worker process, before anything else
    # Work over all tasks before the first is solved (a shared adapter): (the tasks left, the run's deadline).
    # Once per worker process, after setup; a replacement worker prepares again.
    prepare: Callable[[list[Task], Deadline], None] | None = None


def build_stages(cfg: Config, device: str) -> list[Stage]:
    """The enabled stages that run on `device`, in order:
        "inline" in the coordinator, for cheap stages;
        "cpu"    on the pool of CPU worker processes (program search);
        "gpu"    on one model worker per GPU (a CPU process where there is no GPU).
    Each worker calls this once for its own device, so costly resources (a model) load once per worker
    and never in the coordinator."""
    stages = []
    if device == "inline" and cfg.baseline.enabled:
        stages.append(Stage("baseline", baseline.solve))
    if device == "cpu" and cfg.dsl.enabled:
        stages.append(Stage("dsl", _dsl_solve, enabled=lambda plan: plan.dsl.enabled,
                            setup=lambda: _dsl_worker_setup(cfg)))
    if device == "gpu" and cfg.model.active:
        from .neural import NeuralStage  # torch and transformers load only in the model workers
        neural = NeuralStage(cfg)  # loads the model: once per model worker
        stages.append(Stage(neural.name, neural.solve, enabled=lambda plan: plan.model.active,
                            prepare=neural.prepare))
    for spec in cfg.run.extra_stages:
        stages += _stage_factory(spec)(cfg, device)
    return stages


def _dsl_solve(task: Task, plan: Config, deadline: Deadline) -> list[Candidate]:
    from . import dsl  # the program search is imported by the CPU workers (and bench/dsl.py) only
    return dsl.solve(task, plan.dsl, deadline)


def _dsl_worker_setup(cfg: Config) -> None:
    from . import dsl
    dsl.limit_memory(dsl.pool.worker_memory_mb(cfg.dsl))  # a runaway search fails alone, in its own worker
    dsl.warm_up()  # numba kernels compile here, not inside the first task's CPU budget


def _stage_factory(spec: str) -> Callable[[Config, str], list[Stage]]:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"run.extra_stages: cannot load '{spec}' (want 'module:function'): {exc}") from None


@dataclass
class PartResult:
    """What the stages of one device made of one task."""
    candidates: list[Candidate] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    errors: list[str] = field(default_factory=list)
    out_of_memory: bool = False
    oom_phase: str | None = None  # the first phase that ran out of memory, for the retry to lighten
    plan: Config | None = None    # the plan that phase last ran with, when the stage already retried it lighter
    phases: dict[str, dict[str, float]] = field(default_factory=dict)  # per stage: seconds per phase
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)     # per stage: StageResult.stats
    memory: dict[str, float] = field(default_factory=dict)  # the worker's after the part: rss_mb, gpu_peak_mb


def run_stages(task: Task, stages: list[Stage], plan: Config, deadline: Deadline) -> PartResult:
    """Every stage the plan enables, in turn, on one task; a stage that raises loses only its own candidates."""
    out = PartResult()
    for stage in stages:
        if not stage.enabled(plan):
            continue
        if deadline.expired():
            out.errors.append(f"{stage.name}: skipped, the task's time was used up")
            continue
        start = time.monotonic()
        try:
            result = stage.solve(task, plan, deadline)
            if not isinstance(result, StageResult):
                result = StageResult(list(result))
        except Exception as exc:  # noqa: BLE001 - a stage's bug must not cost the task the others' work
            result = StageResult(failures=[PhaseFailure(stage.name, f"{type(exc).__name__}: {exc}",
                                                        is_out_of_memory(exc))])
        if any(f.out_of_memory for f in result.failures):
            release_accelerator_memory()  # out of the `except`: its traceback no longer holds the tensors
        out.seconds[stage.name] = out.seconds.get(stage.name, 0.0) + time.monotonic() - start
        for f in result.failures:
            where = stage.name if f.phase == stage.name else f"{stage.name}/{f.phase}"
            out.errors.append(f"{where}: {f.error}")
            if f.out_of_memory and not out.out_of_memory:
                out.out_of_memory, out.oom_phase, out.plan = True, f.phase, result.plan
        if result.phases:
            out.phases[stage.name] = dict(result.phases)
        if result.stats:
            out.stats[stage.name] = dict(result.stats)
        if result.retried:  # out of memory, then fine lighter in process: {phase: the knobs turned down}
            out.stats.setdefault(stage.name, {})["retried_lighter"] = dict(result.retried)
        produced = result.candidates
        for c in produced:
            if isinstance(c, Candidate) and 0 <= c.test_index < len(task.test) and is_grid(c.grid):
                out.candidates.append(c)
            else:
                out.errors.append(f"{stage.name}: dropped an invalid candidate for test "
                                  f"{getattr(c, 'test_index', '?')}")
    return out


def prepare_stages(stages: list[Stage], tasks: list[Task], deadline: Deadline) -> list[str]:
    """Every stage's preparation; one that fails is reported, and its stage still solves tasks."""
    errors = []
    for stage in stages:
        if stage.prepare is None or deadline.expired():
            continue
        try:
            stage.prepare(tasks, deadline)
        except Exception as exc:  # noqa: BLE001 - a failed preparation must not cost the run its tasks
            errors.append(f"{stage.name}: preparation failed: {type(exc).__name__}: {exc}")
    return errors


def choose_attempts(task: Task, candidates: list[Candidate], cfg: Config):
    return [select_attempts([c for c in candidates if c.test_index == i], cfg.select, fallback_attempts(ex.input)[0])
            for i, ex in enumerate(task.test)]


def finish_task(task: Task, cfg: Config, parts: dict[str, PartResult], plans: dict[str, Config],
                inline: list[Stage], deadline: Deadline, status: str = "ok", errors: list[str] | None = None,
                timing: dict[str, dict] | None = None) -> TaskRecord:
    """A task's record from the parts its devices returned (`parts`, `plans`: per device, what it made and the
    config it ran with): the inline stages run here, then two attempts per test input. `errors`: from tries
    that were retried or parts that were lost; `timing`: per device, the worker and its times. The one place
    a task's journal record is made: a run's coordinator and a sweep's driver both finish tasks here."""
    done = [run_stages(task, inline, cfg, deadline)] + list(parts.values())
    candidates = [c for p in done for c in p.candidates]
    errors = list(errors or []) + [e for p in done for e in p.errors]
    seconds: dict[str, float] = {}
    for p in done:
        for name, s in p.seconds.items():
            seconds[name] = seconds.get(name, 0.0) + s
    phases = {name: ph for p in done for name, ph in p.phases.items()}
    stats = {name: s for p in done for name, s in p.stats.items()}
    if status == "ok" and errors and not candidates:
        status = "error"
    plan = copy.deepcopy(cfg)  # the ladder knobs each device ran with
    if "gpu" in plans:
        gpu = plans["gpu"]
        plan.model, plan.ttt, plan.sample, plan.rescore = gpu.model, gpu.ttt, gpu.sample, gpu.rescore
    if "cpu" in plans:
        plan.dsl = plans["cpu"].dsl
    return TaskRecord(task.id, choose_attempts(task, candidates, cfg), candidates, seconds, errors, status,
                      task.cell_count(), knobs(plan), degraded(cfg, plan), timing or {}, phases, stats)


def solve_task(task: Task, stages: list[Stage], cfg: Config, deadline: Deadline) -> TaskRecord:
    """One task, every given stage in this process: for notebooks and tests; a run uses the workers."""
    part = run_stages(task, stages, cfg, deadline)
    status = "error" if part.errors and not part.candidates else "ok"
    return TaskRecord(task.id, choose_attempts(task, part.candidates, cfg), part.candidates, part.seconds,
                      part.errors, status, task.cell_count(), phases=part.phases, stats=part.stats)
