"""Depth-first sampling: every completion whose probability stays above a threshold (the ARChitects).

Greedy decoding gives one answer per prompt and sampling gives answers by chance; this search returns
exactly the completions whose probability under the model is at least `min_prob`. A token's probability is
at most 1, so a prefix's probability only shrinks as it grows: once a prefix falls below the threshold no
completion of it can pass, and the search prunes it there. At most 1/min_prob completions can pass (their
probabilities sum to at most 1), which bounds the result whatever the model.

The prompt is run once. The tree below it is walked depth first, one token per forward pass, on one KV
cache that is cropped back to the branching point before the next sibling is fed, so no prefix is computed
twice. Children go best first, so the first completion found is the greedy one when it passes, and a search
cut short by time or by the candidate cap has found the most likely branches first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np
import torch
import transformers

from .budget import Deadline


class Grammar(Protocol):
    """Which token sequences may be completions (a format's grammar for grids: formats.TextGrammar)."""
    start: Any

    def step(self, state: Any, token: int) -> Any | None:
        """The state after `token`, or None when no completion can start with the prefix."""

    def can_end(self, state: Any) -> bool:
        """Whether the end token may follow."""


class AnyTokens:
    """No constraint beyond the allowed tokens."""
    start = ()

    def step(self, state, token):
        return state

    def can_end(self, state) -> bool:
        return True


@dataclass(frozen=True)
class Completion:
    tokens: np.ndarray  # the generated ids, the end token last
    logprob: float      # under the model's full distribution at every step


@dataclass
class Search:
    completions: list[Completion] = field(default_factory=list)
    forwards: int = 0    # forward passes, the prompt's included
    stop: str = "done"   # done (the whole tree above the threshold) | candidates (the cap) | time


@dataclass
class _Node:
    depth: int
    state: Any
    children: list[tuple[int, float, Any]]  # (token, logprob of the prefix with it, grammar state), best last


def _next_logprobs(model, ids: torch.Tensor, cache, chunk: int = 0) -> tuple[torch.Tensor, Any]:
    """The next token's log-probabilities after `ids` (fed after what `cache` holds), computed at the last
    position only; `chunk` > 0 feeds the ids that many at a time, so that a long prompt's activations never
    exist all at once (the cache grows the same)."""
    step = chunk if chunk > 0 else len(ids)
    for start in range(0, len(ids), step):
        out = model(input_ids=ids[None, start:start + step], past_key_values=cache, use_cache=True,
                    logits_to_keep=1)
        cache = out.past_key_values
    return out.logits[0, -1].float().log_softmax(-1), cache


def _crop(cache, length: int) -> None:
    # A negative argument removes that many tokens in every transformers version with DynamicCache.crop
    # (older ones also read a positive one as the length to keep; 5.x refuses it).
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


@torch.no_grad()
def explore(model: torch.nn.Module, prompt: np.ndarray, *, allowed: Sequence[int], end: int, min_prob: float,
            max_new_tokens: int, max_candidates: int, deadline: Deadline,
            grammar: Grammar | None = None, prefill_chunk: int = 0) -> Search:
    """Completions of `prompt` (ending with `end`, at most `max_new_tokens` tokens, every token in `allowed`
    and accepted by `grammar`) with probability at least `min_prob`, in depth-first order, best child first.
    Stops early at `max_candidates` completions or at `deadline`. `prefill_chunk` > 0: the prompt goes
    through the model that many tokens at a time (less memory, the same search)."""
    if not 0.0 < min_prob <= 1.0:
        raise ValueError(f"min_prob must be in (0, 1], got {min_prob}")
    grammar = grammar or AnyTokens()
    floor = float(np.log(min_prob))
    device = next(model.parameters()).device
    allowed = np.array(sorted(set(int(t) for t in allowed)), dtype=np.int64)
    allowed_t = torch.from_numpy(allowed).to(device)
    search = Search()
    path: list[int] = []

    def expand(lp: torch.Tensor, depth: int, prefix_lp: float, state) -> _Node:
        """Record the end child if it passes; return the node with its other passing children."""
        scores = prefix_lp + lp[allowed_t].double().cpu().numpy()
        children = []
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] < floor:
                break  # sorted: no later child passes either
            token = int(allowed[i])
            if token == end:
                if grammar.can_end(state):
                    search.completions.append(Completion(np.array(path[:depth] + [end]), float(scores[i])))
            elif depth + 1 < max_new_tokens:  # room for this token and the end token after it
                child = grammar.step(state, token)
                if child is not None:
                    children.append((token, float(scores[i]), child))
        return _Node(depth, state, children[::-1])  # popped from the end: best first

    if deadline.expired() or max_new_tokens < 1:
        search.stop = "time" if deadline.expired() else "done"
        return search
    ids = torch.as_tensor(np.asarray(prompt, dtype=np.int64), device=device)
    lp, cache = _next_logprobs(model, ids, transformers.DynamicCache(), prefill_chunk)
    search.forwards += 1
    base = len(prompt)
    stack = [expand(lp, 0, 0.0, grammar.start)]
    while stack and len(search.completions) < max_candidates:
        node = stack[-1]
        if not node.children:
            stack.pop()
            continue
        if deadline.expired():
            search.stop = "time"
            break
        token, prefix_lp, state = node.children.pop()
        del path[node.depth:]
        path.append(token)
        _crop(cache, base + node.depth)
        lp, cache = _next_logprobs(model, torch.tensor([token], device=device), cache)
        search.forwards += 1
        stack.append(expand(lp, node.depth + 1, prefix_lp, state))
    n = len(search.completions)
    if search.stop == "done" and (n > max_candidates or (n == max_candidates and any(x.children for x in stack))):
        search.stop = "candidates"  # something above the threshold was left unexplored
    del search.completions[max_candidates:]
    return search
