"""The whole run, top to bottom.

    load + validate tasks -> open the journal (a rerun skips the tasks it finished) -> write submission.json
    -> the coordinator (solver/coordinator.py) runs the tasks left on the workers (solver/workers.py): one
       process per GPU for the model stages, a pool of CPU processes for the DSL; each task is planned down
       the ladder to fit its share of the time (solver/budget.py), run by its stages (solver/stages.py),
       given two attempts (solver/select.py), journaled and written to submission.json as it finishes
    -> summary (score and coverage when solutions are known)

A stage that raises costs only its own candidates; a worker that dies costs only the task it held. Every
task id is in submission.json from the first second to the last.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .config import Config, ConfigError
from .formats import detect_format
from .coordinator import Coordinator
from .journal import Journal, TaskRecord, file_sha256, run_identity, stage_outputs
from .metrics import ScoreReport, coverage, score_submission
from .submission import Submission
from .tasks import ChallengeSet, load_challenges, load_solutions
from .workers import layout, visible_gpus


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
        started: float | None = None, selfcheck: dict | None = None) -> RunResult:
    """Solve a challenges file into `out`. `started`: the monotonic time the budget counts from (the CLI
    passes its own start, so imports count too). `selfcheck`: the `selfcheck --fallback` report whose
    switches `cfg` already holds, journaled and summarised. Raises JournalMismatch when `workdir` holds
    another run."""
    started = time.monotonic() if started is None else started
    budget = cfg.budget.total_seconds
    out = Path(out)
    workdir = Path(workdir) if workdir else out.parent / "work"

    # 1. Tasks. Bad tasks are reported and keep their fallback attempts; they never stop the run. A model
    # that is not there is a config error now; one that fails to load leaves the run to the other stages.
    if cfg.model.path and not Path(cfg.model.path).is_dir():
        raise ConfigError(f"model.path: model directory {cfg.model.path} does not exist")
    if cfg.model.path:  # the format the model speaks: an unknown one is a config error now, not per task
        detected = detect_format(cfg.model.path, cfg.model.format)
        print(f"model: {cfg.model.path} in format {detected.format} ({detected.how})", file=sys.stderr)
    challenge_set = load_challenges(challenges)
    truths = load_solutions(solutions) if solutions else None
    for bad in challenge_set.invalid.values():
        print(f"warning: task {bad.id} is invalid and keeps fallback attempts: {bad.problem}", file=sys.stderr)

    # 2. The journal: a rerun in the same work directory continues the same run and skips what it finished.
    gpu_slots, n_cpu = layout(cfg.run, visible_gpus(), os.cpu_count() or 1, model=cfg.model.active)
    sha = file_sha256(challenges)
    journal = Journal(workdir)
    finished = journal.open({"identity": run_identity(sha, cfg.to_dict()), "challenges": str(challenges),
                             "challenges_sha256": sha, "solutions": str(solutions) if solutions else None,
                             "config": cfg.to_dict(), "tasks": len(challenge_set.order),
                             "workers": {"gpu": gpu_slots, "cpu": n_cpu},
                             "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}, fresh)
    finished = {tid: r for tid, r in finished.items() if tid in challenge_set.order}
    notes = []
    if selfcheck is not None:
        journal.append(selfcheck_entry(selfcheck))
        notes.append(selfcheck_note(selfcheck))
        print(notes[-1], file=sys.stderr)

    # 3. A complete, valid submission exists before any work starts.
    submission = Submission(challenge_set)
    for tid, record in finished.items():
        submission.set(tid, record.attempts)
    submission.write(out)
    result = RunResult(out, workdir, challenge_set, dict(finished), budget=budget, resumed=len(finished),
                       notes=notes)
    invalid = [TaskRecord(bad.id, submission.attempts[bad.id], errors=[bad.problem], status="invalid")
               for bad in challenge_set.invalid.values() if bad.id not in finished]
    journal.append_many([r.to_json() for r in invalid])
    result.records.update((r.task_id, r) for r in invalid)

    # 4. The tasks still to do, on the workers, within the budget.
    todo = [t for tid, t in challenge_set.tasks.items() if tid not in finished]
    if todo:
        coordinator = Coordinator(cfg, todo, started, submission, out, journal, progress)
        coordinator.run(gpu_slots, n_cpu)
        result.records.update(coordinator.records)
        result.notes += coordinator.notes
        result.stopped_early = coordinator.stopped_early

    # 5. Summary numbers.
    result.seconds = time.monotonic() - started
    if truths is not None:
        result.score = score_submission(submission.to_json(), truths)
        pools = {tid: [[c.grid for c in r.candidates if c.test_index == i] for i in range(len(r.attempts))]
                 for tid, r in result.records.items()}
        result.coverage = coverage(pools, truths)
    return result


def selfcheck_entry(check: dict) -> dict:
    """The journal's record of the self-check the run's paths were chosen by: per try, its switches and
    the phases that failed."""
    return {"type": "selfcheck", "report": check.get("report"), "passed": check["passed"],
            "usable": check["usable"], "switches": check["switches"],
            "tries": [{"switches": t["switches"], "ok": t["ok"],
                       "failed": {p["name"]: p.get("error") for p in t["result"].get("phases", []) if not p["ok"]}}
                      for t in check["tries"]]}


def selfcheck_note(check: dict) -> str:
    if check["passed"]:
        return "selfcheck passed on this machine: the config's neural paths as they are"
    return (f"selfcheck failed on this machine as configured; switched: {', '.join(check['switches'])}"
            + ("" if check["usable"] else " (no neural path passed)"))


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
    phase_seconds: dict[str, dict[str, float]] = {}
    for r in records:
        for name, phases in r.phases.items():
            for phase, s in phases.items():
                phase_seconds.setdefault(name, {})[phase] = phase_seconds.get(name, {}).get(phase, 0.0) + s
    for name, s in sorted(stage_seconds.items()):
        phases = ", ".join(f"{p} {v:.1f} s" for p, v in phase_seconds.get(name, {}).items())
        lines.append(f"  stage {name:<11} {s:.1f} s" + (f" ({phases})" if phases else ""))
    outputs = stage_outputs([r.stats for r in records])
    for name, o in sorted(outputs.items()):
        lines.append(f"  model {name:<11} {o.line()}")
    warnings = [o.warning(name) for name, o in sorted(outputs.items()) if o.mostly_empty]
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
    return lines + warnings  # last, where they are seen
