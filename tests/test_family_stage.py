"""TTT, greedy, DFS and rescoring run end to end under each profile, on a tiny random model of each family's
architecture with its family's tokenizer, and the loss mask follows the profile."""
from __future__ import annotations

import json

import numpy as np
import pytest

from solver.budget import Deadline
from solver.config import load_config
from solver.family_models import make_family_model
from solver.model import load_model
from solver.neural import NeuralStage
from solver.synth import RULES, make_task
from solver.ttt import IGNORE, task_sequences

FAMILIES = ("kit", "nvarc", "architects", "marc")


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory):
    return {f: make_family_model(tmp_path_factory.mktemp(f), f, "tiny", seed=0) for f in FAMILIES}


def config(directory, family, *extra):
    return load_config("tiny", [f"model.path={json.dumps(str(directory))}", "model.max_length=1024",
                                *(["model.format=marc"] if family == "marc" else []), *extra])


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("method", ["greedy", "dfs"])
def test_ttt_sampling_and_rescoring_run_under_each_profile(family_dirs, family, method):
    cfg = config(family_dirs[family], family, "ttt.steps=2", "sample.views=2", f"sample.method={method}",
                 "sample.min_prob=0.001", "sample.max_candidates=2", "rescore.enabled=true", "rescore.views=2")
    stage = NeuralStage(cfg)
    assert stage.loaded.format.name == family
    task = make_task(RULES["identity"], np.random.default_rng(0), sides=(2, 3))
    candidates = stage.solve(task, cfg, Deadline.never()).candidates
    report = stage.reports[task.id]
    assert report.ttt.steps == 2 and report.ttt.sequences > 0 and np.isfinite(report.ttt.losses).all()
    assert report.sample.generated == report.sample.prompts == 2
    # A random model writes few grids; every one it writes was parsed, inverted and rescored.
    assert report.sample.candidates == len(candidates)
    if candidates:
        assert report.rescore is not None and all(c.rescore_nll and len(c.rescore_nll) == 2 for c in candidates)
        assert all(c.stage == f"neural-{method}" and c.logprob is not None for c in candidates)


@pytest.mark.parametrize("family, first_output_trained", [("kit", False), ("nvarc", True), ("architects", False),
                                                           ("marc", False)])
def test_the_loss_mask_follows_the_profile(family_dirs, family, first_output_trained):
    cfg = config(family_dirs[family], family, "ttt.augmentations=1", "ttt.data=all-demos")
    fmt = load_model(cfg.model).format
    task = make_task(RULES["identity"], np.random.default_rng(0), n_train=3, sides=(2, 2))
    outputs = [fmt.profile.answer_style.render(d.output) for d in task.train]
    assert len(set(outputs)) == 3
    for skip_first, first_trained in [(None, first_output_trained), (True, False), (False, True)]:
        cfg.ttt.loss_skip_first = skip_first  # None: the profile's rule; a setting overrides it
        (seq,), too_long = task_sequences(task, cfg.ttt, fmt, 1024, np.random.default_rng(0))
        trained = fmt.tokenizer.decode(seq.ids[seq.labels != IGNORE]) if family == "marc" else "".join(
            fmt.token_text.get(int(t), "|") for t in seq.ids[seq.labels != IGNORE])  # "|": an end token
        assert (outputs[0] in trained) == first_trained, (skip_first, trained)
        assert outputs[1] in trained and outputs[2] in trained


def test_a_vocabulary_that_ships_cut_is_never_cut_again(family_dirs):
    import transformers
    for family in ("nvarc", "architects", "marc"):
        cfg = config(family_dirs[family], family)
        assert cfg.model.shrink_vocab
        loaded = load_model(cfg.model)
        rows = loaded.model.get_input_embeddings().weight.shape[0]
        assert rows == len(transformers.AutoTokenizer.from_pretrained(family_dirs[family])), family
    kit = load_model(config(family_dirs["kit"], "kit").model)
    assert kit.model.get_input_embeddings().weight.shape[0] == 16  # the kit's own format is cut to its symbols
