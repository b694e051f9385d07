"""Lists in the search (issue 16): the children a node gets by splitting its grids into pieces, then picking
one piece, filtering the pieces, or mapping any op of the search over them, and joining them again.

A list is never a state of its own: each split -> (pick | filter | map) -> join chain is enumerated when a
shallow node is expanded and its result enters the search as one grid child, so states, hashing and the
final-step checks stay as they are. The chain's cost is the mapped op's cost plus LIST_COST, so list
children queue behind the plain ops they build on. Only nodes shallower than cfg.list_depth get them. A
node's lists are a Job in the search's queue: the root's right after the root (they cost about 0.1 CPU-s,
like one more expansion), a deeper node's at its cost + JOB_COST, so the lists of cheap nodes come before
those of dear ones and before the dear nodes' plain children.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from . import lists as L
from .grids import Grid, background, defined
from .node import Node
from .ops import Op

PICK_COST = 1.8      # like crop_object: one piece of the grid
FILTER_COST = 1.8    # like keep_object
LIST_COST = 1.0      # a map's split and join, on top of the mapped op's own cost
MAX_PIECES = 30      # a split into more pieces than this is noise, not a list
CLOCK_STRIDE = 8

JOB_COST = 1.0      # when a non-root node's lists are made: this much after the node itself
JOINS = ("in_place", "row", "column", "overlay")


@dataclass
class Job:
    """Make this node's list children (an entry of the search's queue beside the nodes)."""
    node: Node


def job_cost(node: Node) -> float:
    return node.cost + (JOB_COST if node.depth else 0.0)


def _joined(how: str, g: Grid, mapped: Sequence[L.Piece], pieces: Sequence[L.Piece]) -> Grid | None:
    if how == "in_place":
        return L.join_in_place(g, mapped, pieces)
    if how == "overlay":
        return L.join_overlay(mapped, background(g))
    return L.join_stack(mapped, 0 if how == "column" else 1)


def _all(fn: Callable[[int], Grid | None], n: int) -> tuple[Grid, ...] | None:
    """fn(i) for every input i, or None when it is undefined or invalid on any."""
    out = []
    for i in range(n):
        r = defined(fn, i)
        if r is None:
            return None
        out.append(r)
    return tuple(out)


def expand(node: Node, ops: Sequence[Op], same_shape: bool, out_of_time: Callable[[], bool],
           add: Callable[[tuple[Grid, ...], str, float], None]) -> bool:
    """Give the node its list children (maps over `ops`), each through add(grids, op name, op cost); False
    when out_of_time() said the budget ran out part way."""
    grids = node.grids
    n = len(grids)
    bgs = [background(g) for g in grids]
    joins = ("in_place",) if same_shape else JOINS
    steps = 0
    for sname, split in L.SPLITTERS.items():
        lists = [split(g) for g in grids]
        if any(p is None or len(p) > MAX_PIECES for p in lists):
            continue
        several = all(len(p) >= 2 for p in lists)
        if several:
            for how in joins[1:]:  # the whole list in a row, a column, on top of each other
                out = _all(lambda i: _joined(how, grids[i], lists[i], lists[i]), n)
                if out is not None:
                    add(out, f"join[{sname}|{how}]", PICK_COST)
            for crit in L.CRITERIA:
                for largest in (True, False):
                    out = _all(lambda i: L.pick_list(lists[i], crit, largest, bgs[i]), n)
                    if out is not None:
                        add(out, f"pick[{sname},{crit},{'max' if largest else 'min'}]",
                                          PICK_COST)
                for keep in L.KEEPS:
                    kept = [L.filter_list(p, crit, keep, bgs[i]) for i, p in enumerate(lists)]
                    if any(k is None for k in kept):
                        continue
                    for how in joins:
                        out = _all(lambda i: _filtered(how, grids[i], kept[i], lists[i]), n)
                        if out is not None:
                            add(out, f"filter[{sname},{crit},{keep}|{how}]", FILTER_COST)
        for op in ops:
            steps += 1
            if steps % CLOCK_STRIDE == 0 and out_of_time():
                return False
            mapped = []
            for p in lists:
                try:
                    m = L.map_list(p, op.fn)
                except (ValueError, IndexError, MemoryError):
                    m = None
                if m is None:
                    break
                mapped.append(m)
            if len(mapped) < n:
                continue
            for how in joins:
                out = _all(lambda i: _joined(how, grids[i], mapped[i], lists[i]), n)
                if out is not None:
                    add(out, f"map[{sname},{op.name}|{how}]", op.cost + LIST_COST)
    return True


def _filtered(how: str, g: Grid, kept: Sequence[L.Piece], pieces: Sequence[L.Piece]) -> Grid | None:
    """The kept pieces joined: in place (the others erased), or in a row, a column, on top of each other."""
    if how == "in_place":
        dropped = [p for p in pieces if not any(p is k for k in kept)]
        return L.join_in_place(g, (), dropped)
    return _joined(how, g, kept, pieces)
