"""The neural stage: per task, test-time training of a LoRA adapter, augmented sampling (greedy or depth-first
under a probability threshold), then optionally product-of-experts rescoring of the sampled grids.

The model is loaded once, when the stage is built, and the adapter attached once; each task starts from
the adapter's starting weights and leaves them as it found them. The per-task knobs (ttt.enabled,
ttt.steps, sample.views, ...) are read from the task's own config (`plan`) on every call, so that the
budget can lower them task by task. The deadline is always honoured: training stops
before it (leaving time to sample), sampling stops at it and returns what it has.

Each phase (ttt, sample or dfs, rescore) fails alone: what the phases before it made is kept, and the result
(phases.StageResult) names the phase, its seconds, and what the model generated and why outputs were rejected.
A phase that runs out of memory runs again lighter in this process (phases.run_phase: a smaller micro-batch
or shorter sequences for TTT, a smaller batch for greedy sampling and rescoring, the prompt in chunks for
DFS); sampling resumes where it failed, keeping what it had decoded.

Sampling and rescoring run on the training model itself (model.backend = "transformers") or on a vLLM
engine beside it (model.backend = "vllm", solver/vllm_backend.py), which serves the task's adapter as a
LoRA: the same candidates through the same sample.Backend interface.
"""
from __future__ import annotations

import contextlib
import sys
import zlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .budget import Deadline
from .config import Config
from .model import LoadedModel, load_model
from .rescore import RescoreReport, rescore
from .engine import TransformersBackend
from .memory import TaskMemory
from .phases import StageResult, run_phase
from .sample import SampleReport, continue_sampling, start_sampling
from .tasks import Task
from .ttt import Adapter, FitReport, task_sequences, train_on_task, train_shared


@dataclass
class TaskReport:
    """What the stage did for one task (kept on the stage, for benchmarks and debugging)."""
    ttt: FitReport | None = None
    sample: SampleReport = field(default_factory=SampleReport)
    rescore: RescoreReport | None = None


def stage_stats(report: TaskReport) -> dict:
    """What the model did for one task, as the journal records it: prompts, outputs decoded (greedy: one per
    prompt; DFS: one search per prompt), candidates, and the outputs rejected, by reason."""
    s = report.sample
    stats = {"prompts": s.prompts, "decoded": s.generated, "candidates": s.candidates,
             "rejects": dict(sorted(s.rejects.items()))}
    if report.ttt is not None:
        stats["ttt_steps"] = report.ttt.steps
    if report.rescore is not None:
        stats["rescored_grids"] = report.rescore.grids
    return stats


def longest_training_sequence(task: Task, cfg, fmt, max_len: int, seed: int) -> int | None:
    """Tokens of the task's longest TTT sequence (drawn again, with views of their own: the lengths of a
    task's views barely differ), for the out-of-memory retry that shortens them."""
    sequences, _ = task_sequences(task, cfg, fmt, max_len, task_rng(seed, task.id))
    return max((len(s) for s in sequences), default=None)


def task_rng(seed: int, task_id: str) -> np.random.Generator:
    """A generator per task, so that a task's views do not depend on which tasks ran before it."""
    return np.random.default_rng([seed, zlib.crc32(task_id.encode())])


class NeuralStage:
    name = "neural"

    def __init__(self, cfg: Config, loaded: LoadedModel | None = None, serving=None):
        """`serving`: a vllm_backend.VllmServing to sample with; by default one is built when model.backend
        is "vllm" (the tests pass one on a stand-in engine)."""
        self.cfg = cfg
        self.loaded = loaded if loaded is not None else load_model(cfg.model)
        self.memory = TaskMemory.of(self.loaded, cfg)  # before the adapter: it measures the loaded weights
        self.adapter = Adapter(self.loaded, cfg.ttt, cfg.seed)
        if serving is None and cfg.model.backend == "vllm":
            from .vllm_backend import VllmServing, engine_dtype  # vllm is imported only when it is used
            serving = VllmServing(cfg, self.loaded.format, self.loaded.max_length,
                                  dtype=engine_dtype(self.loaded.device.type))
        self.serving = serving
        self.backend = serving.backend if serving else TransformersBackend(
            self.adapter.model, self.loaded.format, cfg.rescore.cache_mb)
        self.reports: dict[str, TaskReport] = {}
        self.shared: FitReport | None = None

    def prepare(self, tasks: Sequence[Task], deadline: Deadline) -> None:
        """With ttt.scope = "shared", fit the shared adapter on every task before the first one is solved."""
        ttt = self.cfg.ttt
        if ttt.scope != "shared" or ttt.shared_steps <= 0 or not tasks:
            return
        share = None if deadline.unlimited else deadline.remaining() * ttt.shared_fraction
        self.shared = train_shared(self.adapter, tasks, ttt, self.loaded.format, self.loaded.max_length,
                                   deadline.within(share), np.random.default_rng(self.cfg.seed))
        print(f"neural: shared adapter trained {self.shared.steps} steps on {self.shared.sequences} "
              f"sequences in {self.shared.seconds:.1f} s", file=sys.stderr)

    def solve(self, task: Task, plan: Config, deadline: Deadline) -> StageResult:
        """The stage protocol's call (solver/stages.py): `plan` is the task's own config.

        Each phase fails alone (StageResult.phase): a failed training samples from the starting adapter, a
        failed rescoring keeps the sampled candidates unrescored, a sampling that fails part-way keeps what
        it had decoded. A phase that runs out of memory is first run again lighter, here (phases.run_phase).
        Every failure is in the result with its phase."""
        # The memory plan of this task on this GPU lowers what must be lowered to fit (solver/plan.py); the
        # journal gets it with each phase's measured peak. Running out of memory anyway is the retry's case.
        cfg, peaks = self.memory.plan(task, plan)
        rng = task_rng(cfg.seed, task.id)
        report = self.reports[task.id] = TaskReport()
        out = StageResult()
        fmt, max_len = self.loaded.format, self.loaded.max_length
        self.adapter.reset()
        try:
            if cfg.ttt.enabled and cfg.ttt.steps > 0:
                share = None if deadline.unlimited else deadline.remaining() * cfg.ttt.time_fraction
                training = deadline.within(share)

                def ttt(c: Config) -> None:
                    report.ttt = train_on_task(self.adapter, task, c.ttt, fmt, max_len, training, rng)
                with peaks.measure("ttt"):
                    cfg = run_phase(out, "ttt", cfg, ttt, before_retry=self.adapter.reset,
                                    longest=lambda: longest_training_sequence(task, cfg.ttt, fmt, max_len, cfg.seed))
                if out.failed("ttt"):
                    self.adapter.reset()  # a half-trained adapter is not trusted: sample from the start
            sampling = deadline
            if cfg.rescore.enabled and not deadline.unlimited:
                sampling = deadline.within(deadline.remaining() * (1.0 - cfg.rescore.time_fraction))
            trained = bool(report.ttt and report.ttt.steps and not out.failed("ttt")) or self.shared is not None
            method = "dfs" if cfg.sample.method == "dfs" else "sample"
            with contextlib.ExitStack() as serving:
                progress = None
                with out.phase(method), peaks.measure(method):
                    serving.enter_context(self._serve(task.id, trained))
                    progress = start_sampling(task, fmt, cfg.sample, max_len, rng)
                if progress is not None:
                    with peaks.measure(method, keep=True):  # the decoding after the set-up: the same phase
                        cfg = run_phase(out, method, cfg, lambda c: continue_sampling(progress, self.backend, fmt,
                                                                                      c.sample, sampling),
                                        longest=lambda: progress.longest_prompt)
                    out.candidates, report.sample = list(progress.candidates), progress.report
                if cfg.rescore.enabled and out.candidates:
                    sampled = out.candidates

                    def rescoring(c: Config) -> None:
                        out.candidates, report.rescore = rescore(task, sampled, self.backend, fmt, c.rescore,
                                                                 max_len, deadline, rng)
                    with peaks.measure("rescore"):
                        cfg = run_phase(out, "rescore", cfg, rescoring)
        finally:
            self.adapter.reset()  # the task's adapter is discarded
        out.stats = stage_stats(report)
        out.stats["memory"] = peaks.record
        return out

    def _serve(self, task_id: str, trained: bool):
        """The transformers backend samples from the adapter in place; a vLLM engine is handed the adapter
        (none when it holds only its zero starting update)."""
        if self.serving is None:
            return contextlib.nullcontext()
        return self.serving.serving(task_id, self.adapter.model if trained else None)
