"""Delivery to Kaggle: the upload folders with their metadata, their validation, and the `kaggle` CLI
commands that push them and download the competition data.

    BUILD/kernel/  kaggle_submission.ipynb, kernel-metadata.json          -> kaggle kernels push
    BUILD/kit/     solver/, configs/, pyproject.toml, requirements.txt,   -> kaggle datasets create|version
                   dataset-metadata.json
    BUILD/wheels/  the locked wheels, kaggle.lock and the locks for       -> kaggle datasets create|version
                   other images beside it (kaggle-cp312.lock), dataset-metadata.json

The metadata follow the Kaggle API's documented fields (kaggle-api docs/kernels_metadata.md and
docs/datasets_metadata.md) and the checks `kaggle kernels push` / `kaggle datasets create` make before
uploading. The `kaggle` package is never imported: its import authenticates, and may call the API. Its CLI
runs in a child process, so `--dry-run` prints exactly the commands a real push runs.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .config import KaggleConfig

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "kaggle_submission.ipynb"
WHEELHOUSE_SCRIPT = REPO / "offline_wheels" / "wheelhouse.py"
KIT_CONTENTS = ("solver", "configs", "pyproject.toml", "requirements.txt")

KERNEL_METADATA = "kernel-metadata.json"
DATASET_METADATA = "dataset-metadata.json"
LOCK_NAME = "kaggle.lock"

# From the Kaggle API documentation and `kaggle kernels push`.
KERNEL_LANGUAGES = ("python", "r", "rmarkdown")
KERNEL_TYPES = ("script", "notebook")
# `machine_shape`: kaggle-cli docs/kernels.md, "Accelerators available" (some only to a competition's
# participants), plus the older P100 and TPU v3 names. Kaggle's push accepts an unknown name and runs the
# notebook on a default GPU (public ARC Prize 2026 notes report a P100, which the image's CUDA 12.8 torch
# cannot use, kaggle-cli PR #1156): a typo would cost a whole run, so it is refused here.
MACHINE_SHAPES = ("NvidiaTeslaT4", "NvidiaTeslaT4Highmem", "NvidiaTeslaA100", "NvidiaL4", "NvidiaL4X1",
                  "NvidiaH100", "NvidiaRtxPro6000", "NvidiaTeslaP100", "TpuV5E8", "TpuV6E8", "TpuV38",
                  "Tpu1VmV38")
# docs/datasets_metadata.md, "Licenses".
DATASET_LICENSES = ("CC0-1.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC-BY-NC-SA-4.0", "GPL-2.0", "ODbL-1.0",
                    "DbCL-1.0", "copyright-authors", "other", "unknown", "CC-BY-4.0", "CC-BY-NC-4.0", "PDDL",
                    "CC-BY-3.0", "CC-BY-3.0-IGO", "US-Government-Works", "CC-BY-NC-SA-3.0-IGO",
                    "CDLA-Permissive-1.0", "CDLA-Sharing-1.0", "CC-BY-ND-4.0", "CC-BY-NC-ND-4.0", "ODC-BY-1.0",
                    "LGPL-3.0", "AGPL-3.0", "FDL-1.3", "EU-ODP-Legal-Notice", "apache-2.0", "GPL-3.0")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class KaggleError(RuntimeError):
    pass


def slugify(title: str) -> str:
    """A Kaggle slug: the title lowercased, runs of anything else than letters and digits made one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def kaggle_config_dir() -> Path:
    """Where the kaggle CLI keeps its credentials: $KAGGLE_CONFIG_DIR, ~/.kaggle, else ~/.config/kaggle."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"])
    home = Path.home() / ".kaggle"
    return home if home.exists() else Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "kaggle"


def credentials_source() -> str | None:
    """Where the kaggle CLI would find credentials, in words, or None. Looks only: nothing is read or sent."""
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME and KAGGLE_KEY"
    for name in ("access_token", "kaggle.json"):
        if (kaggle_config_dir() / name).is_file():
            return str(kaggle_config_dir() / name)
    return None


def resolve_user(cfg: KaggleConfig) -> str:
    """The owner of the notebook and datasets: kaggle.user, else KAGGLE_USERNAME, else kaggle.json's."""
    user = cfg.user or os.environ.get("KAGGLE_USERNAME", "")
    if not user:
        try:
            user = json.loads((kaggle_config_dir() / "kaggle.json").read_text()).get("username", "")
        except (OSError, json.JSONDecodeError):
            user = ""
    if not user:
        raise KaggleError("no Kaggle username: pass --set kaggle.user=NAME, or set KAGGLE_USERNAME")
    return user


# ---- metadata -------------------------------------------------------------------------------------------

def kernel_metadata(cfg: KaggleConfig, user: str) -> dict:
    return {
        "id": f"{user}/{slugify(cfg.kernel_title)}",
        "title": cfg.kernel_title,
        "code_file": NOTEBOOK.name,
        "language": "python",
        "kernel_type": "notebook",
        "is_private": cfg.private,
        "enable_gpu": cfg.machine_shape.startswith("Nvidia"),
        "enable_tpu": cfg.machine_shape.startswith("Tpu"),
        # Code competitions run submissions without internet; a notebook that needs it cannot be submitted.
        "enable_internet": False,
        "machine_shape": cfg.machine_shape,
        # Keep the image the notebook was created with: the wheels are locked against its torch.
        "docker_image_pinning_type": "original",
        "dataset_sources": [f"{user}/{cfg.kit_dataset}", f"{user}/{cfg.wheels_dataset}", *cfg.dataset_sources],
        "competition_sources": [cfg.competition],
        "kernel_sources": [],
        "model_sources": list(cfg.model_sources),
    }


def dataset_metadata(user: str, slug: str, title: str, description: str) -> dict:
    return {"id": f"{user}/{slug}", "title": title, "description": description,
            "licenses": [{"name": "other"}]}


def kit_dataset_metadata(cfg: KaggleConfig, user: str) -> dict:
    return dataset_metadata(user, cfg.kit_dataset, "ARC solver kit source",
                            "The solver kit's source (solver/, configs/). The submission notebook puts this "
                            "folder on PYTHONPATH and runs `python -m solver run`.")


def wheels_dataset_metadata(cfg: KaggleConfig, user: str) -> dict:
    return dataset_metadata(user, cfg.wheels_dataset, "ARC solver kit offline wheels",
                            "Wheels for the Kaggle image (CPython 3.11, x86-64 Linux), each under its own "
                            "license, and kaggle.lock pinning them with hashes. Install with: pip install "
                            "--no-index --find-links THIS_FOLDER --require-hashes -r THIS_FOLDER/kaggle.lock")


# ---- validation -----------------------------------------------------------------------------------------

def _check_ref(ref: object, parts: int, what: str, problems: list[str], optional_version: bool = False) -> None:
    """`owner/slug...` references: the right number of non-empty parts."""
    pieces = ref.split("/") if isinstance(ref, str) else []
    counts = (parts, parts + 1) if optional_version else (parts,)
    if len(pieces) not in counts or not all(pieces):
        problems.append(f"{what} {ref!r} must look like {'/'.join(['...'] * parts)}")


def validate_kernel_metadata(meta: dict, folder: Path) -> list[str]:
    """The checks `kaggle kernels push` makes, plus what a competition submission needs."""
    problems = []
    ref = meta.get("id", "")
    _check_ref(ref, 2, "kernel id", problems)
    slug = ref.split("/")[-1] if isinstance(ref, str) else ""
    if slug and not SLUG.match(slug):
        problems.append(f"kernel slug {slug!r}: only lowercase letters, digits and single dashes")
    title = meta.get("title", "")
    if not isinstance(title, str) or len(title) < 5:
        problems.append("title must be at least 5 characters")
    elif slug and slugify(title) != slug:
        problems.append(f"title {title!r} slugifies to {slugify(title)!r}, not the id's {slug!r}")
    code = folder / str(meta.get("code_file", ""))
    if not meta.get("code_file") or not code.is_file():
        problems.append(f"code_file {meta.get('code_file')!r} not found in {folder}")
    elif meta.get("kernel_type") == "notebook":
        try:
            if "cells" not in json.loads(code.read_text()):
                problems.append(f"{code.name} is not a notebook (no cells)")
        except json.JSONDecodeError as exc:
            problems.append(f"{code.name} is not JSON: {exc}")
    if meta.get("language") not in KERNEL_LANGUAGES:
        problems.append(f"language must be one of {KERNEL_LANGUAGES}")
    if meta.get("kernel_type") not in KERNEL_TYPES:
        problems.append(f"kernel_type must be one of {KERNEL_TYPES}")
    for key in ("is_private", "enable_gpu", "enable_tpu", "enable_internet"):
        if key in meta and not isinstance(meta[key], bool) and meta[key] not in ("true", "false"):
            problems.append(f"{key} must be true or false")
    if meta.get("machine_shape") and meta["machine_shape"] not in MACHINE_SHAPES:
        problems.append(f"machine_shape {meta['machine_shape']!r} is not one Kaggle knows, which would run the "
                        f"notebook on its default GPU; known: {', '.join(MACHINE_SHAPES)}")
    if meta.get("enable_internet") not in (False, "false"):
        problems.append("enable_internet must be false: competition notebooks run offline")
    for key in ("dataset_sources", "competition_sources", "kernel_sources", "model_sources"):
        if not isinstance(meta.get(key, []), list):
            problems.append(f"{key} must be a list")
    for ref in meta.get("dataset_sources", []):
        _check_ref(ref, 2, "dataset source", problems, optional_version=True)
    for ref in meta.get("kernel_sources", []):
        _check_ref(ref, 2, "kernel source", problems, optional_version=True)
    for ref in meta.get("model_sources", []):
        _check_ref(ref, 5, "model source (owner/model/framework/variation/version)", problems)
        if isinstance(ref, str) and ref.count("/") == 4 and not ref.rsplit("/", 1)[1].isdigit():
            problems.append(f"model source {ref!r}: the version must be a number")
    for ref in meta.get("competition_sources", []):
        if not isinstance(ref, str) or not SLUG.match(ref):
            problems.append(f"competition source {ref!r} must be a competition slug")
    if not meta.get("competition_sources"):
        problems.append("competition_sources is empty: the notebook needs the competition's data")
    if meta.get("docker_image_pinning_type") not in (None, "original", "latest"):
        problems.append("docker_image_pinning_type must be original or latest")
    return problems


def validate_dataset_metadata(meta: dict, folder: Path) -> list[str]:
    """The checks `kaggle datasets create` makes, and that the folder has something to upload."""
    problems = []
    ref = meta.get("id", "")
    _check_ref(ref, 2, "dataset id", problems)
    slug = ref.split("/")[-1] if isinstance(ref, str) else ""
    if slug and not (SLUG.match(slug) and 6 <= len(slug) <= 50):
        problems.append(f"dataset slug {slug!r}: 6-50 lowercase letters, digits and dashes")
    title = meta.get("title", "")
    if not isinstance(title, str) or not 6 <= len(title) <= 50:
        problems.append(f"dataset title {title!r} must be 6-50 characters")
    subtitle = meta.get("subtitle")
    if subtitle is not None and not 20 <= len(subtitle) <= 80:
        problems.append("subtitle must be 20-80 characters")
    licenses = meta.get("licenses")
    if not isinstance(licenses, list) or len(licenses) != 1 or not isinstance(licenses[0], dict):
        problems.append("licenses must hold exactly one {\"name\": ...}")
    elif licenses[0].get("name") not in DATASET_LICENSES:
        problems.append(f"license {licenses[0].get('name')!r} is not one Kaggle knows")
    if not any(p.name != DATASET_METADATA for p in folder.iterdir()):
        problems.append(f"{folder} holds nothing to upload")
    return problems


@functools.cache
def wheelhouse_module():
    """offline_wheels/wheelhouse.py, the owner of the lock format (a standalone script, loaded by path)."""
    spec = importlib.util.spec_from_file_location("offline_wheels_wheelhouse", WHEELHOUSE_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their class's module up while the class is made
    spec.loader.exec_module(module)
    return module


def validate_build(build: Path) -> list[str]:
    """Every problem in the three upload folders, each prefixed with its folder name."""
    problems = []
    for name, metadata_file, check in (("kernel", KERNEL_METADATA, validate_kernel_metadata),
                                       ("kit", DATASET_METADATA, validate_dataset_metadata),
                                       ("wheels", DATASET_METADATA, validate_dataset_metadata)):
        path = build / name / metadata_file
        try:
            meta = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{name}: cannot read {path}: {exc}")
            continue
        problems += [f"{name}: {p}" for p in check(meta, build / name)]
    if not (build / "kit" / "solver" / "__main__.py").is_file():
        problems.append("kit: solver/__main__.py missing")
    wheel_dir = build / "wheels"
    if not (wheel_dir / LOCK_NAME).is_file():
        problems.append(f"wheels: {LOCK_NAME} missing")
    wheelhouse = wheelhouse_module()
    for lock in companion_locks(wheel_dir / LOCK_NAME):  # every lock the notebook may choose (kaggle_runtime)
        problems += [f"wheels: {lock.name}: {p}" if lock.name != LOCK_NAME else f"wheels: {p}"
                     for p in wheelhouse.wheel_problems(wheelhouse.read_lock(lock), wheel_dir)]
    return problems


def companion_locks(lock: Path) -> list[Path]:
    """The lock and the other locks beside it (kaggle*.lock: one per Kaggle image, e.g. kaggle-cp312.lock),
    the given one first: prepare ships them all, and the notebook installs the one made for its image."""
    if not lock.parent.is_dir():
        return []
    others = sorted(p for p in lock.parent.glob("kaggle*.lock") if p.name != lock.name)
    return ([lock] if lock.is_file() else []) + others


# ---- building the upload folders ------------------------------------------------------------------------

def _write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard link when possible: the wheels are gigabytes and never modified."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def prepare(cfg: KaggleConfig, build: Path, wheels: Path, lock: Path) -> list[str]:
    """Write the three upload folders under `build` (replacing what was there); returns the problems found."""
    user = resolve_user(cfg)
    if build.exists():
        shutil.rmtree(build)
    kernel, kit, wheel_dir = build / "kernel", build / "kit", build / "wheels"
    for folder in (kernel, kit, wheel_dir):
        folder.mkdir(parents=True)

    shutil.copy2(NOTEBOOK, kernel / NOTEBOOK.name)
    _write_json(kernel / KERNEL_METADATA, kernel_metadata(cfg, user))

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in KIT_CONTENTS:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, kit / name, ignore=ignore)
        else:
            shutil.copy2(src, kit / name)
    _write_json(kit / DATASET_METADATA, kit_dataset_metadata(cfg, user))

    for extra, path in enumerate(companion_locks(lock)):
        shutil.copy2(path, wheel_dir / (path.name if extra else LOCK_NAME))
        for entry in wheelhouse_module().read_lock(path):
            if (wheels / entry.filename).is_file() and not (wheel_dir / entry.filename).exists():
                _link_or_copy(wheels / entry.filename, wheel_dir / entry.filename)
    _write_json(wheel_dir / DATASET_METADATA, wheels_dataset_metadata(cfg, user))
    print(f"wrote {kernel}, {kit}, {wheel_dir}")
    return validate_build(build)


# ---- kaggle CLI commands --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    why: str
    until: str = ""  # repeat the command until its output holds this word (a dataset still being processed)

    def text(self) -> str:
        return shlex.join(self.argv)


def push_commands(build: Path, create: bool, message: str) -> list[Command]:
    """Upload the wheels and the kit as datasets (created the first time, new versions after), wait until
    Kaggle has processed both, then push the notebook, which Kaggle runs once with its sources attached."""
    def upload(name: str) -> Command:
        folder = str(build / name)
        # --dir-mode zip: the kit has folders (solver/, configs/); the kaggle CLI uploads each as an archive
        # and Kaggle unpacks it back into a folder, which is what the notebook reads.
        if create:
            return Command(("kaggle", "datasets", "create", "-p", folder, "--dir-mode", "zip"),
                           f"create the {name} dataset (private)")
        return Command(("kaggle", "datasets", "version", "-p", folder, "-m", message, "--dir-mode", "zip"),
                       f"new version of the {name} dataset")

    def ready(name: str) -> Command:
        ref = json.loads((build / name / DATASET_METADATA).read_text())["id"]
        # A notebook pushed before its datasets are processed runs with their previous version, or none.
        return Command(("kaggle", "datasets", "status", ref), f"wait for the {name} dataset", until="ready")

    return [upload("wheels"), upload("kit"), ready("wheels"), ready("kit"),
            Command(("kaggle", "kernels", "push", "-p", str(build / "kernel")),
                    "push the notebook; Kaggle runs it once with the sources of kernel-metadata.json")]


def download_commands(competition: str, dest: Path) -> list[Command]:
    return [Command(("kaggle", "competitions", "download", competition, "-p", str(dest)),
                    f"download the competition data as {dest / (competition + '.zip')}")]


def submit_commands(cfg: KaggleConfig, user: str, version: int, message: str) -> list[Command]:
    """Submit a version of the pushed notebook: Kaggle reruns it on the hidden test tasks and scores the
    submission.json it writes."""
    kernel = f"{user}/{slugify(cfg.kernel_title)}"
    return [Command(("kaggle", "competitions", "submit", cfg.competition, "-k", kernel, "-f", "submission.json",
                     "-v", str(version), "-m", message), f"submit version {version} of {kernel}")]


def kaggle_executable() -> str:
    """The kaggle CLI of this environment (beside this Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "kaggle"
    found = str(beside) if beside.is_file() else shutil.which("kaggle")
    if found is None:
        raise KaggleError("the kaggle CLI is not installed here: pip install kaggle")
    return found


def run_commands(commands: list[Command], dry_run: bool, poll_seconds: float = 20.0,
                 timeout_seconds: float = 3600.0) -> None:
    """Print each command; unless dry_run, run it (credentials are checked first: nothing is sent without)."""
    if not dry_run:
        exe = kaggle_executable()
        if credentials_source() is None:
            raise KaggleError("no Kaggle credentials: put an API token in ~/.kaggle/kaggle.json (or set "
                              "KAGGLE_USERNAME and KAGGLE_KEY); --dry-run prints the commands without them")
    for command in commands:
        repeat = f" (repeated until it prints '{command.until}')" if command.until else ""
        print(f"# {command.why}{repeat}\n{command.text()}", flush=True)
        if dry_run:
            continue
        argv = [exe, *command.argv[1:]]
        if not command.until:
            subprocess.run(argv, check=True)
            continue
        deadline = time.monotonic() + timeout_seconds
        while command.until not in (said := subprocess.run(argv, check=True, capture_output=True,
                                                           text=True).stdout).lower():
            if time.monotonic() > deadline:
                raise KaggleError(f"`{command.text()}` still says {said.strip()!r} after {timeout_seconds:g} s")
            time.sleep(poll_seconds)


def extract_competition_zip(competition: str, dest: Path) -> list[Path]:
    """Unpack what `kaggle competitions download` left (dest/<competition>.zip) and delete the archive."""
    archive = dest / f"{competition}.zip"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
        names = [dest / n for n in zf.namelist()]
    archive.unlink()
    return names


# ---- the `python -m solver kaggle` actions --------------------------------------------------------------

def report(problems: list[str]) -> int:
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    return 1 if problems else 0


def push(build: Path, problems: list[str], create: bool, message: str, dry_run: bool) -> int:
    """Upload the prepared folders; with problems, only a dry run shows the commands, nothing is sent."""
    status = report(problems)
    if dry_run or not problems:
        run_commands(push_commands(build, create, message), dry_run)
    return status


def download(competition: str, dest: Path, dry_run: bool) -> int:
    run_commands(download_commands(competition, dest), dry_run)
    if dry_run:
        print(f"# then the kit unpacks {dest / (competition + '.zip')} into {dest}")
    else:
        print(f"unpacked {len(extract_competition_zip(competition, dest))} files into {dest}")
    return 0


def submit(cfg: KaggleConfig, version: int | None, message: str, dry_run: bool) -> int:
    if version is None:
        raise KaggleError("submit needs --kernel-version N (the notebook version to submit)")
    run_commands(submit_commands(cfg, resolve_user(cfg), version, message), dry_run)
    return 0
