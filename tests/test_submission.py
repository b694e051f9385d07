import json
import os

import numpy as np
import pytest

from solver.submission import Submission, validate_submission, write_json_atomic
from solver.tasks import parse_challenges

from .conftest import grid

CHALLENGES = {
    "t1": {"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1, 1]]}, {"input": [[3]]}]},
    "bad": {"train": [{"input": [[1]], "output": [[12]]}], "test": [{"input": [[4]]}, {"input": [[99]]}]},
    "empty": {"train": [{"input": [[1]], "output": [[2]]}], "test": []},
}


@pytest.fixture
def cs():
    return parse_challenges(CHALLENGES)


def test_fresh_submission_is_complete_and_valid(cs, tmp_path):
    sub = Submission(cs)
    path = tmp_path / "submission.json"
    sub.write(path)
    data = json.loads(path.read_text())
    assert list(data) == ["t1", "bad", "empty"]
    assert validate_submission(data, cs) == []
    # Fallbacks: the test input where it can be read, else a 1x1 grid.
    assert data["t1"][0] == {"attempt_1": [[1, 1]], "attempt_2": [[1, 1]]}
    assert data["bad"][0]["attempt_1"] == [[4]] and data["bad"][1]["attempt_1"] == [[0]]
    assert data["empty"] == []


def test_set_replaces_attempts_and_refuses_wrong_input(cs):
    sub = Submission(cs)
    sub.set("t1", [(grid([[5]]), grid([[6]])), (grid([[7]]), grid([[7]]))])
    assert sub.to_json()["t1"][0] == {"attempt_1": [[5]], "attempt_2": [[6]]}
    with pytest.raises(ValueError, match="1 attempt pairs for 2 test inputs"):
        sub.set("t1", [(grid([[5]]), grid([[6]]))])
    with pytest.raises(ValueError, match="task t1 test 0: attempt is not a valid grid"):
        sub.set("t1", [(np.full((31, 1), 1, np.uint8), grid([[6]])), (grid([[7]]), grid([[7]]))])
    with pytest.raises(KeyError):
        sub.set("nope", [])


def test_validator_names_every_problem(cs):
    good = Submission(cs).to_json()
    broken = dict(good)
    del broken["t1"]
    broken["bad"] = [{"attempt_1": [[1]]}, {"attempt_1": [[1, 2], [3]], "attempt_2": [[0]]}]
    broken["extra"] = []
    problems = validate_submission(broken, cs)
    assert "task t1: missing" in problems
    assert "task bad test 0: missing attempt_2" in problems
    assert any(p.startswith("task bad test 1 attempt_1: grid is ragged") for p in problems)
    assert "task extra: not in the challenges file" in problems
    wrong_count = dict(good, t1=good["t1"][:1])
    assert validate_submission(wrong_count, cs) == ["task t1: expected 2 attempt entries (one per test input), got 1"]
    assert validate_submission([], cs) != []


def test_atomic_write_leaves_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    write_json_atomic(path, {"ok": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_json_atomic(path, {"ok": 2})
    assert json.loads(path.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left behind
