"""The coordinator with real worker processes and real files: faults, deadlines, the submission's validity.

Faults come from tests/faulty_stages.py, registered through run.extra_stages. Each run here spawns its
worker processes (a model worker and a CPU worker on a CPU machine), so each takes a few seconds.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from solver.config import load_config
from solver.journal import read_entries, read_tasks
from solver.pipeline import run, summary_lines
from solver.submission import validate_submission
from solver.tasks import load_challenges

from .conftest import alive, child_pids, write_json



def cfg_with(*sets, stages=(), budget=None):
    """The cpu preset without the program search (these tests are about the coordinator), one CPU worker."""
    over = ["dsl.enabled=false"] + list(sets) + [f"run.extra_stages={json.dumps(list(stages))}",
                                                 "run.cpu_workers=1"]
    if budget is not None:
        over.append(f"budget.total_seconds={budget}")
    return load_config(None, over)


@pytest.fixture
def faults(tmp_path, monkeypatch):
    """FAULTY_DIR for the stages' call log and markers; returns a setter for the other knobs."""
    monkeypatch.setenv("FAULTY_DIR", str(tmp_path))

    def set_env(**values):
        for k, v in values.items():
            monkeypatch.setenv(f"FAULTY_{k.upper()}", str(v))
    return set_env


def flipped(challenges_path, task_id):
    task = load_challenges(challenges_path).tasks[task_id]
    return [np.flipud(ex.input).tolist() for ex in task.test]


def check_valid(out, challenges_path):
    assert validate_submission(json.loads(out.read_text()), load_challenges(challenges_path)) == []


@pytest.mark.slow
def test_baseline_only_run_is_complete_and_journalled(tmp_path, sample_challenges_path, sample_solutions_path):
    out = tmp_path / "submission.json"
    result = run(sample_challenges_path, cfg_with(), out, solutions=sample_solutions_path,
                 workdir=tmp_path / "work", progress=False)
    check_valid(out, sample_challenges_path)
    records = read_tasks(tmp_path / "work")
    assert len(records) == 16 and all(r.status == "ok" for r in records.values())
    assert all(set(r.seconds) == {"baseline"} for r in records.values())
    assert result.score is not None and "coverage" in "\n".join(summary_lines(result))


def test_worker_stage_answers_reach_the_submission(tmp_path, sample_challenges_path, faults):
    out = tmp_path / "submission.json"
    faults(seconds=0)
    run(sample_challenges_path, cfg_with("baseline.enabled=false", stages=["tests.faulty_stages:slow_gpu"]), out,
        workdir=tmp_path / "work", progress=False)
    sub = json.loads(out.read_text())
    for tid, entries in sub.items():
        assert [e["attempt_1"] for e in entries] == flipped(sample_challenges_path, tid)
    records = read_tasks(tmp_path / "work")
    assert all(r.parts["gpu"]["worker"] == "gpu0" for r in records.values())


@pytest.mark.slow
def test_a_stage_that_raises_costs_only_its_candidates(tmp_path, sample_challenges_path, faults):
    faults(tasks="007bbfb7")
    run(sample_challenges_path, cfg_with(stages=["tests.faulty_stages:crash_gpu"]), tmp_path / "s.json",
        workdir=tmp_path / "work", progress=False)
    records = read_tasks(tmp_path / "work")
    hit = records["007bbfb7"]
    assert hit.status == "ok" and any("deliberate failure" in e for e in hit.errors)
    assert {c.stage for c in hit.candidates} == {"baseline"}
    others = [r for tid, r in records.items() if tid != "007bbfb7"]
    assert all("crash" in {c.stage for c in r.candidates} and not r.errors for r in others)


@pytest.mark.slow
def test_a_worker_killed_midway_costs_one_retry(tmp_path, sample_challenges_path, faults):
    faults(tasks="3c9b0459")
    out = tmp_path / "s.json"
    run(sample_challenges_path, cfg_with("baseline.enabled=false", stages=["tests.faulty_stages:die_gpu"]), out,
        workdir=tmp_path / "work", progress=False)
    check_valid(out, sample_challenges_path)
    records = read_tasks(tmp_path / "work")
    hit = records["3c9b0459"]
    assert any("killed by SIGKILL" in e for e in hit.errors)
    assert hit.parts["gpu"]["tries"] == 2 and {c.stage for c in hit.candidates} == {"die"}
    assert all(r.candidates and not r.errors for tid, r in records.items() if tid != "3c9b0459")
    deaths = [e for e in read_entries(tmp_path / "work") if e.get("event") == "died"]
    assert len(deaths) == 1 and deaths[0]["worker"] == "gpu0"
    # Every task answered by the stage, none twice except the one whose worker died.
    calls = (tmp_path / "calls.log").read_text().split()[1::3]
    assert sorted(calls) == sorted(list(records) + ["3c9b0459"])


@pytest.mark.slow
def test_out_of_memory_in_a_stage_is_retried_lighter(tmp_path, sample_challenges_path, faults):
    faults(tasks="6150a2bd")
    run(sample_challenges_path, cfg_with("ttt.steps=16", stages=["tests.faulty_stages:oom_gpu"]), tmp_path / "s.json",
        workdir=tmp_path / "work", progress=False)
    records = read_tasks(tmp_path / "work")
    hit = records["6150a2bd"]
    assert any("OutOfMemoryError" in e for e in hit.errors)
    assert any("retrying lighter (ttt.enabled)" in e for e in hit.errors)
    oom = [c for c in hit.candidates if c.stage == "oom"]
    assert oom and oom[0].program == "ttt=False views=8" and hit.parts["gpu"]["tries"] == 2
    assert hit.plan["ttt_steps"] == 0 and "ttt.enabled" in hit.degraded
    assert all(r.plan["ttt_steps"] == 16 for tid, r in records.items() if tid != "6150a2bd")


@pytest.mark.slow
def test_a_stage_past_its_deadline_is_killed_and_the_run_keeps_its_budget(tmp_path, sample_challenges_path, faults):
    faults(tasks="c9e6f938", seconds=0)
    out = tmp_path / "s.json"
    cfg = cfg_with("budget.safety_seconds=4", "budget.kill_grace_seconds=1",
                   stages=["tests.faulty_stages:hang_gpu"], budget=30)
    result = run(sample_challenges_path, cfg, out, workdir=tmp_path / "work", progress=False)
    check_valid(out, sample_challenges_path)
    records = read_tasks(tmp_path / "work")
    hung = records["c9e6f938"]
    assert any("killed" in e and "past the deadline" in e for e in hung.errors)
    assert hung.status == "ok" and {c.stage for c in hung.candidates} == {"baseline"}
    assert all("hang" in {c.stage for c in r.candidates} for tid, r in records.items() if tid != "c9e6f938")
    assert result.seconds < 30  # the hung stage would have slept an hour


@pytest.mark.slow
def test_the_budget_cuts_the_run_short_and_a_resume_finishes_it(tmp_path, sample_challenges_path, faults):
    """Two seconds per task and 16 tasks do not fit in 10 s (a huge grace factor lets each task run to the
    end of the run): the run ends within its budget with a valid submission; what it did not reach is
    'cut', keeps the baseline's attempts, and a rerun does it."""
    faults(seconds=2)
    out, work = tmp_path / "s.json", tmp_path / "work"
    cfg = cfg_with("budget.safety_seconds=3", "budget.kill_grace_seconds=1", "budget.grace_factor=100",
                   stages=["tests.faulty_stages:slow_gpu"], budget=10)
    first = run(sample_challenges_path, cfg, out, workdir=work, progress=False)
    check_valid(out, sample_challenges_path)
    assert first.stopped_early and first.seconds < 10
    cut = {tid for tid, r in read_tasks(work).items() if r.status == "cut"}
    done = {tid for tid, r in read_tasks(work).items() if r.status == "ok"}
    assert cut and done and len(cut | done) == 16
    assert all({c.stage for c in read_tasks(work)[t].candidates} <= {"baseline", "slow"} for t in cut)
    faults(seconds=0)
    second = run(sample_challenges_path, cfg_with(stages=["tests.faulty_stages:slow_gpu"]), out, workdir=work,
                 progress=False)
    records = read_tasks(work)
    assert second.resumed == len(done) and all(r.status == "ok" for r in records.values())
    sub = json.loads(out.read_text())
    assert all(any(e["attempt_2"] == f or e["attempt_1"] == f for e, f in
                   zip(sub[tid], flipped(sample_challenges_path, tid))) for tid in sub)


def test_stages_prepare_over_all_tasks_once_per_worker(tmp_path, sample_challenges_path, faults):
    run(sample_challenges_path, cfg_with(stages=["tests.faulty_stages:prepared_gpu"]), tmp_path / "s.json",
        workdir=tmp_path / "work", progress=False)
    records = read_tasks(tmp_path / "work")
    assert {c.program for r in records.values() for c in r.candidates if c.stage == "prepared"} == {"prepared on [16]"}
    assert (tmp_path / "calls.log").read_text().count("prepare") == 1


@pytest.mark.slow
def test_a_failed_preparation_is_noted_and_the_stage_still_solves(tmp_path, sample_challenges_path, faults):
    faults(tasks="c9e6f938")
    result = run(sample_challenges_path, cfg_with(stages=["tests.faulty_stages:prepared_gpu"]),
                 tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    assert any("deliberate preparation failure" in n for n in result.notes)
    assert all("prepared" in {c.stage for c in r.candidates} for r in read_tasks(tmp_path / "work").values())


@pytest.mark.slow
def test_each_model_worker_sees_only_its_gpu(tmp_path, sample_challenges_path, monkeypatch, faults):
    """Two GPUs visible: two model workers, each started with only its own GPU in CUDA_VISIBLE_DEVICES (the
    ids need not exist: nothing here imports torch), both pulling from the one queue."""
    faults(seconds=0.4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    run(sample_challenges_path, cfg_with(stages=["tests.faulty_stages:env_gpu"]), tmp_path / "s.json",
        workdir=tmp_path / "work", progress=False)
    seen = {}
    for r in read_tasks(tmp_path / "work").values():
        env = [c.program for c in r.candidates if c.stage == "env"][0]
        seen.setdefault(r.parts["gpu"]["worker"], set()).add(env)
    # and torch's CUDA allocator grows segments in place (set before the worker imports torch)
    alloc = "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True"
    assert seen == {"gpu0": {f"CUDA_VISIBLE_DEVICES=3 {alloc}"}, "gpu1": {f"CUDA_VISIBLE_DEVICES=5 {alloc}"}}


def test_worker_layout():
    from solver.config import RunConfig
    from solver.workers import layout
    assert layout(RunConfig(), ["0", "1", "2", "3"], 16) == (["0", "1", "2", "3"], 12)
    assert layout(RunConfig(), [], 2, model=True) == ([None], 1)   # the model computes on one core
    assert layout(RunConfig(), [], 2, model=False) == ([None], 2)  # no model: every core searches
    assert layout(RunConfig(gpu_workers=2, cpu_workers=3), ["7"], 8) == (["7", "7"], 3)


def test_stages_that_cannot_start_are_left_out_with_a_note(tmp_path, sample_challenges_path):
    out = tmp_path / "s.json"
    result = run(sample_challenges_path, cfg_with(stages=["tests.faulty_stages:broken_gpu"]), out,
                 workdir=tmp_path / "work", progress=False)
    check_valid(out, sample_challenges_path)
    assert any("no gpu worker could start" in n for n in result.notes)
    assert any("config.json" in n for n in result.notes)
    assert all(r.status == "ok" for r in read_tasks(tmp_path / "work").values())


def test_a_missing_model_directory_is_a_config_error_before_anything_starts(tmp_path, sample_challenges_path):
    from solver.config import ConfigError
    with pytest.raises(ConfigError, match="model directory .*nowhere does not exist"):
        run(sample_challenges_path, cfg_with(f'model.path="{tmp_path / "nowhere"}"'), tmp_path / "s.json",
            workdir=tmp_path / "work", progress=False)
    assert not (tmp_path / "work").exists()


def test_an_unknown_extra_stage_is_a_config_error(tmp_path, sample_challenges_path):
    from solver.config import ConfigError
    with pytest.raises(ConfigError, match="nonexistent_module"):
        run(sample_challenges_path, cfg_with(stages=["nonexistent_module:x"]), tmp_path / "s.json",
            workdir=tmp_path / "work", progress=False)


def test_no_worker_outlives_the_run(tmp_path, sample_challenges_path):
    run(sample_challenges_path, cfg_with(), tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    left = [p for p in child_pids(os.getpid()) if alive(p)]
    # multiprocessing's resource tracker may stay for the life of this test process; no worker may.
    assert all("resource_tracker" in Path(f"/proc/{p}/cmdline").read_text() for p in left)


# ---- with the real stages: the DSL on the CPU pool, the tiny real model on the model worker ----
# Their registrations in build_stages reach the right workers and honour the coordinator's deadlines.

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from solver.model import make_tiny_model
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"), "tiny", seed=0)


@pytest.fixture
def four_tasks(tmp_path, sample_challenges_path):
    data = json.loads(sample_challenges_path.read_text())
    return write_json(tmp_path / "four.json", {k: data[k] for k in list(data)[:4]})


@pytest.mark.slow
def test_deadline_in_the_middle_of_real_training(tmp_path, four_tasks, tiny_model):
    """The tiny real model with far more TTT steps than the budget holds, and a cost model that believes
    they fit, so the ladder leaves them: the deadline falls in the middle of training. The neural stage
    returns on its own by its deadline (not killed, no error) and the run ends within its budget."""
    cfg = load_config("tiny", [f'model.path="{tiny_model}"', "ttt.steps=100000", "sample.views=1",
                               "budget.ttt_step_seconds=0.000001", "budget.model_task_seconds=0.01",
                               # A generous kill grace: a stage killed at its deadline + grace would fail the
                               # check below, while one that stops by itself passes even on a busy machine.
                               "budget.safety_seconds=12", "budget.kill_grace_seconds=10",
                               "budget.total_seconds=60", "run.cpu_workers=1"])
    result = run(four_tasks, cfg, tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    check_valid(tmp_path / "s.json", four_tasks)
    assert result.seconds < 60
    trained = [r for r in read_tasks(tmp_path / "work").values() if r.status == "ok"]
    assert trained and all("neural" in r.seconds for r in trained)
    for r in trained:
        assert r.plan["ttt_steps"] == 100000 and r.degraded == [] and r.errors == []
        gpu = r.parts["gpu"]  # it returned by itself: a kill comes kill_grace seconds after the deadline
        assert gpu["end"] - gpu["start"] < gpu["allotted"] + cfg.budget.kill_grace_seconds


@pytest.mark.slow
def test_the_dsl_and_the_model_each_run_in_their_pool(tmp_path, four_tasks, tiny_model):
    cfg = load_config("tiny", [f'model.path="{tiny_model}"', "ttt.steps=1", "sample.views=1",
                               "dsl.enabled=true", "dsl.seconds_per_task=1.0", "dsl.max_depth=1",
                               "run.cpu_workers=1"])
    run(four_tasks, cfg, tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    records = read_tasks(tmp_path / "work").values()
    assert all({"dsl", "neural"} <= set(r.seconds) and not r.errors for r in records)
    assert all(r.parts["gpu"]["worker"] == "gpu0" and r.parts["cpu"]["worker"] == "cpu0" for r in records)
    assert any(c.stage == "dsl" and c.program for r in records for c in r.candidates)
