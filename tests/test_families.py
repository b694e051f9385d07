"""The format is really used: a tiny model of each family's architecture, with the tokenizer built here
to match the family's, trained in the test on grids in that family's format, answers identity tasks right
through `python -m solver run --model DIR`, its format detected (named for marc, which cannot be detected);
the same model driven with another profile does not.

The NVARC model (Qwen3) learns to copy 3x3 grids in its format. The ARChitects' (Mistral) and MIT's (Llama)
tiny models did not learn to copy in their formats within minutes of CPU (up to 600 steps of batch 16 tried,
see the report of issue 13; the same models learnt to copy in the kit's format in 150 steps), so they are
trained instead to reproduce the run's own four tasks, their answers included, in their format: a weaker
model, the same end-to-end proof that the run writes exactly the sequence the model was trained on and reads
its answers back.

Slow: each model is trained for a minute or more of CPU."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from solver.__main__ import main
from solver.budget import Deadline
from solver.config import ModelConfig
from solver.family_models import make_family_model
from solver.journal import read_tasks
from solver.model import load_model
from solver.synth import Rule, colour_map_split, identity, make_task, pretrain
from solver.tasks import Task
from solver.ttt import fit, training_sequences

from .conftest import one_torch_thread, write_json

pytestmark = pytest.mark.slow

TASKS = 4
DEMOS = 2


def copy_rule() -> Rule:
    copy, _ = colour_map_split(0)
    return Rule("identity", identity, copy.make_input, sides=(3, 3))


def load_family(directory: Path, family: str):
    loaded = load_model(ModelConfig(path=str(directory), format="marc" if family == "marc" else "auto",
                                    shrink_vocab=False, max_length=1024))
    assert loaded.format.name == family
    for p in loaded.model.parameters():
        p.requires_grad_(True)
    return loaded


def pretrain_copier(directory: Path, family: str, seed: int = 0) -> Path:
    """Copying 3x3 grids, learnt from fresh identity tasks of 1 to 3 demonstrations."""
    make_family_model(directory, family, "small", seed=seed)
    loaded = load_family(directory, family)
    with one_torch_thread():
        pretrain(loaded.model, [copy_rule()], loaded.format, steps=250, batch_size=16, lr=5e-3, max_len=1024,
                 deadline=Deadline.never(), rng=np.random.default_rng(seed))
    loaded.model.save_pretrained(directory)
    return directory


def memorise(directory: Path, family: str, tasks: list[Task], seed: int = 0) -> Path:
    """The given tasks, test answers included, in the family's format, until the model reproduces them."""
    make_family_model(directory, family, "small", seed=seed)
    loaded = load_family(directory, family)
    sequences, too_long = training_sequences(tasks, loaded.format, 1024)
    assert too_long == 0
    with one_torch_thread():
        report = fit(loaded.model, sequences, steps=150, lr=3e-3, batch_size=len(sequences), pad=loaded.format.pad,
                     max_len=1024, deadline=Deadline.never(), rng=np.random.default_rng(seed))
    assert report.losses[-1] < 0.05
    loaded.model.save_pretrained(directory)
    return directory


def make_identity_tasks() -> dict[str, Task]:
    rng = np.random.default_rng(123)
    return {f"copy{k}": make_task(copy_rule(), rng, n_train=DEMOS, task_id=f"copy{k}") for k in range(TASKS)}


@pytest.fixture(scope="module")
def identity_tasks(tmp_path_factory) -> tuple[Path, dict]:
    tasks = make_identity_tasks()
    root = tmp_path_factory.mktemp("identity")
    challenges = {tid: {"train": [{"input": e.input.tolist(), "output": e.output.tolist()} for e in t.train],
                        "test": [{"input": e.input.tolist()} for e in t.test]} for tid, t in tasks.items()}
    solutions = {tid: [e.output.tolist() for e in t.test] for tid, t in tasks.items()}
    write_json(root / "s.json", solutions)
    return write_json(root / "c.json", challenges), solutions


def right_model_answers(tmp_path: Path, challenges: Path, solutions: dict, model: Path, *sets: str) -> int:
    """Tasks whose right answer is among the journal's model candidates, after one run of the CLI."""
    out = tmp_path / "out" / "submission.json"
    args = ["run", "--challenges", str(challenges), "--out", str(out), "--model", str(model), "--no-progress",
            "--set", "baseline.enabled=false", "--set", "dsl.enabled=false"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    right = 0
    for tid, record in read_tasks(out.parent / "work").items():
        truth = np.array(solutions[tid][0], dtype=np.uint8)
        right += any(c.family == "neural" and np.array_equal(c.grid, truth) for c in record.candidates)
    return right


@pytest.mark.parametrize("family, named, other", [("nvarc", (), "architects"), ("architects", (), "kit"),
                                                  ("marc", ("model.format=marc",), "kit")])
def test_a_family_model_answers_in_its_own_format_and_not_in_another(tmp_path_factory, tmp_path, identity_tasks,
                                                                     family, named, other):
    challenges, solutions = identity_tasks
    directory = tmp_path_factory.mktemp(family)
    model = (pretrain_copier(directory, family) if family == "nvarc"
             else memorise(directory, family, list(make_identity_tasks().values())))
    assert right_model_answers(tmp_path / "own", challenges, solutions, model, *named) == TASKS
    assert right_model_answers(tmp_path / "other", challenges, solutions, model, f"model.format={other}") == 0
