import itertools
import math

import numpy as np
import pytest
import torch
import transformers

from solver.budget import Deadline
from solver.dfs import explore

END = 3
ALLOWED = (0, 1, 2, END)  # token 4 exists in the vocabulary but may never be generated
PROMPT = np.array([4, 0, 2, 1, 4])


@pytest.fixture(scope="module")
def peaked_model():
    """A random 5-token Llama whose large initial weights give peaked, position-dependent distributions."""
    config = transformers.LlamaConfig(vocab_size=5, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                                      initializer_range=0.6, tie_word_embeddings=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = transformers.LlamaForCausalLM(config)
    return model.eval()


@torch.no_grad()
def brute_force(model, max_new_tokens, accept=lambda seq: True) -> dict[tuple, float]:
    """Every sequence of allowed tokens ending at its first END, scored by full forward passes over prompt
    and sequence (no cache, one batch per length), keyed by its tokens."""
    out = {}
    for k in range(max_new_tokens):
        seqs = [body + (END,) for body in itertools.product((0, 1, 2), repeat=k) if accept(body + (END,))]
        if not seqs:
            continue
        ids = torch.tensor([list(PROMPT) + list(s) for s in seqs])
        lp = model(input_ids=ids).logits.float().log_softmax(-1)
        for r, s in enumerate(seqs):
            out[s] = sum(float(lp[r, len(PROMPT) - 1 + j, t]) for j, t in enumerate(s))
    return out


@pytest.fixture(scope="module")
def truth5(peaked_model):
    return brute_force(peaked_model, 5)


def threshold_between(logprobs, n_pass: int) -> float:
    """A probability threshold halfway (in log space) between the n-th and (n+1)-th best sequences, so that
    float rounding cannot decide membership."""
    ranked = sorted(logprobs, reverse=True)
    assert ranked[n_pass - 1] - ranked[n_pass] > 1e-3
    return math.exp((ranked[n_pass - 1] + ranked[n_pass]) / 2)


def as_dict(search) -> dict[tuple, float]:
    return {tuple(int(t) for t in c.tokens): c.logprob for c in search.completions}


@pytest.mark.parametrize("n_pass", [1, 8, 25])
def test_dfs_returns_exactly_the_completions_above_the_threshold(peaked_model, truth5, n_pass):
    truth = truth5
    min_prob = threshold_between(truth.values(), n_pass)
    search = explore(peaked_model, PROMPT, allowed=ALLOWED, end=END, min_prob=min_prob, max_new_tokens=5,
                     max_candidates=1000, deadline=Deadline.never())
    found = as_dict(search)
    expected = {s: lp for s, lp in truth.items() if lp >= math.log(min_prob)}
    assert len(found) == len(search.completions) == n_pass  # no completion twice
    assert found.keys() == expected.keys() and search.stop == "done"
    for s in expected:
        assert found[s] == pytest.approx(expected[s], abs=1e-4)


class NoRepeat:
    """A toy grammar: a token may not follow itself."""
    start = None

    def step(self, state, token):
        return None if token == state else token

    def can_end(self, state) -> bool:
        return state is not None  # at least one token before the end


def test_a_grammar_prunes_exactly_the_sequences_it_rejects(peaked_model):
    def accept(s):
        body = s[:-1]
        return len(body) > 0 and all(a != b for a, b in zip(body, body[1:]))
    truth = brute_force(peaked_model, 6, accept)
    min_prob = threshold_between(truth.values(), 10)
    search = explore(peaked_model, PROMPT, allowed=ALLOWED, end=END, min_prob=min_prob, max_new_tokens=6,
                     max_candidates=1000, deadline=Deadline.never(), grammar=NoRepeat())
    assert as_dict(search).keys() == {s for s, lp in truth.items() if lp >= math.log(min_prob)}


def test_the_candidate_cap_keeps_the_first_found_and_the_deadline_stops_the_search(peaked_model, truth5):
    truth = truth5
    min_prob = threshold_between(truth.values(), 12)
    kwargs = dict(allowed=ALLOWED, end=END, min_prob=min_prob, max_new_tokens=5)
    full = explore(peaked_model, PROMPT, max_candidates=1000, deadline=Deadline.never(), **kwargs)
    capped = explore(peaked_model, PROMPT, max_candidates=4, deadline=Deadline.never(), **kwargs)
    assert capped.stop == "candidates" and as_dict(capped) == dict(list(as_dict(full).items())[:4])
    best = max(truth, key=truth.get)
    greedy_first = explore(peaked_model, PROMPT, max_candidates=1, deadline=Deadline.never(), **kwargs)
    assert list(as_dict(greedy_first)) == [best] or truth[best] < math.log(min_prob)
    late = explore(peaked_model, PROMPT, max_candidates=1000, deadline=Deadline.after(0), **kwargs)
    assert late.stop == "time" and late.completions == [] and late.forwards == 0
