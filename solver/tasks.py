"""ARC tasks: the one grid type, the task and candidate types, and Kaggle-format loading with validation.

A grid is a 2-D numpy uint8 array, everywhere in the kit. Loading never raises for a bad *task*: the task
is set aside with its id and the exact problem, and keeps whatever test inputs could be read so that the
submission still holds attempts for it. Only a file that is not JSON, or not the Kaggle shape at the top
level, is an error (ChallengeFileError), because then there is nothing to submit against.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

Grid = np.ndarray  # 2-D, dtype uint8, values 0..9, 1..30 per side

MAX_SIDE = 30
N_COLORS = 10


class GridError(ValueError):
    """A value that is not a valid ARC grid."""


class ChallengeFileError(ValueError):
    """A challenges or solutions file that cannot be used at all (not JSON, not the Kaggle shape)."""


def as_grid(value: Any) -> Grid:
    """Validate a nested list (or array) as an ARC grid and return it as a fresh uint8 array."""
    try:
        arr = np.asarray(value)
    except ValueError:  # numpy refuses ragged nested lists; the slow path below names the row
        arr = None
    if (arr is not None and arr.ndim == 2 and arr.dtype.kind in "iu"
            and 1 <= arr.shape[0] <= MAX_SIDE and 1 <= arr.shape[1] <= MAX_SIDE
            and arr.min() >= 0 and arr.max() < N_COLORS):
        return arr.astype(np.uint8)  # fast path: always a copy, so callers own their grid
    # Slow path: find and name the exact problem.
    rows = value.tolist() if isinstance(value, np.ndarray) else value
    if not isinstance(rows, list) or not rows:
        raise GridError("grid must be a non-empty list of rows")
    if not all(isinstance(row, list) for row in rows):
        raise GridError("grid rows must be lists")
    width = len(rows[0])
    if width == 0:
        raise GridError("grid rows must be non-empty")
    for i, row in enumerate(rows):
        if len(row) != width:
            raise GridError(f"grid is ragged: row {i} has {len(row)} cells, row 0 has {width}")
    if len(rows) > MAX_SIDE or width > MAX_SIDE:
        raise GridError(f"grid is {len(rows)}x{width}; ARC grids are at most {MAX_SIDE}x{MAX_SIDE}")
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            # bool is an int subclass in Python; a JSON true/false is still not a colour.
            if isinstance(cell, bool) or not isinstance(cell, (int, np.integer)):
                raise GridError(f"cell ({i},{j}) is {cell!r}, not an integer colour")
            if not 0 <= cell < N_COLORS:
                raise GridError(f"cell ({i},{j}) has colour {cell}; colours are 0..9")
    return np.array(rows, dtype=np.uint8)


def is_grid(value: Any) -> bool:
    """Whether `value` is already a grid of the kit's one type: a 2-D uint8 array, colours 0..9, sides
    1..30. The check every grid that crosses a stage boundary passes (`as_grid` makes one from raw input)."""
    return (isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 2
            and 1 <= value.shape[0] <= MAX_SIDE and 1 <= value.shape[1] <= MAX_SIDE
            and int(value.max()) < N_COLORS)


def grid_to_list(grid: Grid) -> list[list[int]]:
    return np.asarray(grid, dtype=np.uint8).tolist()


@dataclass(frozen=True)
class Example:
    input: Grid
    output: Grid | None = None  # None for a test input whose solution is unknown


@dataclass(frozen=True)
class Task:
    id: str
    train: tuple[Example, ...]
    test: tuple[Example, ...]

    @property
    def test_inputs(self) -> list[Grid]:
        return [ex.input for ex in self.test]

    def with_examples(self, train=None, test=None) -> "Task":
        return replace(self, train=tuple(self.train if train is None else train),
                       test=tuple(self.test if test is None else test))

    def cell_count(self) -> int:
        """Size of the task in cells; the budget allocates time by it."""
        n = 0
        for ex in self.train + self.test:
            n += ex.input.size + (0 if ex.output is None else ex.output.size)
        return n


@dataclass(frozen=True)
class InvalidTask:
    """A task that failed validation. `test_inputs` holds a grid where one could be read, else None."""
    id: str
    problem: str
    test_inputs: tuple[Grid | None, ...]


def family(stage: str) -> str:
    """The family of a stage name: 'neural-greedy' and 'neural-dfs' are both of family 'neural'."""
    return stage.split("-", 1)[0]


@dataclass(frozen=True)
class Candidate:
    """One predicted output for one test input, with where it came from and the evidence for it.

    stage: the producer ('baseline', 'dsl', 'neural-greedy', 'neural-dfs', ...); its family (the part
    before '-') decides its priority in selection. view: the group of the augmentation it was predicted
    under, for the hierarchical vote (model predictions use the D8 element's name, as in the MIT paper;
    'identity' for the untransformed task); the grid is already mapped back to the task's frame.

    The evidence is typed, one field per kind, None where the stage has none of that kind, so that selection
    and the report read what they need and no module decodes another's score convention:
      program       the program text (DSL, baseline rules)
      fits_train    whether that program reproduces every train pair (DSL)
      train_accuracy  for a program that does not: its share of train output cells right
      cost          for a program: its rank cost (lower is simpler, or agreed on by several programs)
      logprob       the model's log-probability of the grid's tokens when it generated it
      votes         how many identical predictions this candidate stands for (1: itself)
      rescore_nll   negative log-likelihood of the grid under each rescoring view (product of experts)
    """
    test_index: int
    grid: Grid
    stage: str
    view: str = "identity"
    program: str | None = None
    fits_train: bool | None = None
    train_accuracy: float | None = None
    cost: float | None = None
    logprob: float | None = None
    votes: int = 1
    rescore_nll: tuple[float, ...] | None = None

    @property
    def family(self) -> str:
        return family(self.stage)

    @property
    def mean_nll(self) -> float | None:
        """The rescoring views' mean negative log-likelihood (the log of the geometric mean probability)."""
        return None if not self.rescore_nll else float(sum(self.rescore_nll) / len(self.rescore_nll))


@dataclass
class ChallengeSet:
    """Everything read from one challenges file, in file order."""
    tasks: dict[str, Task] = field(default_factory=dict)
    invalid: dict[str, InvalidTask] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def test_count(self, task_id: str) -> int:
        if task_id in self.tasks:
            return len(self.tasks[task_id].test)
        return len(self.invalid[task_id].test_inputs)

    def test_inputs(self, task_id: str) -> list[Grid | None]:
        if task_id in self.tasks:
            return list(self.tasks[task_id].test_inputs)
        return list(self.invalid[task_id].test_inputs)


def _read_json(path: Path, what: str) -> Any:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ChallengeFileError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChallengeFileError(f"{what} file {path} is not valid JSON: {exc}") from exc


def _parse_example(raw: Any, where: str, need_output: bool) -> Example:
    if not isinstance(raw, dict) or "input" not in raw:
        raise GridError(f"{where} must be an object with an 'input' grid")
    try:
        inp = as_grid(raw["input"])
    except GridError as exc:
        raise GridError(f"{where} input: {exc}") from None
    out = None
    if need_output or raw.get("output") is not None:
        if "output" not in raw:
            raise GridError(f"{where} has no 'output' grid")
        try:
            out = as_grid(raw["output"])
        except GridError as exc:
            raise GridError(f"{where} output: {exc}") from None
    return Example(inp, out)


def parse_task(task_id: str, raw: Any) -> Task:
    """Validate one task in Kaggle shape; raises GridError naming the exact problem."""
    if not isinstance(raw, dict):
        raise GridError("task must be an object with 'train' and 'test' lists")
    for key in ("train", "test"):
        if not isinstance(raw.get(key), list):
            raise GridError(f"task has no '{key}' list")
    if not raw["train"]:
        raise GridError("task has no train pairs")
    if not raw["test"]:
        raise GridError("task has no test inputs")
    train = tuple(_parse_example(ex, f"train pair {i}", True) for i, ex in enumerate(raw["train"]))
    test = tuple(_parse_example(ex, f"test input {i}", False) for i, ex in enumerate(raw["test"]))
    return Task(task_id, train, test)


def _salvage_test_inputs(raw: Any) -> tuple[Grid | None, ...]:
    """Test inputs of an invalid task, each as a grid if it can be read, else None."""
    tests = raw.get("test") if isinstance(raw, dict) else None
    if not isinstance(tests, list):
        return ()
    salvaged = []
    for ex in tests:
        try:
            salvaged.append(as_grid(ex["input"]))
        except (GridError, TypeError, KeyError):
            salvaged.append(None)
    return tuple(salvaged)


def parse_challenges(data: Any, source: str = "<challenges>") -> ChallengeSet:
    if not isinstance(data, dict):
        raise ChallengeFileError(
            f"{source} is not in Kaggle shape: expected an object {{task_id: {{train, test}}}}, "
            f"got {type(data).__name__}")
    challenge_set = ChallengeSet()
    for task_id, raw in data.items():
        challenge_set.order.append(task_id)
        try:
            challenge_set.tasks[task_id] = parse_task(task_id, raw)
        except GridError as exc:
            challenge_set.invalid[task_id] = InvalidTask(task_id, str(exc), _salvage_test_inputs(raw))
    return challenge_set


def load_challenges(path: str | Path) -> ChallengeSet:
    return parse_challenges(_read_json(Path(path), "challenges"), str(path))


def load_solutions(path: str | Path) -> dict[str, list[Grid]]:
    """Kaggle solutions: {task_id: [output grid per test input]}. Unreadable grids are an error here,
    since a wrong truth would silently corrupt every score computed from it."""
    data = _read_json(Path(path), "solutions")
    if not isinstance(data, dict):
        raise ChallengeFileError(f"solutions file {path} is not in Kaggle shape: expected {{task_id: [grids]}}")
    solutions = {}
    for task_id, outputs in data.items():
        if not isinstance(outputs, list):
            raise ChallengeFileError(f"solutions file {path}: task {task_id} is not a list of grids")
        try:
            solutions[task_id] = [as_grid(g) for g in outputs]
        except GridError as exc:
            raise ChallengeFileError(f"solutions file {path}: task {task_id}: {exc}") from None
    return solutions


def attach_solutions(challenge_set: ChallengeSet, solutions: dict[str, list[Grid]]) -> ChallengeSet:
    """Return a copy whose test examples carry their known outputs (for dry runs and reports)."""
    tasks = {}
    for task_id, task in challenge_set.tasks.items():
        outs = solutions.get(task_id)
        if outs is not None and len(outs) == len(task.test):
            task = task.with_examples(test=[Example(ex.input, out) for ex, out in zip(task.test, outs)])
        tasks[task_id] = task
    return ChallengeSet(tasks, dict(challenge_set.invalid), list(challenge_set.order))


def subset(challenge_set: ChallengeSet, task_ids: list[str]) -> ChallengeSet:
    keep = set(task_ids)
    return ChallengeSet({k: v for k, v in challenge_set.tasks.items() if k in keep},
                        {k: v for k, v in challenge_set.invalid.items() if k in keep},
                        [k for k in challenge_set.order if k in keep])
