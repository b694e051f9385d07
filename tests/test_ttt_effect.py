"""End to end on a pre-trained tiny model: the light version of bench/ttt_mini.py, and the inversion of
augmented views checked on real generations."""
import numpy as np
import pytest

from solver.augment import D8, ColorPerm, Compose, DemoOrder
from solver.budget import Deadline
from solver.config import Config, ModelConfig, SampleConfig
from solver.model import load_model
from solver.neural import NeuralStage
from solver.engine import TransformersBackend
from solver.sample import sample_task
from solver.synth import colour_map_split, make_task

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("single_torch_thread")]


def bench_config(ttt: bool) -> Config:
    """bench/ttt_mini.py's TTT recipe, with one view."""
    cfg = Config()
    cfg.model.max_length = 512
    cfg.ttt.enabled, cfg.ttt.steps, cfg.ttt.lr, cfg.ttt.rank, cfg.ttt.alpha = ttt, 32, 1e-2, 16, 16.0
    cfg.ttt.batch_size, cfg.ttt.augmentations = 8, 8
    cfg.ttt.augment = cfg.sample.augment = ["geometry", "demo_order"]  # colour maps commute with these only
    cfg.sample.views = 1
    return cfg


def solved(task, candidates) -> bool:
    truth = task.test[0].output
    best = max(candidates, key=lambda c: c.logprob, default=None)
    return best is not None and best.grid.shape == truth.shape and np.array_equal(best.grid, truth)


def held_out_results(model_dir, seed: int) -> tuple[list[bool], list[bool], NeuralStage, list]:
    """Exact match without and with TTT on one task of each of 8 held-out colour maps."""
    stage = NeuralStage(bench_config(True), loaded=load_model(ModelConfig(path=str(model_dir), max_length=512)))
    _, held_out = colour_map_split(seed)
    tasks = [make_task(rule, np.random.default_rng([seed, i])) for i, rule in enumerate(held_out)]
    without = [solved(t, stage.solve(t, bench_config(False), Deadline.never()).candidates) for t in tasks]
    with_ttt = [solved(t, stage.solve(t, bench_config(True), Deadline.never()).candidates) for t in tasks]
    return without, with_ttt, stage, tasks


@pytest.mark.slow
def test_ttt_solves_held_out_rules_the_model_cannot(pretrained_model_dir):
    # Measured with this fixture's recipe and held_out_results for seeds 0-5 (seed for the model, its
    # pre-training and the tasks): without TTT 0 of 8 every time; with TTT 7, 6, 7, 7, 8, 7 of 8. The
    # margin of 4 leaves 2 tasks of slack below the worst seed.
    without, with_ttt, stage, tasks = held_out_results(pretrained_model_dir, seed=0)
    assert sum(with_ttt) >= sum(without) + 4, (without, with_ttt)
    for t in tasks:  # the model writes grids: every output parsed
        assert stage.reports[t.id].sample.candidates == 1


def test_a_view_s_prediction_mapped_back_is_what_the_identity_view_predicts(pretrained_model_dir):
    # The view w of the task w^-1(task) shows the model exactly the tokens the identity view of `task` shows,
    # so its candidate must be the identity view's candidate pushed through w^-1 ... inverted by w: here
    # w^-1 = v, and the candidate for (v(task), view w) must equal v(candidate for (task, identity)).
    loaded = load_model(ModelConfig(path=str(pretrained_model_dir), max_length=512))
    backend = TransformersBackend(loaded.model, loaded.format)
    copy, _ = colour_map_split(0)
    task = make_task(copy, np.random.default_rng(7))  # the model copies well
    perm = (0, 3, 1, 2, 5, 4, 7, 9, 6, 8)
    inverse_perm = tuple(int(i) for i in np.argsort(perm))
    v = Compose((D8(1), ColorPerm(perm), DemoOrder((2, 0, 1))))
    w = Compose((DemoOrder((1, 2, 0)), ColorPerm(inverse_perm), D8(3)))  # v undone, part by part
    seen = v.apply_task(task)
    assert all(np.array_equal(a.input, b.input) for a, b in zip(w.apply_task(seen).train, task.train))
    cfg = SampleConfig(views=1)
    (plain,), _ = sample_task(task, backend, loaded.format, cfg, 512, Deadline.never(), np.random.default_rng(0),
                              views=[Compose(())])
    (mapped,), _ = sample_task(seen, backend, loaded.format, cfg, 512, Deadline.never(), np.random.default_rng(0),
                               views=[w])
    assert mapped.view == "rot270" and plain.view == "identity"
    assert mapped.logprob == pytest.approx(plain.logprob, abs=1e-4)  # the same tokens were decoded
    assert np.array_equal(mapped.grid, v.apply(plain.grid))
    assert not np.array_equal(mapped.grid, plain.grid)  # the check would catch a missing inversion
