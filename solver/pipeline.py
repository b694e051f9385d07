"""The whole run, top to bottom.

    load + validate tasks -> write fallback submission -> for each task, within its share of the budget:
        every enabled stage proposes candidates -> select two attempts per test input
        -> append to the journal -> rewrite submission.json atomically
    -> summary (score and coverage when solutions are known)

Stages are functions (task, deadline) -> candidates; they never touch the submission. A stage that raises
costs only its own candidates for that task: the error is journalled and the other stages still count.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from . import baseline, dsl
from .budget import Deadline, task_share
from .config import Config
from .journal import Journal, TaskRecord
from .metrics import ScoreReport, coverage, score_submission
from .select import is_valid_grid, select_attempts
from .submission import Submission, fallback_attempts
from .tasks import Candidate, ChallengeSet, Task, load_challenges, load_solutions


@dataclass(frozen=True)
class Stage:
    name: str
    solve: Callable[[Task, Deadline], list[Candidate]]
    # Work over all tasks before the first is solved (a shared adapter); given the run's deadline.
    prepare: Callable[[list[Task], Deadline], None] | None = None


def build_stages(cfg: Config) -> list[Stage]:
    """The enabled stages in the order they run. Costly resources (a model) are loaded here, once."""
    stages = []
    # The baseline goes first: it is instant, and a DSL search that uses the task's whole share of time
    # would otherwise leave it skipped.
    if cfg.baseline.enabled:
        stages.append(Stage("baseline", lambda task, deadline: baseline.solve(task, cfg.baseline, deadline)))
    if cfg.dsl.enabled:
        dsl.warm_up()  # numba kernels compile here, not inside the first task's budget
        stages.append(Stage("dsl", lambda task, deadline: dsl.solve(task, cfg.dsl, deadline)))
    if cfg.model.path:
        from .neural import NeuralStage  # torch and transformers load only when a model is used
        neural = NeuralStage(cfg)
        stages.append(Stage(neural.name, neural.solve, neural.prepare))
    return stages


def prepare_stages(stages: list[Stage], tasks: list[Task], deadline: Deadline) -> list[str]:
    """Run every stage's preparation; one that fails is reported and its stage still solves tasks."""
    errors = []
    for stage in stages:
        if stage.prepare is None or deadline.expired():
            continue
        try:
            stage.prepare(tasks, deadline)
        except Exception as exc:  # a failed preparation must not cost the run its tasks
            errors.append(f"{stage.name}: preparation failed: {type(exc).__name__}: {exc}")
    return errors


def solve_task(task: Task, stages: list[Stage], cfg: Config, deadline: Deadline) -> TaskRecord:
    candidates: list[Candidate] = []
    seconds: dict[str, float] = {}
    errors: list[str] = []
    for stage in stages:
        if deadline.expired():
            errors.append(f"{stage.name}: skipped, the task's time was used up")
            continue
        start = time.monotonic()
        try:
            produced = stage.solve(task, deadline)
        except Exception as exc:  # one stage failing must not cost the task the other stages' work
            errors.append(f"{stage.name}: {type(exc).__name__}: {exc}")
            produced = []
        seconds[stage.name] = seconds.get(stage.name, 0.0) + time.monotonic() - start
        for c in produced:
            if 0 <= c.test_index < len(task.test) and is_valid_grid(c.grid):
                candidates.append(c)
            else:
                errors.append(f"{stage.name}: dropped an invalid candidate for test {c.test_index}")
    attempts = [select_attempts([c for c in candidates if c.test_index == i], cfg.select,
                                fallback_attempts(ex.input)[0])
                for i, ex in enumerate(task.test)]
    return TaskRecord(task.id, attempts, candidates, seconds, errors, "error" if errors and not candidates else "ok")


@dataclass
class RunResult:
    submission_path: Path
    workdir: Path
    challenge_set: ChallengeSet
    records: dict[str, TaskRecord] = field(default_factory=dict)
    score: ScoreReport | None = None
    coverage: float | None = None
    seconds: float = 0.0
    stopped_early: bool = False  # the budget ran out before every task was tried


def run(challenges: str | Path, cfg: Config, out: str | Path, solutions: str | Path | None = None,
        workdir: str | Path | None = None, progress: bool = True) -> RunResult:
    started = time.monotonic()
    run_deadline = Deadline.after(None if cfg.budget.total_seconds is None
                                  else cfg.budget.total_seconds - cfg.budget.safety_seconds)
    out = Path(out)
    workdir = Path(workdir) if workdir else out.parent / "work"

    # 1. Tasks. Bad tasks are reported and keep their fallback attempts; they never stop the run.
    challenge_set = load_challenges(challenges)
    truths = load_solutions(solutions) if solutions else None
    for bad in challenge_set.invalid.values():
        print(f"warning: task {bad.id} is invalid and keeps fallback attempts: {bad.problem}", file=sys.stderr)

    # 2. A complete, valid submission exists before any work starts.
    submission = Submission(challenge_set)
    submission.write(out)
    journal = Journal(workdir)
    journal.start({"challenges": str(challenges), "config": cfg.to_dict(), "tasks": len(challenge_set.order)})
    result = RunResult(out, workdir, challenge_set)
    for bad in challenge_set.invalid.values():
        record = TaskRecord(bad.id, submission.attempts[bad.id], errors=[bad.problem], status="invalid")
        journal.record(record)
        result.records[bad.id] = record

    # 3. Tasks in turn, each within its share of the time left.
    stages = build_stages(cfg)
    tasks = list(challenge_set.tasks.values())
    for problem in prepare_stages(stages, tasks, run_deadline):
        print(f"warning: {problem}", file=sys.stderr)
    bar = tqdm(tasks, desc="tasks", unit="task", disable=not progress, file=sys.stderr)
    for n_done, task in enumerate(bar):
        if run_deadline.expired():
            result.stopped_early = True
            break
        share = task_share(run_deadline, len(tasks) - n_done, cfg.budget.max_task_fraction)
        record = solve_task(task, stages, cfg, run_deadline.within(share))
        submission.set(task.id, record.attempts)
        submission.write(out)
        journal.record(record)
        result.records[task.id] = record

    # 4. Summary numbers.
    result.seconds = time.monotonic() - started
    if truths is not None:
        result.score = score_submission(submission.to_json(), truths)
        pools = {tid: [[c.grid for c in r.candidates if c.test_index == i] for i in range(len(r.attempts))]
                 for tid, r in result.records.items()}
        result.coverage = coverage(pools, truths)
    return result


def summary_lines(result: RunResult) -> list[str]:
    """The table printed at the end of a run."""
    records = result.records.values()
    stage_seconds: dict[str, float] = {}
    for r in records:
        for name, s in r.seconds.items():
            stage_seconds[name] = stage_seconds.get(name, 0.0) + s
    n_tasks = len(result.challenge_set.order)
    lines = [f"tasks            {n_tasks} ({len(result.challenge_set.invalid)} invalid, "
             f"{n_tasks - len(result.records)} not reached)",
             f"tasks with errors {sum(1 for r in records if r.errors)}",
             f"wall seconds     {result.seconds:.1f}" + ("  (budget ran out)" if result.stopped_early else "")]
    for name, s in sorted(stage_seconds.items()):
        lines.append(f"  stage {name:<10} {s:.1f} s")
    if result.score is not None:
        sc = result.score
        lines.append(f"score            {sc.score:.4f} ({sc.n_correct}/{sc.n_outputs} test outputs, "
                     f"{sc.tasks_solved} tasks fully solved)")
        lines.append(f"coverage         {result.coverage:.4f} (any candidate right; gap to score "
                     f"{result.coverage - sc.score:+.4f})")
    lines.append(f"submission       {result.submission_path}")
    lines.append(f"journal          {result.workdir / 'journal.jsonl'}")
    return lines
