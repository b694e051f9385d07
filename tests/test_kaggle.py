"""`python -m solver kaggle`: the upload folders, their metadata against the Kaggle API's documented fields,
and the kaggle CLI commands. The kaggle package is never imported or run here: push and download are only
exercised with --dry-run, and a real push without credentials must stop before running anything."""
from __future__ import annotations

import json
import shlex
import sys
import zipfile
from pathlib import Path

import pytest

from .fakewheels import make_wheel
from solver import kaggle
from solver.__main__ import main
from solver.config import KaggleConfig, load_config

wh = kaggle.wheelhouse_module()


@pytest.fixture(autouse=True)
def no_kaggle_credentials(tmp_path, monkeypatch):
    """No test may find real credentials, whatever this machine has."""
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "kaggle-config"))


@pytest.fixture
def wheelhouse(tmp_path):
    wheels = tmp_path / "wheels"
    entries = [wh.Locked("alpha", "1.0", w.name, wh.sha256_of(w)) for w in [make_wheel(wheels, "alpha", "1.0")]]
    lock = tmp_path / "kaggle.lock"
    wh.write_lock(lock, entries, wh.Target(), [wh.Locked("torch", "2.10.0", "")])
    return wheels, lock


def cfg(**changes) -> KaggleConfig:
    return KaggleConfig(**{"user": "tester", **changes})


def test_kernel_metadata_has_the_documented_fields():
    meta = kaggle.kernel_metadata(cfg(model_sources=["tester/arc-model/transformers/tiny/3"]), "tester")
    assert meta == {
        "id": "tester/arc-solver-kit-submission",
        "title": "ARC solver kit submission",
        "code_file": "kaggle_submission.ipynb",
        "language": "python",
        "kernel_type": "notebook",
        "is_private": True,
        "enable_gpu": True,
        "enable_tpu": False,
        "enable_internet": False,
        "machine_shape": "NvidiaL4",
        "docker_image_pinning_type": "original",
        "dataset_sources": ["tester/arc-solver-kit", "tester/arc-solver-wheels"],
        "competition_sources": ["arc-prize-2026-arc-agi-2"],
        "kernel_sources": [],
        "model_sources": ["tester/arc-model/transformers/tiny/3"],
    }


def test_prepare_writes_three_valid_upload_folders(tmp_path, wheelhouse):
    wheels, lock = wheelhouse
    build = tmp_path / "build"
    assert kaggle.prepare(cfg(), build, wheels, lock) == []
    kernel = json.loads((build / "kernel" / "kernel-metadata.json").read_text())
    assert (build / "kernel" / kernel["code_file"]).read_text() == kaggle.NOTEBOOK.read_text()
    kit = json.loads((build / "kit" / "dataset-metadata.json").read_text())
    assert kit["id"] == "tester/arc-solver-kit" and kit["licenses"] == [{"name": "other"}]
    assert (build / "kit" / "solver" / "__main__.py").is_file() and (build / "kit" / "configs" / "cpu.toml").is_file()
    assert not list((build / "kit").rglob("__pycache__"))
    wheels_meta = json.loads((build / "wheels" / "dataset-metadata.json").read_text())
    assert wheels_meta["id"] == "tester/arc-solver-wheels"
    assert sorted(p.name for p in (build / "wheels").iterdir()) == [
        "alpha-1.0-py3-none-any.whl", "dataset-metadata.json", "kaggle.lock"]
    assert kaggle.validate_build(build) == []


def test_prepare_ships_the_locks_for_other_images_and_their_wheels(tmp_path, wheelhouse):
    """A lock per candidate image (kaggle-cp312.lock beside kaggle.lock): all shipped, with every wheel each
    needs, so that the notebook can install the one made for the image it runs on."""
    wheels, lock = wheelhouse
    beta = make_wheel(wheels, "beta", "2.0")
    wh.write_lock(tmp_path / "kaggle-cp312.lock", [wh.Locked("beta", "2.0", beta.name, wh.sha256_of(beta))],
                  wh.Target(python="3.12", abi="cp312", torch="2.11.0"), [wh.Locked("torch", "2.11.0", "")])
    build = tmp_path / "build"
    assert kaggle.prepare(cfg(), build, wheels, lock) == []
    assert sorted(p.name for p in (build / "wheels").iterdir()) == [
        "alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl", "dataset-metadata.json", "kaggle-cp312.lock",
        "kaggle.lock"]
    (build / "wheels" / "beta-2.0-py3-none-any.whl").unlink()
    assert kaggle.validate_build(build) == [
        f"wheels: kaggle-cp312.lock: beta==2.0: wheel beta-2.0-py3-none-any.whl missing from {build / 'wheels'}"]


def test_prepare_reports_wheels_not_downloaded(tmp_path, wheelhouse):
    wheels, lock = wheelhouse
    problems = kaggle.prepare(cfg(), tmp_path / "build", tmp_path / "empty", lock)
    assert problems == [f"wheels: alpha==1.0: wheel alpha-1.0-py3-none-any.whl missing from "
                        f"{tmp_path / 'build' / 'wheels'}"]


@pytest.mark.parametrize("change, problem", [
    ({"id": "tester"}, "kernel id 'tester' must look like .../..."),
    ({"id": "tester/Bad_Slug"}, "kernel slug 'Bad_Slug'"),
    ({"title": "ARC"}, "title must be at least 5 characters"),
    ({"title": "Another title"}, "slugifies to 'another-title'"),
    ({"code_file": "missing.ipynb"}, "code_file 'missing.ipynb' not found"),
    ({"language": "julia"}, "language must be one of"),
    ({"kernel_type": "app"}, "kernel_type must be one of"),
    ({"enable_internet": True}, "enable_internet must be false"),
    ({"enable_gpu": "yes"}, "enable_gpu must be true or false"),
    ({"dataset_sources": ["no-owner"]}, "dataset source 'no-owner'"),
    ({"model_sources": ["a/b/c/d"]}, "model source (owner/model/framework/variation/version) 'a/b/c/d'"),
    ({"model_sources": ["a/b/c/d/latest"]}, "the version must be a number"),
    ({"competition_sources": []}, "competition_sources is empty"),
    ({"competition_sources": ["ARC Prize"]}, "must be a competition slug"),
    ({"docker_image_pinning_type": "newest"}, "docker_image_pinning_type must be original or latest"),
    ({"machine_shape": "NvidiaL4x4"}, "machine_shape 'NvidiaL4x4' is not one Kaggle knows"),
])
def test_kernel_metadata_problems(tmp_path, change, problem):
    (tmp_path / "kaggle_submission.ipynb").write_text(kaggle.NOTEBOOK.read_text())
    meta = {**kaggle.kernel_metadata(cfg(), "tester"), **change}
    assert kaggle.validate_kernel_metadata(kaggle.kernel_metadata(cfg(), "tester"), tmp_path) == []
    problems = kaggle.validate_kernel_metadata(meta, tmp_path)
    assert any(problem in p for p in problems), problems


def test_kernel_metadata_notebook_must_be_a_notebook(tmp_path):
    (tmp_path / "kaggle_submission.ipynb").write_text('{"not": "a notebook"}')
    assert kaggle.validate_kernel_metadata(kaggle.kernel_metadata(cfg(), "tester"), tmp_path) == [
        "kaggle_submission.ipynb is not a notebook (no cells)"]


@pytest.mark.parametrize("change, problem", [
    ({"id": "tester/kit"}, "dataset slug 'kit': 6-50"),
    ({"title": "Kit"}, "dataset title 'Kit' must be 6-50 characters"),
    ({"subtitle": "short"}, "subtitle must be 20-80 characters"),
    ({"licenses": []}, "licenses must hold exactly one"),
    ({"licenses": [{"name": "WTFPL"}]}, "license 'WTFPL' is not one Kaggle knows"),
])
def test_dataset_metadata_problems(tmp_path, change, problem):
    (tmp_path / "file.txt").write_text("x")
    meta = {**kaggle.kit_dataset_metadata(cfg(), "tester"), **change}
    problems = kaggle.validate_dataset_metadata(meta, tmp_path)
    assert len(problems) == 1 and problem in problems[0], problems


def test_empty_dataset_folder_is_a_problem(tmp_path):
    (tmp_path / "dataset-metadata.json").write_text("{}")
    meta = kaggle.wheels_dataset_metadata(cfg(), "tester")
    assert kaggle.validate_dataset_metadata(meta, tmp_path) == [f"{tmp_path} holds nothing to upload"]


def test_user_comes_from_config_env_or_kaggle_json(tmp_path, monkeypatch):
    with pytest.raises(kaggle.KaggleError, match="no Kaggle username"):
        kaggle.resolve_user(KaggleConfig())
    config_dir = tmp_path / "kaggle-config"
    config_dir.mkdir()
    (config_dir / "kaggle.json").write_text('{"username": "fromfile", "key": "x"}')
    assert kaggle.resolve_user(KaggleConfig()) == "fromfile"
    monkeypatch.setenv("KAGGLE_USERNAME", "fromenv")
    assert kaggle.resolve_user(KaggleConfig()) == "fromenv"
    assert kaggle.resolve_user(KaggleConfig(user="fromconfig")) == "fromconfig"


def test_credentials_are_looked_for_where_the_kaggle_cli_looks(tmp_path, monkeypatch):
    assert kaggle.credentials_source() is None
    monkeypatch.setenv("KAGGLE_USERNAME", "u")
    assert kaggle.credentials_source() is None  # a username alone is no credential
    monkeypatch.setenv("KAGGLE_KEY", "k")
    assert kaggle.credentials_source() == "KAGGLE_USERNAME and KAGGLE_KEY"
    monkeypatch.delenv("KAGGLE_KEY")
    (tmp_path / "kaggle-config").mkdir()
    (tmp_path / "kaggle-config" / "access_token").write_text("t")
    assert kaggle.credentials_source() == str(tmp_path / "kaggle-config" / "access_token")


def test_kaggle_section_takes_overrides():
    cfg_ = load_config("cpu", ["kaggle.user=me", 'kaggle.model_sources=["me/m/transformers/tiny/1"]',
                               "kaggle.machine_shape=NvidiaTeslaT4"]).kaggle
    assert (cfg_.user, cfg_.model_sources, cfg_.machine_shape) == ("me", ["me/m/transformers/tiny/1"], "NvidiaTeslaT4")
    assert kaggle.kernel_metadata(cfg_, "me")["enable_gpu"] is True


# ---- the CLI --------------------------------------------------------------------------------------------

def test_push_dry_run_prints_the_exact_commands(tmp_path, wheelhouse, capsys):
    wheels, lock = wheelhouse
    build = tmp_path / "build"
    rc = main(["kaggle", "push", "--dry-run", "--set", "kaggle.user=tester", "--build", str(build),
               "--wheels", str(wheels), "--lock", str(lock), "--message", "kit v2"])
    assert rc == 0
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if line.startswith("kaggle ")]
    assert [shlex.split(c) for c in commands] == [
        ["kaggle", "datasets", "version", "-p", str(build / "wheels"), "-m", "kit v2", "--dir-mode", "zip"],
        ["kaggle", "datasets", "version", "-p", str(build / "kit"), "-m", "kit v2", "--dir-mode", "zip"],
        ["kaggle", "datasets", "status", "tester/arc-solver-wheels"],
        ["kaggle", "datasets", "status", "tester/arc-solver-kit"],
        ["kaggle", "kernels", "push", "-p", str(build / "kernel")],
    ]
    assert "# wait for the kit dataset (repeated until it prints 'ready')" in out
    assert json.loads((build / "kernel" / "kernel-metadata.json").read_text())["id"] == \
        "tester/arc-solver-kit-submission"
    assert "kaggle" not in sys.modules  # its import authenticates; the kit only ever runs its CLI


def fake_kaggle_cli(tmp_path: Path, monkeypatch, status: str = "ready") -> Path:
    """A stand-in for the kaggle executable that logs its arguments: the real execution path runs, offline."""
    log = tmp_path / "kaggle-calls.jsonl"
    script = tmp_path / "kaggle"
    script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
                      f"if sys.argv[1:3] == ['datasets', 'status']: print({status!r})\n")
    script.chmod(0o755)
    monkeypatch.setattr(kaggle, "kaggle_executable", lambda: str(script))
    monkeypatch.setenv("KAGGLE_USERNAME", "tester")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key")
    return log


def test_push_runs_the_printed_commands(tmp_path, wheelhouse, monkeypatch, capsys):
    wheels, lock = wheelhouse
    log = fake_kaggle_cli(tmp_path, monkeypatch)
    build = tmp_path / "build"
    assert main(["kaggle", "push", "--create", "--build", str(build), "--wheels", str(wheels),
                 "--lock", str(lock)]) == 0
    printed = [shlex.split(line)[1:] for line in capsys.readouterr().out.splitlines() if line.startswith("kaggle ")]
    ran = [json.loads(line) for line in log.read_text().splitlines()]
    assert ran == printed and len(ran) == 5
    assert ran[0] == ["datasets", "create", "-p", str(build / "wheels"), "--dir-mode", "zip"]


def test_push_gives_up_on_a_dataset_that_never_gets_ready(tmp_path, wheelhouse, monkeypatch):
    wheels, lock = wheelhouse
    fake_kaggle_cli(tmp_path, monkeypatch, status="running")
    kaggle.prepare(cfg(), tmp_path / "build", wheels, lock)
    commands = kaggle.push_commands(tmp_path / "build", create=False, message="m")
    with pytest.raises(kaggle.KaggleError, match="still says 'running'"):
        kaggle.run_commands(commands, dry_run=False, poll_seconds=0.01, timeout_seconds=0.05)


def test_submit_dry_run(capsys):
    assert main(["kaggle", "submit", "--dry-run", "--set", "kaggle.user=tester", "--kernel-version", "7",
                 "--message", "first try"]) == 0
    assert ("kaggle competitions submit arc-prize-2026-arc-agi-2 -k tester/arc-solver-kit-submission "
            "-f submission.json -v 7 -m 'first try'") in capsys.readouterr().out.splitlines()


def test_first_push_creates_the_datasets(tmp_path, wheelhouse, capsys):
    wheels, lock = wheelhouse
    build = tmp_path / "build"
    assert main(["kaggle", "push", "--dry-run", "--create", "--set", "kaggle.user=tester", "--build", str(build),
                 "--wheels", str(wheels), "--lock", str(lock)]) == 0
    out = capsys.readouterr().out
    assert f"kaggle datasets create -p {build / 'wheels'} --dir-mode zip" in out
    assert f"kaggle datasets create -p {build / 'kit'} --dir-mode zip" in out


def test_push_without_credentials_stops_before_running_anything(tmp_path, wheelhouse, monkeypatch, capsys):
    wheels, lock = wheelhouse
    ran = []
    monkeypatch.setattr(kaggle.subprocess, "run", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(kaggle, "kaggle_executable", lambda: "/usr/bin/kaggle")
    rc = main(["kaggle", "push", "--set", "kaggle.user=tester", "--build", str(tmp_path / "build"),
               "--wheels", str(wheels), "--lock", str(lock)])
    assert rc == 2 and ran == []
    assert "no Kaggle credentials" in capsys.readouterr().err


def test_push_with_problems_runs_nothing(tmp_path, wheelhouse, monkeypatch, capsys):
    wheels, lock = wheelhouse
    ran = []
    monkeypatch.setattr(kaggle.subprocess, "run", lambda *a, **k: ran.append(a))
    rc = main(["kaggle", "push", "--set", "kaggle.user=tester", "--build", str(tmp_path / "build"),
               "--wheels", str(tmp_path / "nowhere"), "--lock", str(lock)])
    assert rc == 1 and ran == []
    assert "problem: wheels: alpha==1.0: wheel alpha-1.0-py3-none-any.whl missing" in capsys.readouterr().err


def test_validate_command(tmp_path, wheelhouse, capsys):
    wheels, lock = wheelhouse
    build = tmp_path / "build"
    kaggle.prepare(cfg(), build, wheels, lock)
    assert main(["kaggle", "validate", "--build", str(build)]) == 0
    meta = json.loads((build / "kit" / "dataset-metadata.json").read_text())
    (build / "kit" / "dataset-metadata.json").write_text(json.dumps({**meta, "title": "Kit"}))
    assert main(["kaggle", "validate", "--build", str(build)]) == 1
    assert "problem: kit: dataset title 'Kit' must be 6-50 characters" in capsys.readouterr().err


def test_download_dry_run(tmp_path, capsys):
    assert main(["kaggle", "download", "--dry-run", "--dest", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert f"kaggle competitions download arc-prize-2026-arc-agi-2 -p {tmp_path / 'data'}" in out.splitlines()


def test_competition_zip_is_unpacked(tmp_path):
    with zipfile.ZipFile(tmp_path / "arc.zip", "w") as zf:
        zf.writestr("arc-agi_test_challenges.json", "{}")
    assert kaggle.extract_competition_zip("arc", tmp_path) == [tmp_path / "arc-agi_test_challenges.json"]
    assert not (tmp_path / "arc.zip").exists()


def test_prepare_without_username_is_a_clear_error(tmp_path, capsys):
    assert main(["kaggle", "prepare", "--build", str(tmp_path / "build")]) == 2
    assert "no Kaggle username" in capsys.readouterr().err


def test_prepare_command(tmp_path, wheelhouse, capsys):
    wheels, lock = wheelhouse
    build = tmp_path / "build"
    assert main(["kaggle", "prepare", "--set", "kaggle.user=tester", "--build", str(build), "--wheels",
                 str(wheels), "--lock", str(lock)]) == 0
    assert f"wrote {build / 'kernel'}, {build / 'kit'}, {build / 'wheels'}" in capsys.readouterr().out
    assert main(["kaggle", "prepare", "--set", "kaggle.user=tester", "--build", str(build), "--wheels",
                 str(tmp_path / "nowhere"), "--lock", str(lock)]) == 1


def test_submit_needs_a_version(capsys):
    assert main(["kaggle", "submit", "--dry-run", "--set", "kaggle.user=tester"]) == 2
    assert "submit needs --kernel-version N" in capsys.readouterr().err
