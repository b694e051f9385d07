"""The run journal: one JSON line per finished task, appended and flushed as each task ends.

Everything downstream (summary, report, tuning, resume) reads the journal, never the stages' internals. A
line is written whole with one write call and fsynced, so a crash leaves at most a torn last line, which the
reader skips.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .tasks import Candidate, Grid, as_grid, grid_to_list
from .vote import tally

JOURNAL_NAME = "journal.jsonl"


@dataclass
class TaskRecord:
    task_id: str
    attempts: list[tuple[Grid, Grid]]
    candidates: list[Candidate] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    errors: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | invalid | error

    def to_json(self) -> dict[str, Any]:
        return {"type": "task", "task_id": self.task_id, "status": self.status,
                "attempts": [[grid_to_list(a), grid_to_list(b)] for a, b in self.attempts],
                "candidates": _compact_candidates(self.candidates),
                "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
                "errors": self.errors}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TaskRecord":
        candidates = []
        for c in d.get("candidates", []):
            grid = as_grid(c["grid"])
            for _ in range(c.get("count", 1)):
                candidates.append(Candidate(c["test_index"], grid, c["stage"], c.get("view", "identity"),
                                            c.get("score", 0.0), c.get("program")))
        return cls(d["task_id"], [(as_grid(a), as_grid(b)) for a, b in d["attempts"]], candidates,
                   d.get("seconds", {}), d.get("errors", []), d.get("status", "ok"))


def _compact_candidates(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """Identical candidates (same test input, grid, stage, view, program) become one entry with a count;
    scores of merged entries are summed so weighted votes can be recomputed from the journal."""
    if not candidates:
        return []
    groups = tally([c.grid for c in candidates]).group_of
    merged: dict[tuple, dict[str, Any]] = {}
    for c, g in zip(candidates, groups):
        key = (c.test_index, int(g), c.stage, c.view, c.program)
        if key in merged:
            merged[key]["count"] += 1
            merged[key]["score"] += c.score
        else:
            merged[key] = {"test_index": c.test_index, "grid": grid_to_list(c.grid), "stage": c.stage,
                           "view": c.view, "score": c.score, "program": c.program, "count": 1}
    return list(merged.values())


class Journal:
    def __init__(self, workdir: str | Path):
        self.path = Path(workdir) / JOURNAL_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def start(self, header: dict[str, Any]) -> None:
        """Begin a fresh journal with a header describing the run."""
        self.path.write_text("")
        self.append({"type": "run", **header})

    def append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
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
