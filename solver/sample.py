"""Augmented sampling: each test input under several views, decoded by the model, mapped back, as candidates.

For every view (a D8 symmetry, a colour permutation and a demonstration order; the first view is the task
as given), the task is transformed, encoded as a prompt, and decoded; each parsed grid is inverted back to
the task's frame and becomes a Candidate whose `view` is the D8 element's name, so that the hierarchical
vote (select.py) groups predictions as the MIT paper does.

Decoding goes through a `Backend`: `generate` (batched greedy with a KV cache), `explore` (every completion
above a probability threshold, depth first: dfs.py), `score` (teacher-forced log-likelihood of given
answers) and `score_shared` (many answers after one prompt, the prompt computed once: rescore.py). Two
implement it: engine.py on the transformers model, vllm_backend.py on a vLLM engine.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Protocol, Sequence

import numpy as np

from .augment import Compose, views_of_kinds
from .budget import Deadline
from .formats import ContextError, Format
from .config import SampleConfig
from .tasks import Candidate, Example, Task

if TYPE_CHECKING:  # dfs.py needs torch; sampling itself does not
    from .dfs import Search

GREEDY_STAGE = "neural-greedy"
DFS_STAGE = "neural-dfs"


@dataclass(frozen=True)
class Generation:
    tokens: np.ndarray  # generated ids, up to and including the end token when it was reached
    logprob: float      # the model's log-likelihood of these tokens (full vocabulary, no constraint)
    stop: str = "end"   # end | malformed (could no longer be a grid) | length | time

    @property
    def finished(self) -> bool:
        return self.stop == "end"


def token_limits(max_new_tokens: int | Sequence[int], n: int) -> list[int]:
    """One answer-token limit per prompt, from one for all or one each."""
    if isinstance(max_new_tokens, (int, np.integer)):
        return [int(max_new_tokens)] * n
    limits = [int(m) for m in max_new_tokens]
    if len(limits) != n:
        raise ValueError(f"{len(limits)} token limits for {n} prompts")
    return limits


class Backend(Protocol):
    def generate(self, prompts: Sequence[np.ndarray], max_new_tokens: int | Sequence[int],
                 deadline: Deadline) -> list[Generation]:
        """One greedy answer per prompt, at most `max_new_tokens` tokens (one limit for all, or one per
        prompt: what its prompt leaves of the context); generation stops early for all when `deadline`
        passes."""

    def explore(self, prompt: np.ndarray, max_new_tokens: int, min_prob: float, max_candidates: int,
                deadline: Deadline, prefill_chunk: int = 0) -> Search:
        """Answers whose probability is at least `min_prob` (grids only), most likely branches first;
        `prefill_chunk` > 0: the prompt goes through the model that many tokens at a time, where the
        backend computes it itself."""

    def score(self, prompts: Sequence[np.ndarray], answers: Sequence[np.ndarray]) -> list[float]:
        """Log-likelihood of each answer after its prompt, by teacher forcing."""

    def score_shared(self, prompt: np.ndarray, answers: Sequence[np.ndarray], batch_size: int) -> list[float]:
        """Log-likelihood of each answer after one common prompt."""


@dataclass
class SampleReport:
    prompts: int = 0
    generated: int = 0  # prompts decoded
    candidates: int = 0
    skipped: int = 0  # prompts never decoded because the deadline passed
    rejects: Counter = field(default_factory=Counter)  # malformed outputs, by reason
    forwards: int = 0  # dfs: forward passes
    stops: Counter = field(default_factory=Counter)  # dfs: why each search ended (done | candidates | time)


@dataclass(frozen=True)
class _Job:
    view: Compose
    test_index: int
    prompt: np.ndarray
    room: int  # answer tokens the context leaves after the prompt


def _greedy(jobs: list[_Job], backend: Backend, cfg: SampleConfig, deadline: Deadline,
            report: SampleReport) -> Iterator[tuple[_Job, list[Generation]]]:
    size = max(1, cfg.batch_size)
    for start in range(0, len(jobs), size):
        if deadline.expired():
            report.skipped += len(jobs) - start
            return
        batch = jobs[start:start + size]
        # Each prompt its own room: one long prompt must not cut its batch-mates' answers short.
        gens = backend.generate([j.prompt for j in batch], [j.room for j in batch], deadline)
        report.generated += len(batch)
        for job, gen in zip(batch, gens):
            yield job, [gen]


def _dfs(jobs: list[_Job], backend: Backend, cfg: SampleConfig, deadline: Deadline,
         report: SampleReport) -> Iterator[tuple[_Job, list[Generation]]]:
    for n, job in enumerate(jobs):
        if deadline.expired():
            report.skipped += len(jobs) - n
            return
        # Each prompt gets an equal share of the time left, so that one view's wide tree cannot take the
        # time of the views after it.
        share = None if deadline.unlimited else deadline.remaining() / (len(jobs) - n)
        search = backend.explore(job.prompt, job.room, cfg.min_prob, cfg.max_candidates, deadline.within(share),
                                 cfg.prefill_chunk)
        report.generated += 1
        report.forwards += search.forwards
        report.stops[search.stop] += 1
        yield job, [Generation(c.tokens, c.logprob, "end") for c in search.completions]


@dataclass
class Sampling:
    """One task's sampling, resumable: its prompts in order, how many are decoded, the candidates so far.
    What a sampling that fails part-way (out of memory) produced stays here, and a retry with lighter
    settings (`continue_sampling`) decodes only the prompts not yet decoded."""
    jobs: list[_Job]
    stage: str
    report: SampleReport = field(default_factory=SampleReport)
    candidates: list[Candidate] = field(default_factory=list)
    done: int = 0  # jobs decoded, in order

    @property
    def longest_prompt(self) -> int:
        return max((len(j.prompt) for j in self.jobs[self.done:]), default=0)


def start_sampling(task: Task, fmt: Format, cfg: SampleConfig, max_len: int, rng: np.random.Generator,
                   views: Sequence[Compose] | None = None, stage: str | None = None) -> Sampling:
    """The prompts of every test input under every view, in order (the identity first) and all test inputs
    of a view before the next view, so that a deadline cuts views, never whole test inputs."""
    stage = stage or (GREEDY_STAGE if cfg.method == "greedy" else DFS_STAGE)
    views = list(views) if views is not None else views_of_kinds(task, cfg.views, cfg.augment, rng, "sample.augment")
    out = Sampling([], stage)
    for view in views:
        seen = view.apply_task(task)
        for t, ex in enumerate(seen.test):
            out.report.prompts += 1
            query = Example(ex.input)  # never the known output of a dry run
            try:
                enc = fmt.encode(seen.train, query, max_len, fmt.reserve(seen.train, ex.input), task.id)
            except ContextError:
                out.report.rejects["test input does not fit the context"] += 1
                continue
            out.jobs.append(_Job(view, t, enc.ids, min(fmt.max_answer_tokens, max_len - len(enc))))
    return out


def continue_sampling(sampling: Sampling, backend: Backend, fmt: Format, cfg: SampleConfig,
                      deadline: Deadline) -> Sampling:
    """Decode the prompts not yet decoded (cfg.method: greedy, or dfs), each answer inverted to the task's
    frame; the candidates and the count of decoded prompts grow as each prompt's answers come back."""
    report = sampling.report
    decoded = (_greedy if cfg.method == "greedy" else _dfs)(sampling.jobs[sampling.done:], backend, cfg,
                                                             deadline, report)
    for job, gens in decoded:
        for gen in gens:
            parsed = fmt.parse(gen.tokens)
            if parsed.grid is None:
                report.rejects[parsed.reason if gen.finished else f"stopped: {gen.stop}"] += 1
                continue
            sampling.candidates.append(Candidate(job.test_index, job.view.invert(parsed.grid), sampling.stage,
                                                 view=job.view.geometry.name, logprob=gen.logprob))
        sampling.done += 1
        report.candidates = len(sampling.candidates)
    return sampling


def sample_task(task: Task, backend: Backend, fmt: Format, cfg: SampleConfig, max_len: int,
                deadline: Deadline, rng: np.random.Generator, views: Sequence[Compose] | None = None,
                stage: str | None = None) -> tuple[list[Candidate], SampleReport]:
    """Answers for every test input under every view (cfg.method: greedy, or dfs), inverted to the task's
    frame, in one go."""
    sampling = continue_sampling(start_sampling(task, fmt, cfg, max_len, rng, views, stage), backend, fmt, cfg,
                                 deadline)
    return sampling.candidates, sampling.report
