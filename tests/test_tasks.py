import json

import numpy as np
import pytest

from solver.tasks import (ChallengeFileError, GridError, as_grid, attach_solutions, load_challenges,
                          load_solutions, parse_challenges)

GOOD = {"train": [{"input": [[1, 2], [3, 4]], "output": [[4, 3], [2, 1]]}], "test": [{"input": [[5, 6], [7, 8]]}]}


def test_sample_loads_as_uint8_grids(sample_challenges_path, sample_solutions_path):
    cs = load_challenges(sample_challenges_path)
    assert len(cs.tasks) == 16 and not cs.invalid
    task = cs.tasks["67a3c6ac"]
    for ex in task.train:
        assert ex.input.dtype == np.uint8 and ex.input.ndim == 2
        assert ex.output is not None
    assert all(ex.output is None for ex in task.test)
    solved = attach_solutions(cs, load_solutions(sample_solutions_path))
    assert all(ex.output is not None for t in solved.tasks.values() for ex in t.test)


def test_as_grid_returns_a_copy():
    src = np.array([[1, 2]], dtype=np.uint8)
    g = as_grid(src)
    g[0, 0] = 9
    assert src[0, 0] == 1


@pytest.mark.parametrize("value, message", [
    ([[1, 2], [3]], "ragged: row 1 has 1 cells"),
    ([[1, 10]], "colour 10"),
    ([[1, -1]], "colour -1"),
    ([[0] * 31] * 31, "31x31"),
    ([[0] * 31], "1x31"),
    ([], "non-empty"),
    ([[]], "non-empty"),
    ([[1.5]], "not an integer"),
    ([[True]], "not an integer"),
    ([["1"]], "not an integer"),
    ([1, 2], "rows must be lists"),
])
def test_bad_grids_name_the_problem(value, message):
    with pytest.raises(GridError, match=message):
        as_grid(value)


def test_bad_tasks_are_set_aside_with_their_problem_and_test_inputs():
    data = {
        "good": GOOD,
        "ragged": {"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[1]]}]},
        "colour10": {"train": [{"input": [[10]], "output": [[1]]}], "test": [{"input": [[2, 2]]}]},
        "notest": {"train": GOOD["train"], "test": []},
        "notrain": {"train": [], "test": [{"input": [[1]]}]},
        "big": {"train": GOOD["train"], "test": [{"input": [[0] * 31] * 31}]},
        "nooutput": {"train": [{"input": [[1]]}], "test": [{"input": [[1]]}]},
        "notadict": [1, 2, 3],
    }
    cs = parse_challenges(data)
    assert list(cs.tasks) == ["good"]
    assert cs.order == list(data)
    problems = {k: v.problem for k, v in cs.invalid.items()}
    assert "train pair 0 input: grid is ragged" in problems["ragged"]
    assert "colour 10" in problems["colour10"]
    assert problems["notest"] == "task has no test inputs"
    assert problems["notrain"] == "task has no train pairs"
    assert "test input 0 input" in problems["big"] and "31x31" in problems["big"]
    assert "no 'output'" in problems["nooutput"]
    assert "must be an object" in problems["notadict"]
    # Readable test inputs are kept so the submission can still hold attempts for them.
    assert cs.invalid["colour10"].test_inputs[0].tolist() == [[2, 2]]
    assert cs.invalid["big"].test_inputs == (None,)
    assert cs.invalid["notest"].test_inputs == ()
    assert cs.test_count("ragged") == 1 and cs.test_count("notadict") == 0


def test_file_that_is_not_json_is_a_clear_error(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(ChallengeFileError, match="not valid JSON"):
        load_challenges(path)


def test_file_in_the_wrong_shape_is_a_clear_error(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([GOOD]))
    with pytest.raises(ChallengeFileError, match="not in Kaggle shape"):
        load_challenges(path)
    with pytest.raises(ChallengeFileError, match="cannot read"):
        load_challenges(tmp_path / "missing.json")


def test_bad_solutions_are_an_error_naming_the_task(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"t1": [[[1, 12]]]}))
    with pytest.raises(ChallengeFileError, match="task t1: cell .* colour 12"):
        load_solutions(path)


def test_cell_count_sums_every_grid():
    task = parse_challenges({"t": GOOD}).tasks["t"]
    assert task.cell_count() == 4 + 4 + 4
