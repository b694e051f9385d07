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

from .conftest import write_json
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
    # As the competition's data folder has it; when the slug is not found, it tells that folder from a copy.
    (inputs / COMPETITION / "sample_submission.json").write_text("{}")
    return inputs


def attach_a_copy(inputs: Path, sample_challenges_path: Path) -> Path:
    """Another test_challenges.json, with other tasks, in a dataset: one that sorts before the competition's."""
    more = dict(list(json.loads(sample_challenges_path.read_text()).items())[N_TASKS:N_TASKS + 2])
    (inputs / "arc-copy").mkdir()
    return write_json(inputs / "arc-copy" / "arc-agi_test_challenges.json", more)


def execute(notebook: Path, cwd: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


def notebook_env(monkeypatch, inputs: Path, working: Path, **settings: str) -> None:
    """The notebook's switches for a local run: nothing from this machine's environment, the given ones set."""
    for var in ("KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_IS_COMPETITION_RERUN", "KIT_DIR", "KIT_CHALLENGES",
                "KIT_WHEELS_DIR", "KIT_MODEL_DIR", "KIT_PRESET", "KIT_INSTALL", "KIT_SET", "KIT_COMPETITION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_INPUT_DIR", str(inputs))
    monkeypatch.setenv("KAGGLE_WORKING_DIR", str(working))
    for var, value in {"KIT_BUDGET_SECONDS": "240", **settings}.items():
        monkeypatch.setenv(var, value)


def submitted(working: Path, *challenges_files: Path) -> dict:
    """submission.json, asserted valid for every task of every challenges file."""
    submission = json.loads((working / "submission.json").read_text())
    for path in challenges_files:
        assert validate_submission(submission, load_challenges(path)) == [], path
    return submission


@pytest.mark.slow
def test_notebook_writes_a_valid_submission_without_a_model(tmp_path, sample_challenges_path, monkeypatch):
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    working = tmp_path / "working"
    notebook_env(monkeypatch, inputs, working)

    text = execute(tmp_path / "build" / "kernel" / "kaggle_submission.ipynb", tmp_path)

    assert f"kit         {inputs / 'arc-solver-kit'}" in text
    assert f"wheels      {inputs / 'arc-solver-wheels'}" in text
    assert "model       None" in text and "preset      cpu" in text
    assert "install skipped: all 2 locked packages already installed" in text
    assert "the kit exited with status 0" in text
    assert f"submission complete: {N_TASKS} tasks" in text  # the run's own file, not a repair
    assert "PROBLEM" not in text
    assert len(submitted(working, inputs / COMPETITION / "arc-agi_test_challenges.json")) == N_TASKS
    assert (working / "work" / "journal.jsonl").is_file()


@pytest.mark.slow
def test_notebook_runs_the_neural_path_with_an_attached_model(tmp_path, sample_challenges_path, monkeypatch):
    """A tiny real model attached as a Kaggle Model (<model>/<framework>/<variation>/<version>/) is found and
    passed to the run, whose neural stage then works on CPU."""
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    model = inputs / "arc-model" / "transformers" / "tiny" / "1"
    subprocess.run([sys.executable, "-m", "solver", "make-model", str(model), "--size", "tiny"], check=True)
    working = tmp_path / "working"
    # The GPU preset would train for minutes per task on CPU; the tiny preset runs the same stages, briefly.
    # Asked for vLLM, which this machine lacks: the self-check fails on it and the run switches to transformers.
    notebook_env(monkeypatch, inputs, working, KIT_BUDGET_SECONDS="300", KIT_PRESET="tiny",
                 KIT_SET='ttt.steps=2 sample.views=2 model.backend="vllm"')

    text = execute(tmp_path / "build" / "kernel" / "kaggle_submission.ipynb", tmp_path)

    assert f"model       {model}" in text and "preset      tiny" in text
    assert "selfcheck passed (tiny, backend transformers" in text  # the second try
    assert 'WARNING the self-check failed on this machine; the run switches model.backend="transformers"' in text
    assert "the kit exited with status 0" in text
    assert "stage neural" in text  # the run's summary: the neural stage ran, on the path that passed
    assert 'switched: model.backend="transformers"' in text
    journal = [json.loads(line) for line in (working / "work" / "journal.jsonl").read_text().splitlines()]
    assert journal[0]["config"]["model"]["backend"] == "transformers"
    assert next(e for e in journal if e["type"] == "selfcheck")["switches"] == ['model.backend="transformers"']
    assert f"submission complete: {N_TASKS} tasks" in text
    submitted(working, inputs / COMPETITION / "arc-agi_test_challenges.json")


# ---- no failure may leave Kaggle without a submission ---------------------------------------------------
# Each run below breaks one thing the notebook finds or does; every one must end with a valid submission.json
# for every task. The runs that reach the kit give its DSL one CPU-second a task: only the notebook is tested.

FAST = "dsl.seconds_per_task=1"


def pushed(tmp_path: Path) -> Path:
    return tmp_path / "build" / "kernel" / "kaggle_submission.ipynb"


@pytest.mark.slow
def test_two_challenges_files_the_run_takes_the_competitions(tmp_path, sample_challenges_path, monkeypatch):
    """A second test_challenges.json attached (a copy in a dataset) and a competition slug that matches no
    folder: the notebook says so and the run takes the competition's file, told by its sample_submission.json.
    A KIT_INSTALL typo on top is reported and the install skipped."""
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    ours = inputs / COMPETITION / "arc-agi_test_challenges.json"
    copy = attach_a_copy(inputs, sample_challenges_path)
    working = tmp_path / "working"
    notebook_env(monkeypatch, inputs, working, KIT_COMPETITION="arc-prize-2099", KIT_INSTALL="sometimes",
                 KIT_SET=FAST)

    text = execute(pushed(tmp_path), tmp_path)

    assert f"WARNING 2 challenges files, the run takes {ours}" in text and str(copy) in text
    assert "PROBLEM installing the wheels (the run goes on with what is installed): NotebookInputError" in text
    assert "the kit exited with status 0" in text
    assert f"submission complete: {N_TASKS} tasks" in text
    assert set(submitted(working, ours)) == set(json.loads(ours.read_text()))  # none of the copy's tasks


@pytest.mark.slow
def test_two_model_folders_run_without_a_model(tmp_path, sample_challenges_path, monkeypatch):
    """Two folders with config.json beside weights: the notebook cannot tell which to use; it says so and the
    run goes on with the CPU preset instead of stopping before the submission."""
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    for name in ("model-a", "model-b"):
        (inputs / name).mkdir()
        (inputs / name / "config.json").write_text("{}")
        (inputs / name / "model.safetensors").write_text("")
    working = tmp_path / "working"
    notebook_env(monkeypatch, inputs, working, KIT_SET=FAST)

    text = execute(pushed(tmp_path), tmp_path)

    assert "PROBLEM no model: the run goes on WITHOUT one: NotebookInputError: several model folders" in text
    assert "model       None" in text and "preset      cpu" in text
    assert "the kit exited with status 0" in text
    assert f"submission complete: {N_TASKS} tasks" in text
    submitted(working, inputs / COMPETITION / "arc-agi_test_challenges.json")


@pytest.mark.slow
def test_without_the_kit_the_last_cell_writes_the_fallback(tmp_path, sample_challenges_path, monkeypatch):
    """The kit dataset not attached (and a budget that is not a number): nothing can run, and the last cell,
    standard library only, finds the challenges itself and gives every task its test inputs."""
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    shutil.rmtree(inputs / "arc-solver-kit")
    attach_a_copy(inputs, sample_challenges_path)  # the fallback tells the competition's file from it too
    working = tmp_path / "working"
    notebook_env(monkeypatch, inputs, working, KIT_BUDGET_SECONDS="eleven hours")

    text = execute(pushed(tmp_path), tmp_path)

    assert "PROBLEM KIT_BUDGET_SECONDS is not a number (11.5 h used): ValueError" in text
    assert "PROBLEM the kit cannot be loaded" in text and "no solver/__main__.py under" in text
    assert "the kit does not run" in text
    ours = inputs / COMPETITION / "arc-agi_test_challenges.json"
    assert f"fallback submission: {N_TASKS} of {N_TASKS} tasks of {ours} given their test inputs" in text
    submission = submitted(working, ours)
    for task_id, task in json.loads(ours.read_text()).items():
        assert [e["attempt_1"] for e in submission[task_id]] == [t["input"] for t in task["test"]]


def run_cells_without_the_kit(monkeypatch, inputs: Path, working: Path, competition: str = COMPETITION) -> dict:
    """The notebook's settings cell and last cell, executed here without a kernel, as when the kit is missing
    (kr and challenges stay None): the last cell must then work alone."""
    notebook_env(monkeypatch, inputs, working, KIT_COMPETITION=competition)
    code = [cell.source for cell in nbformat.read(kaggle.NOTEBOOK, as_version=4).cells if cell.cell_type == "code"]
    namespace: dict = {}
    exec(code[0], namespace)
    exec(code[-1], namespace)
    return namespace


@pytest.mark.parametrize("written", [None, "{not json", "[]", "PARTIAL"])
def test_the_last_cell_alone_completes_any_submission(tmp_path, sample_challenges_path, monkeypatch, capsys,
                                                      written):
    (tmp_path / "input" / COMPETITION).mkdir(parents=True)
    tasks = dict(list(json.loads(sample_challenges_path.read_text()).items())[:N_TASKS])
    challenges = write_json(tmp_path / "input" / COMPETITION / "arc-agi_test_challenges.json", tasks)
    first, second = list(tasks)[:2]
    working = tmp_path / "working"
    working.mkdir()
    kept = [{"attempt_1": [[1]], "attempt_2": [[2]]}] * len(tasks[first]["test"])
    if written == "PARTIAL":  # one task answered, one with an empty grid, one missing
        write_json(working / "submission.json", {first: kept, second: [{"attempt_1": [], "attempt_2": [[1]]}]})
    elif written is not None:
        (working / "submission.json").write_text(written)

    run_cells_without_the_kit(monkeypatch, tmp_path / "input", working)

    filled = N_TASKS - 1 if written == "PARTIAL" else N_TASKS
    assert f"fallback submission: {filled} of {N_TASKS} tasks of {challenges}" in capsys.readouterr().out
    submission = submitted(working, challenges)
    assert submission[second] == [{"attempt_1": t["input"], "attempt_2": t["input"]} for t in tasks[second]["test"]]
    if written == "PARTIAL":
        assert submission[first] == kept


def test_the_last_cell_picks_the_challenges_file_as_the_kit_does(tmp_path, monkeypatch):
    """Its restated order (the kit may be missing) against kaggle_runtime.find_challenges, case by case."""
    from solver import kaggle_runtime as kr
    inputs, working = tmp_path / "input", tmp_path / "working"

    def attach(folder: str) -> Path:
        (inputs / folder).mkdir(parents=True)
        return write_json(inputs / folder / "arc-agi_test_challenges.json", {"t": {"train": [], "test": []}})

    def agree(competition: str, expected: Path) -> None:
        picked = run_cells_without_the_kit(monkeypatch, inputs, working, competition)["fallback_challenges"]()
        assert picked == kr.find_challenges(inputs, competition)[0] == expected, competition

    ours, copy = attach(COMPETITION), attach("a-copy")
    attach("a-copy/old")
    agree(COMPETITION, ours)
    agree("a-slug-that-changed", copy)  # nothing tells them apart: the shallowest, then by name
    (ours.parent / "sample_submission.json").write_text("{}")
    agree("a-slug-that-changed", ours)
    mounted = attach("competitions/renamed")
    agree("a-slug-that-changed", mounted)
    agree(COMPETITION, ours)


# The kit's CLI swapped for one that writes the first task's answer, then is killed as by the out-of-memory
# killer: the kit itself never dies this way (its coordinator survives its workers), the machine can.
KILLED_MAIN = """\
import json, os, signal, sys
challenges = json.load(open(sys.argv[sys.argv.index("--challenges") + 1]))
first = next(iter(challenges))
answer = [{"attempt_1": [[7]], "attempt_2": [[7, 7]]}] * len(challenges[first]["test"])
with open(sys.argv[sys.argv.index("--out") + 1], "w") as out:
    json.dump({first: answer, "not-a-task": []}, out)
print("answered", first, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
@pytest.mark.parametrize("crash", ["killed", "refused"])
def test_a_run_that_crashes_leaves_a_complete_submission(tmp_path, sample_challenges_path, monkeypatch, crash):
    """killed: the run dies by SIGKILL after answering one task, which is kept; refused: the real kit stops
    before starting (an unknown setting, exit status 2) and writes nothing."""
    inputs = kaggle_input(tmp_path, sample_challenges_path)
    ours = inputs / COMPETITION / "arc-agi_test_challenges.json"
    first = next(iter(json.loads(ours.read_text())))
    if crash == "killed":
        (inputs / "arc-solver-kit" / "solver" / "__main__.py").write_text(KILLED_MAIN)
    working = tmp_path / "working"
    notebook_env(monkeypatch, inputs, working, KIT_SET="no_such_section.key=1" if crash == "refused" else FAST)

    text = execute(pushed(tmp_path), tmp_path)

    status = -9 if crash == "killed" else 2
    assert f"the kit exited with status {status}" in text
    assert "PROBLEM(S) in this notebook; submission.json was written all the same:" in text
    submission = submitted(working, ours)
    if crash == "killed":
        assert f"answered {first}" in text
        assert f"{N_TASKS - 1} of {N_TASKS} tasks given their test inputs" in text  # the kit's repair
        assert submission[first][0] == {"attempt_1": [[7]], "attempt_2": [[7, 7]]}  # the run's answer is kept
    else:
        assert f"{N_TASKS} of {N_TASKS} tasks given their test inputs" in text
