"""The budget tuner: fitting the cost model, simulating the schedule, recommending settings, and the CLI on a
real dry run."""
from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from solver.budget import model_seconds
from solver.config import load_config
from solver.journal import read_entries
from solver.tune import DryRun, SimTask, fit_costs, recommend, simulate, with_costs

ROOT = Path(__file__).resolve().parent.parent


def test_fit_recovers_costs_the_data_can_tell_apart():
    rng = np.random.default_rng(0)
    true = np.array([1.5, 0.3, 0.8, 3.2])
    x = np.column_stack([np.ones(60), rng.uniform(0, 30, 60), rng.uniform(0, 8, 60) * (rng.random(60) < 0.5),
                         rng.uniform(0, 8, 60)])
    y = x @ true * rng.uniform(0.97, 1.03, 60)
    fitted = fit_costs(x, y, prior=np.array([2.0, 0.5, 1.0, 4.0]))
    assert np.allclose(fitted, true, rtol=0.1)


def test_fit_keeps_the_priors_proportions_where_the_data_cannot_decide():
    # Every task ran 20 steps and 2 greedy views: steps and views grow together with the size.
    size = np.linspace(0.1, 3, 30)
    x = np.column_stack([np.ones(30), 20 * size, 2 * size, np.zeros(30)])
    y = 0.1 + 0.6 * size
    prior = np.array([2.0, 0.5, 1.0, 4.0])
    fitted = fit_costs(x, y, prior)
    assert np.allclose(x @ fitted, y, rtol=0.05)  # the total is right
    assert fitted[1] / fitted[2] == pytest.approx(0.5, rel=0.05)  # the split is the prior's
    assert fitted[3] / fitted[2] == pytest.approx(4.0, rel=0.05)  # no DFS seen: the prior's factor stays


def test_fit_stays_non_negative_and_refits_the_rest():
    # Part times that do not grow with the size (a tiny model: fixed costs dominate), and fall a little:
    # the size terms would go negative; they are held at zero (or near it) and the fixed cost is refitted
    # to the mean part time, so the total stays right. (Clipping alone gave a total 13-40% too high.)
    size = np.linspace(0.05, 0.25, 12)
    x = np.column_stack([np.ones(12), 2 * size, 2 * size, np.zeros(12)])
    y = 0.2 - 0.1 * size + np.tile([0.01, -0.01], 6)
    fitted = fit_costs(x, y, np.array([2.0, 0.5, 1.0, 4.0]))
    assert (fitted >= 0).all()
    assert (x @ fitted).sum() == pytest.approx(y.sum(), rel=0.02)
    assert fitted[0] == pytest.approx(y.mean(), rel=0.05)


def model_cfg(**over):
    sets = {"model.path": '"m"', "ttt.steps": 32, "sample.views": 4, "sample.method": '"greedy"',
            "budget.safety_seconds": 10.0, **over}
    return load_config(None, [f"{k}={v}" for k, v in sets.items()])


def test_simulate_spreads_tasks_over_the_workers():
    cfg = model_cfg(**{"budget.model_task_seconds": 10.0, "budget.ttt_step_seconds": 0.0,
                       "budget.view_seconds": 0.0, "dsl.enabled": "false"})
    tasks = [SimTask(cells=500, n_test=1) for _ in range(40)]
    sim = simulate(cfg, tasks, gpus=4, cpus=0, budget=10_000, startup={"gpu": 5.0}, ladder=False)
    assert sim.makespan == pytest.approx(5 + 10 * 10)
    assert sorted(len(v) for v in sim.lanes.values()) == [10, 10, 10, 10] and sim.cut == 0


def test_simulated_ladder_keeps_the_deadline():
    cfg = model_cfg(**{"dsl.seconds_per_task": 5.0})
    rng = np.random.default_rng(1)
    tasks = [SimTask(int(c), 1 + (c % 3 == 0), float(r), dsl_need=float(d))
             for c, r, d in zip(rng.integers(50, 5000, 120), rng.uniform(0.5, 2, 120), rng.uniform(0.1, 20, 120))]
    fixed = simulate(cfg, tasks, gpus=2, cpus=3, budget=600, startup={"gpu": 20}, ladder=False)
    assert fixed.cut > 0  # the full settings do not fit in 600 s
    laddered = simulate(cfg, tasks, gpus=2, cpus=3, budget=600, startup={"gpu": 20}, ladder=True)
    assert laddered.degraded > 0
    end = 600 - cfg.budget.safety_seconds + cfg.budget.kill_grace_seconds
    assert all(e <= end + 1e-9 for lane in laddered.lanes.values() for _, e, _ in lane)


def test_recommendation_is_the_most_training_that_fits():
    cfg = model_cfg()
    rng = np.random.default_rng(2)
    tasks = [SimTask(int(c), 1, float(r)) for c, r in zip(rng.integers(100, 3000, 50), rng.uniform(0.8, 1.2, 50))]
    costs = {"model_task_seconds": 3.0, "ttt_step_seconds": 0.4, "view_seconds": 2.0, "dfs_factor": 4.0}
    dry = DryRun(cfg, tasks, costs, 50, 0, 0.0, {"gpu": 60.0}, 2)
    rec = recommend(dry, gpus=4, cpus=0, hours=1.0, n_tasks=240, margin=0.1)
    assert rec.fixed.makespan <= rec.target and rec.fixed.cut == 0
    assert 8 <= rec.cfg.ttt.steps < 4 * 32  # neither starved nor at the cap
    # One more step would not fit: the same draw of tasks, simulated at steps + 1.
    more = with_costs(rec.cfg, costs, 1.0, 3600, ttt__steps=rec.cfg.ttt.steps + 1)
    tasks_drawn = _drawn(dry, 240)
    assert simulate(more, tasks_drawn, 4, 0, 3600, {"gpu": 60.0}, ladder=False).makespan > rec.target


def _drawn(dry, n, seed=0):
    import copy
    import random
    rng = random.Random(seed)
    return [copy.copy(rng.choice(dry.tasks)) for _ in range(n)]


def test_too_little_time_walks_down_to_greedy_and_then_off():
    cfg = model_cfg(**{"sample.method": '"dfs"', "sample.views": 8})
    tasks = [SimTask(1000, 1) for _ in range(10)]
    costs = {"model_task_seconds": 1.0, "ttt_step_seconds": 1.0, "view_seconds": 1.0, "dfs_factor": 4.0}
    dry = DryRun(cfg, tasks, costs, 10, 0, 0.0, {}, 1)
    tight = recommend(dry, gpus=1, cpus=0, hours=0.1, n_tasks=40, margin=0.1)  # ~7.6 s a task
    assert not tight.cfg.ttt.enabled and tight.cfg.sample.method == "greedy" and 1 <= tight.cfg.sample.views <= 6
    hopeless = recommend(dry, gpus=1, cpus=0, hours=0.01, n_tasks=40, margin=0.1)
    assert not hopeless.cfg.model.active


def check_fit_explains(work: Path, cfg, steps: int, views: int, tolerance: float) -> None:
    """The fitted cost model predicts the dry run's measured model time as a whole."""
    measured = predicted = 0.0
    for line in (work / "journal.jsonl").read_text().splitlines():
        e = json.loads(line)
        if e.get("type") == "task" and "gpu" in e["parts"]:
            size = e["cells"] / 1000
            measured += e["parts"]["gpu"]["end"] - e["parts"]["gpu"]["start"]
            predicted += cfg.budget.model_task_seconds + size * (
                steps * cfg.budget.ttt_step_seconds + views * len(e["attempts"]) * cfg.budget.view_seconds)
    assert math.isclose(predicted, measured, rel_tol=tolerance)


@pytest.mark.slow
def test_tune_cli_on_a_real_dry_run_of_the_tiny_model(tmp_path, sample_challenges_path):
    """A dry run of the tiny real model, then the tuner."""
    data = json.loads(sample_challenges_path.read_text())
    challenges = tmp_path / "six.json"
    challenges.write_text(json.dumps({k: data[k] for k in list(data)[:6]}))
    model = tmp_path / "model"
    assert subprocess.run([sys.executable, "-m", "solver", "make-model", str(model), "--size", "tiny"],
                          cwd=ROOT, capture_output=True, timeout=300).returncode == 0
    work = tmp_path / "work"
    dry = subprocess.run([sys.executable, "-m", "solver", "run", "--challenges", str(challenges), "--out",
                          str(tmp_path / "s.json"), "--workdir", str(work), "--no-progress", "--config", "tiny",
                          "--set", f'model.path="{model}"', "--set", "ttt.steps=2", "--set", "sample.views=2",
                          "--set", "run.cpu_workers=1"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert dry.returncode == 0, dry.stderr
    tuned = subprocess.run([sys.executable, "-m", "solver", "tune", str(work), "--gpus", "4", "--hours", "0.05",
                            "--tasks", "240"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert tuned.returncode == 0, tuned.stderr
    assert "6 model parts" in tuned.stdout and (work / "tune_timeline.png").read_bytes().startswith(b"\x89PNG")
    check_fit_explains(work, load_config(str(work / "tuned.toml")), steps=2, views=2, tolerance=0.15)


def test_tune_refuses_a_folder_without_a_journal(tmp_path):
    out = subprocess.run([sys.executable, "-m", "solver", "tune", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "no run journal" in out.stderr


@pytest.mark.slow
def test_the_cost_model_fitted_phase_by_phase_explains_a_dry_run_with_rescoring(tmp_path, pretrained_model_dir,
                                                                              single_torch_thread):
    """A real dry run (the model pre-trained to copy grids writes grids, so rescoring has work), tasks of
    several sizes: every phase is journaled and fitted, rescoring included. The budget's own cost model
    (budget.model_seconds with the fitted costs, for each task's plan and the phases that ran) explains the
    measured model time within 15%, rescoring a visible part of it. (In the dry run itself the totals agree
    by construction; task by task the error is larger, the more so on a loaded machine: tune prints it, and
    bench/results/tune_rescore_tiny.txt has an out-of-sample check.)"""
    from solver.pipeline import run
    from solver.synth import RULES, make_task
    from solver.tune import read_dry_run, report_lines
    rng = np.random.default_rng(0)
    tasks = {f"t{k}": make_task(RULES["identity"], rng, sides=(side, side), n_train=2)
             for k, side in enumerate([2, 3, 4, 4, 5, 6])}
    challenges = tmp_path / "c.json"
    challenges.write_text(json.dumps({tid: {"train": [{"input": e.input.tolist(), "output": e.output.tolist()}
                                                      for e in t.train],
                                            "test": [{"input": e.input.tolist()} for e in t.test]}
                                      for tid, t in tasks.items()}))
    cfg = load_config("tiny", [f"model.path={json.dumps(str(pretrained_model_dir))}", "model.max_length=512",
                               "ttt.steps=2", "sample.views=2", "rescore.enabled=true", "rescore.views=4",
                               "dsl.enabled=false", "run.cpu_workers=1"])
    run(challenges, cfg, tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    dry = read_dry_run(tmp_path / "work")
    explain = "\n".join(report_lines(dry, recommend(dry, 1, 1, 1, 10), 1, 1, 1, 10, 1, 1))
    assert dry.model_points == 6 and dry.fit.by_phases, explain
    assert dry.fit.phases_measured["rescore"] > 0 and dry.costs["rescore_view_seconds"] > 0, explain
    fitted = with_costs(dry.cfg, dry.costs, 1.0, 3600)
    measured = predicted = 0.0
    for e in read_entries(tmp_path / "work"):
        if e.get("type") == "task":
            plan = copy.deepcopy(fitted)
            plan.rescore.enabled = "rescore" in e["phases"]["neural"]  # it scores only what sampling found
            measured += e["parts"]["gpu"]["end"] - e["parts"]["gpu"]["start"]
            predicted += model_seconds(plan, e["cells"], len(e["attempts"]))
    assert math.isclose(predicted, measured, rel_tol=0.15), explain
    assert dry.fit.phases_measured["rescore"] > 0.05 * measured, explain


# ---- the views, from the repeated-sampling curve's fit (solver/curve.py)

def curve_dry(views: int, fit: tuple[float, float]) -> "DryRun":
    from solver.curve import SamplingCurve, curve_points
    cfg = model_cfg(**{"sample.views": views})
    rng = np.random.default_rng(2)
    tasks = [SimTask(int(c), 1, float(r)) for c, r in zip(rng.integers(100, 3000, 50), rng.uniform(0.8, 1.2, 50))]
    costs = {"model_task_seconds": 3.0, "ttt_step_seconds": 0.4, "view_seconds": 2.0, "dfs_factor": 4.0,
             "rescore_view_seconds": 1.0}
    ns = curve_points(views)
    curve = SamplingCurve(ns, ns, [math.exp(fit[0] * n ** fit[1]) for n in ns], [0.1] * len(ns), 50, 50, fit)
    return DryRun(cfg, tasks, costs, 50, 0, 0.0, {"gpu": 60.0}, 2, curve=curve)


def test_views_are_capped_where_the_fit_says_doubling_adds_under_a_point():
    from solver.curve import saturation_views
    from solver.tune import report_lines
    dry = curve_dry(8, (-3.0, -3.0))  # coverage 5% at 1 view, 95% at 4, 99.9% at 16: saturated
    cap = saturation_views(dry.curve, 8, 0.01)
    assert cap is not None and 4 < cap < 8
    blind = recommend(DryRun(**{**dry.__dict__, "curve": None}), gpus=4, cpus=0, hours=1.0, n_tasks=240)
    rec = recommend(dry, gpus=4, cpus=0, hours=1.0, n_tasks=240)
    assert blind.cfg.sample.views == 8 and rec.cfg.sample.views == cap
    assert rec.cfg.ttt.steps > blind.cfg.ttt.steps  # the views' time went to TTT
    assert rec.fixed.makespan <= rec.target and rec.fixed.cut == 0
    text = "\n".join(report_lines(dry, rec, 4, 0, 1.0, 240, 1.0, 1.0))
    assert f"views capped at {cap} (configured 8)" in text
    assert f"at the recommended {cap} views {math.exp(-3 * cap ** -3.0):.1%}" in text
    assert f"views = {cap}" in text  # in the recommended settings
    # Never below the curve's first point: a flat curve measured from 2 views on (16 views, 8 groups) caps at 2.
    flat = curve_dry(16, (-0.7, -1e-9))
    flat.curve.views = [2, 4, 8, 16]
    assert recommend(flat, gpus=4, cpus=0, hours=1.0, n_tasks=240).cfg.sample.views == 2


def test_more_views_where_the_fit_says_they_pay_and_the_schedule_has_room():
    dry = curve_dry(4, (-1.2, -0.6))  # doubling still adds points at 16 views
    roomy = recommend(dry, gpus=4, cpus=0, hours=100.0, n_tasks=240)
    assert roomy.cfg.ttt.steps == 4 * 32 and roomy.cfg.sample.views == 16  # both at their caps
    assert roomy.fixed.makespan <= roomy.target and "views raised from 4 to 16" in roomy.views_advice[0]
    tight = recommend(dry, gpus=4, cpus=0, hours=1.0, n_tasks=240)
    assert tight.cfg.sample.views == 4 and tight.cfg.ttt.steps < 4 * 32
    assert len(tight.views_advice) == 1 and "worth more views, but the schedule has no room" in tight.views_advice[0]
    # Without a fit the tuner keeps the configured views and says why.
    dry.curve.fit = None
    assert recommend(dry, gpus=4, cpus=0, hours=100.0, n_tasks=240).cfg.sample.views == 4


def test_tune_prints_the_curve_of_a_dry_run_with_solutions(tmp_path):
    from solver.report import sampling_curve_of
    from solver.tune import tune
    from tests.test_curve import hand_made
    work = hand_made(tmp_path)
    lines, _, _ = tune(work, gpus=1, hours=1.0, n_tasks=10)
    curve = sampling_curve_of(work)
    text = "\n".join(lines)
    assert "repeated sampling (dry run, 4 test outputs of 3 tasks with solutions, one output 25.0 points" in text
    assert "  coverage   " + " ".join(f"{c:>7.1%}" for c in curve.coverage) in text
    assert "  pass@2     " + " ".join(f"{p:>7.1%}" for p in curve.pass2) in text
    assert ("no fit of coverage" in text) == (curve.fit is None)
    # Told another solutions file (here: none of these tasks), no curve.
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"zzz": [[[0]]]}))
    assert "repeated sampling: no curve" in "\n".join(tune(work, 1, 1.0, 10, solutions=other)[0])
