"""`python -m solver sweep`: many configs over one challenges file, on Ray (a local instance or a cluster).

    GRID.toml -> points: the base preset with [set], times every combination of [grid], plus each [[point]];
                 each point a Config (solver/config.py) named after the settings it varies
    -> per point, WORKDIR/<point>/journal.jsonl opened exactly as `run` opens its journal (same header and
       identity: a rerun skips the tasks it finished) and WORKDIR/<point>/submission.json
    -> one Ray task per (point, task, device): the device's stages, built and set up once per Ray worker
       process (workers.start_stages), run on the task (stages.run_stages) with the resources they need
       (a GPU for the model stage where the cluster has GPUs, one CPU for the DSL)
    -> a pair whose parts are all in becomes its journal record in the driver, as a run's coordinator makes
       it (stages.finish_task: the inline stages, two attempts per test input)
    -> WORKDIR/sweep.md and sweep.html: one row per point against the reference point

So a point's work directory is a run's: `report`, `score` and `tune` read it, and `run --workdir` with the
point's settings would even continue it. What differs from a run: no run-wide time budget (each pair runs
its point's settings in full, so that points compare settings, not schedules), and a worker that dies has
its pair retried once, unchanged, by Ray (max_retries) on any worker, then journaled as an error.

Ray is an optional dependency, imported only here and only when a sweep starts: `run` and the Kaggle
notebook never need it, and there is no Ray inside a run.
"""
from __future__ import annotations

import html
import hashlib
import itertools
import json
import math
import os
import re
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .budget import Deadline
from .config import Config, ConfigError, load_config, tomllib  # tomllib, or tomli before Python 3.11
from .journal import Journal, TaskRecord, file_sha256, read_tasks, run_identity
from .metrics import coverage, score_submission
from .stages import PartResult, Stage, build_stages, finish_task, release_accelerator_memory, run_stages
from .submission import Submission
from .tasks import ChallengeSet, Task, grid_to_list, load_challenges, load_solutions
from .workers import GPU_ALLOCATOR_ENV, SINGLE_THREAD_ENV, layout, memory_after_task, start_stages

DEVICES = ("gpu", "cpu")  # as in a run; the inline stages (baseline) run in the driver
OBJECT_STORE_BYTES = 200 * 2**20  # a local instance's shared memory: parts are small, tasks smaller
MAX_NAME = 120  # characters of a point's directory name before it is shortened with a hash


class SweepError(ConfigError):
    """A grid file that cannot be swept, or Ray missing."""


@dataclass
class Point:
    name: str
    settings: dict[str, Any]  # the dotted settings this point varies, in the grid's order
    cfg: Config


@dataclass
class Grid:
    base: str
    points: list[Point]
    reference: str  # the point the others are compared with
    notes: list[str] = field(default_factory=list)


# ---- the grid file ----

def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"dsl": {"seconds_per_task": 1}} and {"dsl.seconds_per_task": 1} both -> {"dsl.seconds_per_task": 1}."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _nested(settings: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in settings.items():
        node = out
        *sections, key = path.split(".")
        for s in sections:
            node = node.setdefault(s, {})
        node[key] = value
    return out


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "+".join(_value_text(v) for v in value) or "none"
    return str(value) if value != "" else "none"


def point_name(settings: dict[str, Any]) -> str:
    """A stable directory name from a point's settings: 'dsl.seconds_per_task=1__dsl.second_pass=none'. The
    same settings give the same name on every rerun, which is what lets a rerun find its journals."""
    if not settings:
        return "base"
    name = "__".join(f"{k}={_value_text(v)}" for k, v in settings.items())
    name = re.sub(r"[^A-Za-z0-9._+=-]", "-", name)
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME - 9] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


def load_grid(path: str | Path) -> Grid:
    """GRID.toml: `base` (a preset name or .toml file, default cpu), `[set]` (dotted settings for every point),
    `[grid]` (dotted setting -> list of values: every combination is a point) and `[[point]]` (hand-picked
    points). A config error names the point."""
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SweepError(f"grid file {path}: {exc}") from None
    unknown = set(spec) - {"base", "set", "grid", "point"}
    if unknown:
        raise SweepError(f"grid file {path}: unknown keys {', '.join(sorted(unknown))} (known: base, set, grid, point)")
    base = spec.get("base", "cpu")
    common = _flatten(spec.get("set", {}))
    axes = _flatten(spec.get("grid", {}))
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise SweepError(f"grid file {path}: [grid] {key} must be a non-empty list of values")
    chosen = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())] if axes else []
    chosen += [_flatten(p) for p in spec.get("point", [])]
    if not chosen:
        chosen = [{}]
    base_cfg = _point_config(base, common, {}, "base")
    points, seen = [], set()
    for settings in chosen:
        name = point_name(settings)
        if name in seen:
            raise SweepError(f"grid file {path}: two points with the same settings ({name})")
        seen.add(name)
        points.append(Point(name, settings, _point_config(base, common, settings, name)))
    same = [p.name for p in points if p.cfg.to_dict() == base_cfg.to_dict()]
    notes = [f"budget.total_seconds cleared for every point: a sweep runs each pair in full"] if any(
        load_config(base, _nested({**common, **p.settings})).budget.total_seconds for p in points) else []
    return Grid(base, points, same[0] if same else points[0].name, notes)


def _point_config(base: str, common: dict[str, Any], settings: dict[str, Any], name: str) -> Config:
    try:
        cfg = load_config(base, _nested({**common, **settings}))
    except ConfigError as exc:
        raise SweepError(f"point {name}: {exc}") from None
    if cfg.ttt.scope == "shared":
        raise SweepError(f"point {name}: ttt.scope = 'shared' trains one adapter over all tasks first, which a "
                         f"sweep of (config, task) pairs cannot split; sweep it with `run`, one point at a time")
    if cfg.model.path and not Path(cfg.model.path).is_dir():
        raise SweepError(f"point {name}: model.path: model directory {cfg.model.path} does not exist")
    # The points compare settings, not schedules: every pair runs in full (the run-wide budget is a run's).
    cfg.budget.total_seconds = None
    return cfg


def devices_of(cfg: Config) -> list[str]:
    """The worker devices a point has stages on, as build_stages says (extra stages may sit on either)."""
    extra = bool(cfg.run.extra_stages)
    return [d for d, on in (("gpu", cfg.model.active or extra), ("cpu", cfg.dsl.enabled or extra)) if on]


# ---- inside a Ray worker ----

# Per device, the config its stages were built for and the stages, in this Ray worker process: a worker
# reused for the next pair of the same point does not build them again (the DSL's numba kernels, a model).
_BUILT: dict[str, tuple[str, list[Stage]]] = {}


def solve_part(cfg: Config, device: str, task: Task) -> tuple[PartResult, dict[str, Any]]:
    """The device's stages of `cfg` on one task, in this Ray worker, as a run's worker runs them; with the
    worker's label and the part's wall-clock start and end (seconds since the epoch)."""
    key = cfg.to_json()
    if _BUILT.get(device, ("",))[0] != key:
        _BUILT.pop(device, None)
        release_accelerator_memory()  # the previous point's model
        ray_mappings = _address_space()
        _BUILT[device] = (key, start_stages(cfg, device))
        _allow_ray_mappings(ray_mappings)
    start = time.time()
    part = run_stages(task, _BUILT[device][1], cfg, Deadline.never())
    end = time.time()
    part.memory = memory_after_task()
    return part, {"worker": f"{device}@{socket.gethostname()}:{os.getpid()}", "start": start, "end": end}


def _address_space() -> int:
    try:
        return int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _allow_ray_mappings(ray_bytes: int) -> None:
    """The DSL caps its worker's address space (dsl.pool.limit_memory) at its budget plus a plain
    interpreter's mappings; a Ray worker maps about a gigabyte more of its own (object store, threads)
    before any of the kit loads. The cap is raised by that much, so a search has the room it has in a run."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or not ray_bytes:
        return
    raised = soft + ray_bytes
    resource.setrlimit(resource.RLIMIT_AS, (raised if hard == resource.RLIM_INFINITY else min(raised, hard), hard))


# ---- the driver ----

@dataclass
class Pair:
    point: Point
    task: Task
    waiting: set[str]
    parts: dict[str, PartResult] = field(default_factory=dict)
    timing: dict[str, dict] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class SweepResult:
    workdir: Path
    points: list[Point]
    reference: str
    pairs: int                # (point, task) pairs in the sweep
    resumed: int              # pairs an earlier sweep in the same work directory had finished
    seconds: float
    tables: tuple[Path, Path] | None = None
    notes: list[str] = field(default_factory=list)


def _import_ray():
    try:
        import ray
    except ImportError:
        raise SweepError("a sweep runs on Ray, which is not installed: pip install 'ray>=2.50,<3' (setup.sh "
                         "installs it)") from None
    return ray


def connect(address: str | None, points: list[Point]):
    """Ray, started here (no address: every core and GPU of this machine, a small object store, no
    dashboard) or joined (a cluster's address). CPU workers get one thread each, as in a run."""
    ray = _import_ray()
    env = dict(SINGLE_THREAD_ENV)
    if all(p.cfg.model.backend == "transformers" for p in points):
        env.update(GPU_ALLOCATOR_ENV)
    env = {k: v for k, v in env.items() if k not in os.environ}  # a setting the user made wins
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False,
                              "logging_level": "warning"}
    if address:
        ray.init(address=address, **kwargs)
    else:  # "local": a new instance of our own, never one that RAY_ADDRESS or `ray start` left running
        ray.init(address="local", include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES, **kwargs)
    return ray


def sweep(challenges: str | Path, grid_path: str | Path, workdir: str | Path, solutions: str | Path | None = None,
          address: str | None = None, max_concurrent: int | None = None, progress: bool = True) -> SweepResult:
    started_wall, started = time.time(), time.monotonic()
    grid = load_grid(grid_path)
    workdir = Path(workdir)
    challenge_set = load_challenges(challenges)
    truths = load_solutions(solutions) if solutions else None
    notes = grid.notes + [f"task {bad.id} is invalid and keeps fallback attempts: {bad.problem}"
                          for bad in challenge_set.invalid.values()]
    ray = connect(address, grid.points)
    try:
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        # A model part on a GPU goes through a function declared with one, so that Ray's rule for GPU tasks
        # applies (a fresh process each: ray-project/ray#29624); everything else through the plain one.
        remotes = {True: ray.remote(num_gpus=1)(solve_part), False: ray.remote(solve_part)}
        journals, submissions, todo, resumed = {}, {}, [], 0
        for p in grid.points:
            journal, submission, finished = _open_point(p, workdir, challenges, challenge_set, solutions,
                                                        gpus, cpus, grid_path)
            journals[p.name], submissions[p.name] = journal, submission
            resumed += len(finished)
            todo += [Pair(p, t, set(devices_of(p.cfg))) for tid, t in challenge_set.tasks.items()
                     if tid not in finished]
        total = len(grid.points) * len(challenge_set.tasks)
        bar = tqdm(total=total, initial=resumed, desc="pairs", unit="pair", disable=not progress,
                   file=sys.stderr, smoothing=0.1)
        queue = deque((pair, d) for pair in todo for d in sorted(pair.waiting, key=DEVICES.index))
        inline = {p.name: build_stages(p.cfg, "inline") for p in grid.points}
        limit = max_concurrent or len(queue) or 1
        inflight: dict[Any, tuple[Pair, str]] = {}
        for pair in [pair for pair in todo if not pair.waiting]:  # nothing runs on a worker: inline only
            _finish(pair, inline, journals, submissions, bar)
        while queue or inflight:
            while queue and len(inflight) < limit:
                pair, device = queue.popleft()
                on_gpu = wants_gpu(pair.point.cfg, device, gpus)
                ref = remotes[on_gpu].options(num_cpus=1, max_retries=1, retry_exceptions=False).remote(
                    pair.point.cfg, device, pair.task)
                inflight[ref] = (pair, device)
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=1.0)
            dirty = set()
            for ref in ready:
                pair, device = inflight.pop(ref)
                try:
                    part, timing = ray.get(ref)
                    pair.parts[device] = part
                    # As a run's parts, in seconds since this sweep started (a retry's try count is Ray's own)
                    pair.timing[device] = {"worker": timing["worker"], "start": round(timing["start"] - started_wall, 3),
                                           "end": round(timing["end"] - started_wall, 3), "allotted": None,
                                           **part.memory}
                except ray.exceptions.RayError as exc:  # its worker died twice (killed, out of memory, node lost)
                    pair.errors.append(f"{device} part lost: {_why(exc)} (retried once)")
                pair.waiting.discard(device)
                if not pair.waiting:
                    _finish(pair, inline, journals, submissions, bar, write=False)
                    dirty.add(pair.point.name)
            for name in dirty:  # one submission write per point and round, not per pair
                submissions[name].write(workdir / name / "submission.json")
        bar.close()
    finally:
        ray.shutdown()
    result = SweepResult(workdir, grid.points, grid.reference, len(grid.points) * len(challenge_set.tasks),
                         resumed, time.monotonic() - started, notes=notes)
    result.tables = write_tables(workdir, grid, challenge_set, truths)
    return result


def _open_point(p: Point, workdir: Path, challenges, challenge_set: ChallengeSet, solutions, gpus: int, cpus: int,
                grid_path) -> tuple[Journal, Submission, dict[str, TaskRecord]]:
    """The point's journal, opened as `run` opens one (same header, same identity), and its submission."""
    gpu_slots, n_cpu = layout(p.cfg.run, [str(i) for i in range(gpus)], cpus, model=p.cfg.model.active)
    sha = file_sha256(challenges)
    journal = Journal(workdir / p.name)
    finished = journal.open({"identity": run_identity(sha, p.cfg.to_dict()), "challenges": str(challenges),
                             "challenges_sha256": sha, "solutions": str(solutions) if solutions else None,
                             "config": p.cfg.to_dict(), "tasks": len(challenge_set.order),
                             "workers": {"gpu": gpu_slots, "cpu": n_cpu},
                             "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             "sweep": {"grid": str(grid_path), "point": p.name, "settings": p.settings}})
    finished = {tid: r for tid, r in finished.items() if tid in challenge_set.order}
    submission = Submission(challenge_set)
    for tid, record in finished.items():
        submission.set(tid, record.attempts)
    invalid = [TaskRecord(bad.id, submission.attempts[bad.id], errors=[bad.problem], status="invalid")
               for bad in challenge_set.invalid.values() if bad.id not in finished]
    journal.append_many([r.to_json() for r in invalid])
    submission.write(workdir / p.name / "submission.json")
    return journal, submission, finished


def wants_gpu(cfg: Config, device: str, gpus: int) -> bool:
    """A model part takes one GPU where the cluster has any (Ray then sets its CUDA_VISIBLE_DEVICES); a DSL
    part, and a model part on a cluster without GPUs, one CPU. A part whose worker dies is tried once more
    (max_retries), anywhere in the cluster."""
    return device == "gpu" and gpus > 0 and cfg.model.active and cfg.model.device != "cpu"


def _why(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _finish(pair: Pair, inline: dict[str, list[Stage]], journals: dict[str, Journal],
            submissions: dict[str, Submission], bar, write: bool = True) -> None:
    p = pair.point
    record = finish_task(pair.task, p.cfg, pair.parts, {d: p.cfg for d in pair.parts}, inline[p.name],
                         Deadline.never(), "ok", pair.errors, pair.timing)
    submissions[p.name].set(pair.task.id, record.attempts)
    journals[p.name].append(record.to_json())
    if write:
        submissions[p.name].write(journals[p.name].path.parent / "submission.json")
    bar.update(1)


# ---- the tables ----

@dataclass
class PointRow:
    name: str
    settings: dict[str, Any]
    done: int
    errors: int
    score: float | None
    coverage: float | None
    stage_seconds: dict[str, float]  # mean per finished task
    per_task: dict[str, float]       # task id -> fraction of its test outputs right (with solutions)
    diff: tuple[float, float, int, int] | None = None  # mean difference from the reference, 95% half-width,
    #                                                     tasks gained, tasks lost


def point_row(p: Point, workdir: Path, challenge_set: ChallengeSet, truths: dict | None) -> PointRow:
    done = [r for tid, r in read_tasks(workdir / p.name).items() if tid in challenge_set.order and r.status != "cut"]
    seconds: dict[str, float] = {}
    for r in done:
        for name, s in r.seconds.items():
            seconds[name] = seconds.get(name, 0.0) + s / max(1, len(done))
    row = PointRow(p.name, p.settings, len(done), sum(1 for r in done if r.status == "error"), None, None,
                   seconds, {})
    if truths is not None and done:
        scored = {r.task_id: r for r in done if r.task_id in truths}
        report = score_submission({tid: [{"attempt_1": grid_to_list(a), "attempt_2": grid_to_list(b)}
                                         for a, b in r.attempts] for tid, r in scored.items()},
                                  {tid: truths[tid] for tid in scored})
        row.score = report.score
        row.coverage = coverage({tid: [[c.grid for c in r.candidates if c.test_index == i]
                                       for i in range(len(r.attempts))] for tid, r in scored.items()},
                                {tid: truths[tid] for tid in scored})
        row.per_task = {tid: sum(v) / len(v) for tid, v in report.per_task.items() if v}
    return row


def paired_difference(row: dict[str, float], ref: dict[str, float]) -> tuple[float, float, int, int] | None:
    """Mean per-task score difference over the tasks both have, its 95% half-width (normal approximation of
    the paired differences), and the tasks gained and lost."""
    common = [t for t in row if t in ref]
    if not common:
        return None
    d = [row[t] - ref[t] for t in common]
    mean = sum(d) / len(d)
    var = sum((x - mean) ** 2 for x in d) / (len(d) - 1) if len(d) > 1 else 0.0
    return mean, 1.96 * math.sqrt(var / len(d)), sum(x > 0 for x in d), sum(x < 0 for x in d)


def write_tables(workdir: Path, grid: Grid, challenge_set: ChallengeSet, truths: dict | None) -> tuple[Path, Path]:
    rows = [point_row(p, workdir, challenge_set, truths) for p in grid.points]
    ref = next(r for r in rows if r.name == grid.reference)
    for r in rows:
        r.diff = paired_difference(r.per_task, ref.per_task) if truths is not None else None
    stages = sorted({s for r in rows for s in r.stage_seconds})
    (workdir / "sweep.json").write_text(json.dumps(
        {"base": grid.base, "reference": grid.reference, "tasks": len(challenge_set.order),
         "points": [{"name": r.name, "settings": r.settings, "done": r.done, "errors": r.errors, "score": r.score,
                     "coverage": r.coverage, "stage_seconds": r.stage_seconds, "diff": r.diff} for r in rows]},
        indent=1))
    md = workdir / "sweep.md"
    md.write_text(render_markdown(rows, grid, stages, len(challenge_set.order), truths is not None))
    page = workdir / "sweep.html"
    page.write_text(render_html(rows, grid, stages, len(challenge_set.order), truths is not None))
    return md, page


def _cells(r: PointRow, stages: list[str], scored: bool, ref: str) -> list[str]:
    cells = [r.name, f"{r.done}" + (f" ({r.errors} errors)" if r.errors else "")]
    if scored:
        cells += [f"{r.score:.4f}" if r.score is not None else "-", f"{r.coverage:.4f}" if r.coverage is not None else "-"]
        if r.name == ref:
            cells.append("reference")
        elif r.diff is None:
            cells.append("-")
        else:
            mean, half, gained, lost = r.diff
            cells.append(f"{100 * mean:+.1f} ± {100 * half:.1f} pts (+{gained} / -{lost} tasks)")
    cells += [f"{r.stage_seconds.get(s, 0.0):.2f}" for s in stages]
    return cells


def _header(stages: list[str], scored: bool) -> list[str]:
    return (["point", "tasks done"] + (["score", "coverage", "difference from the reference (95%)"] if scored else [])
            + [f"{s} s/task" for s in stages])


def _intro(grid: Grid, n_tasks: int, scored: bool) -> str:
    return (f"{len(grid.points)} points over {n_tasks} tasks, base preset `{grid.base}`; reference point: "
            f"`{grid.reference}` (the base's own settings where a point has them, else the first point). "
            + ("Score: Kaggle metric over the finished tasks; coverage: test outputs for which any candidate was "
               "right; difference: mean per-task score against the reference over the tasks both finished, "
               "with the 95% half-width of the paired differences, tasks gained / lost. " if scored else
               "No solutions were given: no scores. ")
            + "Seconds: mean per finished task, per stage (summed over the stage's workers).")


def render_markdown(rows: list[PointRow], grid: Grid, stages: list[str], n_tasks: int, scored: bool) -> str:
    head = _header(stages, scored)
    lines = ["# Sweep", "", _intro(grid, n_tasks, scored), "",
             "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in _cells(r, stages, scored, grid.reference)) + " |"
              for r in rows]
    return "\n".join(lines) + "\n"


def render_html(rows: list[PointRow], grid: Grid, stages: list[str], n_tasks: int, scored: bool) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in _header(stages, scored))
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in _cells(r, stages, scored, grid.reference)) + "</tr>"
                   for r in rows)
    return ("<!doctype html><meta charset='utf-8'><title>Sweep</title><style>body{font-family:sans-serif}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "td:first-child{text-align:left;font-family:monospace}</style>"
            f"<h1>Sweep</h1><p>{esc(_intro(grid, n_tasks, scored))}</p><table><tr>{head}</tr>{body}</table>")


def summary_lines(result: SweepResult) -> list[str]:
    lines = [f"sweep             {len(result.points)} points, {result.pairs} pairs"
             + (f" ({result.resumed} from the earlier sweep)" if result.resumed else ""),
             f"wall seconds      {result.seconds:.1f}"]
    lines += [f"note              {n}" for n in result.notes]
    if result.tables:
        lines.append(f"tables            {result.tables[0]}, {result.tables[1]}")
        lines += ["", result.tables[0].read_text()]
    return lines
