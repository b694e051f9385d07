"""`python -m solver sweep` on real Ray (solver/sweep.py): a grid's journals against `run`'s, resume after the
driver is killed, a worker killed mid-pair, a model point, and a cluster address (a second local Ray head).

The DSL tasks: ten ARC-AGI-2 training tasks outside the held-out quarter whose search stops at the node
cap (dsl.max_nodes) in well under a CPU-second at either cap, and whose deep search stops at its count of
programs checked (dsl.deep_max_checked, a fifth of a CPU-second), so that no clock binds (neither the 5
CPU-s limit nor a run's wall-clock deadlines, which tighten under load) and the candidates do not depend on
the machine's load: the same on every run, under Ray or not. (CI twice saw the first task's records differ:
Ray hands its workers read-only grids, and numba compiled a dozen kernels again for them inside that task's
CPU budget, until the DSL stage copied them to writable ones: dsl/stage.py, writable.)
Every Ray instance here is the test's own (RAY_TMPDIR in a fresh folder; the head on a free port) and is
stopped by the test.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from solver.journal import read_entries, read_tasks
from solver.sweep import SweepError, devices_of, load_grid, paired_difference, point_name

from .conftest import SHARED_ARC

ROOT = Path(__file__).resolve().parent.parent
TASKS = ["017c7c7b", "10fcaaa3", "1b2d62fb", "1cf80156", "1fad071e", "2013d3e2", "22425bda", "23581191",
         "25c199f5", "25e02866"]
GRID = """base = "cpu"
[set]
"dsl.seconds_per_task" = 5
"dsl.deep_max_checked" = 200000
[grid]
"dsl.max_nodes" = [150, 300]
"dsl.second_pass" = ["transpose", ""]
"""


def held_out(task_id: str) -> bool:  # bench/dsl.py is_held_out
    return int(hashlib.sha256(task_id.encode()).hexdigest(), 16) % 4 == 0


# ---- the grid file (no Ray) ----

def test_grid_points_are_the_product_plus_hand_picked_ones_with_stable_names(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(GRID + '[[point]]\ndsl = {max_nodes = 500}\n"select.vote" = "flat"\n')
    grid = load_grid(path)
    names = [p.name for p in grid.points]
    assert names == ["dsl.max_nodes=150__dsl.second_pass=transpose", "dsl.max_nodes=150__dsl.second_pass=none",
                     "dsl.max_nodes=300__dsl.second_pass=transpose", "dsl.max_nodes=300__dsl.second_pass=none",
                     "dsl.max_nodes=500__select.vote=flat"]
    assert names == [p.name for p in load_grid(path).points]  # a rerun finds the same folders
    last = grid.points[-1].cfg
    assert (last.dsl.max_nodes, last.select.vote, last.dsl.seconds_per_task) == (500, "flat", 5.0)
    assert grid.points[1].cfg.dsl.second_pass == "" and grid.points[1].cfg.name == "cpu"
    assert grid.reference == names[0]  # no point has the base's own settings: the first one
    assert point_name({}) == "base" and len(point_name({"a.b": "x" * 500})) <= 120


def test_the_reference_is_the_point_with_the_base_settings(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('base = "cpu"\n[grid]\n"dsl.seconds_per_task" = [2.0, 10.0]\n')
    assert load_grid(path).reference == "dsl.seconds_per_task=10.0"


@pytest.mark.parametrize("text, problem", [
    ('[grid]\n"dsl.nope" = [1]\n', "point dsl.nope=1: unknown config key 'dsl.nope'"),
    ('[grid]\n"dsl.max_nodes" = 5\n', "must be a non-empty list"),
    ('[grid]\n"dsl.second_pass" = ["sideways"]\n', "dsl.second_pass must be one of"),
    ('[[point]]\n"ttt.scope" = "shared"\n', "cannot split"),
    ('[[point]]\n"model.path" = "/nonexistent/model"\n', "does not exist"),
    ('grids = 1\n', "unknown keys grids"),
    ('[grid]\n"dsl.max_nodes" = [1, 1]\n', "two points with the same settings"),
])
def test_a_bad_grid_is_refused_naming_the_point_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(SweepError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_grid(path)


def test_devices_follow_the_stages_a_config_has():
    from solver.config import load_config
    assert devices_of(load_config("cpu")) == ["cpu"]
    assert devices_of(load_config("tiny", ["model.path='m'"])) == ["gpu"]
    assert devices_of(load_config("cpu", ['run.extra_stages=["x:y"]', "dsl.enabled=false"])) == ["gpu", "cpu"]


def test_paired_difference_counts_gains_and_losses_over_the_common_tasks():
    mean, half, gained, lost = paired_difference({"a": 1.0, "b": 0.0, "c": 1.0, "x": 1.0},
                                                 {"a": 0.0, "b": 0.0, "c": 1.0, "y": 0.0})
    assert (round(mean, 4), gained, lost) == (0.3333, 1, 0) and half > 0
    assert paired_difference({"a": 1.0}, {"b": 1.0}) is None


# ---- tune on a sweep's work directory (journals written here, no Ray) ----

def fake_point(folder: Path, steps: int, sizes: list[int], step_cost: float, fixed: float) -> None:
    """A point's journal: model parts of tasks of `sizes` cells that took fixed + steps * size * step_cost
    seconds, greedy with 4 views (a view free), as a dry run journals them."""
    from solver.config import load_config
    from solver.journal import Journal
    cfg = load_config("cpu", ["model.path='m'", f"ttt.steps={steps}", "sample.views=4", "dsl.enabled=false"])
    journal = Journal(folder)
    journal.start({"config": cfg.to_dict(), "workers": {"gpu": ["0"], "cpu": 1}})
    start = 0.0
    for i, cells in enumerate(sizes):
        took = fixed + steps * cells / 1000 * step_cost
        journal.append({"type": "task", "task_id": f"t{i}", "status": "ok", "attempts": [[[[0]], [[0]]]],
                        "cells": cells, "plan": {"model": True, "ttt_steps": steps, "views": 4, "method": "greedy",
                                                 "rescore_views": 0, "dsl_seconds": 0.0},
                        "parts": {"gpu": {"worker": "gpu@x:1", "start": start, "end": start + took}}})
        start += took


def test_tune_on_a_sweep_fits_one_cost_model_on_every_point_and_names_the_winner(tmp_path):
    from solver.tune import read_dry_run, tune
    sizes = [200, 400, 800, 1200, 1600, 2000]
    fake_point(tmp_path / "ttt.steps=8", 8, sizes, step_cost=0.3, fixed=2.0)
    fake_point(tmp_path / "ttt.steps=64", 64, sizes, step_cost=0.3, fixed=2.0)
    (tmp_path / "sweep.json").write_text(json.dumps({"points": [{"name": "ttt.steps=8", "score": 0.5},
                                                                {"name": "ttt.steps=64", "score": 0.6}]}))
    # One point alone cannot tell a TTT step from a view (both grow with the size); the two together can.
    alone = read_dry_run(tmp_path / "ttt.steps=8").costs
    pooled = read_dry_run(tmp_path / "ttt.steps=8", pooled=(tmp_path / "ttt.steps=64",))
    assert pooled.costs["ttt_step_seconds"] == pytest.approx(0.3, rel=0.05)
    assert abs(alone["ttt_step_seconds"] - 0.3) > 0.1  # the prior's split of what grows with the size
    assert pooled.fit.error < 0.05 and pooled.model_points == 12
    lines, plot, settings = tune(tmp_path, gpus=4, hours=12, n_tasks=240)
    assert "winner within the schedule: ttt.steps=64 (score 0.6000)" in "\n".join(lines)
    assert plot.exists() and "steps = 64" in settings.read_text()
    # 240 tasks of 64 steps do not fit in a quarter of an hour on 4 GPUs; of 8 steps they do.
    lines, _, settings = tune(tmp_path, gpus=4, hours=0.25, n_tasks=240)
    assert "winner within the schedule: ttt.steps=8 (score 0.5000)" in "\n".join(lines), "\n".join(lines)


# ---- on Ray ----

# Ray is the kit's `sweep` extra: setup.sh and CI install it; without it only the tests above run.
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")


@pytest.fixture(scope="module")
def dsl_data(tmp_path_factory):
    if not (SHARED_ARC / "arc-agi-2_training_challenges.json").exists():
        pytest.skip("../shared/arc is not present")
    assert not any(held_out(t) for t in TASKS)
    folder = tmp_path_factory.mktemp("sweepdata")
    challenges = json.loads((SHARED_ARC / "arc-agi-2_training_challenges.json").read_text())
    solutions = json.loads((SHARED_ARC / "arc-agi-2_training_solutions.json").read_text())
    (folder / "ch.json").write_text(json.dumps({t: challenges[t] for t in TASKS}))
    (folder / "so.json").write_text(json.dumps({t: solutions[t] for t in TASKS}))
    return folder / "ch.json", folder / "so.json"


@pytest.fixture
def ray_env(tmp_path):
    """The environment a sweep runs in: Ray's files in a fresh short folder (its socket paths must stay short),
    the faulty stages' folder, the repository on the path."""
    ray_dir = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    faults = tmp_path / "faults"
    faults.mkdir()
    env = {**os.environ, "RAY_TMPDIR": str(ray_dir), "FAULTY_DIR": str(faults), "PYTHONPATH": str(ROOT),
           "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    yield env
    shutil.rmtree(ray_dir, ignore_errors=True)


def sweep_cmd(challenges, grid, workdir, *more) -> list[str]:
    return [sys.executable, "-m", "solver", "sweep", "--challenges", str(challenges), "--grid", str(grid),
            "--workdir", str(workdir), "--no-progress", *more]


def task_lines(point_dir: Path) -> list[dict]:
    return [e for e in read_entries(point_dir) if e.get("type") == "task"]


WORK_KEYS = ("task_id", "status", "attempts", "candidates", "errors", "cells", "plan", "degraded")


def same_work(a: dict, b: dict) -> bool:
    """Two journal records of a task made the same candidates and attempts (times and workers aside)."""
    return all(a[k] == b[k] for k in WORK_KEYS)


@pytest.mark.slow
@needs_ray
def test_a_2x2_dsl_grid_journals_each_point_as_run_does(tmp_path, dsl_data, ray_env):
    challenges, solutions = dsl_data
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text(GRID)
    workdir = tmp_path / "sweep"
    done = subprocess.run(sweep_cmd(challenges, grid_file, workdir, "--solutions", str(solutions)), cwd=ROOT,
                          env=ray_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    grid = load_grid(grid_file)
    runs = {}
    for p in grid.points:  # the same settings through `python -m solver run`, one CPU worker each, side by side
        sets = [f"--set={k}={json.dumps(v)}" for k, v in p.settings.items()]
        out = tmp_path / "runs" / p.name
        runs[p.name] = subprocess.Popen(
            [sys.executable, "-m", "solver", "run", "--challenges", str(challenges), "--out", str(out / "s.json"),
             "--workdir", str(out), "--no-progress", "--set=dsl.seconds_per_task=5", "--set=run.cpu_workers=1",
             "--set=dsl.deep_max_checked=200000",
             *sets], cwd=ROOT, env=ray_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name, proc in runs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    for p in grid.points:
        swept = {e["task_id"]: e for e in task_lines(workdir / p.name)}
        ran = {e["task_id"]: e for e in task_lines(tmp_path / "runs" / p.name)}
        assert sorted(swept) == sorted(ran) == sorted(TASKS)
        different = [t for t in TASKS if not same_work(swept[t], ran[t])]
        assert not different, f"{p.name}: the sweep's records differ from run's on {different}: " + "; ".join(
            f"{t}.{k}: sweep {swept[t][k]!r:.400} run {ran[t][k]!r:.400}" for t in different
            for k in WORK_KEYS if swept[t][k] != ran[t][k])
        header = next(read_entries(workdir / p.name))
        assert header["identity"] == next(read_entries(tmp_path / "runs" / p.name))["identity"]
        assert json.loads((workdir / p.name / "submission.json").read_text()).keys() == set(TASKS)
    table = (workdir / "sweep.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| dsl.")]
    assert len(rows) == 4 and "reference" in rows[0] and all(" 10 | 0." in r for r in rows), table
    assert "pts (+" in rows[1] and (workdir / "sweep.html").read_text().count("<tr>") == 5
    from solver.report import write_report  # `report` reads a point like a run, `tune` the whole sweep
    assert write_report(workdir / grid.points[0].name).exists()
    tuned = subprocess.run([sys.executable, "-m", "solver", "tune", str(workdir), "--hours", "1"], cwd=ROOT,
                           env=ray_env, capture_output=True, text=True, timeout=120)
    assert tuned.returncode == 0 and "winner within the schedule: dsl." in tuned.stdout, tuned.stderr[-2000:]


def killpg(proc: subprocess.Popen) -> None:
    """Whatever is left of a process group the test started (Ray's own processes after its driver died)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.slow
@needs_ray
def test_a_sweep_killed_midway_resumes_without_redoing_a_finished_pair(tmp_path, dsl_data, ray_env):
    challenges, _ = dsl_data
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text('base = "cpu"\n[set]\n"dsl.enabled" = false\n"run.extra_stages" = '
                         '["tests.faulty_stages:slow_cpu"]\n[grid]\n"select.vote" = ["hierarchical", "flat"]\n')
    ray_env["FAULTY_SECONDS"] = "0.4"
    workdir = tmp_path / "sweep"
    proc = subprocess.Popen(sweep_cmd(challenges, grid_file, workdir), cwd=ROOT, env=ray_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    points = [workdir / p.name for p in load_grid(grid_file).points]
    try:
        deadline = time.monotonic() + 120
        while sum(len(task_lines(p)) for p in points if p.exists()) < 5:
            assert proc.poll() is None and time.monotonic() < deadline, "the sweep ended before it was killed"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only
        proc.wait(10)
    finally:
        killpg(proc)
    before = {p.name: task_lines(p) for p in points}
    assert 5 <= sum(map(len, before.values())) < 20
    assert not (workdir / "sweep.md").exists()
    done = subprocess.run(sweep_cmd(challenges, grid_file, workdir), cwd=ROOT, env=ray_env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"({sum(map(len, before.values()))} from the earlier sweep)" in done.stdout
    for p in points:
        after = task_lines(p)
        assert after[:len(before[p.name])] == before[p.name]  # kept as they were
        ids = [e["task_id"] for e in after]
        assert sorted(ids) == sorted(TASKS), f"{p.name}: a pair done twice or missing: {ids}"
        assert all(any(c["stage"] == "slow" for c in e["candidates"]) for e in after)
    rows = [line for line in (workdir / "sweep.md").read_text().splitlines() if line.startswith("| select.")]
    assert len(rows) == 2 and all(" | 10 | " in r for r in rows)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(ray_env, tmp_path):
    """A second Ray instance started with `ray start --head` on a free port, standing in for a cluster; the
    `--block` process is signalled at the end, which stops that head's processes and no other Ray's."""
    port = free_port()
    # Token authentication is a head's default; a client joining by address must ask for it (Ray's docs). The
    # faulty stages' settings go in the head's environment: its workers inherit that one, not the driver's.
    env = {**ray_env, "RAY_AUTH_MODE": "token", "FAULTY_TASKS": TASKS[1], "FAULTY_DOOMED": TASKS[2],
           "FAULTY_SECONDS": "120"}
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", f"--port={port}",
                             "--num-cpus=2", "--num-gpus=0", "--object-store-memory=200000000",
                             "--include-dashboard=false", "--disable-usage-stats", "--block",
                             f"--temp-dir={env['RAY_TMPDIR']}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # up when its GCS port answers
            assert head.poll() is None, "ray start --head failed"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the Ray head did not come up"
            time.sleep(0.5)
        yield address, env
    finally:
        head.terminate()
        try:
            head.wait(30)
        except subprocess.TimeoutExpired:
            pass
        killpg(head)


@pytest.mark.slow
@needs_ray
def test_on_a_cluster_address_a_killed_worker_is_retried_and_a_doomed_pair_is_an_error(tmp_path, dsl_data,
                                                                                       ray_head):
    address, env = ray_head
    challenges, _ = dsl_data
    victim, doomed = env["FAULTY_TASKS"], env["FAULTY_DOOMED"]
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text('base = "cpu"\n[set]\n"dsl.enabled" = false\n"run.extra_stages" = '
                         '["tests.faulty_stages:victim_cpu", "tests.faulty_stages:doomed_cpu"]\n')
    small = tmp_path / "ch.json"
    small.write_text(json.dumps({t: v for t, v in json.loads(challenges.read_text()).items() if t in TASKS[:4]}))
    workdir = tmp_path / "sweep"
    proc = subprocess.Popen(sweep_cmd(small, grid_file, workdir, "--address", address), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid_file = Path(env["FAULTY_DIR"]) / f"victim-{victim}.pid"
    try:
        deadline = time.monotonic() + 120
        while not pid_file.exists() or not pid_file.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-3000:]
            time.sleep(0.1)
        killed = int(pid_file.read_text())
        os.kill(killed, signal.SIGKILL)  # the Ray worker holding the victim's pair, mid-pair
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    records = read_tasks(workdir / "base")
    assert sorted(records) == sorted(TASKS[:4])
    assert records[victim].status == "ok" and {c.stage for c in records[victim].candidates} >= {"victim", "doomed"}
    assert records[doomed].status == "ok" and not any(c.stage in ("victim", "doomed") for c in records[doomed].candidates)
    assert any("cpu part lost" in e and "retried once" in e for e in records[doomed].errors)
    calls = (Path(env["FAULTY_DIR"]) / "calls.log").read_text().split("\n")
    victim_pids = {line.split()[2] for line in calls if line.startswith(f"victim {victim} ")}
    assert len(victim_pids) == 2 and str(killed) in victim_pids  # tried again, in another process
    assert sum(line.startswith(f"doomed {doomed} ") for line in calls) == 2  # once, then once more, then given up
    assert all(not r.errors for t, r in records.items() if t not in (doomed,))


@pytest.mark.slow
@needs_ray
def test_a_model_point_runs_its_model_stage_under_ray_on_the_cpu(tmp_path, tiny_model_dir, sample_challenges_path,
                                                                   ray_env):
    tasks = json.loads(sample_challenges_path.read_text())
    few = dict(sorted(tasks.items(), key=lambda kv: len(json.dumps(kv[1])))[:2])
    small = tmp_path / "ch.json"
    small.write_text(json.dumps(few))
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text(f'base = "tiny"\n[set]\n"model.path" = {json.dumps(str(tiny_model_dir))}\n'
                         '"sample.views" = 2\n[grid]\n"ttt.steps" = [2]\n')
    workdir = tmp_path / "sweep"
    done = subprocess.run(sweep_cmd(small, grid_file, workdir), cwd=ROOT, env=ray_env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    records = read_tasks(workdir / "ttt.steps=2")
    assert sorted(records) == sorted(few)
    for r in records.values():
        assert r.status == "ok" and not r.errors, r.errors
        assert r.plan["model"] and r.plan["ttt_steps"] == 2 and r.plan["views"] == 2
        assert {"ttt", "sample"} <= set(r.phases["neural"]) and r.stats["neural"]["decoded"] > 0
        assert r.parts["gpu"]["worker"].startswith("gpu@")
