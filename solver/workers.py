"""Worker processes: one per GPU for the model stages, a pool of CPU processes for the CPU stages (the DSL),
each handed one task at a time by the coordinator (solver/coordinator.py), which keeps the queue, the
journal and the submission. A worker runs its device's stages through the stage protocol (solver/stages.py);
it never imports the coordinator or the pipeline.

Why our own processes and not concurrent.futures: a worker can die (CUDA out of memory, the kernel's OOM
killer, a stage past its deadline that the coordinator kills), and a ProcessPoolExecutor then breaks as a
whole. Here a death costs only the task the worker held, and the coordinator knows which task that was,
because it hands out one at a time over each worker's own pipe (a shared multiprocessing.Queue can be left
corrupted by a process killed while it holds the queue's lock).

Processes start with "spawn": numba's thread pools and CUDA are not fork-safe. A worker starts with
CUDA_VISIBLE_DEVICES already in its environment (so nothing in it can see another GPU, whatever it
imports), builds its device's stages once (a model loads once per GPU), and dies with the coordinator, so
that a `kill -9` of the run leaves no orphan holding GPU memory.
"""
from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Iterator

from .budget import Deadline
from .config import Config, RunConfig
from .stages import Stage, build_stages, prepare_stages, release_accelerator_memory, run_stages
from .tasks import Task

# A CPU worker shares the machine with one process per core: one thread each, or they oversubscribe it.
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                     "NUMBA_NUM_THREADS": "1"}
# A model worker meets hundreds of tasks of 100 to 8,000 prompt tokens: with expandable segments torch's CUDA
# allocator grows its blocks in place instead of keeping a fixed-size block per size ever asked for, so that
# the free memory does not fragment into pieces too small for the next long task. Read when torch first
# initialises CUDA, so it is set in the environment the worker is spawned with, before it imports torch.
# Not under a vLLM engine, which manages its own memory and has had start-up failures with expandable
# segments in some versions and setups (vllm-project/vllm issues 29544 and 42609; the CuMemAllocator of its
# sleep mode refused it until PR 40812).
GPU_ALLOCATOR_ENV = {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}


@dataclass
class Job:
    """A task for a worker: run your stages on `task` with the task's own config, within `seconds`."""
    task: Task
    plan: Config
    seconds: float | None  # the stages' deadline, counted from when the worker starts the job; None: none


@dataclass
class Prepare:
    """Work over every task before the first is solved (a shared adapter), by `seconds` from now."""
    tasks: list[Task]
    seconds: float | None


@dataclass
class Assignment:
    """What the coordinator remembers about the job a worker holds."""
    task_id: str
    plan: Config
    tries: int            # 1 for the first try
    started: float        # monotonic
    planned_end: float    # started + the task's share; what the other tasks' shares count on
    hard_end: float       # the stages' deadline; a worker still busy kill_grace seconds later is killed


@dataclass
class Event:
    kind: str  # ready | prepared | failed (could not start) | done | died
    worker: "Worker"
    # ready: (stage names, whether a stage wants to prepare); prepared: errors; failed, died: why;
    # done: the stages.PartResult
    payload: Any = None
    assignment: Assignment | None = None  # done, died: the job the worker held


class Worker:
    """One worker process and the coordinator's end of its pipe."""

    def __init__(self, ctx, device: str, slot: int, gpu: str | None, cfg: Config):
        self.device, self.slot, self.gpu = device, slot, gpu
        self.conn, child_end = ctx.Pipe()
        env = {}
        if device == "cpu":  # a thread count the user set wins
            env.update({k: v for k, v in SINGLE_THREAD_ENV.items() if k not in os.environ})
        if device == "gpu" and cfg.model.backend == "transformers":  # so does an allocator setting the user made
            env.update({k: v for k, v in GPU_ALLOCATOR_ENV.items() if k not in os.environ})
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        self.process = ctx.Process(target=worker_main, args=(child_end, device, cfg, os.getpid()),
                                   name=f"solver-{self.label}", daemon=True)
        with _environment(env):
            self.process.start()
        child_end.close()
        self.state = "starting"  # starting | preparing | idle | busy | gone
        self.job: Assignment | None = None
        self.started = time.monotonic()

    @property
    def label(self) -> str:
        return f"{self.device}{self.slot}"

    def give(self, job: Job, assignment: Assignment) -> None:
        self.conn.send(job)
        self.job, self.state = assignment, "busy"

    def prepare(self, work: Prepare) -> None:
        self.conn.send(work)
        self.state = "preparing"

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()
        self.state = "gone"

    def stop(self) -> None:
        """Ask an idle worker to exit; kill it if it does not."""
        if self.state == "idle":
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(2)
        self.kill()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for a child about to be spawned (it copies the environment at start). The
    coordinator is single-threaded, so nothing else sees the change."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def visible_gpus() -> list[str]:
    """GPU ids the workers may use, found without importing torch in the coordinator: CUDA_VISIBLE_DEVICES
    when it is set, else what nvidia-smi lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() and d.strip() != "-1"]
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, _ in enumerate(line for line in out.splitlines() if line.startswith("GPU "))]


def layout(run: RunConfig, gpus: list[str], cores: int, model: bool = True) -> tuple[list[str | None], int]:
    """The GPU of each model worker (None: a CPU process) and how many CPU workers there are. A model worker
    keeps a core busy (feeding its GPU, or computing where there is none), except a CPU one with no model
    to run, which only waits."""
    if run.gpu_workers < 0:
        slots: list[str | None] = list(gpus) if gpus else [None]
    else:
        slots = [gpus[i % len(gpus)] if gpus else None for i in range(run.gpu_workers)]
    busy = len(slots) if gpus or model else 0
    n_cpu = run.cpu_workers if run.cpu_workers >= 0 else max(1, cores - busy)
    return slots, n_cpu


class Workers:
    """Every worker process of a run. The coordinator decides what to do; this starts, feeds, watches and
    stops processes."""

    def __init__(self, cfg: Config, gpu_slots: list[str | None], n_cpu: int):
        self.cfg = cfg
        self.ctx = multiprocessing.get_context("spawn")
        self.all = [Worker(self.ctx, "gpu", i, gpu, cfg) for i, gpu in enumerate(gpu_slots)]
        self.all += [Worker(self.ctx, "cpu", i, None, cfg) for i in range(n_cpu)]

    def of(self, device: str, state: str | None = None) -> list[Worker]:
        return [w for w in self.all if w.device == device and w.state != "gone"
                and (state is None or w.state == state)]

    def busy(self) -> list[Worker]:
        return [w for w in self.all if w.state == "busy"]

    def restart(self, worker: Worker) -> Worker:
        fresh = Worker(self.ctx, worker.device, worker.slot, worker.gpu, self.cfg)
        self.all[self.all.index(worker)] = fresh
        return fresh

    def poll(self, timeout: float) -> list[Event]:
        """Wait up to `timeout` seconds for messages and deaths; return what happened."""
        live = [w for w in self.all if w.state != "gone"]
        if not live:
            time.sleep(timeout)
            return []
        wait([w.conn for w in live] + [w.process.sentinel for w in live], timeout)
        events = []
        for w in live:
            try:
                while w.conn.poll():
                    events.append(self._receive(w, w.conn.recv()))
            except (EOFError, OSError):
                w.process.join(1)  # the pipe closed: the process is on its way out
            if w.state != "gone" and not w.process.is_alive():
                events.append(self._death(w))
        return events

    def _receive(self, w: Worker, message: tuple) -> Event:
        kind, payload = message
        if kind in ("ready", "prepared"):
            w.state = "idle"
            return Event(kind, w, payload)
        if kind == "failed":
            w.kill()
            return Event("failed", w, payload)
        job, w.job, w.state = w.job, None, "idle"
        return Event("done", w, payload, job)

    def _death(self, w: Worker) -> Event:
        code = w.process.exitcode
        why = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exited with code {code}")
        starting, job = w.state == "starting", w.job
        w.kill()
        w.job = None
        return Event("failed" if starting else "died", w, why, job)

    def shutdown(self) -> None:
        for w in self.all:
            if w.state != "gone":
                w.stop()


# ---- inside the worker process ----

def worker_main(conn, device: str, cfg: Config, coordinator_pid: int) -> None:
    _die_with(coordinator_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    try:
        stages = start_stages(cfg, device)
    except Exception:
        conn.send(("failed", f"could not build the {device} stages:\n{traceback.format_exc(limit=6)}"))
        return
    # With no stages, it waits like the others to be stopped.
    conn.send(("ready", ([s.name for s in stages], any(s.prepare for s in stages))))
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the coordinator is gone
            return
        if job is None:
            return
        if isinstance(job, Prepare):
            conn.send(("prepared", prepare_stages(stages, job.tasks, Deadline.after(job.seconds))))
            continue
        result = run_stages(job.task, stages, job.plan, Deadline.after(job.seconds))
        result.memory = memory_after_task()
        conn.send(("done", result))


def start_stages(cfg: Config, device: str) -> list[Stage]:
    """The device's stages, built and set up: once per worker process (a run's workers, a sweep's Ray
    workers)."""
    stages = build_stages(cfg, device)
    for stage in stages:
        if stage.setup is not None:
            stage.setup()
    return stages


def _die_with(coordinator_pid: int) -> None:
    """Have the kernel SIGKILL this process when the coordinator dies, even by kill -9 (Linux
    PR_SET_PDEATHSIG); elsewhere the worker exits at its next read from the closed pipe."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != coordinator_pid:  # it died before the request took effect
        os._exit(1)


def memory_after_task() -> dict[str, float]:
    """The worker's resident memory and the GPU's peak allocation during the task, MiB; then the task's
    cached GPU blocks are handed back (stages.release_accelerator_memory) and the peak is reset, so that
    the next task starts with the whole GPU and the journal shows any growth from task to task."""
    out: dict[str, float] = {}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        out["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        release_accelerator_memory()
        torch.cuda.reset_peak_memory_stats()
    with contextlib.suppress(OSError, ValueError, IndexError):
        pages = int(open("/proc/self/statm").read().split()[1])  # Linux: resident pages
        out["rss_mb"] = round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    return out
