"""Stages that misbehave on purpose, for the coordinator's tests: real stages in real worker processes.

Registered with `run.extra_stages = ["tests.faulty_stages:NAME"]` (the repository root on the Python path;
workers get the parent's). Their knobs come from the environment, which spawned workers inherit:
    FAULTY_DIR      folder for calls.log (one line "stage task_id pid" per call) and for markers
    FAULTY_TASKS    comma-separated task ids the fault hits (default: every task)
    FAULTY_SECONDS  how long `slow` sleeps per task (default 0.2), and `victim` before it is killed (default 60)
    FAULTY_DOOMED   comma-separated task ids on which `doomed` kills its worker every time
Every stage that answers predicts the test input flipped upside down, which no real stage of the kit does,
so a test can tell its answers apart from the baseline's.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from solver.stages import Stage


def _hit(task) -> bool:
    ids = os.environ.get("FAULTY_TASKS")
    return not ids or task.id in ids.split(",")


def _log(stage: str, task) -> None:
    folder = os.environ.get("FAULTY_DIR")
    if folder:
        with open(Path(folder) / "calls.log", "a") as f:
            f.write(f"{stage} {task.id} {os.getpid()}\n")


def _answer(task, stage: str, program: str | None = None):
    from solver.tasks import Candidate
    return [Candidate(i, np.ascontiguousarray(np.flipud(ex.input)), stage, program=program)
            for i, ex in enumerate(task.test)]


def _on(device: str, name: str, solve):
    def factory(cfg, where):
        return [Stage(name, solve)] if where == device else []
    return factory


def _slow(task, plan, deadline):
    """Sleeps FAULTY_SECONDS (never past its deadline), then answers."""
    _log("slow", task)
    time.sleep(min(float(os.environ.get("FAULTY_SECONDS", "0.2")), deadline.remaining()))
    return _answer(task, "slow")


def _crash(task, plan, deadline):
    _log("crash", task)
    if _hit(task):
        raise RuntimeError("deliberate failure")
    return _answer(task, "crash")


def _oom(task, plan, deadline):
    """Runs out of CUDA memory (torch's own exception) while the plan still trains; answers without TTT."""
    _log("oom", task)
    if _hit(task) and plan.ttt.enabled and plan.ttt.steps > 0:
        import torch
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    return _answer(task, "oom", program=f"ttt={plan.ttt.enabled} views={plan.sample.views}")


def _die(task, plan, deadline):
    """SIGKILLs its own worker process the first time it meets a task it hits (a marker remembers)."""
    _log("die", task)
    marker = Path(os.environ["FAULTY_DIR"]) / f"died-{task.id}"
    if _hit(task) and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return _answer(task, "die")


def _victim(task, plan, deadline):
    """The first time it meets a task it hits: writes its process id to FAULTY_DIR/victim-TASK.pid and sleeps
    FAULTY_SECONDS, for a test to kill the process from outside; later tries answer at once."""
    _log("victim", task)
    marker = Path(os.environ["FAULTY_DIR"]) / f"victim-{task.id}.pid"
    if _hit(task) and not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("FAULTY_SECONDS", "60")))
    return _answer(task, "victim")


def _doomed(task, plan, deadline):
    """SIGKILLs its own worker process every time it meets a task FAULTY_DOOMED names."""
    _log("doomed", task)
    if task.id in os.environ.get("FAULTY_DOOMED", "").split(","):
        os.kill(os.getpid(), signal.SIGKILL)
    return _answer(task, "doomed")


def _hang(task, plan, deadline):
    """Ignores its deadline on the tasks it hits."""
    _log("hang", task)
    if _hit(task):
        time.sleep(3600)
    return _answer(task, "hang")


def _ttt(task, plan, deadline):
    """Trains like a model stage: plan.ttt.steps steps, then one sampling pass per view and test input,
    looking at its deadline between steps and stopping training early to leave time for sampling. Its true
    costs per 1000 cells are FAULTY_STEP_SECONDS and FAULTY_VIEW_SECONDS (default: the config's cost model,
    budget.ttt_step_seconds and budget.view_seconds)."""
    _log("ttt", task)
    size = task.cell_count() / 1000
    step = float(os.environ.get("FAULTY_STEP_SECONDS", plan.budget.ttt_step_seconds)) * size
    view = float(os.environ.get("FAULTY_VIEW_SECONDS", plan.budget.view_seconds)) * size
    sampling = plan.sample.views * len(task.test) * view
    done = 0
    planned = plan.ttt.steps if plan.ttt.enabled else 0
    while done < planned and deadline.remaining() > step + sampling:
        time.sleep(step)
        done += 1
    time.sleep(min(sampling, deadline.remaining()))
    return _answer(task, "ttt", program=f"steps {done}/{planned}")


def _env(task, plan, deadline):
    """Answers, after FAULTY_SECONDS, with what the worker's environment says about the GPU it may use."""
    time.sleep(float(os.environ.get("FAULTY_SECONDS", "0.2")))
    return _answer(task, "env", program=f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')} "
                                        f"PYTORCH_CUDA_ALLOC_CONF={os.environ.get('PYTORCH_CUDA_ALLOC_CONF')}")


def prepared_gpu(cfg, where):
    """A stage that prepares over every task first (FAULTY_TASKS names one whose preparation fails), then
    answers with how many tasks its worker prepared on."""
    if where != "gpu":
        return []
    seen: list[int] = []

    def prepare(tasks, deadline):
        _log("prepare", tasks[0])
        seen.append(len(tasks))
        if any(t.id == os.environ.get("FAULTY_TASKS") for t in tasks):
            raise RuntimeError("deliberate preparation failure")

    def solve(task, plan, deadline):
        return _answer(task, "prepared", program=f"prepared on {seen}")
    return [Stage("prepared", solve, prepare=prepare)]


def _broken_build(cfg, where):
    if where == "gpu":
        raise FileNotFoundError("model directory /nonexistent has no config.json")
    return []


slow_gpu = _on("gpu", "slow", _slow)
slow_cpu = _on("cpu", "slowcpu", _slow)
victim_cpu = _on("cpu", "victim", _victim)
doomed_cpu = _on("cpu", "doomed", _doomed)
crash_gpu = _on("gpu", "crash", _crash)
oom_gpu = _on("gpu", "oom", _oom)
die_gpu = _on("gpu", "die", _die)
hang_gpu = _on("gpu", "hang", _hang)
ttt_gpu = _on("gpu", "ttt", _ttt)
env_gpu = _on("gpu", "env", _env)
broken_gpu = _broken_build


# ---- faults inside the real neural stage's phases ----

# The function each phase of solver/neural.py calls, the position of its config section among the call's
# arguments, and the knob of that section the retry lightens first (budget.lighten_phase).
PHASE_CALLS = {"ttt": ("train_on_task", 2, "micro_batch_size"), "sample": ("continue_sampling", 3, "batch_size"),
               "dfs": ("continue_sampling", 3, "prefill_chunk"), "rescore": ("rescore", 4, "batch_size")}


def phase_error(kind: str) -> Exception:
    if kind == "oom":
        import torch
        return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")
    return RuntimeError("deliberate phase failure")


def faulty_phase(phase: str, kind: str, configured=None, times: int | None = None):
    """The phase's function in solver.neural, raising `kind` (oom | error) instead of running while its
    config section's lightening knob still equals `configured`, or on its first `times` calls (both None:
    always)."""
    import solver.neural as neural
    name, section_arg, knob = PHASE_CALLS[phase]
    original = getattr(neural, name)
    calls = [0]

    def faulty(*args, **kwargs):
        calls[0] += 1
        if times is not None:
            hit = calls[0] <= times
        else:
            hit = configured is None or getattr(args[section_arg], knob) == configured
        if hit:
            raise phase_error(kind)
        return original(*args, **kwargs)
    return name, faulty


def neural_fault(cfg, where):
    """Installs a fault into one phase of this model worker's real neural stage (solver.neural looks its
    phase functions up when it calls them): FAULTY_PHASE names the phase, FAULTY_ERROR the error (oom:
    torch.cuda.OutOfMemoryError; else RuntimeError), FAULTY_TIMES how many of the worker's first calls fail
    (unset: every call while the phase's first knob is as configured). Adds no stage of its own."""
    if where == "gpu" and os.environ.get("FAULTY_PHASE"):
        import solver.neural as neural
        phase = os.environ["FAULTY_PHASE"]
        section = {"ttt": cfg.ttt, "sample": cfg.sample, "dfs": cfg.sample, "rescore": cfg.rescore}[phase]
        times = os.environ.get("FAULTY_TIMES")  # the first calls fail; else while the knob is as configured
        name, faulty = faulty_phase(phase, os.environ.get("FAULTY_ERROR", "error"),
                                    None if times else getattr(section, PHASE_CALLS[phase][2]),
                                    int(times) if times else None)
        setattr(neural, name, faulty)
    return []
