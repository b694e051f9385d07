"""Offline wheels for the Kaggle notebook: lock, download, check.

    python offline_wheels/wheelhouse.py lock [--python 3.11] [--torch 2.10.0] [-r REQS ...] [--lock FILE]
    python offline_wheels/wheelhouse.py lock --python 3.12 --torch 2.11.0 --lock offline_wheels/kaggle-cp312.lock
    python offline_wheels/wheelhouse.py download [--lock FILE] [--dest DIR] [--only NAME ...]
    python offline_wheels/wheelhouse.py check [--wheels DIR] [--lock FILE] [--only NAME ...]

`lock` resolves the requirements for one Kaggle image (x86-64 Linux, glibc 2.35, the CPython and torch
given: kaggle.lock for 3.11 / torch 2.10, kaggle-cp312.lock for 3.12 / torch 2.11; docs/kaggle.md says why
both) with the image's torch pinned and the vLLM release made for that torch, and writes the lock file: one
`name==version --hash=sha256:...` entry per wheel, except what the image provides (torch and what only torch
needs). `download` fetches exactly the locked wheels (or a subset and what it needs) into the wheelhouse.
`check` verifies every locked wheel (of the subset) is present with its hash, then installs the locked wheels
(or the subset) with `--no-index` into a fresh virtual environment and imports them: what passes installs
offline.

Standard library only (plus pip, and `packaging` from pip itself when not installed), so this runs where the
kit is not installed: a build box, CI, or a Kaggle notebook with internet on.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import venv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

try:
    from packaging.requirements import Requirement
except ModuleNotFoundError:  # every pip vendors packaging; the kit's venv has it, a bare Python may not
    from pip._vendor.packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
DEFAULT_REQUIREMENTS = HERE / "requirements-kaggle.txt"
DEFAULT_LOCK = HERE / "kaggle.lock"
DEFAULT_WHEELS = HERE / "wheels"


@dataclass(frozen=True)
class Target:
    """The interpreter and platform the wheels must install on: the Kaggle GPU image."""
    python: str = "3.11"
    abi: str = "cp311"
    arch: str = "x86_64"
    glibc: tuple[int, int] = (2, 35)  # Ubuntu 22.04; a manylinux_2_X wheel needs glibc >= 2.X
    torch: str = "2.10.0"             # the image's torch; `python -c "import torch; print(torch.__version__)"`

    def platforms(self) -> list[str]:
        """Every platform tag the image accepts. pip does not expand `--platform manylinux_2_35` to the older
        manylinux tags a glibc 2.35 system also runs, so list them all, newest first."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{self.arch}" for m in range(minor, 4, -1)]
        return tags + [f"manylinux2014_{self.arch}", f"manylinux2010_{self.arch}", f"manylinux1_{self.arch}"]

    def pip_flags(self) -> list[str]:
        flags = ["--only-binary=:all:", "--python-version", self.python, "--implementation", "cp",
                 "--abi", self.abi]
        for tag in self.platforms():
            flags += ["--platform", tag]
        return flags

    def marker_env(self) -> dict[str, str]:
        """Environment markers (PEP 508) of the image, to read dependency lists as the image would."""
        return {"python_version": self.python, "python_full_version": f"{self.python}.0",
                "implementation_name": "cpython", "platform_python_implementation": "CPython",
                "implementation_version": f"{self.python}.0", "os_name": "posix", "sys_platform": "linux",
                "platform_system": "Linux", "platform_machine": self.arch, "platform_release": "",
                "platform_version": "", "extra": ""}

    def header(self) -> str:
        return (f"python={self.python} abi={self.abi} platform=manylinux_{self.glibc[0]}_{self.glibc[1]}_"
                f"{self.arch} torch={self.torch}")


# Each vLLM release pins one torch exactly (its wheel's Requires-Dist, read with `pip install --dry-run --report`
# on PyPI in December 2026): 0.19.x torch==2.10.0; 0.20.0 to 0.26.0 torch==2.11.0; 0.27.0 to 0.33.0
# torch==2.13.0; 0.34.0 torch==2.14.0. `lock` pins the newest release made for the target's torch: unpinned, pip
# walks back through every newer release (hundreds of MB each) before it finds one.
VLLM_FOR_TORCH = {"2.10.0": "0.19.1", "2.11.0": "0.26.0", "2.13.0": "0.33.0", "2.14.0": "0.34.0"}

# What the image brings with its CUDA build of torch. These are never downloaded or installed: a wheel of any
# of them in the wheelhouse could replace the image's build (the 2024 failure mode). What only these need
# (the nvidia-* CUDA libraries, triton's helpers) is dropped with them.
IMAGE_PROVIDED = ("torch", "torchvision", "torchaudio", "triton")


def normalize(name: str) -> str:
    """PEP 503 name: what pip compares."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Locked:
    name: str
    version: str
    filename: str
    sha256: str = ""
    via: list[str] = field(default_factory=list)
    url: str = ""


# ---- lock file ------------------------------------------------------------------------------------------

def write_lock(path: Path, entries: list[Locked], target: Target, provided: list[Locked]) -> None:
    lines = ["# Every wheel the Kaggle notebook installs, pinned with its hash. Written by",
             "# `python offline_wheels/wheelhouse.py lock`; regenerate rather than edit.",
             f"# target: {target.header()}",
             "# provided by the image, not in the wheelhouse: "
             + " ".join(f"{p.name}=={p.version}" for p in provided)]
    for e in sorted(entries, key=lambda e: normalize(e.name)):
        if not e.sha256:
            raise ValueError(f"{e.name}=={e.version}: no sha256 for {e.filename}")
        lines.append(f"{e.name}=={e.version} \\")
        lines.append(f"    --hash=sha256:{e.sha256}")
        lines.append(f"    # {e.filename}" + (f" via {', '.join(sorted(e.via))}" if e.via else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def read_lock(path: Path) -> list[Locked]:
    """The entries of a lock written by write_lock."""
    entries: list[Locked] = []
    for n, raw in enumerate(Path(path).read_text().splitlines(), 1):
        line = raw.strip()
        if not line or (line.startswith("#") and not entries):
            continue
        if line.startswith("--hash=sha256:") and entries:
            entries[-1].sha256 = line.split(":", 1)[1]
        elif line.startswith("# ") and entries:
            entries[-1].filename = line[2:].split()[0]
        elif "==" in line:
            name, version = line.rstrip("\\ ").split("==", 1)
            entries.append(Locked(name.strip(), version.strip(), ""))
        else:
            raise ValueError(f"{path}:{n}: cannot read lock line {raw!r}")
    return entries


def read_target(path: Path) -> Target:
    """The target a lock was resolved for, from its `# target:` line."""
    for line in Path(path).read_text().splitlines():
        if line.startswith("# target:"):
            fields = dict(kv.split("=", 1) for kv in line[len("# target:"):].split())
            m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", fields["platform"])
            return Target(python=fields["python"], abi=fields["abi"], arch=m.group(3),
                          glibc=(int(m.group(1)), int(m.group(2))), torch=fields["torch"])
    raise ValueError(f"{path}: no '# target:' line; was it written by wheelhouse.py lock?")


# ---- resolution -----------------------------------------------------------------------------------------

def pip_env(isolated: bool) -> dict[str, str]:
    """The environment pip runs in. Isolated: no pip configuration at all (config files, PIP_* variables),
    so a machine's own find-links or extra indexes can never make an offline check pass by accident."""
    env = dict(os.environ)
    if isolated:
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def resolve(requirements: list[Path], target: Target, workdir: Path) -> dict:
    """pip's installation report for the requirements on the target, torch pinned to the image's."""
    constraints = workdir / "image-torch.txt"
    pins = [f"torch=={target.torch}"]
    if target.torch in VLLM_FOR_TORCH:
        pins.append(f"vllm=={VLLM_FOR_TORCH[target.torch]}")
    constraints.write_text("".join(p + "\n" for p in pins))
    report = workdir / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
           "--target", str(workdir / "unused-target"), "--report", str(report), "-c", str(constraints),
           *target.pip_flags()]
    for r in requirements:
        cmd += ["-r", str(r)]
    subprocess.run(cmd, check=True, env=pip_env(isolated=False))
    return json.loads(report.read_text())


def split_provided(report: dict, target: Target) -> tuple[list[Locked], list[Locked]]:
    """(to ship, provided by the image). A package ships when the requested packages reach it without going
    through a provided package; what only torch needs stays with the image."""
    items = {normalize(i["metadata"]["name"]): i for i in report["install"]}
    env = target.marker_env()

    def deps(name: str, extras: frozenset[str]) -> list[tuple[str, frozenset[str]]]:
        out = []
        for text in items[name]["metadata"].get("requires_dist") or []:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in extras | {""}):
                out.append((normalize(req.name), frozenset(req.extras)))
        return out

    provided = {normalize(n) for n in IMAGE_PROVIDED}
    todo = [(n, frozenset(i.get("requested_extras") or [])) for n, i in items.items() if i.get("requested")]
    via = {name: {"requirements"} for name, _ in todo if name not in provided}
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name in provided or name not in items:
            continue
        seen.add((name, extras))
        via.setdefault(name, set())
        for dep, dep_extras in deps(name, extras):
            if dep not in provided and dep in items:
                via.setdefault(dep, set()).add(items[name]["metadata"]["name"])
                todo.append((dep, dep_extras))

    ship, image = [], []
    for name, item in items.items():
        url = item["download_info"]["url"]
        hashes = item["download_info"].get("archive_info", {}).get("hashes", {})
        entry = Locked(item["metadata"]["name"], item["metadata"]["version"], unquote(Path(urlparse(url).path).name),
                       hashes.get("sha256", ""), sorted(via.get(name, ())), url)
        (ship if name in via else image).append(entry)
    return ship, image


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lock(requirements: list[Path], target: Target, lock_path: Path) -> int:
    """Resolve the requirements for the image and write the lock: names, versions, wheel files, hashes."""
    with tempfile.TemporaryDirectory() as tmp:
        ship, image = split_provided(resolve(requirements, target, Path(tmp)), target)
    for e in ship:
        if not e.sha256 and e.url.startswith("file:"):  # a local mirror's report may carry no hash
            e.sha256 = sha256_of(Path(unquote(urlparse(e.url).path)))
    write_lock(lock_path, ship, target, image)
    print(f"locked {len(ship)} wheels in {lock_path}; left to the image: "
          f"{', '.join(f'{p.name}=={p.version}' for p in image) or 'nothing'}")
    return 0


def download(lock_path: Path, dest: Path, only: list[str] | None = None) -> int:
    """Fetch exactly the locked wheels into dest, each checked by pip against its locked hash. `only`: these
    locked packages and the locked packages they need (read from each fetched wheel's metadata), e.g. the ones
    that install without CUDA, to check part of a lock without fetching gigabytes."""
    target = read_target(lock_path)
    entries = read_lock(lock_path)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = entries if not only else closure(entries, dest, only, target)
    while True:
        todo = [e for e in wanted if not (dest / e.filename).is_file()]
        if todo:
            fetch(todo, dest, target)
        if not only:
            break
        grown = closure(entries, dest, only, target)
        if len(grown) == len(wanted):
            break
        wanted = grown
    problems = wheel_problems(wanted, dest)
    for p in problems:
        print(f"download: {p}", file=sys.stderr)
    size = sum((dest / e.filename).stat().st_size for e in wanted if (dest / e.filename).is_file())
    print(f"downloaded {len(wanted) - len(problems)} of {len(entries) if not only else len(wanted)} locked "
          f"wheels{' (' + ', '.join(only) + ' and what they need)' if only else ''} into {dest} ({size / 2**20:.0f} MiB)")
    return 1 if problems else 0


def fetch(entries: list[Locked], dest: Path, target: Target) -> None:
    """pip download of these locked wheels, hash-pinned. --no-deps: the lock already holds every dependency,
    and the image's torch must not be fetched."""
    with tempfile.TemporaryDirectory() as tmp:
        pins = Path(tmp) / "pins.txt"
        pins.write_text("".join(f"{e.name}=={e.version} --hash=sha256:{e.sha256}\n" for e in entries))
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "-d", str(dest),
                        "-r", str(pins), *target.pip_flags()], check=True, env=pip_env(isolated=False))


def wheel_requirements(wheel: Path, target: Target) -> list[str]:
    """The (normalized) names a wheel requires on the target, from its METADATA's Requires-Dist."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(m for m in zf.namelist() if m.endswith(".dist-info/METADATA") and m.count("/") == 1)
        text = zf.read(meta).decode("utf-8", "replace")
    names = []
    for line in text.splitlines():
        if line.startswith("Requires-Dist:"):
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is None or req.marker.evaluate(target.marker_env()):
                names.append(normalize(req.name))
    return names


def closure(entries: list[Locked], wheels: Path, names: list[str], target: Target) -> list[Locked]:
    """The locked packages `names` need, themselves included, as far as the wheels present tell (a wheel not
    yet in `wheels` adds itself, not its dependencies). Packages outside the lock (the image's torch) are left."""
    by_name = {normalize(e.name): e for e in entries}
    seen: dict[str, Locked] = {}
    todo = [normalize(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen[name] = by_name[name]
        path = wheels / by_name[name].filename
        if path.is_file():
            todo += wheel_requirements(path, target)
    return sorted(seen.values(), key=lambda e: normalize(e.name))


# ---- check ----------------------------------------------------------------------------------------------

def wheel_problems(entries: list[Locked], wheels: Path) -> list[str]:
    """Locked wheels that are missing from the wheelhouse or differ from their locked hash."""
    problems = []
    for e in entries:
        path = wheels / e.filename
        if not e.filename or not path.is_file():
            problems.append(f"{e.name}=={e.version}: wheel {e.filename or '(unnamed)'} missing from {wheels}")
        elif sha256_of(path) != e.sha256:
            problems.append(f"{e.name}=={e.version}: {e.filename} does not match its locked sha256")
    return problems


# Root folders some wheels ship by mistake; importing them tests nothing about the package.
NOT_MODULES = {"tests", "test", "docs", "examples", "benchmarks", "setup", "conftest"}


def top_level_modules(wheel: Path) -> list[str]:
    """Public top-level modules a wheel installs: root packages (with __init__.py) and root .py files."""
    with zipfile.ZipFile(wheel) as zf:
        members = zf.namelist()
    names = set()
    for member in members:
        parts = member.split("/")
        if parts[0].endswith((".dist-info", ".data")):
            continue
        if len(parts) == 2 and parts[1] == "__init__.py":
            names.add(parts[0])
        elif len(parts) == 1 and member.endswith(".py"):
            names.add(member[:-3])
    return sorted(n for n in names if n.isidentifier() and not n.startswith("_") and n not in NOT_MODULES)


def check(lock: Path, wheels: Path, only: list[str] | None = None, system_site_packages: bool = False) -> int:
    entries = read_lock(lock)
    # With --only, just the wheels those packages need must be there (download --only fetches exactly them).
    problems = wheel_problems(closure(entries, wheels, only, read_target(lock)) if only else entries, wheels)
    for p in problems:
        print(f"check: {p}", file=sys.stderr)
    if problems:
        return 1
    by_name = {normalize(e.name): e for e in entries}
    wanted = [normalize(n) for n in only] if only else list(by_name)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        print(f"check: not in {lock}: {', '.join(unknown)}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp) / "venv"
        # A fresh environment without pip of its own: the running pip installs into it (pip --python), which
        # takes a fraction of a second where `ensurepip` takes several.
        venv.EnvBuilder(with_pip=False, clear=True, system_site_packages=system_site_packages).create(env_dir)
        python = env_dir / "bin" / "python"
        constraints = Path(tmp) / "lock-pins.txt"
        constraints.write_text("".join(f"{e.name}=={e.version}\n" for e in entries))
        cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--find-links",
               str(wheels), "--no-cache-dir", "--quiet", "-c", str(constraints),
               *[f"{by_name[n].name}=={by_name[n].version}" for n in wanted]]
        if subprocess.run(cmd, env=pip_env(isolated=True)).returncode != 0:
            print(f"check: installing {', '.join(wanted)} from {wheels} with --no-index failed", file=sys.stderr)
            return 1
        modules = sorted({m for n in wanted for m in top_level_modules(wheels / by_name[n].filename)})
        probe = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
        result = subprocess.run([str(python), "-c", probe, *modules], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"check: import failed in the fresh environment:\n{result.stderr[-2000:]}", file=sys.stderr)
            return 1
    print(f"check: {len(wanted)} of {len(entries)} locked packages (with their dependencies) installed offline "
          f"into a fresh venv; "
          f"imported {', '.join(modules) or 'nothing'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lock", help="resolve the requirements for the Kaggle image and write the lock")
    p.add_argument("-r", "--requirement", action="append", type=Path,
                   help=f"requirements file (default {DEFAULT_REQUIREMENTS.relative_to(HERE.parent)})")
    p.add_argument("--torch", default=Target.torch, help="the Kaggle image's torch version (default %(default)s)")
    p.add_argument("--python", default=Target.python, help="the image's Python (default %(default)s)")
    p.add_argument("--lock", type=Path, default=DEFAULT_LOCK, help="lock file to write")
    p = sub.add_parser("download", help="download exactly the locked wheels (hash-checked) into the wheelhouse")
    p.add_argument("--lock", type=Path, default=DEFAULT_LOCK, help="lock file")
    p.add_argument("--dest", type=Path, default=DEFAULT_WHEELS, help="wheelhouse folder")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these locked packages and the locked packages "
                   "they need (e.g. the CPU-installable ones, to check part of a lock: check --only NAME ...)")
    p = sub.add_parser("check", help="install the locked wheels offline into a fresh venv and import them")
    p.add_argument("--wheels", type=Path, default=DEFAULT_WHEELS, help="wheelhouse folder")
    p.add_argument("--lock", type=Path, default=DEFAULT_LOCK, help="lock file")
    p.add_argument("--only", nargs="+", metavar="NAME", help="install only these locked packages (with their "
                   "dependencies from the wheelhouse), e.g. the CPU-installable ones on a machine without CUDA")
    p.add_argument("--system-site-packages", action="store_true",
                   help="let the venv see this Python's packages: run on the image itself, where torch is given")
    args = parser.parse_args(argv)
    if args.command == "lock":
        target = Target(python=args.python, abi="cp" + args.python.replace(".", ""), torch=args.torch)
        return lock(args.requirement or [DEFAULT_REQUIREMENTS], target, args.lock)
    if args.command == "download":
        return download(args.lock, args.dest, args.only)
    return check(args.lock, args.wheels, args.only, args.system_site_packages)


if __name__ == "__main__":
    sys.exit(main())
