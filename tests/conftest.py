"""Shared test fixtures: the bundled sample of ARC tasks, the shared ARC data when present, grid helpers."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_ARC = Path(__file__).resolve().parent.parent.parent / "shared" / "arc"


@pytest.fixture
def sample_challenges_path() -> Path:
    return FIXTURES / "arc1_sample_challenges.json"


@pytest.fixture
def sample_solutions_path() -> Path:
    return FIXTURES / "arc1_sample_solutions.json"


@pytest.fixture
def shared_arc() -> Path:
    """../shared/arc beside the checkout; tests that need it are skipped where it is absent."""
    if not (SHARED_ARC / "arc-agi-1_training_challenges.json").exists():
        pytest.skip("../shared/arc is not present")
    return SHARED_ARC


def grid(rows) -> np.ndarray:
    return np.array(rows, dtype=np.uint8)


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A real, randomly initialised tiny Llama model directory with its character tokenizer."""
    from solver.model import make_tiny_model
    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"), "tiny", seed=0)


@pytest.fixture
def tiny_loaded(tiny_model_dir):
    """The tiny model loaded for one test (an adapter attaches to the model in place, so none is shared)."""
    from solver.config import ModelConfig
    from solver.model import load_model
    return load_model(ModelConfig(path=str(tiny_model_dir)))


@contextlib.contextmanager
def one_torch_thread():
    """One intra-op thread for the costliest tests: on a machine shared with other jobs, torch's spinning
    OpenMP threads made the pre-training of the 'small' model 13x slower with 2 threads than with 1, and
    tests/test_ttt_effect.py took 194 s instead of 14 s."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def single_torch_thread():
    with one_torch_thread():
        yield


def pretrain_copying_model(directory: Path, seed: int) -> Path:
    """The 'small' model pre-trained on the identity rule of bench/ttt_mini.py (200 steps, ~40 CPU seconds;
    shrink off while training, so that the saved model still matches its tokenizer). It copies 4x4 grids
    and writes well-formed outputs; it has never seen the held-out colour maps."""
    from solver.budget import Deadline
    from solver.config import ModelConfig
    from solver.model import load_model, make_tiny_model
    from solver.synth import colour_map_split, pretrain
    directory = make_tiny_model(directory, "small", seed=seed)
    loaded = load_model(ModelConfig(path=str(directory), shrink_vocab=False, max_length=512))
    copy, _ = colour_map_split(seed)
    with one_torch_thread():
        pretrain(loaded.model, [copy], loaded.format, steps=200, batch_size=16, lr=5e-3, max_len=512,
                 deadline=Deadline.never(), rng=np.random.default_rng(seed))
    loaded.model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def pretrained_model_dir(tmp_path_factory) -> Path:
    return pretrain_copying_model(tmp_path_factory.mktemp("pretrained"), seed=0)


def child_pids(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc), zombies included."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def full_logits_loss(model, ids, labels, mask):
    """TTT's loss as it was before it ran the head on the labelled positions only (solver/ttt.py answer_loss):
    every position's logits, upcast, cross-entropy with the unlabelled positions ignored. The reference
    answer_loss must equal."""
    import torch.nn.functional as F
    from solver.ttt import IGNORE
    logits = model(input_ids=ids, attention_mask=mask).logits
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=IGNORE,
                           reduction="sum")
