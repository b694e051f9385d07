import numpy as np
import pytest
import torch

from solver.augment import IDENTITY, views_of_kinds
from solver.budget import Deadline
from solver.config import SampleConfig
from solver.engine import TransformersBackend, _StopRows
from solver.formats import PROFILES, IdFormat
from solver.sample import sample_task
from solver.synth import RULES, make_task
from solver.tasks import Example

FORMAT = IdFormat(PROFILES["kit"], {**{str(c): c for c in range(10)}, "\n": 10, "I": 11, "O": 12, "<eos>": 13},
                  bos=15, pad=14)


def feed(tokens_per_row: list[list[int]]) -> list[list[bool]]:
    """Stop flags after each step, for sequences generated token by token."""
    n, steps = len(tokens_per_row), len(tokens_per_row[0])
    stop = _StopRows(FORMAT, [1000] * n)
    prompt = torch.full((n, 3), FORMAT.ids["O"])
    flags = []
    for s in range(steps):
        ids = torch.cat([prompt, torch.tensor([[row[t] for t in range(s + 1)] for row in tokens_per_row])], 1)
        flags.append(stop(ids, None).tolist())
    return flags


def test_generation_stops_as_soon_as_the_output_cannot_be_a_grid():
    flags = feed([
        [1, 2, 10, 3, 4, 10, 13, 14],  # a 2x2 grid, then the end: never malformed
        [1, 2, 10, 3, 4, 5, 10, 13],   # second row longer than the first: stopped at the 5
        [1, 2, 10, 3, 10, 13, 14, 14],  # second row shorter: stopped at its separator
        [10, 1, 1, 1, 1, 1, 1, 1],      # empty first row: stopped at once
    ])
    first_stop = [next((s for s, f in enumerate(flags) if f[r]), None) for r in range(4)]
    assert first_stop == [None, 5, 4, 0]


def test_rows_and_columns_beyond_thirty_are_stopped():
    flags = feed([[1] * 31 + [10] * 31, [1, 10] * 31])
    first_stop = [next(s for s, f in enumerate(flags) if f[r]) for r in range(2)]
    assert first_stop == [30, 2 * 30]  # the 31st cell of a row; the first cell of a 31st row


@pytest.fixture
def backend(tiny_loaded):
    return TransformersBackend(tiny_loaded.model, tiny_loaded.format)


def prompts_of(task, fmt):
    return [fmt.encode(task.train, Example(ex.input), 1000).ids for ex in task.test]


def test_greedy_log_likelihood_equals_teacher_forced_score(backend, tiny_loaded):
    rng = np.random.default_rng(0)
    tasks = [make_task(RULES["identity"], rng, sides=(2, 4)) for _ in range(3)]
    prompts = [p for t in tasks for p in prompts_of(t, tiny_loaded.format)]
    gens = backend.generate(prompts, 20, Deadline.never())
    assert len(gens) == 3
    allowed = set(tiny_loaded.format.answer_ids)
    for g in gens:
        assert 0 < len(g.tokens) <= 20 and set(g.tokens.tolist()) <= allowed
        assert g.stop in ("end", "malformed", "length")
    scores = backend.score(prompts, [g.tokens for g in gens])
    np.testing.assert_allclose(scores, [g.logprob for g in gens], rtol=1e-4, atol=1e-4)


def test_a_prompt_decodes_the_same_alone_and_in_a_padded_batch(backend, tiny_loaded):
    rng = np.random.default_rng(1)
    short = prompts_of(make_task(RULES["identity"], rng, sides=(2, 2)), tiny_loaded.format)[0]
    long = prompts_of(make_task(RULES["identity"], rng, sides=(5, 5)), tiny_loaded.format)[0]
    alone = backend.generate([short], 12, Deadline.never())[0]
    batched = backend.generate([long, short], 12, Deadline.never())[1]
    assert np.array_equal(alone.tokens, batched.tokens)
    assert alone.logprob == pytest.approx(batched.logprob, abs=1e-4)


def test_every_prompt_is_accounted_for(backend, tiny_loaded):
    task = make_task(RULES["dilate_cross"], np.random.default_rng(2), n_test=2)
    cfg = SampleConfig(views=3, batch_size=4)
    candidates, report = sample_task(task, backend, tiny_loaded.format, cfg, 2000, Deadline.never(),
                                     np.random.default_rng(0))
    assert report.prompts == 6 and report.generated == 6 and report.skipped == 0
    assert report.candidates + sum(report.rejects.values()) == 6 == len(candidates) + sum(report.rejects.values())
    for c in candidates:
        assert c.stage == "neural-greedy" and c.test_index in (0, 1) and np.isfinite(c.logprob) and c.logprob <= 0


def test_nothing_is_decoded_after_the_deadline(backend, tiny_loaded):
    task = make_task(RULES["identity"], np.random.default_rng(3))
    candidates, report = sample_task(task, backend, tiny_loaded.format, SampleConfig(views=4), 2000,
                                     Deadline.after(0), np.random.default_rng(0))
    assert candidates == [] and report.generated == 0 and report.skipped == 4


def test_known_test_outputs_never_reach_the_prompt(backend, tiny_loaded):
    task = make_task(RULES["ring"], np.random.default_rng(4))
    blind = task.with_examples(test=[Example(ex.input) for ex in task.test])
    cfg = SampleConfig(views=2)
    a, ra = sample_task(task, backend, tiny_loaded.format, cfg, 2000, Deadline.never(), np.random.default_rng(0))
    b, rb = sample_task(blind, backend, tiny_loaded.format, cfg, 2000, Deadline.never(), np.random.default_rng(0))
    assert ra == rb and [c.logprob for c in a] == [c.logprob for c in b]


def test_identity_view_comes_first_and_views_name_their_symmetry():
    task = make_task(RULES["identity"], np.random.default_rng(5))
    views = views_of_kinds(task, 9, SampleConfig().augment, np.random.default_rng(0))
    assert views[0] is IDENTITY and views[0].geometry.name == "identity"
    assert [v.geometry.name for v in views[1:]] == ["rot90", "rot180", "rot270", "transpose", "flip_ud",
                                                    "anti_transpose", "flip_lr", "identity"]
    colours_only = views_of_kinds(task, 4, ["colors"], np.random.default_rng(0))
    assert {v.geometry.name for v in colours_only} == {"identity"}


@pytest.mark.slow
def test_a_long_prompt_does_not_shorten_its_batch_mates_answers(pretrained_model_dir):
    """Each prompt decodes up to its own limit (what its prompt leaves of the context); a batch is no longer
    capped at the smallest. The model is the one pre-trained to copy 4x4 grids (a random one writes no
    grid longer than a token)."""
    from solver.config import ModelConfig
    from solver.model import load_model
    loaded = load_model(ModelConfig(path=str(pretrained_model_dir), max_length=512))
    backend = TransformersBackend(loaded.model, loaded.format)
    short = prompts_of(make_task(RULES["identity"], np.random.default_rng(1), sides=(4, 4)), loaded.format)[0]
    long = prompts_of(make_task(RULES["identity"], np.random.default_rng(2), sides=(4, 4), n_train=4),
                      loaded.format)[0]
    assert len(long) > len(short)
    alone = backend.generate([short], 30, Deadline.never())[0]
    assert alone.stop == "end" and len(alone.tokens) > 2  # what a batch capped at 2 tokens would have cut
    long_gen, batched = backend.generate([long, short], [2, 30], Deadline.never())
    assert np.array_equal(alone.tokens, batched.tokens) and alone.stop == batched.stop
    assert batched.logprob == pytest.approx(alone.logprob, abs=1e-4)
    assert len(long_gen.tokens) <= 2 and (long_gen.stop != "length" or len(long_gen.tokens) == 2)


def test_sampling_asks_for_each_prompt_s_own_room(backend, tiny_loaded):
    """sample_task hands the backend one limit per prompt: a prompt near the end of the context gets the
    little room it has, and the prompts batched with it keep theirs."""
    limits = []

    class Recording(TransformersBackend):
        def generate(self, prompts, max_new_tokens, deadline):
            limits.append(list(max_new_tokens))
            return super().generate(prompts, max_new_tokens, deadline)

    recording = Recording(tiny_loaded.model, tiny_loaded.format)
    small = make_task(RULES["identity"], np.random.default_rng(2), sides=(2, 2))
    big = make_task(RULES["identity"], np.random.default_rng(2), sides=(9, 9))
    task = small.with_examples(test=[small.test[0], big.test[0]])
    sample_task(task, recording, tiny_loaded.format, SampleConfig(views=1, batch_size=2), 300, Deadline.never(),
                np.random.default_rng(0), views=[IDENTITY])
    (batch,) = limits
    assert batch[0] > batch[1]  # the big input's longer prompt leaves less room, the small one keeps its own
