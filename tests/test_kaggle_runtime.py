"""solver/kaggle_runtime.py: what the notebook does around the run, on folders laid out like /kaggle/input."""
from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write_json
from .fakewheels import make_wheel
from solver import kaggle_runtime as kr
from solver.kaggle import wheelhouse_module
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
    assert kr.find_challenges(tmp_path / "a") == [flat]
    nested = touch(tmp_path / "b" / "competitions" / "arc-prize-2026-arc-agi-2" / "arc-agi_test_challenges.json")
    assert kr.find_challenges(tmp_path / "b") == [nested]


def test_several_challenges_files_put_the_competitions_first(tmp_path):
    ours = touch(tmp_path / "arc-prize-2026-arc-agi-2" / "arc-agi_test_challenges.json")
    copy = touch(tmp_path / "a-copy" / "arc-agi_test_challenges.json")
    deeper = touch(tmp_path / "a-copy" / "old" / "arc-agi_test_challenges.json")
    assert kr.find_challenges(tmp_path, "arc-prize-2026-arc-agi-2") == [ours, copy, deeper]
    assert kr.find_challenges(tmp_path, "a-slug-that-changed") == [copy, ours, deeper]  # shallowest, then by name
    touch(ours.parent / "sample_submission.json")  # what a competition's data folder holds beside its tasks
    assert kr.find_challenges(tmp_path, "a-slug-that-changed") == [ours, copy, deeper]
    mounted = touch(tmp_path / "competitions" / "a-slug-that-changed-again" / "arc-agi_test_challenges.json")
    assert kr.find_challenges(tmp_path, "a-slug-that-changed")[0] == mounted
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


def test_finds_a_model_in_the_kaggle_models_layout_with_its_owner(tmp_path):
    model = tmp_path / "models" / "sorokin" / "qwen3_4b_grids15_sft139" / "transformers" / "bfloat16" / "1"
    touch(model / "config.json", "{}")
    touch(model / "model-00001-of-00002.safetensors")
    assert kr.find_model(tmp_path) == model


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


def test_the_lock_made_for_this_image_is_chosen(tmp_path):
    """kaggle.lock (Python 3.11, torch 2.10) and kaggle-cp312.lock (Python 3.12, torch 2.11) side by side: the
    Python and torch of the image decide; with neither matching, kaggle.lock (its install then fails, named)."""
    wheels = tmp_path / "wheels"
    old = touch(wheels / "kaggle.lock", "# target: python=3.11 abi=cp311 platform=manylinux_2_35_x86_64 torch=2.10.0\n")
    new = touch(wheels / "kaggle-cp312.lock",
                "# target: python=3.12 abi=cp312 platform=manylinux_2_35_x86_64 torch=2.11.0\n")
    assert kr.lock_files(wheels) == [old, new]
    assert kr.lock_target(new) == {"python": "3.12", "abi": "cp312", "platform": "manylinux_2_35_x86_64",
                                   "torch": "2.11.0"}
    assert kr.choose_lock(wheels, "3.12", "2.11.0") == new
    assert kr.choose_lock(wheels, "3.11", "2.10.0") == old
    assert kr.choose_lock(wheels, "3.12", "2.13.0") == new  # the Python decides first: its wheels must fit
    assert kr.choose_lock(wheels, "3.13", "2.11.0") == old
    new.unlink()
    assert kr.choose_lock(wheels, "3.12", "2.11.0") == old  # one lock alone is taken as it is


def test_install_uses_the_chosen_lock(tmp_path, monkeypatch):
    lock = lock_with(tmp_path, {"tqdm": "0.0.1"})
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    mine = touch(lock.parent / "kaggle-mine.lock", f"# target: python={python} torch={kr.installed_torch()}\n"
                 + lock.read_text().replace("tqdm==0.0.1", "tqdm==0.0.2"))
    calls = []
    monkeypatch.setattr(kr.subprocess, "run", lambda cmd: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    assert kr.install_wheels(lock.parent, "auto") == f"installed 1 packages from {lock.parent} (kaggle-mine.lock)"
    assert calls[0][calls[0].index("-r") + 1] == str(mine)


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

    def fake_run(cmd):
        constraints = Path(cmd[cmd.index("-c") + 1])
        calls.append((cmd, constraints.read_text()))
        return subprocess.CompletedProcess(cmd, 0)
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


def test_selfcheck_command_and_the_run_reading_its_report(tmp_path):
    report = tmp_path / "selfcheck.json"
    assert kr.selfcheck_command("kaggle", Path("/m"), ["ttt.steps=2"], report, python="python") == [
        "python", "-m", "solver", "selfcheck", "--fallback", "--config", "kaggle", "--out", str(report),
        "--set", 'model.path="/m"', "--set", "ttt.steps=2"]
    cmd = kr.run_command(tmp_path, Path("c.json"), Path("s.json"), "kaggle", None, python="python", selfcheck=report)
    assert cmd[-2:] == ["--selfcheck", str(report)]
    report.write_text(json.dumps({"switches": ["model.unsloth=false"], "tries": []}))
    assert kr.selfcheck_switches(report) == ["model.unsloth=false"]
    report.write_text(json.dumps({"switches": "model.unsloth=false"}))
    with pytest.raises(ValueError, match="not a list"):
        kr.selfcheck_switches(report)


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


@pytest.mark.slow
def test_install_wheels_really_installs_offline_and_keeps_the_image_package(tmp_path):
    """The notebook's own pip command, run for real in a fresh venv standing in for the Kaggle image: `image`
    plays the image's torch (installed, left out of the lock, pinned at install time)."""
    import venv

    wh = wheelhouse_module()
    image_dir, wheels = tmp_path / "image-wheels", tmp_path / "wheels"
    make_wheel(image_dir, "image", "1.0")
    locked = [make_wheel(wheels, "alpha", "1.0", ("image>=1", "beta")), make_wheel(wheels, "beta", "2.0")]
    make_wheel(wheels, "image", "9.0")  # a tempting other build: must never replace the image's
    entries = [wh.Locked(w.name.split("-")[0], w.name.split("-")[1], w.name, wh.sha256_of(w)) for w in locked]
    wh.write_lock(wheels / "kaggle.lock", entries, wh.Target(), [wh.Locked("image", "1.0", "")])

    env_dir = tmp_path / "image-python"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(image_dir), "image"],
                   check=True, env=clean)
    repo = Path(__file__).resolve().parent.parent
    run = ("import sys; from pathlib import Path; from solver import kaggle_runtime as kr; "
           "print(kr.install_wheels(Path(sys.argv[1]), 'auto'))")
    first = subprocess.run([python, "-c", run, str(wheels)], cwd=repo, env=clean, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"installed 2 packages from {wheels}"
    versions = subprocess.run([python, "-c", "import importlib.metadata as m; print([m.version(p) for p in "
                               "('alpha', 'beta', 'image')])"], env=clean, capture_output=True, text=True)
    assert versions.stdout.strip() == "['1.0', '2.0', '1.0']"
    again = subprocess.run([python, "-c", run, str(wheels)], cwd=repo, env=clean, capture_output=True, text=True)
    assert again.stdout.strip() == "install skipped: all 2 locked packages already installed"

    # A lock made for another image (it wants image>=9, and the wheelhouse offers 9.0): the install fails
    # before changing anything, instead of replacing the image's package.
    newer = [make_wheel(tmp_path / "wheels2", "alpha", "2.0", ("image>=9",))]
    make_wheel(tmp_path / "wheels2", "image", "9.0")
    wh.write_lock(tmp_path / "wheels2" / "kaggle.lock",
                  [wh.Locked("alpha", "2.0", newer[0].name, wh.sha256_of(newer[0]))], wh.Target(),
                  [wh.Locked("image", "9.0", "")])
    failed = subprocess.run([python, "-c", run, str(tmp_path / "wheels2")], cwd=repo, env=clean,
                            capture_output=True, text=True)
    assert failed.returncode == 0, failed.stderr  # reported, not raised: the notebook must go on
    assert failed.stdout.startswith("INSTALL FAILED (pip exit status 1")
    assert "ResolutionImpossible" in failed.stderr
    versions = subprocess.run([python, "-c", "import importlib.metadata as m; print([m.version(p) for p in "
                               "('alpha', 'image')])"], env=clean, capture_output=True, text=True)
    assert versions.stdout.strip() == "['1.0', '1.0']"
