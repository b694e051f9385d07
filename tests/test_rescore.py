"""Depth-first sampling through the transformers backend, shared-prefix scoring, product-of-experts
rescoring and their wiring into the neural stage, on real tiny models."""
import json

import numpy as np
import pytest
import torch

from solver.augment import views_of_kinds
from solver.budget import Deadline
from solver.engine import TransformersBackend
from solver.config import ModelConfig, RescoreConfig, load_config
from solver.model import load_model, make_tiny_model
from solver.neural import NeuralStage
from solver.rescore import rescore
from solver.select import rank_family, select_attempts

from solver.synth import RULES, make_task
from solver.tasks import Candidate, Example
from solver.ttt import fit, training_sequences

VIEWS = ["geometry"]  # deterministic views: the identity, rot90, rot180, ... in turn


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """The tiny model trained (every weight, 120 steps, ~1.5 CPU-s) on one task's answer under its first
    three geometric views, then saved: it has learnt that task and nothing else."""
    directory = make_tiny_model(tmp_path_factory.mktemp("trained-on-a-task"), "tiny", seed=0)
    loaded = load_model(ModelConfig(path=str(directory), shrink_vocab=False, max_length=512))
    task = trained_task()
    sequences, _ = training_sequences([v.apply_task(task) for v in views_of_kinds(task, 3, VIEWS, None)],
                                      loaded.format, 512, skip_first=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a shared 2-core machine, two spinning threads run this ~30x slower
    try:
        for p in loaded.model.parameters():
            p.requires_grad_(True)
        fit(loaded.model, sequences, steps=120, lr=3e-3, batch_size=len(sequences), pad=loaded.format.pad,
            max_len=512, deadline=Deadline.never(), rng=np.random.default_rng(0))
    finally:
        torch.set_num_threads(threads)
    loaded.model.save_pretrained(directory)
    return directory


def trained_task():
    return make_task(RULES["dilate_cross"], np.random.default_rng(0), n_train=2, sides=(3, 3))


@pytest.fixture
def trained(trained_dir):
    return load_model(ModelConfig(path=str(trained_dir), max_length=512))


def prompt_of(task, fmt, max_len=512):
    return fmt.encode(task.train, Example(task.test[0].input), max_len).ids


def test_shared_prefix_scores_equal_one_prompt_per_answer(tiny_loaded):
    backend = TransformersBackend(tiny_loaded.model, tiny_loaded.format)
    task = make_task(RULES["identity"], np.random.default_rng(0))
    prompt = prompt_of(task, tiny_loaded.format)
    rng = np.random.default_rng(1)
    answers = [rng.choice(tiny_loaded.format.answer_ids, size=n) for n in (1, 5, 9, 3, 7)]
    shared = backend.score_shared(prompt, answers, batch_size=2)  # three batches, the last one short
    np.testing.assert_allclose(shared, backend.score([prompt] * len(answers), answers), rtol=1e-4, atol=1e-4)


def test_dfs_finds_the_greedy_answer_first_and_only_grids_above_the_threshold(trained):
    backend = TransformersBackend(trained.model, trained.format)
    task = trained_task()
    prompt = prompt_of(task, trained.format)
    greedy = backend.generate([prompt], 40, Deadline.never())[0]
    assert greedy.logprob > np.log(0.1)  # the model learnt the task
    search = backend.explore(prompt, 40, min_prob=0.02, max_candidates=50, deadline=Deadline.never())
    assert search.stop == "done" and len(search.completions) > 1
    first = search.completions[0]
    assert np.array_equal(first.tokens, greedy.tokens) and first.logprob == pytest.approx(greedy.logprob, abs=1e-4)
    for c in search.completions:  # every completion is a grid, above the threshold, and found once
        assert c.logprob >= np.log(0.02) and trained.format.parse(c.tokens).grid is not None
    assert len({c.tokens.tobytes() for c in search.completions}) == len(search.completions)
    assert np.exp([c.logprob for c in search.completions]).sum() <= 1.0


def near_misses(right: np.ndarray) -> list[np.ndarray]:
    one_cell = right.copy()
    one_cell[0, 0] = (one_cell[0, 0] + 1) % 10
    other_cell = right.copy()
    other_cell[-1, 1] = (other_cell[-1, 1] + 5) % 10
    return [one_cell, other_cell, right.T.copy(), right[::-1].copy()]


@pytest.mark.slow
def test_a_planted_right_answer_ranks_first_against_wrong_grids_with_more_votes(trained):
    backend = TransformersBackend(trained.model, trained.format)
    task = trained_task()
    right = task.test[0].output
    wrong = [w for w in near_misses(right) if not np.array_equal(w, right)]
    candidates = [Candidate(0, g, "neural-greedy", view=v) for g in wrong for v in ("identity", "rot90")]
    candidates.append(Candidate(0, right, "neural-greedy", view="identity"))  # one vote, the others two
    cfg = RescoreConfig(views=3, augment=VIEWS)
    rescored, report = rescore(task, candidates, backend, trained.format, cfg, 512, Deadline.never(),
                               np.random.default_rng(0))
    assert report.views == 3 and report.grids == len(wrong) + 1
    # no candidate is dropped or merged: each carries its grid's NLL under every view
    assert len(rescored) == len(candidates) and all(len(c.rescore_nll) == 3 for c in rescored)
    assert all(c.stage == "neural-greedy" and c.test_index == 0 for c in rescored)
    ranked = rank_family(rescored, "hierarchical", vote_weight=1.0)  # minus mean NLL + log(votes)
    assert len(ranked) == len(wrong) + 1
    assert np.array_equal(ranked[0], right), [c.mean_nll for c in rescored]


def test_rescoring_after_the_deadline_keeps_the_sampled_candidates(tiny_loaded):
    backend = TransformersBackend(tiny_loaded.model, tiny_loaded.format)
    task = make_task(RULES["identity"], np.random.default_rng(5))
    candidates = [Candidate(0, task.test[0].output, "neural-dfs", logprob=-1.0)]
    out, report = rescore(task, candidates, backend, tiny_loaded.format, RescoreConfig(views=3), 512,
                          Deadline.after(0), np.random.default_rng(0))
    assert out == candidates and report.views == 0 and report.skipped["deadline"] == 3


@pytest.mark.slow
def test_the_stage_samples_depth_first_and_rescores_when_configured(trained_dir):
    cfg = load_config("tiny", [f"model.path={json.dumps(str(trained_dir))}", "model.max_length=512",
                               "ttt.enabled=false", "sample.views=2", "sample.method=dfs", "sample.min_prob=0.02",
                               "rescore.enabled=true", "rescore.views=3",
                               f"sample.augment={json.dumps(VIEWS)}", f"rescore.augment={json.dumps(VIEWS)}"])
    stage = NeuralStage(cfg)
    task = trained_task()
    candidates = stage.solve(task, stage.cfg, Deadline.never()).candidates
    report = stage.reports[task.id]
    assert report.sample.generated == 2 and report.sample.stops["done"] == 2 and report.sample.forwards > 2
    assert report.rescore is not None and report.rescore.views == 3
    assert candidates and all(c.stage == "neural-dfs" and np.isfinite(c.logprob) and len(c.rescore_nll) == 3
                              for c in candidates)
    assert np.array_equal(select_attempts(candidates, cfg.select, task.test[0].input)[0], task.test[0].output)
    assert stage.solve(task, stage.cfg, Deadline.after(0)).candidates == []


def test_answers_score_the_same_on_copies_of_the_prompt_s_cache_and_one_at_a_time(tiny_loaded):
    """rescore.cache_mb decides how answers share the prompt's cache (copies for a batch, or one answer at a
    time on the cache itself, cropped back after each); the scores do not depend on it."""
    task = make_task(RULES["identity"], np.random.default_rng(0))
    prompt = prompt_of(task, tiny_loaded.format)
    rng = np.random.default_rng(2)
    answers = [rng.choice(tiny_loaded.format.answer_ids, size=n) for n in (4, 1, 8, 2, 6)]
    one_at_a_time = TransformersBackend(tiny_loaded.model, tiny_loaded.format, cache_mb=0.0)
    batched = TransformersBackend(tiny_loaded.model, tiny_loaded.format, cache_mb=1024.0)
    reference = batched.score([prompt] * len(answers), answers)
    np.testing.assert_allclose(one_at_a_time.score_shared(prompt, answers, 16), reference, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(batched.score_shared(prompt, answers, 3), reference, rtol=1e-4, atol=1e-4)
    # twice on the same prompt: the cropped cache left nothing of the answers behind
    np.testing.assert_allclose(one_at_a_time.score_shared(prompt, answers[::-1], 1), reference[::-1], rtol=1e-4,
                               atol=1e-4)


def test_the_rescoring_batch_counts_its_logits_beside_the_cache_copies(tiny_loaded):
    """With rescore.cache_mb room for every copy of the prompt's cache but not for the logits of a batch (a
    long answer over the vocabulary), answers go in smaller batches; the scores stay the same."""
    from solver.engine import cache_bytes, logit_bytes_per_token
    task = make_task(RULES["identity"], np.random.default_rng(0))
    prompt = prompt_of(task, tiny_loaded.format)[:8]  # a short prompt, so that its cache is small
    rng = np.random.default_rng(3)
    answers = [rng.choice(tiny_loaded.format.answer_ids, size=300) for _ in range(8)]
    model = tiny_loaded.model
    cache = model(input_ids=torch.as_tensor(prompt)[None], use_cache=True).past_key_values
    copy, logits = cache_bytes(cache), 300 * logit_bytes_per_token(model)
    assert logits == 300 * model.config.vocab_size * 4
    budget = 2 * (copy + logits) + copy  # with their logits, two rows fit
    assert budget // copy >= 8  # the copies alone would have let all eight answers go together
    rows: list[int] = []
    hook = model.register_forward_pre_hook(lambda m, a, kw: rows.append(kw["input_ids"].shape[0]), with_kwargs=True)
    try:
        backend = TransformersBackend(model, tiny_loaded.format, cache_mb=budget / 2**20)
        scores = backend.score_shared(prompt, answers, batch_size=8)
    finally:
        hook.remove()
    assert rows[0] == 1 and rows[1:] == [2, 2, 2, 2]  # the prompt, then batches of two answers
    np.testing.assert_allclose(scores, backend.score([prompt] * 8, answers), rtol=1e-4, atol=1e-4)
