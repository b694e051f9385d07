"""Augmented sampling: each test input under several views, decoded by the model, mapped back, as candidates.

For every view (a D8 symmetry, a colour permutation and a demonstration order; the first view is the task
as given), the task is transformed, encoded as a prompt, and decoded; each parsed grid is inverted back to
the task's frame and becomes a Candidate whose `view` is the D8 element's name, so that the hierarchical
vote (select.py) groups predictions as the MIT paper does.

Decoding goes through a `Backend`: `generate` (batched greedy with a KV cache), `explore` (every completion
above a probability threshold, depth first: dfs.py), `score` (teacher-forced log-likelihood of given
answers) and `score_shared` (many answers after one prompt, the prompt computed once: rescore.py). The
transformers backend is here; vllm_backend.py implements the same calls on vLLM.
"""
from __future__ import annotations

import copy
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator, Protocol, Sequence

import numpy as np
import torch
import transformers

from .augment import Compose, views_of_kinds
from .budget import Deadline
from .codec import MAX_OUTPUT_TOKENS, CodecError, GridGrammar, Vocab, answer_reserve, encode, parse_answer
from .config import SAMPLE_METHODS, SampleConfig
from .dfs import Search, explore
from .tasks import Candidate, Example, Task

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


class Backend(Protocol):
    def generate(self, prompts: Sequence[np.ndarray], max_new_tokens: int,
                 deadline: Deadline) -> list[Generation]:
        """One greedy answer per prompt; generation stops early for all when `deadline` passes."""

    def explore(self, prompt: np.ndarray, max_new_tokens: int, min_prob: float, max_candidates: int,
                deadline: Deadline) -> Search:
        """Answers whose probability is at least `min_prob` (grids only), most likely branches first."""

    def score(self, prompts: Sequence[np.ndarray], answers: Sequence[np.ndarray]) -> list[float]:
        """Log-likelihood of each answer after its prompt, by teacher forcing."""

    def score_shared(self, prompt: np.ndarray, answers: Sequence[np.ndarray], batch_size: int) -> list[float]:
        """Log-likelihood of each answer after one common prompt."""


class _OnlyAnswerTokens(transformers.LogitsProcessor):
    """Greedy decoding may only choose cells, row separators and the end token."""

    def __init__(self, allowed: Sequence[int]):
        self.allowed = torch.tensor(sorted(set(allowed)))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        masked = torch.full_like(scores, -torch.inf)
        allowed = self.allowed.to(scores.device)
        masked[:, allowed] = scores[:, allowed]
        return masked


class _StopMalformed(transformers.StoppingCriteria):
    """Stops a sequence as soon as it can no longer parse as a grid (`GridGrammar`) instead of letting it
    run to the token limit. It looks at one new token per sequence and step."""

    def __init__(self, vocab: Vocab, batch: int):
        self.grammar = GridGrammar(vocab)
        self.end = vocab.end
        self.states = [self.grammar.start] * batch
        self.steps = np.zeros(batch, dtype=int)    # tokens generated while running
        self.done = np.zeros(batch, dtype=bool)    # ended or stopped: generate pads these from now on
        self.malformed = np.zeros(batch, dtype=bool)

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        last = input_ids[:, -1].tolist()
        for r in np.flatnonzero(~self.done):
            self.steps[r] += 1
            if last[r] == self.end:
                self.done[r] = True
                continue
            self.states[r] = self.grammar.step(self.states[r], last[r])
            if self.states[r] is None:
                self.done[r] = self.malformed[r] = True
        return torch.from_numpy(self.malformed.copy()).to(input_ids.device)


def _left_padded(seqs: Sequence[np.ndarray], pad: int, device: torch.device):
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, width - len(s):] = torch.from_numpy(np.asarray(s, dtype=np.int64))
        mask[r, width - len(s):] = 1
    return ids.to(device), mask.to(device)


class TransformersBackend:
    """Batched decoding through `model.generate` (its KV cache, left padding, time limit)."""

    def __init__(self, model: torch.nn.Module, vocab: Vocab):
        self.model = model
        self.vocab = vocab
        self.only_answers = _OnlyAnswerTokens(vocab.answer_ids)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def generate(self, prompts: Sequence[np.ndarray], max_new_tokens: int,
                 deadline: Deadline) -> list[Generation]:
        v = self.vocab
        ids, mask = _left_padded(prompts, v.pad, self.device)
        config = transformers.GenerationConfig(
            do_sample=False, num_beams=1, max_new_tokens=max_new_tokens, eos_token_id=v.end, pad_token_id=v.pad,
            bos_token_id=v.bos, use_cache=True, output_logits=True, return_dict_in_generate=True,
            max_time=None if deadline.at == float("inf") else max(0.001, deadline.remaining()))
        malformed = _StopMalformed(v, len(prompts))
        out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                  logits_processor=transformers.LogitsProcessorList([self.only_answers]),
                                  stopping_criteria=transformers.StoppingCriteriaList([malformed]))
        new = out.sequences[:, ids.shape[1]:].cpu().numpy()
        logprobs = torch.stack(out.logits, dim=1).float().log_softmax(-1)  # raw logits: (B, T, V)
        chosen = logprobs.gather(-1, out.sequences[:, ids.shape[1]:, None]).squeeze(-1).cpu().numpy()
        gens = []
        for r, (row, lp) in enumerate(zip(new, chosen)):
            ends = np.flatnonzero(row == v.end)
            if malformed.malformed[r]:
                n, stop = malformed.steps[r], "malformed"
            elif len(ends):
                n, stop = int(ends[0]) + 1, "end"
            else:
                n, stop = len(row), "length" if len(row) >= max_new_tokens else "time"
            gens.append(Generation(row[:n].copy(), float(lp[:n].sum()), stop))
        return gens

    @torch.no_grad()
    def score(self, prompts: Sequence[np.ndarray], answers: Sequence[np.ndarray]) -> list[float]:
        seqs = [np.concatenate([p, a]) for p, a in zip(prompts, answers)]
        ids, mask = _left_padded(seqs, self.vocab.pad, self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: real tokens count from 0
        logprobs = self.model(input_ids=ids, attention_mask=mask, position_ids=positions).logits.float()
        logprobs = logprobs.log_softmax(-1)
        width = ids.shape[1]
        scores = []
        for r, a in enumerate(answers):
            at = torch.arange(width - len(a), width, device=ids.device)  # positions of the answer tokens
            scores.append(float(logprobs[r, at - 1].gather(-1, ids[r, at, None]).sum()))
        return scores

    def explore(self, prompt: np.ndarray, max_new_tokens: int, min_prob: float, max_candidates: int,
                deadline: Deadline) -> Search:
        v = self.vocab
        return explore(self.model, prompt, allowed=v.answer_ids, end=v.end, min_prob=min_prob,
                       max_new_tokens=max_new_tokens, max_candidates=max_candidates, deadline=deadline,
                       grammar=GridGrammar(v))

    @torch.no_grad()
    def score_shared(self, prompt: np.ndarray, answers: Sequence[np.ndarray], batch_size: int) -> list[float]:
        """The prompt runs once; its KV cache is copied across each batch of answers. Answers are right
        padded: a pad only follows the real tokens, which the causal mask already hides it from."""
        out = self.model(input_ids=torch.as_tensor(np.asarray(prompt, dtype=np.int64), device=self.device)[None],
                         use_cache=True)
        first = out.logits[0, -1].float().log_softmax(-1)  # the first answer token's distribution
        scores: list[float] = []
        for start in range(0, len(answers), max(1, batch_size)):
            chunk = [np.asarray(a, dtype=np.int64) for a in answers[start:start + max(1, batch_size)]]
            cache = copy.deepcopy(out.past_key_values)
            cache.batch_repeat_interleave(len(chunk))
            width = max(len(a) for a in chunk)
            ids = torch.full((len(chunk), width), self.vocab.pad, dtype=torch.long)
            for r, a in enumerate(chunk):
                ids[r, :len(a)] = torch.from_numpy(a)
            ids = ids.to(self.device)
            logprobs = self.model(input_ids=ids, past_key_values=cache, use_cache=True).logits.float().log_softmax(-1)
            for r, a in enumerate(chunk):
                total = first[ids[r, 0]]
                if len(a) > 1:
                    total = total + logprobs[r, :len(a) - 1].gather(-1, ids[r, 1:len(a), None]).sum()
                scores.append(float(total))
        return scores


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
            report: SampleReport) -> Iterator[tuple[_Job, Generation]]:
    size = max(1, cfg.batch_size)
    for start in range(0, len(jobs), size):
        if deadline.expired():
            report.skipped += len(jobs) - start
            return
        batch = jobs[start:start + size]
        gens = backend.generate([j.prompt for j in batch], min(j.room for j in batch), deadline)
        report.generated += len(batch)
        yield from zip(batch, gens)


def _dfs(jobs: list[_Job], backend: Backend, cfg: SampleConfig, deadline: Deadline,
         report: SampleReport) -> Iterator[tuple[_Job, Generation]]:
    for n, job in enumerate(jobs):
        if deadline.expired():
            report.skipped += len(jobs) - n
            return
        # Each prompt gets an equal share of the time left, so that one view's wide tree cannot take the
        # time of the views after it.
        share = None if math.isinf(deadline.at) else deadline.remaining() / (len(jobs) - n)
        search = backend.explore(job.prompt, job.room, cfg.min_prob, cfg.max_candidates, deadline.within(share))
        report.generated += 1
        report.forwards += search.forwards
        report.stops[search.stop] += 1
        for c in search.completions:
            yield job, Generation(c.tokens, c.logprob, "end")


def sample_task(task: Task, backend: Backend, vocab: Vocab, cfg: SampleConfig, max_len: int,
                deadline: Deadline, rng: np.random.Generator, views: Sequence[Compose] | None = None,
                stage: str | None = None) -> tuple[list[Candidate], SampleReport]:
    """Answers for every test input under every view (cfg.method: greedy, or dfs), inverted to the task's
    frame. Views go in order (the identity first) and all test inputs of a view before the next view, so
    that a deadline cuts views, never whole test inputs."""
    if cfg.method not in SAMPLE_METHODS:
        raise ValueError(f"sample.method {cfg.method!r} is not available; methods: {', '.join(SAMPLE_METHODS)}")
    stage = stage or (GREEDY_STAGE if cfg.method == "greedy" else DFS_STAGE)
    views = list(views) if views is not None else views_of_kinds(task, cfg.views, cfg.augment, rng, "sample.augment")
    report = SampleReport()
    jobs = []
    for view in views:
        seen = view.apply_task(task)
        for t, ex in enumerate(seen.test):
            report.prompts += 1
            query = Example(ex.input)  # never the known output of a dry run
            try:
                enc = encode(seen.train, query, vocab, max_len, answer_reserve(seen.train, ex.input), task.id)
            except CodecError:
                report.rejects["test input does not fit the context"] += 1
                continue
            jobs.append(_Job(view, t, enc.ids, min(MAX_OUTPUT_TOKENS, max_len - len(enc))))
    candidates = []
    decoded = (_greedy if cfg.method == "greedy" else _dfs)(jobs, backend, cfg, deadline, report)
    for job, gen in decoded:
        parsed = parse_answer(gen.tokens, vocab)
        if parsed.grid is None:
            report.rejects[parsed.reason if gen.finished else f"stopped: {gen.stop}"] += 1
            continue
        candidates.append(Candidate(job.test_index, job.view.invert(parsed.grid), stage,
                                    view=job.view.geometry.name, score=gen.logprob))
    report.candidates = len(candidates)
    return candidates, report
