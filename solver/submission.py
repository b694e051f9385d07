"""The Kaggle submission: always complete, always valid, written atomically.

`{task_id: [{"attempt_1": grid, "attempt_2": grid}, ...one per test input in order]}` with every task id of
the challenges file. A run starts by writing fallback attempts for every task, then replaces a task's
attempts as soon as it is solved, so the file on disk is a valid submission at every moment.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .tasks import ChallengeSet, Grid, GridError, as_grid, grid_to_list

Attempts = tuple[Grid, Grid]

# What a test input gets when nothing could be read at all: the smallest valid grid.
EMPTY_GRID = np.zeros((1, 1), dtype=np.uint8)


def fallback_attempts(test_input: Grid | None) -> Attempts:
    """Attempts before any stage has spoken: the test input itself (output = input is right surprisingly
    often, and it is always a valid grid), or a 1x1 grid when the input could not be read."""
    g = EMPTY_GRID if test_input is None else test_input
    return (g, g)


class Submission:
    """Attempts for every task of a challenge set, kept complete from the moment it is created."""

    def __init__(self, challenge_set: ChallengeSet):
        self.order = list(challenge_set.order)
        self.attempts: dict[str, list[Attempts]] = {}
        self._encoded: dict[str, str] = {}  # JSON text per task, so a rewrite re-encodes nothing
        for task_id in self.order:
            self._store(task_id, [fallback_attempts(g) for g in challenge_set.test_inputs(task_id)])

    def _store(self, task_id: str, attempts: list[Attempts]) -> None:
        self.attempts[task_id] = attempts
        self._encoded[task_id] = json.dumps(
            [{"attempt_1": grid_to_list(a), "attempt_2": grid_to_list(b)} for a, b in attempts],
            separators=(",", ":"))

    def set(self, task_id: str, attempts: list[Attempts]) -> None:
        if task_id not in self.attempts:
            raise KeyError(f"task {task_id} is not in the challenges file")
        if len(attempts) != len(self.attempts[task_id]):
            raise ValueError(f"task {task_id}: {len(attempts)} attempt pairs for "
                             f"{len(self.attempts[task_id])} test inputs")
        for i, pair in enumerate(attempts):
            for grid in pair:
                try:
                    as_grid(grid)
                except GridError as exc:
                    raise ValueError(f"task {task_id} test {i}: attempt is not a valid grid: {exc}") from None
        self._store(task_id, [(np.asarray(a, np.uint8), np.asarray(b, np.uint8)) for a, b in attempts])

    def to_json(self) -> dict[str, Any]:
        return json.loads(self.text())

    def text(self) -> str:
        return "{" + ",".join(f"{json.dumps(t)}:{self._encoded[t]}" for t in self.order) + "}"

    def write(self, path: str | Path) -> None:
        write_text_atomic(path, self.text())


def write_json_atomic(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, separators=(",", ":")))


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: a reader (or a crash) sees either
    the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def validate_submission(submission: Any, challenge_set: ChallengeSet) -> list[str]:
    """Every problem that would make Kaggle reject or mis-score the submission; empty when valid."""
    if not isinstance(submission, dict):
        return ["submission must be a JSON object {task_id: [attempts per test input]}"]
    problems = []
    for task_id in challenge_set.order:
        if task_id not in submission:
            problems.append(f"task {task_id}: missing")
            continue
        entries = submission[task_id]
        want = challenge_set.test_count(task_id)
        if not isinstance(entries, list) or len(entries) != want:
            got = len(entries) if isinstance(entries, list) else type(entries).__name__
            problems.append(f"task {task_id}: expected {want} attempt entries (one per test input), got {got}")
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                problems.append(f"task {task_id} test {i}: entry must be an object with attempt_1 and attempt_2")
                continue
            for key in ("attempt_1", "attempt_2"):
                if key not in entry:
                    problems.append(f"task {task_id} test {i}: missing {key}")
                    continue
                try:
                    as_grid(entry[key])
                except GridError as exc:
                    problems.append(f"task {task_id} test {i} {key}: {exc}")
    known = set(challenge_set.order)
    for task_id in submission:
        if task_id not in known:
            problems.append(f"task {task_id}: not in the challenges file")
    return problems
