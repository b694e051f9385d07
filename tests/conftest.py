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
