"""bench/dsl.py's by-kind table: task_kind reads what the train pairs do off their grids, and by_kind counts
development and held-out tasks per kind without naming any."""
from __future__ import annotations

from .test_dsl import task_of
from bench.dsl import by_kind, task_kind


def test_task_kind_tells_what_the_pairs_do():
    paint = task_of([([[0, 1], [0, 0]], [[2, 1], [0, 0]])], [([[1, 0]], None)])
    assert task_kind(paint) == "same:paint+new colour"
    erase = task_of([([[0, 1, 1], [0, 3, 0], [0, 0, 0]], [[0, 1, 1], [0, 0, 0], [0, 0, 0]])], [([[1, 0]], None)])
    assert task_kind(erase) == "same:erase"
    both = task_of([([[0, 1, 0], [0, 0, 0], [0, 0, 3]], [[1, 0, 0], [0, 0, 0], [0, 0, 3]])], [([[1, 0]], None)])
    assert task_kind(both) == "same:both"
    window = task_of([([[1, 2, 0], [3, 4, 0]], [[2, 0], [4, 0]])], [([[1, 0]], None)])
    assert task_kind(window) == "smaller:window"
    other = task_of([([[1, 2, 0], [3, 4, 0]], [[5]])], [([[1, 0]], None)])
    assert task_kind(other) == "smaller:other"
    assert task_kind(task_of([([[1]], [[1, 1]])], [([[1]], None)])) == "bigger"
    assert task_kind(task_of([([[1, 2]], [[1], [2]])], [([[1]], None)])) == "mixed"


def test_by_kind_counts_each_split_apart_and_names_no_task():
    rows = [dict(id="d1", held=False, kind="bigger", n_test=1, n_right=1, solved=True),
            dict(id="d2", held=False, kind="bigger", n_test=2, n_right=1, solved=False),
            dict(id="h1", held=True, kind="same:paint", n_test=1, n_right=0, solved=False)]
    table = by_kind(rows)
    assert table[1].split() == ["bigger", "2", "1", "66.7%", "0", "0", "-"]
    assert table[2].split() == ["same:paint", "0", "0", "-", "1", "0", "0.0%"]
    assert not any(r["id"] in line for r in rows for line in table)
