"""The transformers inference engine: sample.Backend on the training model itself (peft adapter in place).

    generate      batched greedy decoding through `model.generate` (its KV cache, left padding, time limit),
                  output restricted to the answer tokens, each prompt up to its own token limit, stopped
                  early when it can no longer be a grid
    explore       depth-first search of every answer above a probability (solver/dfs.py)
    score         teacher-forced log-likelihood of given answers after their prompts
    score_shared  many answers after one prompt, the prompt computed once (rescoring)

Memory is bounded by design, for 8,000-token prompts and 128k-token vocabularies on a 24 GB card: a prompt
pass computes logits at the positions it needs only (`logits_to_keep`); greedy decoding keeps, per step,
the log-normaliser and the answer tokens' logits, never batch x length x vocabulary; rescoring copies the
prompt's KV cache for a batch of answers only as far as `rescore.cache_mb` allows (the copies and the batch's
logits together), and otherwise scores the answers one at a time on the prompt's own cache, cropped back
after each.

solver/vllm_backend.py implements the same calls on a vLLM engine.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import transformers

from .budget import Deadline
from .formats import Format
from .dfs import Search, explore
from .sample import Generation, token_limits


class _OnlyAnswerTokens(transformers.LogitsProcessor):
    """Greedy decoding may only choose the tokens an answer of the format may use (cells, separators, end).
    It also keeps what the generation's log-likelihood needs (under the full vocabulary): per step and row
    the log-normaliser and the raw logits of the answer tokens, a few floats where `output_logits` would keep
    the whole vocabulary (8 prompts x 931 steps x 128k tokens: 3.8 GB)."""

    def __init__(self, allowed: Sequence[int]):
        self.ids = sorted(set(int(t) for t in allowed))
        self.allowed = torch.tensor(self.ids)
        self.normalisers: list[torch.Tensor] = []  # per step: (batch,)
        self.answer_logits: list[torch.Tensor] = []  # per step: (batch, answer tokens)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        allowed = self.allowed.to(scores.device)
        kept = scores[:, allowed]
        self.normalisers.append(scores.float().logsumexp(-1))
        self.answer_logits.append(kept.float())
        masked = torch.full_like(scores, -torch.inf)
        masked[:, allowed] = kept
        return masked

    def chosen_logprobs(self, new_tokens: np.ndarray) -> np.ndarray:
        """(batch, steps) log-probabilities of the generated tokens; 0 where a token is not an answer token
        (the padding after a row has finished)."""
        if not self.normalisers:
            return np.zeros(new_tokens.shape)
        lse = torch.stack(self.normalisers, 1).cpu().numpy()
        logits = torch.stack(self.answer_logits, 1).cpu().numpy()
        index = np.full(int(max(self.ids)) + 1, -1)
        index[self.ids] = np.arange(len(self.ids))
        steps = min(new_tokens.shape[1], lse.shape[1])
        tokens = new_tokens[:, :steps]
        col = np.where((tokens >= 0) & (tokens < len(index)), index[np.clip(tokens, 0, len(index) - 1)], -1)
        out = np.zeros(new_tokens.shape)
        picked = np.take_along_axis(logits[:, :steps], np.maximum(col, 0)[..., None], -1)[..., 0]
        out[:, :steps] = np.where(col >= 0, picked - lse[:, :steps], 0.0)
        return out


class _StopRows(transformers.StoppingCriteria):
    """Stops a sequence as soon as it can no longer parse as a grid (the format's grammar) instead of letting
    it run to the token limit, and each sequence at its own token limit (what its prompt leaves of the
    context), so that one long prompt does not cut its batch-mates short. It looks at one new token per
    sequence and step."""

    def __init__(self, fmt: Format, limits: Sequence[int]):
        batch = len(limits)
        self.grammar = fmt.grammar()
        self.stops = set(fmt.stops)
        self.limits = np.asarray(limits, dtype=int)
        self.states = [self.grammar.start] * batch
        self.steps = np.zeros(batch, dtype=int)    # tokens generated while running
        self.done = np.zeros(batch, dtype=bool)    # ended or stopped: generate pads these from now on
        self.malformed = np.zeros(batch, dtype=bool)
        self.full = np.zeros(batch, dtype=bool)    # reached its own token limit

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
            elif self.steps[r] >= self.limits[r]:
                self.done[r] = self.full[r] = True
        return torch.from_numpy(self.malformed | self.full).to(input_ids.device)


def _token_logprobs(logits: torch.Tensor, targets: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """log_softmax(logits)[..., target] for logits (n, V) and targets (n,), in float32, a chunk of positions
    at a time: never a float32 copy of all the logits (931 positions x 128k vocabulary: 0.5 GB each)."""
    out = []
    for start in range(0, logits.shape[0], chunk):
        part = logits[start:start + chunk].float()
        out.append(part.gather(-1, targets[start:start + chunk, None])[:, 0] - part.logsumexp(-1))
    return torch.cat(out) if out else logits.new_zeros(0, dtype=torch.float32)


def cache_bytes(cache) -> int:
    """Bytes held by a transformers KV cache (every layer's keys and values)."""
    if hasattr(cache, "layers"):  # transformers >= 4.56
        tensors = [t for layer in cache.layers for t in (getattr(layer, "keys", None), getattr(layer, "values", None))]
    else:
        tensors = list(getattr(cache, "key_cache", [])) + list(getattr(cache, "value_cache", []))
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def logit_bytes_per_token(model: torch.nn.Module) -> int:
    """Bytes of one position's logits: the output head's rows (the vocabulary) in its dtype."""
    weight = model.get_output_embeddings().weight
    return weight.shape[0] * weight.element_size()


def _repeated(cache, rows: int):
    """A new cache holding `rows` copies of a one-row cache; the original is left as it is."""
    out = transformers.DynamicCache()
    for i, layer in enumerate(cache.layers):
        out.update(layer.keys.expand(rows, *layer.keys.shape[1:]),
                   layer.values.expand(rows, *layer.values.shape[1:]), i)
    return out


def _crop(cache, length: int) -> None:
    # A negative argument removes that many tokens in every transformers version with DynamicCache.crop
    # (older ones also read a positive one as the length to keep; 5.x refuses it).
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


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

    def __init__(self, model: torch.nn.Module, fmt: Format, cache_mb: float = 2048.0):
        """`cache_mb`: memory rescoring may spend on copies of a prompt's KV cache (rescore.cache_mb)."""
        self.model = model
        self.format = fmt
        self.cache_mb = cache_mb

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def generate(self, prompts: Sequence[np.ndarray], max_new_tokens: int | Sequence[int],
                 deadline: Deadline) -> list[Generation]:
        v = self.format
        limits = token_limits(max_new_tokens, len(prompts))
        ids, mask = _left_padded(prompts, v.pad, self.device)
        config = transformers.GenerationConfig(
            do_sample=False, num_beams=1, max_new_tokens=max(limits), eos_token_id=list(v.stops),
            pad_token_id=v.pad, bos_token_id=v.bos, use_cache=True, return_dict_in_generate=True,
            max_time=None if deadline.unlimited else max(0.001, deadline.remaining()))
        stops = _StopRows(v, limits)
        answers = _OnlyAnswerTokens(v.answer_ids)  # one per call: it keeps this call's log-likelihoods
        out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                  logits_processor=transformers.LogitsProcessorList([answers]),
                                  stopping_criteria=transformers.StoppingCriteriaList([stops]))
        new = out.sequences[:, ids.shape[1]:].cpu().numpy()
        chosen = answers.chosen_logprobs(new)
        gens = []
        for r, (row, lp) in enumerate(zip(new, chosen)):
            ends = np.flatnonzero(np.isin(row, v.stops))
            if stops.malformed[r]:
                n, stop = stops.steps[r], "malformed"
            elif len(ends) and ends[0] < limits[r]:
                n, stop = int(ends[0]) + 1, "end"
            elif stops.full[r] or len(row) >= limits[r]:
                n, stop = limits[r], "length"
            else:
                n, stop = len(row), "time"
            gens.append(Generation(row[:n].copy(), float(lp[:n].sum()), stop))
        return gens

    @torch.no_grad()
    def score(self, prompts: Sequence[np.ndarray], answers: Sequence[np.ndarray]) -> list[float]:
        seqs = [np.concatenate([p, a]) for p, a in zip(prompts, answers)]
        ids, mask = _left_padded(seqs, self.format.pad, self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: real tokens count from 0
        width = ids.shape[1]
        keep = min(width, max(len(a) for a in answers) + 1)  # logits at the answers' positions only
        logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                            logits_to_keep=keep).logits
        first = width - keep  # the position of logits[:, 0]
        scores = []
        for r, a in enumerate(answers):
            at = torch.arange(width - len(a), width, device=ids.device)  # positions of the answer tokens
            scores.append(float(_token_logprobs(logits[r, at - 1 - first], ids[r, at]).sum()))
        return scores

    def explore(self, prompt: np.ndarray, max_new_tokens: int, min_prob: float, max_candidates: int,
                deadline: Deadline, prefill_chunk: int = 0) -> Search:
        v = self.format
        # One end token for the search: the one the format closes its answers with (marc could also stop
        # on <|end_of_text|>, a second spelling of the same end, which would only split the probability).
        allowed = [t for t in v.answer_ids if t not in v.stops or t == v.end]
        return explore(self.model, prompt, allowed=allowed, end=v.end, min_prob=min_prob,
                       max_new_tokens=max_new_tokens, max_candidates=max_candidates, deadline=deadline,
                       grammar=v.grammar(), prefill_chunk=prefill_chunk)

    @torch.no_grad()
    def score_shared(self, prompt: np.ndarray, answers: Sequence[np.ndarray], batch_size: int) -> list[float]:
        """The prompt runs once (logits at its last position only). Answers then go in batches of at most
        `batch_size`, each on copies of the prompt's cache, as many rows as `self.cache_mb` MiB allow for
        the copies and the batch's logits (every position of the longest answer, over the vocabulary);
        where that is one row, each answer runs on the prompt's own cache, which is cropped back to the
        prompt after it: rescoring then holds one prompt's cache and one answer's, however many answers.
        Batched answers are right padded: a pad only follows the real tokens, which the causal mask already
        hides it from."""
        prompt_ids = torch.as_tensor(np.asarray(prompt, dtype=np.int64), device=self.device)[None]
        out = self.model(input_ids=prompt_ids, use_cache=True, logits_to_keep=1)
        cache, length = out.past_key_values, prompt_ids.shape[1]
        first = out.logits[0, -1].float().log_softmax(-1)  # the first answer token's distribution
        del out
        per_row = cache_bytes(cache) + max(len(a) for a in answers) * logit_bytes_per_token(self.model)
        rows = max(1, min(int(batch_size), len(answers), int(self.cache_mb * 2**20 // per_row)))
        scores: list[float] = []
        for start in range(0, len(answers), rows):
            chunk = [np.asarray(a, dtype=np.int64) for a in answers[start:start + rows]]
            width = max(len(a) for a in chunk)
            ids = torch.full((len(chunk), width), self.format.pad, dtype=torch.long)
            for r, a in enumerate(chunk):
                ids[r, :len(a)] = torch.from_numpy(a)
            ids = ids.to(self.device)
            batch_cache = cache if rows == 1 else _repeated(cache, len(chunk))
            logits = self.model(input_ids=ids, past_key_values=batch_cache, use_cache=True).logits
            if rows == 1:
                _crop(cache, length)
            del batch_cache
            for r, a in enumerate(chunk):
                total = first[ids[r, 0]]
                if len(a) > 1:
                    total = total + _token_logprobs(logits[r, :len(a) - 1], ids[r, 1:len(a)]).sum()
                scores.append(float(total))
        return scores
