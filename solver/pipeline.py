"""The whole run, top to bottom.

    load + validate tasks -> open the journal (a rerun skips the tasks it finished) -> write submission.json
    -> start the workers: one per GPU for the model stages, a pool of CPU processes for the DSL
    -> until every task is done or the budget is spent:
         give each idle worker the next task, with the task's own config: the ladder turns it down to fit
           the task's share of the time left (solver/budget.py)
         collect finished parts; kill a worker still busy past its task's deadline; retry, lighter, a task
           whose worker died or ran out of memory
         a task whose parts are all in: inline stages -> two attempts per test input -> journal
           -> submission.json rewritten atomically
    -> the budget spent: what finished in part is kept ("cut", done again on resume) -> stop the workers
    -> summary (score and coverage when solutions are known)

A stage is a function (task, deadline, plan) -> candidates, where `plan` is the task's own config. Stages
never touch the journal or the submission. A stage that raises costs only its own candidates; a worker that
dies costs only the task it held. Every task id is in submission.json from the first second to the last.
"""
from __future__ import annotations

import copy
import importlib
import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from . import baseline
from .budget import Deadline, degraded, knobs, lighter, plan_task, task_share, task_weight
from .config import Config, ConfigError
from .journal import Journal, TaskRecord, file_sha256, run_identity
from .metrics import ScoreReport, coverage, score_submission
from .select import is_valid_grid, select_attempts
from .submission import Submission, fallback_attempts
from .tasks import Candidate, ChallengeSet, Task, load_challenges, load_solutions
from .workers import Assignment, Event, Job, Prepare, Worker, Workers, layout, visible_gpus

REMOTE = ("gpu", "cpu")  # the worker kinds; a third place, "inline", is the coordinator itself


@dataclass(frozen=True)
class Stage:
    name: str
    solve: Callable[[Task, Deadline, Config], list[Candidate]]  # (task, deadline, the task's config)
    setup: Callable[[], None] | None = None  # once in the worker process, before anything else
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
        stages.append(Stage("baseline", lambda task, deadline, plan: baseline.solve(task, plan.baseline, deadline)))
    if device == "cpu" and cfg.dsl.enabled:
        from . import dsl  # the program search loads only in the CPU workers
        # The ladder may turn the DSL off for one task (plan.dsl.enabled) or shorten its search.
        stages.append(Stage("dsl", lambda task, deadline, plan: (dsl.solve(task, plan.dsl, deadline)
                                                                  if plan.dsl.enabled else []),
                            setup=lambda: _dsl_worker_setup(cfg)))
    if device == "gpu" and cfg.model.path:
        from .neural import NeuralStage  # torch and transformers load only in the model workers
        neural = NeuralStage(cfg)  # loads the model: once per model worker
        # The ladder turns the model off for one task with plan.model.path == "".
        stages.append(Stage(neural.name, lambda task, deadline, plan: (neural.solve(task, deadline, plan)
                                                                        if plan.model.path else []),
                            prepare=neural.prepare))
    for spec in cfg.run.extra_stages:
        stages += _stage_factory(spec)(cfg, device)
    return stages


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


def run_stages(task: Task, stages: list[Stage], plan: Config, deadline: Deadline) -> PartResult:
    """Every stage in turn on one task; a stage that raises loses only its own candidates."""
    out = PartResult()
    for stage in stages:
        if deadline.expired():
            out.errors.append(f"{stage.name}: skipped, the task's time was used up")
            continue
        start = time.monotonic()
        try:
            produced = list(stage.solve(task, deadline, plan))
        except Exception as exc:  # noqa: BLE001 - a stage's bug must not cost the task the others' work
            out.errors.append(f"{stage.name}: {type(exc).__name__}: {exc}")
            out.out_of_memory |= is_out_of_memory(exc)
            produced = []
        out.seconds[stage.name] = out.seconds.get(stage.name, 0.0) + time.monotonic() - start
        for c in produced:
            if isinstance(c, Candidate) and 0 <= c.test_index < len(task.test) and is_valid_grid(c.grid):
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


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (matched by name: the coordinator never imports torch), or a MemoryError."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc)


def choose_attempts(task: Task, candidates: list[Candidate], cfg: Config):
    return [select_attempts([c for c in candidates if c.test_index == i], cfg.select, fallback_attempts(ex.input)[0])
            for i, ex in enumerate(task.test)]


def solve_task(task: Task, stages: list[Stage], cfg: Config, deadline: Deadline) -> TaskRecord:
    """One task, every given stage in this process: for notebooks and tests; a run uses the workers."""
    part = run_stages(task, stages, cfg, deadline)
    status = "error" if part.errors and not part.candidates else "ok"
    return TaskRecord(task.id, choose_attempts(task, part.candidates, cfg), part.candidates, part.seconds,
                      part.errors, status, task.cell_count())


@dataclass
class RunResult:
    submission_path: Path
    workdir: Path
    challenge_set: ChallengeSet
    records: dict[str, TaskRecord] = field(default_factory=dict)
    score: ScoreReport | None = None
    coverage: float | None = None
    seconds: float = 0.0
    budget: float | None = None
    stopped_early: bool = False  # the budget ran out before every task was done
    resumed: int = 0             # tasks an earlier run in the same work directory had finished
    notes: list[str] = field(default_factory=list)  # worker deaths, unavailable stages


def run(challenges: str | Path, cfg: Config, out: str | Path, solutions: str | Path | None = None,
        workdir: str | Path | None = None, progress: bool = True, fresh: bool = False,
        started: float | None = None) -> RunResult:
    """Solve a challenges file into `out`. `started`: the monotonic time the budget counts from (the CLI
    passes its own start, so imports count too). Raises JournalMismatch when `workdir` holds another run."""
    started = time.monotonic() if started is None else started
    budget = cfg.budget.total_seconds
    out = Path(out)
    workdir = Path(workdir) if workdir else out.parent / "work"

    # 1. Tasks. Bad tasks are reported and keep their fallback attempts; they never stop the run. A model
    # that is not there is a config error now; one that fails to load leaves the run to the other stages.
    if cfg.model.path and not Path(cfg.model.path).is_dir():
        raise ConfigError(f"model.path: model directory {cfg.model.path} does not exist")
    challenge_set = load_challenges(challenges)
    truths = load_solutions(solutions) if solutions else None
    for bad in challenge_set.invalid.values():
        print(f"warning: task {bad.id} is invalid and keeps fallback attempts: {bad.problem}", file=sys.stderr)

    # 2. The journal: a rerun in the same work directory continues the same run and skips what it finished.
    gpu_slots, n_cpu = layout(cfg.run, visible_gpus(), os.cpu_count() or 1, model=bool(cfg.model.path))
    sha = file_sha256(challenges)
    journal = Journal(workdir)
    finished = journal.open({"identity": run_identity(sha, cfg.to_dict()), "challenges": str(challenges),
                             "challenges_sha256": sha, "solutions": str(solutions) if solutions else None,
                             "config": cfg.to_dict(), "tasks": len(challenge_set.order),
                             "workers": {"gpu": gpu_slots, "cpu": n_cpu},
                             "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}, fresh)
    finished = {tid: r for tid, r in finished.items() if tid in challenge_set.order}

    # 3. A complete, valid submission exists before any work starts.
    submission = Submission(challenge_set)
    for tid, record in finished.items():
        submission.set(tid, record.attempts)
    submission.write(out)
    result = RunResult(out, workdir, challenge_set, dict(finished), budget=budget, resumed=len(finished))
    invalid = [TaskRecord(bad.id, submission.attempts[bad.id], errors=[bad.problem], status="invalid")
               for bad in challenge_set.invalid.values() if bad.id not in finished]
    journal.append_many([r.to_json() for r in invalid])
    result.records.update((r.task_id, r) for r in invalid)

    # 4. The tasks still to do, on the workers, within the budget.
    todo = [t for tid, t in challenge_set.tasks.items() if tid not in finished]
    if todo:
        coordinator = Coordinator(cfg, todo, started, submission, out, journal, result, progress)
        coordinator.run(gpu_slots, n_cpu)

    # 5. Summary numbers.
    result.seconds = time.monotonic() - started
    if truths is not None:
        result.score = score_submission(submission.to_json(), truths)
        pools = {tid: [[c.grid for c in r.candidates if c.test_index == i] for i in range(len(r.attempts))]
                 for tid, r in result.records.items()}
        result.coverage = coverage(pools, truths)
    return result


@dataclass
class TaskState:
    """A task on its way through the run."""
    task: Task
    waiting: set[str]  # devices whose part is not in yet
    cells: int = 0     # the task's size
    weight: dict[str, float] = field(default_factory=dict)  # per device: its claim on that device's time
    parts: dict[str, PartResult] = field(default_factory=dict)
    plans: dict[str, Config] = field(default_factory=dict)         # per device: the config it ran with
    timing: dict[str, dict] = field(default_factory=dict)          # per device: worker, start, end, ...
    errors: list[str] = field(default_factory=list)                # from tries that were retried


@dataclass
class QueueEntry:
    task_id: str
    plan: Config | None = None  # a retry's lighter config; None: plan from the run's config
    tries: int = 1


class Coordinator:
    """Hands tasks to the workers, collects their parts, and finishes each task into the journal and the
    submission. Single-threaded: everything happens in `run`'s loop, in the order written below."""

    def __init__(self, cfg: Config, tasks: list[Task], started: float, submission: Submission, out: Path,
                 journal: Journal, result: RunResult, progress: bool):
        self.cfg, self.started, self.submission, self.out = cfg, started, submission, out
        self.journal, self.result = journal, result
        b = cfg.budget
        total = math.inf if b.total_seconds is None else b.total_seconds
        # Stages stop by `deadline`; workers still busy kill_grace later are killed; the inline stages of
        # the tasks left then run until `last_call`, half the safety margin before the end.
        self.deadline = Deadline(started + total - b.safety_seconds)
        self.last_call = Deadline(started + total - b.safety_seconds / 2)
        self.states = {t.id: TaskState(t, set(REMOTE), t.cell_count(),
                                       {d: task_weight(cfg, d, t.cell_count(), len(t.test)) for d in REMOTE})
                       for t in tasks}
        self.queues = {d: deque(QueueEntry(t.id) for t in tasks) for d in REMOTE}
        self.stages: dict[str, list[str] | None] = {d: None for d in REMOTE}  # None until a worker reports
        self.inline = build_stages(cfg, "inline")
        self.bar = tqdm(total=len(tasks), desc="tasks", unit="task", disable=not progress, file=sys.stderr)

    def now(self) -> float:
        return time.monotonic() - self.started

    def run(self, gpu_slots: list[str | None], n_cpu: int) -> None:
        spent = self.deadline.expired()  # then no worker is worth starting: every task is cut at once
        self.workers = Workers(self.cfg, [] if spent else gpu_slots, 0 if spent else n_cpu)
        try:
            while self.states and not (self.deadline.expired() and not self.workers.busy()):
                for event in self.workers.poll(timeout=0.2):
                    self.handle(event)
                self.kill_overdue()
                if not self.deadline.expired():
                    self.dispatch()
                self.finish_complete_tasks()
        finally:
            self.workers.shutdown()
            self.finish_cut_tasks()
            self.bar.close()

    # ---- handing out work ----

    def dispatch(self) -> None:
        for device in REMOTE:
            for worker in self.workers.of(device, "idle"):
                if not self.queues[device]:
                    break
                entry = self.queues[device].popleft()
                self.give(worker, entry)

    def give(self, worker: Worker, entry: QueueEntry) -> None:
        device, st = worker.device, self.states[entry.task_id]
        task, now = st.task, time.monotonic()
        share = None if self.deadline.unlimited else self.share(device, st)
        plan = plan_task(entry.plan or self.cfg, st.cells, len(task.test),
                         model_budget=share if device == "gpu" else None,
                         dsl_budget=share if device == "cpu" else None)
        hard = None if share is None else min(share * self.cfg.budget.grace_factor, self.deadline.remaining())
        try:
            worker.give(Job(task, plan, hard), Assignment(task.id, plan, entry.tries, now,
                                                          now + (share if share is not None else math.inf),
                                                          now + (hard if hard is not None else math.inf)))
        except OSError:  # the worker died since the last poll; the next poll reports it
            self.queues[device].appendleft(entry)
            return
        st.plans[device] = plan
        st.timing[device] = {"worker": worker.label, "start": round(self.now(), 3),
                             "allotted": None if share is None else round(share, 3), "tries": entry.tries}

    def share(self, device: str, st: TaskState) -> float:
        """The task's share of this device's worker-seconds left (solver/budget.py: task_share)."""
        queued = [self.states[e.task_id].weight[device] for e in self.queues[device]] + [st.weight[device]]
        now = time.monotonic()
        return task_share(self.deadline.remaining(), st.weight[device], sum(queued), len(queued),
                          workers=max(1, len(self.workers.of(device))),
                          busy_seconds=sum(max(0.0, min(w.job.planned_end, self.deadline.at) - now)
                                           for w in self.workers.of(device, "busy")),
                          max_fraction=self.cfg.budget.max_task_fraction)

    # ---- what the workers report ----

    def handle(self, event: Event) -> None:
        worker, device = event.worker, event.worker.device
        if event.kind == "ready":
            names, wants_prepare = event.payload
            self.log_worker(worker, "ready", stages=names)
            if self.stages[device] is None:
                self.stages[device] = names
                if not names:  # nothing of this run runs there
                    self.drop_device(device, note=None)
                    return
            if wants_prepare:
                self.ask_to_prepare(worker)
        elif event.kind == "prepared":
            self.log_worker(worker, "prepared", errors=event.payload)
            for problem in event.payload:
                self.note(f"{worker.label}: {problem}")
        elif event.kind == "failed":
            self.log_worker(worker, "failed", detail=event.payload)
            self.note(f"{worker.label} could not start: {event.payload.strip().splitlines()[-1]}")
            if not self.workers.of(device) and self.stages[device] != []:
                self.drop_device(device, note=f"no {device} worker could start: its stages are left out")
        elif event.kind == "done":
            self.part_done(device, event.assignment, event.payload)
        elif event.kind == "died":
            self.log_worker(worker, "died", detail=event.payload)
            self.part_lost(device, event.assignment, f"{worker.label} {event.payload}", may_retry=True)
            self.replace(worker)

    def part_done(self, device: str, job: Assignment, part: PartResult) -> None:
        st = self.states.get(job.task_id)
        if st is None:
            return
        st.timing[device]["end"] = round(self.now(), 3)
        earlier = st.parts.get(device)  # a try that ran out of memory: its time was spent all the same
        for name, s in (earlier.seconds if earlier else {}).items():
            part.seconds[name] = part.seconds.get(name, 0.0) + s
        if part.out_of_memory and self.retry(device, job, "ran out of memory", st):
            st.errors += part.errors
            st.parts[device] = PartResult(part.candidates, part.seconds)  # in case the retry never runs
            return
        st.parts[device] = part
        st.waiting.discard(device)

    def part_lost(self, device: str, job: Assignment | None, why: str, may_retry: bool) -> None:
        st = self.states.get(job.task_id) if job else None
        if st is None:
            return
        st.timing[device]["end"] = round(self.now(), 3)
        if may_retry and self.retry(device, job, why, st):
            return
        st.errors.append(f"{device} part lost: {why}")
        st.waiting.discard(device)

    def retry(self, device: str, job: Assignment, why: str, st: TaskState) -> bool:
        """Queue the task again, one rung lighter, at the front; False when out of tries, rungs or time."""
        plan = lighter(job.plan, device)
        if job.tries > self.cfg.run.retries or plan is None or self.deadline.expired():
            return False
        st.errors.append(f"{device} try {job.tries} {why}; retrying lighter ({', '.join(degraded(job.plan, plan))})")
        self.queues[device].appendleft(QueueEntry(job.task_id, plan, job.tries + 1))
        return True

    def kill_overdue(self) -> None:
        """A stage must return by its deadline; one still running kill_grace seconds later is killed with its
        worker (the task keeps its other parts), and the worker is replaced."""
        now = time.monotonic()
        for worker in self.workers.busy():
            late = now - worker.job.hard_end
            if late > self.cfg.budget.kill_grace_seconds:
                job = worker.job
                worker.kill()
                self.log_worker(worker, "killed", detail=f"{late:.1f} s past its task's deadline")
                self.part_lost(worker.device, job, f"{worker.label} killed {late:.1f} s past the deadline",
                               may_retry=False)
                self.replace(worker)

    def ask_to_prepare(self, worker: Worker) -> None:
        tasks = [st.task for st in self.states.values()]
        seconds = None if self.deadline.unlimited else self.deadline.remaining()
        try:
            worker.prepare(Prepare(tasks, seconds))
        except OSError:  # it died since; the next poll reports it
            pass

    def replace(self, worker: Worker) -> None:
        # A new model worker loads its model again: only worth it while there is time for work after that.
        if self.deadline.remaining() > 2 * self.cfg.budget.kill_grace_seconds:
            self.workers.restart(worker)

    def drop_device(self, device: str, note: str | None) -> None:
        self.stages[device] = self.stages[device] or []
        self.queues[device].clear()
        for w in self.workers.of(device):
            w.stop()
        for st in self.states.values():
            st.waiting.discard(device)
        if note:
            self.note(note)

    # ---- finishing tasks ----

    def finish_complete_tasks(self) -> None:
        """Every task whose parts are all in: one journal write and one submission write for all of them."""
        records = [self.finish(self.states.pop(tid), "ok")
                   for tid in [tid for tid, st in self.states.items() if not st.waiting]]
        if records:  # submission first: a task in the journal is always in the submission on disk
            self.submission.write(self.out)
            self.journal.append_many([r.to_json() for r in records])

    def finish_cut_tasks(self) -> None:
        """The budget is spent: every task left keeps what its finished parts and the inline stages made
        (status "cut", so a resumed run does it again). One submission write and one journal write."""
        if not self.states:
            return
        self.result.stopped_early = True
        records = [self.finish(st, "cut") for st in self.states.values()]
        self.states.clear()
        self.submission.write(self.out)
        self.journal.append_many([r.to_json() for r in records])

    def finish(self, st: TaskState, status: str) -> TaskRecord:
        task = st.task
        inline = run_stages(task, self.inline, self.cfg, self.last_call)
        parts = [inline] + list(st.parts.values())
        candidates = [c for p in parts for c in p.candidates]
        errors = st.errors + [e for p in parts for e in p.errors]
        seconds: dict[str, float] = {}
        for p in parts:
            for name, s in p.seconds.items():
                seconds[name] = seconds.get(name, 0.0) + s
        if status == "ok" and errors and not candidates:
            status = "error"
        plan = copy.deepcopy(self.cfg)  # the ladder knobs each device ran with
        if "gpu" in st.plans:
            plan.model, plan.ttt, plan.sample = st.plans["gpu"].model, st.plans["gpu"].ttt, st.plans["gpu"].sample
        if "cpu" in st.plans:
            plan.dsl = st.plans["cpu"].dsl
        record = TaskRecord(task.id, choose_attempts(task, candidates, self.cfg), candidates, seconds, errors,
                            status, st.cells, knobs(plan), degraded(self.cfg, plan), st.timing)
        self.submission.set(task.id, record.attempts)
        self.result.records[task.id] = record
        self.bar.update(1)
        self.bar.set_postfix_str(self.postfix(), refresh=False)
        return record

    # ---- telling the user ----

    def postfix(self) -> str:
        busy = {d: (len(self.workers.of(d, "busy")), len(self.workers.of(d))) for d in REMOTE}
        left = "" if self.deadline.unlimited else f" {self.deadline.remaining():.0f}s left"
        return " ".join(f"{d} {b}/{n}" for d, (b, n) in busy.items() if n) + left

    def log_worker(self, worker: Worker, event: str, **fields) -> None:
        self.journal.append({"type": "worker", "worker": worker.label, "event": event,
                             "at": round(self.now(), 3), **fields})

    def note(self, text: str) -> None:
        self.result.notes.append(text)
        tqdm.write(f"warning: {text}", file=sys.stderr)


def summary_lines(result: RunResult) -> list[str]:
    """The table printed at the end of a run."""
    records = list(result.records.values())
    stage_seconds: dict[str, float] = {}
    for r in records:
        for name, s in r.seconds.items():
            stage_seconds[name] = stage_seconds.get(name, 0.0) + s
    n_tasks = len(result.challenge_set.order)
    status = {s: sum(1 for r in records if r.status == s) for s in ("ok", "error", "cut", "invalid")}
    lines = [f"tasks             {n_tasks}: " + ", ".join(f"{n} {s}" for s, n in status.items() if n)
             + (f" ({result.resumed} from the earlier run)" if result.resumed else "")]
    wall = f"wall seconds      {result.seconds:.1f}"
    if result.budget:
        over = result.seconds - result.budget
        wall += f" of {result.budget:.0f} budgeted ({over:+.1f} s, {100 * over / result.budget:+.2f}%)"
    lines.append(wall + ("  budget ran out" if result.stopped_early else ""))
    knob_counts: dict[str, int] = {}
    for r in records:
        for k in r.degraded:
            knob_counts[k] = knob_counts.get(k, 0) + 1
    if knob_counts:
        lines.append("degraded          " + ", ".join(f"{k} in {n} tasks" for k, n in sorted(knob_counts.items())))
    lines.append(f"tasks with errors {sum(1 for r in records if r.errors)}")
    for name, s in sorted(stage_seconds.items()):
        lines.append(f"  stage {name:<11} {s:.1f} s")
    if result.score is not None:
        sc = result.score
        lines.append(f"score             {sc.score:.4f} ({sc.n_correct}/{sc.n_outputs} test outputs, "
                     f"{sc.tasks_solved} tasks fully solved)")
        lines.append(f"coverage          {result.coverage:.4f} (any candidate right; gap to score "
                     f"{result.coverage - sc.score:+.4f})")
    for n in result.notes:
        lines.append(f"note              {n}")
    lines.append(f"submission        {result.submission_path}")
    lines.append(f"journal           {result.workdir / 'journal.jsonl'}")
    return lines
