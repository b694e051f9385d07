"""solver/kaggle_runtime.py: what the notebook does around the run, on folders laid out like /kaggle/input."""
from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write_json
from solver import kaggle_runtime as kr
from solver.submission import validate_submission
from solver.tasks import load_challenges


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_runtime_needs_only_the_standard_library():
    """The notebook imports it before installing anything."""
    code = ("import sys; import solver.kaggle_runtime; "
            "third = {m.split('.')[0] for m in sys.modules} & {'numpy', 'numba', 'torch', 'tqdm', 'transformers'}; "
            "assert not third, third")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parent.parent)


def test_finds_the_challenges_at_either_competition_mount(tmp_path):
    flat = touch(tmp_path / "a" / "arc-prize-2026-arc-agi-2" / "arc-agi_test_challenges.json")
    assert kr.find_challenges(tmp_path / "a") == flat
    nested = touch(tmp_path / "b" / "competitions" / "arc-prize-2026-arc-agi-2" / "arc-agi_test_challenges.json")
    assert kr.find_challenges(tmp_path / "b") == nested


def test_several_challenges_files_are_told_apart_by_the_competition(tmp_path):
    ours = touch(tmp_path / "arc-prize-2026-arc-agi-2" / "arc-agi_test_challenges.json")
    touch(tmp_path / "old-copy" / "arc-agi_test_challenges.json")
    assert kr.find_challenges(tmp_path, "arc-prize-2026-arc-agi-2") == ours
    with pytest.raises(kr.NotebookInputError, match="several challenges files"):
        kr.find_challenges(tmp_path)
    with pytest.raises(kr.NotebookInputError, match="no \\*test_challenges.json under"):
        kr.find_challenges(tmp_path / "arc-prize-2026-arc-agi-2" / "nothing-here")


def test_finds_a_model_mounted_as_a_kaggle_model(tmp_path):
    model = tmp_path / "arc-model" / "transformers" / "tiny" / "1"
    touch(model / "config.json", "{}")
    touch(model / "model.safetensors")
    touch(tmp_path / "arc-solver-kit" / "configs" / "config.json", "{}")  # a config.json without weights
    assert kr.find_model(tmp_path) == model
    second = touch(tmp_path / "other" / "config.json", "{}").parent
    touch(second / "pytorch_model.bin")
    with pytest.raises(kr.NotebookInputError, match="several model folders"):
        kr.find_model(tmp_path)


def test_no_model_and_no_wheels_are_none(tmp_path):
    assert kr.find_model(tmp_path) is None and kr.find_wheels(tmp_path) is None
    lock = touch(tmp_path / "arc-solver-wheels" / "kaggle.lock")
    assert kr.find_wheels(tmp_path) == lock.parent


def test_preset_is_kaggle_only_with_a_model_and_the_preset(tmp_path):
    (tmp_path / "configs").mkdir()
    assert kr.choose_preset(tmp_path, tmp_path / "model") == "cpu"
    touch(tmp_path / "configs" / "kaggle.toml")
    assert kr.choose_preset(tmp_path, None) == "cpu"
    assert kr.choose_preset(tmp_path, tmp_path / "model") == "kaggle"
    assert kr.choose_preset(tmp_path, None, "mine") == "mine"


def test_go_offline_keeps_what_is_set():
    env = kr.go_offline({"HF_HUB_OFFLINE": "0"})
    assert env["HF_HUB_OFFLINE"] == "0" and env["TRANSFORMERS_OFFLINE"] == "1"


def lock_with(tmp_path: Path, pins: dict[str, str], provided: str = "torch==2.10.0 numpy==9.9") -> Path:
    lines = ["# header", f"# provided by the image, not in the wheelhouse: {provided}"]
    for name, version in pins.items():
        lines += [f"{name}=={version} \\", "    --hash=sha256:" + "0" * 64, f"    # {name}-{version}.whl"]
    return touch(tmp_path / "wheels" / "kaggle.lock", "\n".join(lines) + "\n")


def test_auto_install_skips_when_every_locked_version_is_installed(tmp_path, monkeypatch):
    lock = lock_with(tmp_path, {"numpy": importlib.metadata.version("numpy"), "tqdm": importlib.metadata.version("tqdm")})
    monkeypatch.setattr(kr.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert kr.install_wheels(lock.parent, "auto") == "install skipped: all 2 locked packages already installed"
    assert kr.install_wheels(lock.parent, "never") == "install skipped (KIT_INSTALL=never)"
    assert kr.install_wheels(None, "auto").startswith("install skipped: no wheels dataset")


def test_auto_install_runs_pip_offline_with_the_image_pinned(tmp_path, monkeypatch):
    lock = lock_with(tmp_path, {"tqdm": "0.0.1", "not-a-real-package": "1.0"})
    assert kr.not_installed(lock) == [f"tqdm==0.0.1 (have {importlib.metadata.version('tqdm')})",
                                      "not-a-real-package==1.0"]
    calls = []

    def fake_run(cmd, check):
        constraints = Path(cmd[cmd.index("-c") + 1])
        calls.append((cmd, constraints.read_text()))
    monkeypatch.setattr(kr.subprocess, "run", fake_run)
    assert kr.install_wheels(lock.parent, "auto") == f"installed 2 packages from {lock.parent}"
    (cmd, constraints), = calls
    assert cmd[:9] == [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(lock.parent),
                       "--require-hashes", "--no-cache-dir"]
    assert cmd[cmd.index("-r") + 1] == str(lock)
    # Pinned to what this Python has (torch is on this machine; numpy too, at its own version, not 9.9).
    assert constraints == (f"torch=={importlib.metadata.version('torch')}\n"
                           f"numpy=={importlib.metadata.version('numpy')}\n")


def test_install_mode_errors(tmp_path):
    with pytest.raises(kr.NotebookInputError, match="auto, always or never"):
        kr.install_wheels(None, "sometimes")
    with pytest.raises(kr.NotebookInputError, match="no wheels dataset"):
        kr.install_wheels(None, "always")


def test_run_command_is_the_kits_cli(tmp_path):
    cmd = kr.run_command(tmp_path, Path("c.json"), Path("out/submission.json"), "kaggle", 3600.5,
                         Path("/kaggle/input/m y"), ["dsl.seconds_per_task=2"], python="python")
    assert cmd == ["python", "-m", "solver", "run", "--challenges", "c.json", "--out", "out/submission.json",
                   "--config", "kaggle", "--no-progress", "--budget", "3600.5",
                   "--set", 'model.path="/kaggle/input/m y"', "--set", "dsl.seconds_per_task=2"]


@pytest.fixture
def challenges(tmp_path, sample_challenges_path):
    tasks = dict(list(json.loads(sample_challenges_path.read_text()).items())[:3])
    return write_json(tmp_path / "challenges.json", tasks)


@pytest.mark.parametrize("written", [None, "{not json", "[]", "PARTIAL", "BAD_GRID"])
def test_ensure_submission_repairs_anything_into_a_valid_file(tmp_path, challenges, written):
    tasks = json.loads(challenges.read_text())
    first = next(iter(tasks))
    submission = tmp_path / "submission.json"
    kept = [{"attempt_1": [[1]], "attempt_2": [[2]]}] * len(tasks[first]["test"])
    if written == "PARTIAL":
        write_json(submission, {first: kept})
    elif written == "BAD_GRID":
        write_json(submission, {t: [{"attempt_1": [], "attempt_2": [[1]]}] * len(v["test"]) for t, v in tasks.items()})
    elif written is not None:
        submission.write_text(written)
    message = kr.ensure_submission(submission, challenges)
    assert "given their test inputs" in message
    result = json.loads(submission.read_text())
    assert validate_submission(result, load_challenges(challenges)) == []
    if written == "PARTIAL":
        assert result[first] == kept  # what the run wrote is kept
    second = list(tasks)[1]
    assert result[second][0]["attempt_1"] == tasks[second]["test"][0]["input"]


def test_ensure_submission_leaves_a_complete_file_alone(tmp_path, challenges):
    tasks = json.loads(challenges.read_text())
    submission = write_json(tmp_path / "submission.json",
                            {t: [{"attempt_1": [[3]], "attempt_2": [[4]]}] * len(v["test"]) for t, v in tasks.items()})
    before = submission.read_text()
    assert kr.ensure_submission(submission, challenges) == f"submission complete: {len(tasks)} tasks"
    assert submission.read_text() == before
