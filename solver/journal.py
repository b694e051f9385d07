"""The run journal: one JSON line per finished task, appended and flushed as each task ends.

Everything downstream (summary, report, tuning, resume) reads the journal, never the stages' internals. A
line is written whole with one write call and fsynced, so a crash leaves at most a torn last line, which the
reader skips and a resumed run cuts off before appending.

The first line says what the run is (the challenges file's hash and the config); a rerun in the same work
directory continues only a journal of the same run, so results of different runs never mix.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .tasks import Candidate, Grid, as_grid, family, grid_to_list
from .vote import tally

JOURNAL_NAME = "journal.jsonl"
# 1: candidates with one overloaded `score`; 2: typed evidence (tasks.Candidate). Read: both; continued: 2.
FORMAT = 2

# Config sections that say how much time and hardware a run has (or where it is delivered), not what it
# computes: a run resumed after a crash may change them (a new budget, another machine) and still continue
# the same journal.
RESOURCE_SECTIONS = ("budget", "run", "kaggle")


class JournalMismatch(ValueError):
    """The work directory holds the journal of a different run."""


@dataclass
class TaskRecord:
    task_id: str
    attempts: list[tuple[Grid, Grid]]
    candidates: list[Candidate] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    errors: list[str] = field(default_factory=list)
    # ok | error (no stage produced anything) | invalid (the task itself) | cut (the budget ran out before
    # every part of the task ran; a resumed run does it again)
    status: str = "ok"
    cells: int = 0  # the task's size, which its share of the time was allotted by
    plan: dict[str, Any] = field(default_factory=dict)  # the ladder knobs the stages ran with (budget.knobs)
    degraded: list[str] = field(default_factory=list)  # the knobs the ladder turned down for this task
    # Per worker part ("gpu", "cpu"): worker, start and end (seconds since the run started), allotted
    # seconds, tries, and the worker's memory after it (rss_mb, gpu_peak_mb); the report's timeline and the
    # tuner read these.
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    phases: dict[str, dict[str, float]] = field(default_factory=dict)  # per stage: seconds per phase
    # Per stage, what it generated (a model stage: prompts, decoded, candidates, rejects by reason).
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"type": "task", "task_id": self.task_id, "status": self.status,
                "attempts": [[grid_to_list(a), grid_to_list(b)] for a, b in self.attempts],
                "candidates": _compact_candidates(self.candidates),
                "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
                "errors": self.errors, "cells": self.cells, "plan": self.plan, "degraded": self.degraded,
                "parts": self.parts,
                "phases": {st: {k: round(v, 4) for k, v in ph.items()} for st, ph in self.phases.items()},
                "stats": self.stats}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TaskRecord":
        candidates = []
        for c in d.get("candidates", []):
            grid = as_grid(c["grid"])
            evidence = _evidence(c)
            logprobs = c.get("logprobs") or [None] * c.get("count", 1)
            for lp in logprobs:
                candidates.append(Candidate(c["test_index"], grid, c["stage"], c.get("view", "identity"),
                                            logprob=lp, **evidence))
        return cls(d["task_id"], [(as_grid(a), as_grid(b)) for a, b in d["attempts"]], candidates,
                   d.get("seconds", {}), d.get("errors", []), d.get("status", "ok"), d.get("cells", 0),
                   d.get("plan", {}), d.get("degraded", []), d.get("parts", {}), d.get("phases", {}),
                   d.get("stats", {}))


# The typed evidence of a candidate other than its log-probability (which may differ between identical
# predictions and is kept per prediction).
EVIDENCE = ("program", "fits_train", "train_accuracy", "cost", "votes", "rescore_nll")


def _evidence(c: dict[str, Any]) -> dict[str, Any]:
    """A journal entry's evidence fields. Journals of format 1 (no "format" in the run header) had one
    overloaded `score` instead; it is read back into the field it meant, so that the report and tune still
    read them (a resume of such a journal is refused: Journal.open)."""
    if "score" in c and not any(k in c for k in ("fits_train", "logprobs", "rescore_nll", "cost")):
        score, fam = float(c["score"]), family(c["stage"])
        if fam == "dsl":  # score >= 1: fits every train pair, 1 + 1/(1 + cost); below: half its accuracy
            fits = score >= 1.0
            return {"program": c.get("program"), "fits_train": fits,
                    "cost": (1.0 / (score - 1.0) - 1.0) if fits and score > 1.0 else None,
                    "train_accuracy": None if fits else 2.0 * score}
        return {"program": c.get("program")}
    out = {k: c[k] for k in EVIDENCE if c.get(k) is not None}
    if "rescore_nll" in out:
        out["rescore_nll"] = tuple(out["rescore_nll"])
    return out


def _compact_candidates(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """Identical candidates (same test input, grid, stage, view and evidence) become one entry with a count,
    and the log-probability of each of them, so that every vote can be recomputed from the journal."""
    if not candidates:
        return []
    groups = tally([c.grid for c in candidates]).group_of
    merged: dict[tuple, dict[str, Any]] = {}
    for c, g in zip(candidates, groups):
        evidence = {k: getattr(c, k) for k in EVIDENCE}
        key = (c.test_index, int(g), c.stage, c.view, *evidence.values())
        if key not in merged:
            given = {k: v for k, v in evidence.items() if v is not None and not (k == "votes" and v == 1)}
            merged[key] = {"test_index": c.test_index, "grid": grid_to_list(c.grid), "stage": c.stage,
                           "view": c.view, **given, "count": 0, "logprobs": []}
            if c.rescore_nll is not None:
                merged[key]["rescore_nll"] = [round(x, 6) for x in c.rescore_nll]
        entry = merged[key]
        entry["count"] += 1
        entry["logprobs"].append(None if c.logprob is None else round(c.logprob, 6))
    for entry in merged.values():
        if all(lp is None for lp in entry["logprobs"]):
            del entry["logprobs"]
    return list(merged.values())


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_identity(challenges_sha256: str, config: dict[str, Any]) -> dict[str, Any]:
    """What makes two runs the same run: the tasks and every config field that changes results."""
    return {"challenges_sha256": challenges_sha256,
            "config": {k: v for k, v in config.items() if k not in RESOURCE_SECTIONS}}


def _differences(old: Any, new: Any, where: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _differences(old.get(key), new.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


class Journal:
    def __init__(self, workdir: str | Path):
        self.path = Path(workdir) / JOURNAL_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def start(self, header: dict[str, Any]) -> None:
        """Begin a fresh journal with a header describing the run."""
        self.path.write_text("")
        self.append({"type": "run", "format": FORMAT, **header})

    def open(self, header: dict[str, Any], fresh: bool = False) -> dict[str, TaskRecord]:
        """Start a journal, or continue the one already here if it is of the same run (`header["identity"]`).

        Returns the tasks the earlier run finished, for the caller to skip; tasks it cut short are done again.
        A journal of another run is refused (JournalMismatch) unless `fresh`, which sets it aside as
        journal.N.jsonl and starts anew."""
        previous = next((e for e in read_entries(self.path) if e.get("type") == "run"), None)
        if previous is None or fresh:
            if previous is not None:
                n = 1
                while self.path.with_name(f"journal.{n}.jsonl").exists():
                    n += 1
                self.path.rename(self.path.with_name(f"journal.{n}.jsonl"))
            self.start(header)
            return {}
        if previous.get("format", 1) != FORMAT:
            raise JournalMismatch(
                f"{self.path} was written by an earlier version of the kit (journal format "
                f"{previous.get('format', 1)}, candidates with one overloaded score; this kit writes format "
                f"{FORMAT}, with typed evidence). `report` and `tune` still read it, but a run cannot continue "
                f"it: use another work directory, or start afresh (the old journal is kept as "
                f"journal.N.jsonl) with --fresh.")
        if previous.get("identity") != header["identity"]:
            diff = _differences(previous.get("identity"), header["identity"])
            raise JournalMismatch(
                f"{self.path} belongs to another run ({'; '.join(diff[:8])}"
                f"{'; ...' if len(diff) > 8 else ''}). Use another work directory, or start afresh (the old "
                f"journal is kept as journal.N.jsonl) with --fresh.")
        self._cut_torn_tail()
        self.append({"type": "resume", **{k: v for k, v in header.items() if k != "identity"}})
        return {tid: r for tid, r in read_tasks(self.path).items() if r.status != "cut"}

    def _cut_torn_tail(self) -> None:
        """A crash mid-write leaves a last line without its newline; appending after it would glue the next
        entry onto the torn one and lose both."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def append(self, entry: dict[str, Any]) -> None:
        self.append_many([entry])

    def append_many(self, entries: list[dict[str, Any]]) -> None:
        """One write and one fsync for all of them."""
        if not entries:
            return
        data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            while data:  # a write to a regular file may still be short (a full disk, a signal)
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def record(self, task: TaskRecord) -> None:
        self.append(task.to_json())


def read_entries(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every complete entry; a torn last line (crash mid-write) is skipped."""
    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL_NAME
    if not path.exists():
        return
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def read_tasks(path: str | Path) -> dict[str, TaskRecord]:
    """The last record of every task in the journal."""
    return {e["task_id"]: TaskRecord.from_json(e) for e in read_entries(path) if e.get("type") == "task"}


# ---- what the model stages did, over a run (the summary and the report) ----

@dataclass
class StageOutputs:
    """One model stage's generations over the tasks it ran on (from each task's `stats`)."""
    tasks: int = 0
    prompts: int = 0
    decoded: int = 0
    candidates: int = 0
    rejects: Counter = field(default_factory=Counter)
    empty_tasks: int = 0  # tasks on which it produced no valid candidate

    @property
    def mostly_empty(self) -> bool:
        """No valid candidate on most of the tasks it ran on: a model that does nothing useful."""
        return self.tasks > 0 and self.empty_tasks > self.tasks / 2

    def line(self) -> str:
        rejected = ", ".join(f"{n} {reason}" for reason, n in self.rejects.most_common())
        return (f"{self.tasks} tasks, {self.prompts} prompts, {self.decoded} decoded, {self.candidates} "
                f"candidates; no candidate on {self.empty_tasks} tasks"
                + (f"; rejected: {rejected}" if rejected else ""))

    def warning(self, stage: str) -> str:
        return (f"WARNING: the {stage} stage produced no valid candidate on {self.empty_tasks} of {self.tasks} "
                f"tasks ({sum(self.rejects.values())} outputs rejected). Its outputs do not parse as grids: "
                f"likely a format mismatch (a model trained on another prompt format than the kit's) or a "
                f"broken model.")


def stage_outputs(per_task_stats: list[dict[str, dict[str, Any]]]) -> dict[str, StageOutputs]:
    """Per model stage (one whose stats count decoded outputs), its outputs summed over tasks."""
    out: dict[str, StageOutputs] = {}
    for stats in per_task_stats:
        for stage, s in stats.items():
            if "decoded" not in s:
                continue
            o = out.setdefault(stage, StageOutputs())
            o.tasks += 1
            o.prompts += s.get("prompts", 0)
            o.decoded += s.get("decoded", 0)
            o.candidates += s.get("candidates", 0)
            o.rejects.update(s.get("rejects", {}))
            o.empty_tasks += s.get("candidates", 0) == 0
    return out
