"""Each phase of the neural stage fails alone (issue 15): a fault injected into one phase (an exception, and a
torch.cuda.OutOfMemoryError raised on purpose) keeps what the phases before it made, is reported with its
phase, and the out-of-memory retry lightens that phase. The model is the real tiny one; only the phase's
function is replaced by one that raises (tests/faulty_stages.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import solver.neural as neural
from solver.budget import Deadline, degraded, lighter
from solver.config import load_config
from solver.journal import read_tasks
from solver.neural import NeuralStage
from solver.pipeline import run, summary_lines
from solver.stages import Stage, StageResult, run_stages
from solver.synth import RULES, make_task

from .conftest import one_torch_thread, write_json
from .faulty_stages import faulty_phase

# DFS keeps to the grammar of grids, so even the random tiny model yields candidates for rescoring to score.
DFS = ["sample.method=dfs", "sample.min_prob=1e-3", "sample.max_candidates=2"]


def config(model_dir, *extra):
    return load_config("tiny", [f"model.path={json.dumps(str(model_dir))}", "ttt.steps=2", "ttt.batch_size=2",
                                "sample.views=2", "sample.batch_size=2", "rescore.enabled=true",
                                "rescore.views=2", "rescore.batch_size=4", *extra])


def task():
    return make_task(RULES["identity"], np.random.default_rng(3), sides=(1, 2))


def solve(stage: NeuralStage) -> StageResult:
    with one_torch_thread():
        return stage.solve(task(), stage.cfg, Deadline.never())


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """Per sampling method, the stage and its result without a fault."""
    from solver.model import make_tiny_model
    model_dir = make_tiny_model(tmp_path_factory.mktemp("tiny"), "tiny", seed=0)
    out = {}
    for method, extra in (("sample", []), ("dfs", DFS)):
        stage = NeuralStage(config(model_dir, *extra))
        out[method] = (stage, solve(stage))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["error", "oom"])
@pytest.mark.parametrize("phase", ["ttt", "sample", "dfs", "rescore"])
def test_a_failing_phase_keeps_what_the_phases_before_it_made(stages, monkeypatch, phase, kind):
    stage, clean = stages["sample" if phase == "sample" else "dfs"]
    assert not clean.failures and set(clean.phases) >= {"ttt", "sample" if phase == "sample" else "dfs"}
    if phase != "sample":
        assert clean.candidates and all(c.rescore_nll for c in clean.candidates)
    start = stage.adapter.state()
    monkeypatch.setattr(neural, *faulty_phase(phase, kind))
    got = solve(stage)
    monkeypatch.undo()

    (failure,) = got.failures
    assert failure.phase == phase and failure.out_of_memory == (kind == "oom")
    assert ("OutOfMemoryError" if kind == "oom" else "RuntimeError") in failure.error
    assert all(not v.data_ptr() or (v == start[k]).all() for k, v in stage.adapter.state().items())
    if phase == "ttt":  # sampling still ran (from the untrained adapter), and rescored what it found
        assert got.stats["decoded"] == clean.stats["decoded"] and "ttt_steps" not in got.stats
        assert ("rescore" in got.phases) == bool(got.candidates) and all(c.rescore_nll for c in got.candidates)
    elif phase in ("sample", "dfs"):  # nothing sampled: nothing to rescore
        assert got.candidates == [] and "ttt" in got.phases and "rescore" not in got.phases
    else:  # the sampled candidates are kept, unrescored
        assert [c.grid.tolist() for c in got.candidates] == [c.grid.tolist() for c in clean.candidates]
        assert all(c.rescore_nll is None for c in got.candidates)
        assert got.stats["candidates"] == clean.stats["candidates"] and "rescored_grids" not in got.stats


@pytest.mark.slow
@pytest.mark.parametrize("phase, knob", [("ttt", "ttt.micro_batch_size"), ("sample", "sample.batch_size"),
                                         ("dfs", "sample.views"), ("rescore", "rescore.batch_size")])
def test_running_out_of_memory_is_reported_with_its_phase_and_lightens_it(stages, monkeypatch, phase, knob):
    stage, _ = stages["sample" if phase == "sample" else "dfs"]
    monkeypatch.setattr(neural, *faulty_phase(phase, "oom"))
    with one_torch_thread():
        part = run_stages(task(), [Stage(stage.name, stage.solve)], stage.cfg, Deadline.never())
    assert part.out_of_memory and part.oom_phase == phase
    assert any(e.startswith(f"neural/{phase}: OutOfMemoryError") for e in part.errors)
    assert phase in part.phases["neural"] and "decoded" in part.stats["neural"]
    plan = lighter(stage.cfg, "gpu", part.oom_phase)
    assert degraded(stage.cfg, plan) == [knob] and plan.ttt.enabled  # that phase, before TTT goes


def test_lighter_walks_down_the_failing_phase_before_dropping_training(tiny_model_dir):
    cfg = config(tiny_model_dir)
    plan, steps = cfg, []
    while (plan := lighter(plan, "gpu", "rescore")) is not None and plan.rescore.enabled:
        steps.append((plan.rescore.batch_size, plan.rescore.views))
    assert steps == [(2, 2), (1, 2), (1, 1)]
    assert plan.ttt.enabled and not plan.rescore.enabled  # the last rung of the phase: no rescoring
    ttt = lighter(cfg, "gpu", "ttt")
    assert ttt.ttt.micro_batch_size == 1 and ttt.ttt.enabled
    assert not lighter(ttt, "gpu", "ttt").ttt.enabled  # one sequence per pass still fails: no TTT
    assert lighter(cfg, "gpu").ttt.enabled is False     # a death with no phase: the old ladder


@pytest.mark.slow
def test_a_run_journals_the_phase_and_retries_it_lighter(tmp_path, tiny_model_dir, monkeypatch):
    """Through the real worker processes: rescoring runs out of memory while its batch is at the configured
    size; the journal has the error with its phase, the retry halves the rescoring batch only, and the
    retried task's candidates are rescored."""
    monkeypatch.setenv("FAULTY_PHASE", "rescore")
    monkeypatch.setenv("FAULTY_ERROR", "oom")
    tasks = {f"t{s}": make_task(RULES["identity"], np.random.default_rng(s), sides=(1, 2)) for s in range(2)}
    challenges = write_json(tmp_path / "c.json", {tid: {"train": [{"input": e.input.tolist(), "output": e.output.tolist()}
                                                                  for e in t.train],
                                                        "test": [{"input": e.input.tolist()} for e in t.test]}
                                                  for tid, t in tasks.items()})
    cfg = config(tiny_model_dir, *DFS, "dsl.enabled=false", "run.cpu_workers=1",
                 'run.extra_stages=["tests.faulty_stages:neural_fault"]')
    result = run(challenges, cfg, tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    records = read_tasks(tmp_path / "work")
    for r in records.values():
        assert any(e.startswith("neural/rescore: OutOfMemoryError") for e in r.errors)
        assert any("ran out of memory in rescore; retrying lighter (rescore.batch_size)" in e for e in r.errors)
        assert r.parts["gpu"]["tries"] == 2 and r.degraded == ["rescore.batch_size"] and r.plan["ttt_steps"] == 2
        neural_cands = [c for c in r.candidates if c.family == "neural"]
        assert neural_cands and all(c.rescore_nll for c in neural_cands)
        assert set(r.phases["neural"]) == {"ttt", "dfs", "rescore"} and r.stats["neural"]["candidates"] > 0
        assert "rss_mb" in r.parts["gpu"]
    lines = "\n".join(summary_lines(result))
    assert "stage neural" in lines and "rescore" in lines and "model neural" in lines
