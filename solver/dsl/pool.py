"""Running the DSL over many tasks on every core, each worker under a memory limit.

Workers are started with 'spawn': numba's threading layer is not fork-safe, and a spawned worker also
starts without the parent's memory (a loaded model, say). `limit_memory` is a plain function so any pool,
not only this one, can call it in its initializer.
"""
from __future__ import annotations

import multiprocessing
import os
import resource
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable, Iterator

from ..budget import Deadline
from ..config import DslConfig
from ..tasks import Task
from .stage import Outcome, solve_with_stats, warm_up


def limit_memory(mb: int) -> None:
    """Cap this process's address space at `mb` MiB (soft limit), so a runaway search raises MemoryError in
    its own worker instead of starving the machine. The cap counts virtual memory: keep it well above the
    interpreter's own footprint (numba and numpy map a few hundred MiB before any work)."""
    if mb <= 0:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = mb * 2 ** 20
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    resource.setrlimit(resource.RLIMIT_AS, (want, hard))


def _init_worker(memory_mb: int) -> None:
    limit_memory(memory_mb)
    warm_up()


def _run_one(task: Task, cfg: DslConfig, wall_seconds: float | None) -> Outcome:
    try:
        return solve_with_stats(task, cfg, Deadline.after(wall_seconds))
    except Exception as exc:  # one bad task must not take down the pool
        return Outcome(task.id, [], 0, 0, 0.0, 0, 0.0, "error", f"{type(exc).__name__}: {exc}")


def worker_memory_mb(cfg: DslConfig) -> int:
    """The address-space cap a worker gets: the task's budget on top of the interpreter's own mappings."""
    return cfg.memory_mb + 1024 if cfg.memory_mb > 0 else 0


def solve_many(tasks: Iterable[Task], cfg: DslConfig, workers: int | None = None,
               wall_seconds: float | None = None) -> Iterator[Outcome]:
    """Outcomes for the tasks, in the order given, solved on `workers` processes (cfg.workers, 0 = all
    cores). `wall_seconds` caps each task's wall clock as well as its CPU budget."""
    tasks = list(tasks)
    n = workers or cfg.workers or os.cpu_count() or 1
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(n, max(1, len(tasks))), mp_context=ctx,
                             initializer=_init_worker, initargs=(worker_memory_mb(cfg),)) as pool:
        futures = [pool.submit(_run_one, t, cfg, wall_seconds) for t in tasks]
        try:
            for f in futures:
                yield f.result()
        except BaseException:  # interrupted, or the caller stopped: drop the queue, not run it to the end
            for f in futures:
                f.cancel()
            raise
