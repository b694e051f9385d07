import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write_json

ROOT = Path(__file__).resolve().parent.parent


def solver(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "solver", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("command", [[], ["run"], ["score"]])
def test_every_command_has_help(command):
    r = solver(*command, "--help")
    assert r.returncode == 0 and "usage:" in r.stdout


@pytest.mark.slow
def test_run_then_score(sample_challenges_path, sample_solutions_path, tmp_path):
    out = tmp_path / "submission.json"
    r = solver("run", "--challenges", sample_challenges_path, "--solutions", sample_solutions_path,
               "--out", out, "--budget", 120, "--no-progress", "--set", "dsl.seconds_per_task=0.5")
    assert r.returncode == 0, r.stderr
    assert "score " in r.stdout and "coverage " in r.stdout
    r = solver("score", out, sample_solutions_path, "--challenges", sample_challenges_path, "--json")
    assert r.returncode == 0
    report = json.loads(r.stdout)
    assert report["valid"] and report["outputs"] == 17


@pytest.mark.slow
def test_not_json_is_a_clear_error_without_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("this is not json")
    r = solver("run", "--challenges", bad, "--out", tmp_path / "s.json", "--no-progress")
    assert r.returncode == 2
    assert r.stderr.startswith("error: challenges file") and "not valid JSON" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_wrong_shape_and_bad_config_are_clear_errors(tmp_path):
    path = write_json(tmp_path / "list.json", [1, 2])
    r = solver("run", "--challenges", path, "--out", tmp_path / "s.json")
    assert r.returncode == 2 and "not in Kaggle shape" in r.stderr and "Traceback" not in r.stderr
    good = write_json(tmp_path / "c.json", {"t": {"train": [{"input": [[1]], "output": [[1]]}], "test": [{"input": [[1]]}]}})
    r = solver("run", "--challenges", good, "--out", tmp_path / "s.json", "--set", "dsl.bogus=1")
    assert r.returncode == 2 and "unknown config key 'dsl.bogus'" in r.stderr
    r = solver("run", "--challenges", good, "--out", tmp_path / "s.json", "--set", "select.vote=flaat")
    assert r.returncode == 2 and "select.vote must be one of" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_bad_tasks_are_named_and_the_others_are_solved(tmp_path):
    good = {"train": [{"input": [[1, 2]], "output": [[2, 1]]}], "test": [{"input": [[3, 4]]}]}
    path = write_json(tmp_path / "c.json", {"good": good, "evil": {"train": [], "test": [{"input": [[1]]}]}})
    out = tmp_path / "s.json"
    r = solver("run", "--challenges", path, "--out", out, "--no-progress")
    assert r.returncode == 0
    assert "task evil is invalid" in r.stderr and "no train pairs" in r.stderr
    assert set(json.loads(out.read_text())) == {"good", "evil"}


def test_score_reports_an_invalid_submission(sample_challenges_path, sample_solutions_path, tmp_path):
    sub = write_json(tmp_path / "s.json", {"67a3c6ac": [{"attempt_1": [[1]], "attempt_2": [[1]]}]})
    r = solver("score", sub, sample_solutions_path, "--challenges", sample_challenges_path)
    assert r.returncode == 1
    assert "invalid: task 3c9b0459: missing" in r.stdout and "score 0.0000" in r.stdout
