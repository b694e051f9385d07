"""Each phase of the neural stage fails alone (issue 15): a fault injected into one phase (an exception, and a
torch.cuda.OutOfMemoryError raised on purpose) keeps what the phases before it made, is reported with its
phase, and the out-of-memory retry lightens that phase. The model is the real tiny one; only the phase's
function is replaced by one that raises (tests/faulty_stages.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import solver.budget as budget
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
    monkeypatch.setattr(budget, "MIN_PREFILL_TOKENS", 8)  # the tiny task's prompts are shorter than the floor
    stage, clean = stages["sample" if phase == "sample" else "dfs"]
    assert not clean.failures and set(clean.phases) >= {"ttt", "sample" if phase == "sample" else "dfs"}
    if phase != "sample":
        assert clean.candidates and all(c.rescore_nll for c in clean.candidates)
    start = stage.adapter.state()
    monkeypatch.setattr(neural, *faulty_phase(phase, kind))
    got = solve(stage)
    monkeypatch.undo()

    # out of memory: the lighter retry in process failed too, and both tries are reported
    assert len(got.failures) == (2 if kind == "oom" else 1) and not got.retried
    for failure in got.failures:
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


PHASE_KNOBS = [("ttt", "ttt.micro_batch_size"), ("sample", "sample.batch_size"), ("dfs", "sample.prefill_chunk"),
               ("rescore", "rescore.batch_size")]


@pytest.mark.slow
@pytest.mark.parametrize("phase, knob", PHASE_KNOBS)
def test_out_of_memory_once_is_retried_lighter_in_process_and_never_requeued(stages, monkeypatch, phase, knob):
    """torch.cuda.OutOfMemoryError on the phase's first call only: the phase runs again lighter in the same
    solve, the task has everything a clean run gives it, and nothing asks the coordinator to requeue it."""
    monkeypatch.setattr(budget, "MIN_PREFILL_TOKENS", 8)  # the tiny task's prompts are shorter than the floor
    stage, clean = stages["sample" if phase == "sample" else "dfs"]
    monkeypatch.setattr(neural, *faulty_phase(phase, "oom", times=1))
    with one_torch_thread():
        part = run_stages(task(), [Stage(stage.name, stage.solve)], stage.cfg, Deadline.never())
    assert not part.out_of_memory and part.errors == [] and part.plan is None
    assert part.stats["neural"]["retried_lighter"] == {phase: [knob]}
    assert part.stats["neural"]["decoded"] == clean.stats["decoded"]
    assert ("ttt_steps" in part.stats["neural"]) and len(part.candidates) == len(clean.candidates)
    if phase != "sample":  # (greedy decoding on the random model writes no grid)
        assert part.candidates and all(c.rescore_nll for c in part.candidates)


@pytest.mark.slow
@pytest.mark.parametrize("phase, knob", PHASE_KNOBS)
def test_running_out_of_memory_is_reported_with_its_phase_and_lightens_it(stages, monkeypatch, phase, knob):
    """Out of memory on every call: the lighter retry in process fails too; the part says so, with the plan
    that retry ran with, and the coordinator's next rung starts from it."""
    monkeypatch.setattr(budget, "MIN_PREFILL_TOKENS", 8)  # the tiny task's prompts are shorter than the floor
    stage, _ = stages["sample" if phase == "sample" else "dfs"]
    monkeypatch.setattr(neural, *faulty_phase(phase, "oom"))
    with one_torch_thread():
        part = run_stages(task(), [Stage(stage.name, stage.solve)], stage.cfg, Deadline.never())
    assert part.out_of_memory and part.oom_phase == phase
    assert sum(e.startswith(f"neural/{phase}: OutOfMemoryError") for e in part.errors) == 2
    assert phase in part.phases["neural"] and "decoded" in part.stats["neural"]
    assert degraded(stage.cfg, part.plan) == [knob] and part.plan.ttt.enabled  # that phase, before TTT goes
    assert degraded(stage.cfg, lighter(stage.cfg, "gpu", phase)) == [knob]  # the same rung as the coordinator's
    assert degraded(part.plan, lighter(part.plan, "gpu", phase))  # the requeue goes further than the retry


@pytest.mark.slow
@pytest.mark.parametrize("method", ["sample", "dfs"])
@pytest.mark.parametrize("lasting", [False, True])
def test_sampling_that_fails_part_way_keeps_what_it_decoded(pretrained_model_dir, monkeypatch, method, lasting):
    """Four views, two prompts per greedy batch (DFS: one prompt per search), on the tiny model pre-trained
    to copy 4x4 grids. The backend runs out of memory on its second call (the real model underneath): the
    candidates of the first call survive. Once only: the lighter retry decodes the prompts not yet decoded,
    and the task ends with what a clean run gives. Lasting: the retry fails too, and the first call's
    candidates are still there."""
    extra = ["sample.views=4", "ttt.enabled=false", "rescore.enabled=false"] + (DFS if method == "dfs" else [])
    stage = NeuralStage(config(pretrained_model_dir, *extra))
    copying = make_task(RULES["identity"], np.random.default_rng(0), sides=(4, 4))

    def solve(stage):
        with one_torch_thread():
            return stage.solve(copying, stage.cfg, Deadline.never())
    clean = solve(stage)
    name = "explore" if method == "dfs" else "generate"
    real, calls = getattr(stage.backend, name), []

    def second_call_fails(*args, **kwargs):
        calls.append(kwargs.get("prefill_chunk", args[5] if len(args) > 5 else None))
        if len(calls) == 2 or (lasting and len(calls) > 2):
            import torch
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(stage.backend, name, second_call_fails)
    monkeypatch.setattr(budget, "MIN_PREFILL_TOKENS", 8)  # the tiny task's prompts are shorter than the floor
    got = solve(stage)
    first = 1 if method == "dfs" else 2  # the prompts the first call decoded
    assert clean.stats["decoded"] == 4 and clean.candidates
    if lasting:
        assert [f.phase for f in got.failures] == [method, method] and all(f.out_of_memory for f in got.failures)
        assert got.stats["decoded"] == first and got.candidates
        assert [c.grid.tolist() for c in got.candidates] == [c.grid.tolist() for c in clean.candidates[:len(got.candidates)]]
    else:
        assert got.failures == [] and got.retried == {method: ["sample.prefill_chunk" if method == "dfs"
                                                               else "sample.batch_size"]}
        assert got.stats["decoded"] == 4
        assert [c.grid.tolist() for c in got.candidates] == [c.grid.tolist() for c in clean.candidates]
    if method == "dfs":  # the retry fed its prompt in chunks
        assert calls[0] == 0 and calls[2] > 0


def test_memory_is_released_once_the_failed_try_and_its_traceback_are_gone(tiny_model_dir, monkeypatch):
    """The tensors a failed try held live on in its traceback while the exception is being handled (and
    while contextlib's __exit__ runs): the allocator's cache is emptied only after that, when they are
    gone, and before the lighter retry runs."""
    import gc
    import weakref

    import torch

    import solver.phases as phases
    held, freed = [], []

    def work(plan):
        tensor = torch.zeros(1 << 16)  # referenced from this frame only, hence from the traceback
        held.append(weakref.ref(tensor))
        if len(held) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")

    def release():
        gc.collect()
        freed.append(held[0]() is None)

    monkeypatch.setattr(phases, "release_accelerator_memory", release)
    out = phases.StageResult()
    cfg = config(tiny_model_dir)
    plan = phases.run_phase(out, "rescore", cfg, work)
    assert freed == [True] and len(held) == 2  # released with the first try's tensor gone, then retried
    assert out.failures == [] and out.retried == {"rescore": ["rescore.batch_size"]}
    assert plan.rescore.batch_size == cfg.rescore.batch_size // 2


def test_lighter_walks_down_the_failing_phase_before_dropping_training(tiny_model_dir):
    cfg = config(tiny_model_dir, "model.max_length=2048")
    plan, steps = cfg, []
    while (plan := lighter(plan, "gpu", "rescore")) is not None and plan.rescore.enabled:
        steps.append((plan.rescore.batch_size, plan.rescore.views))
    assert steps == [(2, 2), (1, 2), (1, 1)]
    assert plan.ttt.enabled and not plan.rescore.enabled  # the last rung of the phase: no rescoring
    plan, steps = cfg, []
    while (plan := lighter(plan, "gpu", "ttt")).ttt.enabled:
        steps.append((plan.ttt.micro_batch_size, plan.ttt.max_length))
    # one sequence per pass, then shorter sequences (3/4 each time, down to 512 tokens), then no TTT
    assert steps == [(1, 0), (1, 1536), (1, 1152), (1, 864), (1, 648)]
    plan, chunks = config(tiny_model_dir, "model.max_length=2048", *DFS), []
    while degraded(plan, after := lighter(plan, "gpu", "dfs")) == ["sample.prefill_chunk"]:
        chunks.append(after.sample.prefill_chunk)
        plan = after
    assert chunks == [1024, 512, 256, 128]  # the views stay: DFS runs them one after the other
    assert degraded(plan, after) == ["ttt.enabled"]  # then the ladder of a death with no phase
    assert lighter(cfg, "gpu").ttt.enabled is False     # a death with no phase: the old ladder


@pytest.mark.slow
def test_a_run_requeues_a_task_only_when_the_lighter_retry_in_process_failed_too(tmp_path, tiny_model_dir,
                                                                                monkeypatch):
    """Through the real worker processes (one model worker, two tasks): rescoring runs out of memory on the
    worker's first two calls. The first task's rescoring fails, and so does its lighter retry in process:
    the journal has both errors with their phase, and the task is requeued from the retry's plan (batch 4,
    tried at 2, requeued at 1), where it succeeds. The other task never meets the fault. Both tasks' model
    candidates are rescored."""
    monkeypatch.setenv("FAULTY_PHASE", "rescore")
    monkeypatch.setenv("FAULTY_ERROR", "oom")
    monkeypatch.setenv("FAULTY_TIMES", "2")
    tasks = {f"t{s}": make_task(RULES["identity"], np.random.default_rng(s), sides=(1, 2)) for s in range(2)}
    challenges = write_json(tmp_path / "c.json", {tid: {"train": [{"input": e.input.tolist(), "output": e.output.tolist()}
                                                                  for e in t.train],
                                                        "test": [{"input": e.input.tolist()} for e in t.test]}
                                                  for tid, t in tasks.items()})
    cfg = config(tiny_model_dir, *DFS, "dsl.enabled=false", "run.cpu_workers=1",
                 'run.extra_stages=["tests.faulty_stages:neural_fault"]')
    result = run(challenges, cfg, tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    records = read_tasks(tmp_path / "work")
    hit = [r for r in records.values() if r.parts["gpu"]["tries"] == 2]
    assert len(hit) == 1
    (r,) = hit
    assert sum(e.startswith("neural/rescore: OutOfMemoryError") for e in r.errors) == 2
    assert any("ran out of memory in rescore; retrying lighter (rescore.batch_size)" in e for e in r.errors)
    assert r.degraded == ["rescore.batch_size"] and r.plan["ttt_steps"] == 2
    (other,) = [o for o in records.values() if o is not r]
    assert other.parts["gpu"]["tries"] == 1 and other.errors == [] and other.degraded == []
    for r in records.values():
        neural_cands = [c for c in r.candidates if c.family == "neural"]
        assert neural_cands and all(c.rescore_nll for c in neural_cands)
        assert set(r.phases["neural"]) == {"ttt", "dfs", "rescore"} and r.stats["neural"]["candidates"] > 0
        assert "rss_mb" in r.parts["gpu"]
    lines = "\n".join(summary_lines(result))
    assert "stage neural" in lines and "rescore" in lines and "model neural" in lines
