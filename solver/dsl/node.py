"""A search state: the result of one program on every input of the task (search.py, list_expand.py)."""
from __future__ import annotations

from dataclasses import dataclass

from .grids import Grid


@dataclass
class Node:
    grids: tuple[Grid, ...]  # one per train input, then one per test input
    program: str             # readable text, with `x` for the task input
    cost: float
    depth: int
    hashes: tuple[int, ...]  # hash of each grid (vote.hash_grid)

    def train_key(self, n_train: int) -> tuple[int, ...]:
        return self.hashes[:n_train]
