"""What a stage made of one task, phase by phase, and the in-process retry of a phase that ran out of memory.

A stage made of phases (the neural stage: TTT, sampling or DFS, rescoring) returns a `StageResult`: its
candidates, the seconds of each phase, what it generated (`stats`), and the phases that failed. A phase that
fails costs only its own work: the candidates of the phases before it are kept, and the failure is journaled
with its phase.

A phase that runs out of memory is run once more in the same process, lightened (`run_phase`: the knobs
budget.lighten_phase turns down for that phase), after the memory the failed try held is handed back. Only
when that lighter try fails too does the failure reach the coordinator, which requeues the task lighter
still, from the plan the retry ran with (`StageResult.plan`).

The stage protocol (solver/stages.py) and the neural stage (solver/neural.py) both import this module; it
imports neither, and never torch (the coordinator imports it too).
"""
from __future__ import annotations

import contextlib
import copy
import gc
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .budget import degraded, lighten_phase
from .config import Config
from .tasks import Candidate


@dataclass(frozen=True)
class PhaseFailure:
    phase: str            # ttt | sample | dfs | rescore (the neural stage's), or another stage's own name
    error: str            # "ExceptionType: message"
    out_of_memory: bool


@dataclass
class StageResult:
    """What a stage made of one task when it has more to tell than its candidates."""
    candidates: list[Candidate] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
    failures: list[PhaseFailure] = field(default_factory=list)
    # What the stage generated, for the journal and the summary: for a model stage "prompts", "decoded",
    # "candidates" and "rejects" ({reason: count}); any JSON-able counts.
    stats: dict[str, Any] = field(default_factory=dict)
    # Phases that ran out of memory and then succeeded lighter, in this process: {phase: knobs turned down}.
    retried: dict[str, list[str]] = field(default_factory=dict)
    # The plan the phase that ran out of memory last ran with, when a retry here lightened it: a requeue of
    # the task starts from it, not from the plan that already failed.
    plan: Config | None = None

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Times the block as phase `name`; an exception in it is recorded as the phase's failure and goes
        no further, so the caller keeps what the phases before it made (check `failed(name)`). Memory is
        not released here: while this generator runs, contextlib still holds the exception's traceback
        (and the tensors of its frames); the caller releases it after its `with` (see `run_phase`)."""
        start = time.monotonic()
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - one phase's failure must not cost the others' work
            self.failures.append(PhaseFailure(name, f"{type(exc).__name__}: {exc}", is_out_of_memory(exc)))
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - start

    def failed(self, name: str) -> bool:
        return any(f.phase == name for f in self.failures)

    def out_of_memory(self, name: str) -> bool:
        return any(f.phase == name and f.out_of_memory for f in self.failures)


def run_phase(out: StageResult, name: str, plan: Config, work: Callable[[Config], None],
              longest: Callable[[], int | None] = lambda: None,
              before_retry: Callable[[], None] = lambda: None) -> Config:
    """`work(plan)` as phase `name` of `out`. When it runs out of memory, the memory it held is handed back
    and it runs once more on the plan with that phase lightened (budget.lighten_phase; `longest`: the
    phase's longest sequence in tokens, for the rungs that shorten sequences; `before_retry` undoes what the
    failed try left half done). A retry that succeeds removes the failure and notes the knobs in
    `out.retried`; one that fails leaves its failure (the coordinator requeues the task from `out.plan`).
    Returns the plan the phase last ran with."""
    with out.phase(name):
        work(plan)
    if not out.out_of_memory(name):
        return plan
    release_accelerator_memory()  # after the `with`: the exception and its traceback are gone by now
    lighter = copy.deepcopy(plan)
    if not lighten_phase(lighter, name, longest()):
        return plan
    first = out.failures.pop()
    before_retry()
    with out.phase(name):
        work(lighter)
    if out.failed(name):  # the lighter try failed too: both failures are reported
        out.failures.insert(len(out.failures) - 1, first)
        out.plan = lighter
        if out.out_of_memory(name):
            release_accelerator_memory()
    else:
        out.retried[name] = degraded(plan, lighter)
    return lighter


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (matched by name: the coordinator never imports torch), or a MemoryError."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc)


def release_accelerator_memory() -> None:
    """Hand the blocks torch's CUDA allocator caches back to the device (after an out-of-memory error, once
    the exception is dropped, and between tasks, so that hundreds of tasks of varying length do not
    fragment it). A no-op where torch is not loaded or there is no GPU; never imports torch itself."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        gc.collect()  # tensors of the task still referenced only by cycles
        torch.cuda.empty_cache()
