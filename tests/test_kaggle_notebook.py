"""The submission notebook, executed with nbclient as Kaggle would run it: CPU, offline, against upload folders
made by `kaggle prepare` and laid out like /kaggle/input, all paths given by environment variables."""
from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .fakewheels import make_wheel
from solver import kaggle
from solver.config import KaggleConfig
from solver.submission import validate_submission
from solver.tasks import load_challenges

COMPETITION = KaggleConfig().competition
N_TASKS = 3


def kaggle_input(tmp_path: Path, sample_challenges_path: Path) -> Path:
    """/kaggle/input as the pushed notebook sees it: the competition, the kit dataset and the wheels dataset.
    The wheels are stand-ins for packages this Python already has, at the versions it has: `auto` must skip."""
    wheelhouse = kaggle.wheelhouse_module()
    wheels = tmp_path / "wheelhouse"
    entries = []
    for name in ("numpy", "tqdm"):
        wheel = make_wheel(wheels, name, importlib.metadata.version(name))
        entries.append(wheelhouse.Locked(name, importlib.metadata.version(name), wheel.name,
                                         wheelhouse.sha256_of(wheel)))
    wheelhouse.write_lock(tmp_path / "kaggle.lock", entries, wheelhouse.Target(),
                          [wheelhouse.Locked("torch", importlib.metadata.version("torch"), "")])
    build = tmp_path / "build"
    assert kaggle.prepare(KaggleConfig(user="tester"), build, wheels, tmp_path / "kaggle.lock") == []

    inputs = tmp_path / "input"
    inputs.mkdir()
    shutil.move(build / "kit", inputs / "arc-solver-kit")
    shutil.move(build / "wheels", inputs / "arc-solver-wheels")
    tasks = dict(list(json.loads(sample_challenges_path.read_text()).items())[:N_TASKS])
    (inputs / COMPETITION).mkdir()
    (inputs / COMPETITION / "arc-agi_test_challenges.json").write_text(json.dumps(tasks))
    return inputs


def execute(notebook: Path, cwd: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


@pytest.mark.slow
def test_notebook_writes_a_valid_submission_without_a_model(tmp_path, sample_challenges_path, monkeypatch):
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    working = tmp_path / "working"
    for var in ("KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_IS_COMPETITION_RERUN", "KIT_DIR", "KIT_CHALLENGES",
                "KIT_WHEELS_DIR", "KIT_MODEL_DIR", "KIT_PRESET", "KIT_INSTALL", "KIT_SET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_INPUT_DIR", str(inputs))
    monkeypatch.setenv("KAGGLE_WORKING_DIR", str(working))
    monkeypatch.setenv("KIT_BUDGET_SECONDS", "240")

    text = execute(tmp_path / "build" / "kernel" / "kaggle_submission.ipynb", tmp_path)

    assert f"kit         {inputs / 'arc-solver-kit'}" in text
    assert f"wheels      {inputs / 'arc-solver-wheels'}" in text
    assert "model       None" in text and "preset      cpu" in text
    assert "install skipped: all 2 locked packages already installed" in text
    assert "the kit exited with status 0" in text
    assert f"submission complete: {N_TASKS} tasks" in text  # the run's own file, not a repair
    challenges = load_challenges(inputs / COMPETITION / "arc-agi_test_challenges.json")
    submission = json.loads((working / "submission.json").read_text())
    assert validate_submission(submission, challenges) == []
    assert len(submission) == N_TASKS
    assert (working / "work" / "journal.jsonl").is_file()


@pytest.mark.slow
def test_notebook_runs_the_neural_path_with_an_attached_model(tmp_path, sample_challenges_path, monkeypatch):
    """A tiny real model attached as a Kaggle Model (<model>/<framework>/<variation>/<version>/) is found and
    passed to the run, whose neural stage then works on CPU."""
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    model = inputs / "arc-model" / "transformers" / "tiny" / "1"
    subprocess.run([sys.executable, "-m", "solver", "make-model", str(model), "--size", "tiny"], check=True)
    working = tmp_path / "working"
    for var in ("KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_IS_COMPETITION_RERUN", "KIT_DIR", "KIT_CHALLENGES",
                "KIT_WHEELS_DIR", "KIT_MODEL_DIR", "KIT_INSTALL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_INPUT_DIR", str(inputs))
    monkeypatch.setenv("KAGGLE_WORKING_DIR", str(working))
    monkeypatch.setenv("KIT_BUDGET_SECONDS", "300")
    # The GPU preset would train for minutes per task on CPU; the tiny preset runs the same stages, briefly.
    monkeypatch.setenv("KIT_PRESET", "tiny")
    monkeypatch.setenv("KIT_SET", "ttt.steps=2 sample.views=2")

    text = execute(tmp_path / "build" / "kernel" / "kaggle_submission.ipynb", tmp_path)

    assert f"model       {model}" in text and "preset      tiny" in text
    assert "the kit exited with status 0" in text
    assert "stage neural" in text  # the run's summary: the neural stage ran
    assert f"submission complete: {N_TASKS} tasks" in text
    challenges = load_challenges(inputs / COMPETITION / "arc-agi_test_challenges.json")
    assert validate_submission(json.loads((working / "submission.json").read_text()), challenges) == []
