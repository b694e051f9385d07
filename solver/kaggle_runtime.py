"""What the Kaggle notebook does around the run: find the attached inputs, go offline, install the wheels,
run the kit's CLI, and make sure a valid submission.json exists whatever happened.

Standard library only: the notebook imports this before anything is installed. Paths come from the caller
(the notebook's settings cell), so the same code runs on Kaggle and locally.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

LOCK_NAME = "kaggle.lock"  # written by offline_wheels/wheelhouse.py, shipped with the wheels
# More locks for other images beside it (kaggle-cp312.lock: Python 3.12, torch 2.11); install picks the one whose
# target is this image (choose_lock).
LOCK_GLOB = "kaggle*.lock"

# Nothing may reach for the network: Hugging Face libraries would otherwise try the Hub before the local
# files, and trackers that unsloth/trl start by default would try to log in.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "WANDB_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONDONTWRITEBYTECODE": "1",  # the kit runs from a read-only dataset folder
}

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "model*.bin")


class NotebookInputError(RuntimeError):
    pass


def go_offline(env: dict[str, str] | None = None) -> dict[str, str]:
    """OFFLINE_ENV set in `env` (default: this process's environment); values already set are kept."""
    env = os.environ if env is None else env
    for key, value in OFFLINE_ENV.items():
        env.setdefault(key, value)
    return env


def _search(root: Path, pattern: str, depth: int) -> list[Path]:
    """Matches of `pattern` at most `depth` folders below root (Kaggle mounts inputs at /kaggle/input/<slug>/
    or, for competitions and models, a few levels deeper)."""
    found: list[Path] = []
    for level in range(depth + 1):
        found += sorted(root.glob("/".join(["*"] * level + [pattern])))
    return found


def find_wheels(input_dir: Path) -> Path | None:
    """The wheels dataset: the folder holding kaggle.lock, or None when none is attached."""
    hits = _search(input_dir, LOCK_NAME, 3)
    return hits[0].parent if hits else None


def find_model(input_dir: Path) -> Path | None:
    """A Hugging Face model folder (config.json beside weights) among the inputs, or None. Kaggle Models mount
    at <slug>/<framework>/<variation>/<version>/, or models/<owner>/<slug>/<framework>/<variation>/<version>/
    (NVARC's: models/sorokin/qwen3_4b_grids15_sft139/transformers/bfloat16/1), hence the depth."""
    hits = [p.parent for p in _search(input_dir, "config.json", 6)
            if any(next(p.parent.glob(w), None) for w in WEIGHT_PATTERNS)]
    if len(hits) > 1:
        raise NotebookInputError(f"several model folders under {input_dir}: {', '.join(map(str, hits))}; "
                                 "set KIT_MODEL_DIR to the one to use")
    return hits[0] if hits else None


def challenges_rank(path: Path, competition: str = "") -> tuple:
    """Sort key, the likeliest competition file first: under the competition's folder, under Kaggle's
    competitions/ mount, beside a sample_submission.json (as a competition's data folder is), the shallowest."""
    return (not (competition and competition in path.parts), "competitions" not in path.parts,
            not (path.parent / "sample_submission.json").is_file(), len(path.parts), str(path))


def find_challenges(input_dir: Path, competition: str = "") -> list[Path]:
    """Every *test_challenges.json among the inputs, the likeliest competition file first (challenges_rank).
    The run takes the first: the submission must hold the tasks of one file, no more, and Kaggle swaps only
    the competition's. Several are the caller's to report (a copy attached as a dataset, a changed slug)."""
    hits = sorted(_search(input_dir, "*test_challenges.json", 3), key=lambda p: challenges_rank(p, competition))
    if not hits:
        raise NotebookInputError(f"no *test_challenges.json under {input_dir}: attach the competition or set "
                                 "KIT_CHALLENGES")
    return hits


# ---- installing the wheels ------------------------------------------------------------------------------

def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` pin in a lock (or any pinned requirements file)."""
    pins = {}
    for line in lock.read_text().splitlines():
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if m:
            pins[_normalize(m.group(1))] = m.group(2)
    return pins


def not_installed(lock: Path) -> list[str]:
    """Pins of the lock that this Python does not have at exactly that version."""
    missing = []
    for name, version in locked_versions(lock).items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have != version:
            missing.append(f"{name}=={version}" + (f" (have {have})" if have else ""))
    return missing


def lock_files(wheels: Path) -> list[Path]:
    """The locks of a wheels folder, kaggle.lock first."""
    return sorted(wheels.glob(LOCK_GLOB), key=lambda p: (p.name != LOCK_NAME, p.name))


def lock_target(lock: Path) -> dict[str, str]:
    """The target a lock was resolved for, from its '# target: python=3.11 abi=cp311 ... torch=2.10.0' line
    ({} for a lock without one)."""
    for line in lock.read_text().splitlines():
        if line.startswith("# target:"):
            return dict(kv.split("=", 1) for kv in line[len("# target:"):].split() if "=" in kv)
    return {}


def installed_torch() -> str:
    """This Python's torch version without its local label (2.11.0+cu128 -> 2.11.0); '' without torch."""
    try:
        return importlib.metadata.version("torch").split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return ""


def choose_lock(wheels: Path, python: str = "", torch: str | None = None) -> Path:
    """The lock made for this image: among the wheels folder's locks, the one whose target has this Python
    (major.minor) and this torch, else this Python, else kaggle.lock (whose install then fails cleanly, naming
    the mismatch). One lock alone is taken as it is."""
    locks = lock_files(wheels)
    if len(locks) <= 1:
        return locks[0] if locks else wheels / LOCK_NAME
    python = python or f"{sys.version_info[0]}.{sys.version_info[1]}"
    torch = installed_torch() if torch is None else torch

    def fit(lock: Path) -> tuple[bool, bool]:
        target = lock_target(lock)
        return target.get("python") == python, target.get("python") == python and target.get("torch") == torch
    return max(locks, key=fit)  # max keeps the first of equals: kaggle.lock


def install_command(wheels: Path, constraints: Path, python: str = sys.executable,
                    lock: Path | None = None) -> list[str]:
    """pip, offline: only the wheels dataset, every wheel checked against its locked hash, and the image's
    torch family pinned by `constraints` so that no dependency can swap it for another build."""
    return [python, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), "--require-hashes",
            "--no-cache-dir", "--quiet", "-r", str(lock or wheels / LOCK_NAME), "-c", str(constraints)]


def image_pins(lock: Path) -> str:
    """Constraints `name==<installed version>` (local label included, e.g. +cu128) for the packages the lock
    leaves to the image (its header line '# provided by the image...'). Pinned to what is installed, not to
    what the lock was resolved with: a mismatch then fails the install instead of replacing the image's build."""
    pins = []
    for line in lock.read_text().splitlines():
        if line.startswith("# provided by the image"):
            for name in re.findall(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", line):
                try:
                    pins.append(f"{name}=={importlib.metadata.version(name)}\n")
                except importlib.metadata.PackageNotFoundError:
                    pass
    return "".join(pins)


def install_wheels(wheels: Path | None, mode: str = "auto") -> str:
    """Install the locked wheels. mode: 'auto' installs when some locked version is missing, 'always' installs,
    'never' skips (packages already importable, e.g. a local run). Returns what was done, in words; a failed
    install is reported, not raised."""
    if mode not in ("auto", "always", "never"):
        raise NotebookInputError(f"KIT_INSTALL must be auto, always or never, not {mode!r}")
    if mode == "never":
        return "install skipped (KIT_INSTALL=never)"
    if wheels is None:
        if mode == "always":
            raise NotebookInputError(f"KIT_INSTALL=always but no wheels dataset ({LOCK_NAME}) is attached")
        return f"install skipped: no wheels dataset ({LOCK_NAME}) attached"
    lock = choose_lock(wheels)
    which = "" if lock.name == LOCK_NAME else f" ({lock.name})"
    missing = not_installed(lock)
    if mode == "auto" and not missing:
        return f"install skipped: all {len(locked_versions(lock))} locked packages{which} already installed"
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "image-pins.txt"
        constraints.write_text(image_pins(lock))
        returncode = subprocess.run(install_command(wheels, constraints, lock=lock)).returncode
    if returncode != 0:
        # Stopping here would leave Kaggle without a submission: the run goes on with what is installed, and
        # the last cell repairs the submission if the run cannot start.
        target = lock_target(lock)
        return (f"INSTALL FAILED (pip exit status {returncode}, its errors above): the run goes on with what is "
                f"installed. {lock.name} was made for Python {target.get('python', '?')} and torch "
                f"{target.get('torch', '?')}; this image has Python {sys.version_info[0]}.{sys.version_info[1]} "
                f"and torch {installed_torch() or 'none'}.")
    return f"installed {len(missing)} packages from {wheels}{which}"


# ---- the run --------------------------------------------------------------------------------------------

def choose_preset(kit: Path, model: Path | None, requested: str = "") -> str:
    """The requested preset, else `kaggle` (the GPU preset) when a model is attached and the kit has it, else
    `cpu`: without a model the program search and the baselines still make a submission."""
    if requested:
        return requested
    return "kaggle" if model is not None and (kit / "configs" / "kaggle.toml").exists() else "cpu"


def run_command(kit: Path, challenges: Path, submission: Path, preset: str, budget_seconds: float | None,
                model: Path | None = None, settings: Sequence[str] = (), python: str = sys.executable,
                selfcheck: Path | None = None) -> list[str]:
    """The kit's CLI (`python -m solver run`), the one interface the notebook relies on. `selfcheck`: the
    report of selfcheck_command, whose switches the run applies and journals."""
    cmd = [python, "-m", "solver", "run", "--challenges", str(challenges), "--out", str(submission),
           "--config", preset, "--no-progress"]
    if budget_seconds is not None:
        cmd += ["--budget", f"{budget_seconds:g}"]
    if selfcheck is not None:
        cmd += ["--selfcheck", str(selfcheck)]
    return cmd + _model_and_settings(model, settings)


def selfcheck_command(preset: str, model: Path, settings: Sequence[str], report: Path,
                      python: str = sys.executable) -> list[str]:
    """`python -m solver selfcheck --fallback`: every neural path of the preset run once on this machine, a
    failing one switched off (report["switches"]) until all that are left pass."""
    cmd = [python, "-m", "solver", "selfcheck", "--fallback", "--config", preset, "--out", str(report)]
    return cmd + _model_and_settings(model, settings)


def _model_and_settings(model: Path | None, settings: Sequence[str]) -> list[str]:
    args = ["--set", f"model.path={json.dumps(str(model))}"] if model is not None else []
    for s in settings:
        args += ["--set", s]
    return args


def selfcheck_switches(report: Path) -> list[str]:
    """The switches a fallback self-check chose (what the run will turn off), from its report."""
    switches = json.loads(report.read_text())["switches"]
    if not isinstance(switches, list) or not all(isinstance(s, str) for s in switches):
        raise ValueError(f"{report}: 'switches' is not a list of settings")
    return switches


def run_kit(cmd: list[str], kit: Path) -> int:
    """Run the kit in a child process, its output streamed into the notebook. A child that dies (CUDA OOM, a
    killed worker) leaves the notebook alive to repair the submission."""
    env = go_offline(dict(os.environ))
    env["PYTHONPATH"] = os.pathsep.join([str(kit), *filter(None, [env.get("PYTHONPATH")])])
    with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as child:
        for line in child.stdout:
            print(line, end="", flush=True)
    return child.returncode


def _is_grid(value: object) -> bool:
    """The Kaggle rules for a grid (1-30 rows of 1-30 equal-length rows of integers 0-9), restated without
    numpy because this module runs before anything is installed (solver.tasks.as_grid is the kit's own check)."""
    return (isinstance(value, list) and 1 <= len(value) <= 30 and all(isinstance(r, list) for r in value)
            and 1 <= len(value[0]) <= 30 and all(len(r) == len(value[0]) for r in value)
            and all(type(c) is int and 0 <= c <= 9 for r in value for c in r))


def ensure_submission(submission: Path, challenges: Path) -> str:
    """Leave a submission Kaggle accepts: the run's file when every task is complete and valid, else the run's
    attempts where they are and the test input itself (or a 1x1 grid) elsewhere. Returns what was done."""
    tasks = json.loads(challenges.read_text())
    try:
        written = json.loads(submission.read_text())
        why = "incomplete or invalid"
    except (OSError, json.JSONDecodeError) as exc:
        written, why = {}, f"unreadable ({type(exc).__name__})"
    if not isinstance(written, dict):
        written, why = {}, "not a JSON object"

    def usable(task_id: str) -> bool:
        entries = written.get(task_id)
        return (isinstance(entries, list) and len(entries) == len(tasks[task_id].get("test", []))
                and all(isinstance(e, dict) and _is_grid(e.get("attempt_1")) and _is_grid(e.get("attempt_2"))
                        for e in entries))

    bad = [t for t in tasks if not usable(t)]
    if not bad and set(written) == set(tasks):
        return f"submission complete: {len(tasks)} tasks"
    repaired = {}
    for task_id, task in tasks.items():
        if task_id in bad:
            grids = [t.get("input") if isinstance(t, dict) and _is_grid(t.get("input")) else [[0]]
                     for t in task.get("test", [])]
            repaired[task_id] = [{"attempt_1": g, "attempt_2": g} for g in grids]
        else:
            repaired[task_id] = written[task_id]
    tmp = submission.with_name(f".{submission.name}.repair")
    tmp.write_text(json.dumps(repaired, separators=(",", ":")))
    os.replace(tmp, submission)
    return f"submission was {why}: {len(bad)} of {len(tasks)} tasks given their test inputs as attempts"
