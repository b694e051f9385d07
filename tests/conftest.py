"""Shared test fixtures: the bundled sample of ARC tasks, the shared ARC data when present, grid helpers."""
from __future__ import annotations

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


@pytest.fixture(scope="session")
def pretrained_model_dir(tmp_path_factory) -> Path:
    """The 'small' model pre-trained briefly on the colour-map rules of bench/ttt_mini.py (shrink off while
    training, so that the saved model still matches its tokenizer). It copies grids and writes well-formed
    outputs; it has never seen the held-out rules."""
    import numpy as np
    from solver.budget import Deadline
    from solver.config import ModelConfig
    from solver.model import load_model, make_tiny_model
    from solver.synth import colour_map_split, pretrain
    directory = make_tiny_model(tmp_path_factory.mktemp("pretrained"), "small", seed=0)
    loaded = load_model(ModelConfig(path=str(directory), shrink_vocab=False, max_length=512))
    rules, _ = colour_map_split(0)
    pretrain(loaded.model, rules, loaded.vocab, steps=PRETRAIN_STEPS, batch_size=16, lr=2e-3, max_len=512,
             deadline=Deadline.never(), rng=np.random.default_rng(0))
    loaded.model.save_pretrained(directory)
    return directory


PRETRAIN_STEPS = 200


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
