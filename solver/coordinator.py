"""The coordinator: hands tasks to the worker processes, collects their parts, and finishes each task into
the journal and the submission. Event-driven and single-threaded: everything happens in `Coordinator.run`'s
loop, in the order written there.

    until every task is done or the budget is spent:
      give each idle worker the next task, with the task's own config: the ladder turns it down to fit the
        task's share of the time left (solver/budget.py)
      collect finished parts; kill a worker still busy past its task's deadline; retry, lighter, a task
        whose worker died or ran out of memory
      a task whose parts are all in: inline stages -> two attempts per test input -> journal
        -> submission.json rewritten atomically
    the budget spent: what finished in part is kept ("cut", done again on resume)
"""
from __future__ import annotations

import math
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .budget import Deadline, degraded, lighter, plan_task, task_share, task_weight
from .config import Config
from .journal import Journal, TaskRecord
from .stages import PartResult, build_stages, finish_task
from .submission import Submission
from .tasks import Task
from .workers import Assignment, Event, Job, Prepare, Worker, Workers

REMOTE = ("gpu", "cpu")  # the worker kinds; a third place, "inline", is the coordinator itself


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
    submission (see the module's docstring)."""

    def __init__(self, cfg: Config, tasks: list[Task], started: float, submission: Submission, out: Path,
                 journal: Journal, progress: bool):
        self.cfg, self.started, self.submission, self.out, self.journal = cfg, started, submission, out, journal
        # What the run reports: every task finished here, whether the budget cut any, and warnings.
        self.records: dict[str, TaskRecord] = {}
        self.stopped_early = False
        self.notes: list[str] = []
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
        st.timing[device].update(part.memory)
        earlier = st.parts.get(device)  # a try that ran out of memory: its time was spent all the same
        for name, s in (earlier.seconds if earlier else {}).items():
            part.seconds[name] = part.seconds.get(name, 0.0) + s
        if part.out_of_memory and self.retry(device, job, "ran out of memory" + (
                f" in {part.oom_phase}" if part.oom_phase else ""), st, part.oom_phase, part.plan):
            st.errors += part.errors
            # In case the retry never runs: what the try made before it ran out (earlier phases' candidates).
            st.parts[device] = PartResult(part.candidates, part.seconds, phases=part.phases, stats=part.stats)
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

    def retry(self, device: str, job: Assignment, why: str, st: TaskState, phase: str | None = None,
              tried: Config | None = None) -> bool:
        """Queue the task again, one rung lighter (in `phase`, the one that ran out of memory, when known)
        than the lightest plan already tried (`tried`: the one the stage's own retry ran with), at the
        front; False when out of tries, rungs or time."""
        plan = lighter(tried or job.plan, device, phase)
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
        self.stopped_early = True
        records = [self.finish(st, "cut") for st in self.states.values()]
        self.states.clear()
        self.submission.write(self.out)
        self.journal.append_many([r.to_json() for r in records])

    def finish(self, st: TaskState, status: str) -> TaskRecord:
        record = finish_task(st.task, self.cfg, st.parts, st.plans, self.inline, self.last_call, status,
                             st.errors, st.timing)
        self.submission.set(st.task.id, record.attempts)
        self.records[st.task.id] = record
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
        self.notes.append(text)
        tqdm.write(f"warning: {text}", file=sys.stderr)
