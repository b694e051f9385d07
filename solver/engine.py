"""The transformers inference engine: sample.Backend on the training model itself (peft adapter in place).

    generate      batched greedy decoding through `model.generate` (its KV cache, left padding, time limit),
                  output restricted to the answer tokens, stopped early when it can no longer be a grid
    explore       depth-first search of every answer above a probability (solver/dfs.py)
    score         teacher-forced log-likelihood of given answers after their prompts
    score_shared  many answers after one prompt, the prompt computed once (rescoring)

solver/vllm_backend.py implements the same calls on a vLLM engine.
"""
from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch
import transformers

from .budget import Deadline
from .formats import Format
from .dfs import Search, explore
from .sample import Generation


class _OnlyAnswerTokens(transformers.LogitsProcessor):
    """Greedy decoding may only choose the tokens an answer of the format may use (cells, separators, end)."""

    def __init__(self, allowed: Sequence[int]):
        self.allowed = torch.tensor(sorted(set(allowed)))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        masked = torch.full_like(scores, -torch.inf)
        allowed = self.allowed.to(scores.device)
        masked[:, allowed] = scores[:, allowed]
        return masked


class _StopMalformed(transformers.StoppingCriteria):
    """Stops a sequence as soon as it can no longer parse as a grid (the format's grammar) instead of letting
    it run to the token limit. It looks at one new token per sequence and step."""

    def __init__(self, fmt: Format, batch: int):
        self.grammar = fmt.grammar()
        self.stops = set(fmt.stops)
        self.states = [self.grammar.start] * batch
        self.steps = np.zeros(batch, dtype=int)    # tokens generated while running
        self.done = np.zeros(batch, dtype=bool)    # ended or stopped: generate pads these from now on
        self.malformed = np.zeros(batch, dtype=bool)

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        last = input_ids[:, -1].tolist()
        for r in np.flatnonzero(~self.done):
            self.steps[r] += 1
            if last[r] in self.stops:
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

    def __init__(self, model: torch.nn.Module, fmt: Format):
        self.model = model
        self.format = fmt
        self.only_answers = _OnlyAnswerTokens(fmt.answer_ids)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def generate(self, prompts: Sequence[np.ndarray], max_new_tokens: int,
                 deadline: Deadline) -> list[Generation]:
        v = self.format
        ids, mask = _left_padded(prompts, v.pad, self.device)
        config = transformers.GenerationConfig(
            do_sample=False, num_beams=1, max_new_tokens=max_new_tokens, eos_token_id=list(v.stops), pad_token_id=v.pad,
            bos_token_id=v.bos, use_cache=True, output_logits=True, return_dict_in_generate=True,
            max_time=None if deadline.unlimited else max(0.001, deadline.remaining()))
        malformed = _StopMalformed(v, len(prompts))
        out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                  logits_processor=transformers.LogitsProcessorList([self.only_answers]),
                                  stopping_criteria=transformers.StoppingCriteriaList([malformed]))
        new = out.sequences[:, ids.shape[1]:].cpu().numpy()
        logprobs = torch.stack(out.logits, dim=1).float().log_softmax(-1)  # raw logits: (B, T, V)
        chosen = logprobs.gather(-1, out.sequences[:, ids.shape[1]:, None]).squeeze(-1).cpu().numpy()
        gens = []
        for r, (row, lp) in enumerate(zip(new, chosen)):
            ends = np.flatnonzero(np.isin(row, v.stops))
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
        ids, mask = _left_padded(seqs, self.format.pad, self.device)
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
        v = self.format
        # One end token for the search: the one the format closes its answers with (marc could also stop
        # on <|end_of_text|>, a second spelling of the same end, which would only split the probability).
        allowed = [t for t in v.answer_ids if t not in v.stops or t == v.end]
        return explore(self.model, prompt, allowed=allowed, end=v.end, min_prob=min_prob,
                       max_new_tokens=max_new_tokens, max_candidates=max_candidates, deadline=deadline,
                       grammar=v.grammar())

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
            ids = torch.full((len(chunk), width), self.format.pad, dtype=torch.long)
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
