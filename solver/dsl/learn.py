"""Parameters inferred from the train pairs: colour maps, resize factors, local rules, output shapes.

A learner looks at what a program produces on the train inputs (`xs`) next to the train outputs (`ys`) and
returns a `Fitted` step that maps the remaining gap, or None when no parameter value makes every pair
match. The step is then applied, unchanged, to the test inputs; a step that cannot be applied to a test
input (a colour or neighbourhood never seen in training) returns None there rather than guessing.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numba
import numpy as np

from . import grids as G
from .grids import Grid
from .objects import label, objects


@dataclass(frozen=True)
class Fitted:
    """A learned final step: its text for the program, its simplicity cost, and the function itself."""
    name: str
    cost: float
    apply: Callable[[Grid], Grid | None]


# -------------------------------------------------------------------------------------------- colour maps


@numba.njit(cache=True)
def _cell_map(x, y):
    """colour -> the colour its cells have in y (-1: not in x), for same-shape x and y; entry 10 is 1 when
    some colour goes to two colours. (numba: the search asks this of nearly every node.)"""
    m = np.full(11, -1, np.int16)
    m[10] = 0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            a, b = x[i, j], y[i, j]
            if m[a] < 0:
                m[a] = b
            elif m[a] != b:
                m[10] = 1
                return m
    return m


def cell_mappable(x: Grid, y: Grid) -> bool:
    """Whether some cell-wise colour mapping turns x into y: what fit_colour_map needs of each pair."""
    return x.shape == y.shape and not _cell_map(x, y)[10]


def _colour_map_support(xs: Sequence[Grid], ys: Sequence[Grid]) -> tuple[dict[int, int], dict[int, int]] | None:
    """The one cell-wise colour mapping that turns every x into its y (shapes must match), with the number
    of train pairs that show each changed colour; None when there is no such mapping."""
    mapping = np.full(10, -1, np.int16)
    support = np.zeros(10, np.int64)
    for x, y in zip(xs, ys):
        if x.shape != y.shape:
            return None
        m = _cell_map(x, y)
        if m[10]:
            return None  # one colour goes to two colours
        src = np.flatnonzero(m[:10] >= 0)
        dst = m[src]
        seen = mapping[src]
        if ((seen >= 0) & (seen != dst)).any():
            return None
        mapping[src] = dst
        support[src] += 1
    changed = {int(a): int(b) for a, b in enumerate(mapping) if b >= 0 and a != b}
    return changed, {a: int(support[a]) for a in changed}


def learn_colour_map(xs: Sequence[Grid], ys: Sequence[Grid]) -> dict[int, int] | None:
    """The one cell-wise colour mapping that turns every x into its y (shapes must match), or None."""
    found = _colour_map_support(xs, ys)
    return None if found is None else found[0]


def fit_colour_map(xs: Sequence[Grid], ys: Sequence[Grid]) -> Fitted | None:
    """The colour map as a final step. It refuses a test grid with a colour the train grids never had:
    a map learned per colour says nothing about a new one, and guessing 'unchanged' is how a map that fits
    by coincidence (each pair using its own colours) produces confident wrong answers."""
    found = _colour_map_support(xs, ys)
    if found is None:
        return None
    mapping, support = found
    if not mapping:
        return Fitted("", 0.0, lambda g: g)
    known = frozenset().union(*(G.palette(x) for x in xs))
    text = ",".join(f"{a}>{b}" for a, b in sorted(mapping.items()))
    # A change seen in one train pair only is weak evidence when there are several pairs: it is what a map
    # that fits by coincidence (each pair with colours of its own) looks like. When every change is like
    # that, the 'map' is a list of the answers, not a rule.
    lonely = sum(1 for n in support.values() if n == 1) if len(xs) > 1 else 0
    if len(mapping) >= 2 and lonely == len(mapping):
        return None

    def apply(g: Grid) -> Grid | None:
        return G.apply_colour_map(g, mapping) if G.palette(g) <= known else None
    return Fitted(f"recolour[{text}]", 0.5 + 0.1 * len(mapping) + 0.3 * lonely, apply)


def colour_roles(g: Grid, fixed: frozenset[int]) -> dict[int, int]:
    """colour -> role code for one grid: a colour in `fixed` is its own code (0-9); every other colour is
    10 + its rank by cell count (most common first, ties to the smaller colour). Two grids whose marker
    colours differ then share codes: 'the most common colour', 'the second', ..."""
    counts = np.bincount(g.ravel(), minlength=10)
    free = sorted((c for c in range(10) if counts[c] and c not in fixed), key=lambda c: (-counts[c], c))
    codes = {c: c for c in range(10) if counts[c] and c in fixed}
    codes.update({c: 10 + r for r, c in enumerate(free)})
    return codes


def _pair_map(x: Grid, y: Grid) -> dict[int, int] | None:
    """colour -> colour turning x into y cell by cell, or None when a colour goes to two colours."""
    m = _cell_map(x, y)
    if m[10]:
        return None
    return {c: int(m[c]) for c in range(10) if m[c] >= 0}


def _role_table(maps: Sequence[dict[int, int]], xs: Sequence[Grid], fixed: frozenset[int]) -> dict[int, int] | None:
    """role code -> what it becomes (a colour 0-9, or a role code >= 10 meaning 'that role's colour in
    this grid'), consistent with every pair's colour map; a colour is preferred to a role where both fit."""
    options: dict[int, set[int]] = {}
    seen_in: dict[int, int] = {}
    for m, x in zip(maps, xs):
        codes = colour_roles(x, fixed)
        for c, v in m.items():
            code = codes[c]
            here = {v} | ({codes[v]} if v in codes and codes[v] >= 10 else set())
            options[code] = options.get(code, here) & here
            if not options[code]:
                return None
            seen_in[code] = seen_in.get(code, 0) + 1
    table = {k: min(v) for k, v in options.items()}  # colours (< 10) before roles
    changed = [k for k, v in table.items() if v != k]
    # As with colour maps: when every change is seen in one pair only, the table lists answers.
    if not changed or (len(xs) > 1 and all(seen_in[k] == 1 for k in changed)):
        return None
    if not any(k >= 10 or v >= 10 for k, v in table.items() if v != k):
        return None  # no role involved: a plain colour map (already tried) says the same
    return table


def fit_role_map(xs: Sequence[Grid], ys: Sequence[Grid]) -> Fitted | None:
    """A colour map over colour roles (see colour_roles): 'the most common colour stays, every other
    becomes 5', 'the two colours swap', 'grey becomes the other colour'. Colour normalisation per pair,
    as a final step: rules whose marker colour changes from pair to pair become one rule. Tried with no
    fixed colours, then with the colours every node grid has held fixed."""
    if any(x.shape != y.shape for x, y in zip(xs, ys)):
        return None
    maps = [_pair_map(x, y) for x, y in zip(xs, ys)]
    if any(m is None for m in maps):
        return None
    everywhere = frozenset.intersection(*(frozenset(m) for m in maps))
    for fixed in (frozenset(), everywhere):
        table = _role_table(maps, xs, fixed)
        if table is None:
            continue

        def apply(g: Grid, table=table, fixed=fixed) -> Grid | None:
            codes = colour_roles(g, fixed)
            colour_of = {code: c for c, code in codes.items()}
            lut = np.arange(10, dtype=np.uint8)
            for c, code in codes.items():
                v = table.get(code)
                if v is None or (v >= 10 and v not in colour_of):
                    return None  # a role never seen in training, or a role this grid lacks
                lut[c] = v if v < 10 else colour_of[v]
            return lut[g]
        text = ",".join(f"{_role_name(k)}>{_role_name(v)}" for k, v in sorted(table.items()) if k != v)
        return Fitted(f"recolour_roles[{text}]", 1.0 + 0.1 * len(table) + 0.3 * bool(fixed), apply)
    return None


def _role_name(code: int) -> str:
    return str(code) if code < 10 else f"#{code - 10}"


def fit_lookup(xs: Sequence[Grid], ys: Sequence[Grid]) -> Fitted | None:
    """Output = the train output whose node grid equals this one (a classification: 'this shape means that
    colour'). Only when some node grid repeats across train pairs with the same output: with all distinct
    keys the table would explain anything and predict nothing."""
    table: dict[bytes, Grid] = {}
    repeated = False
    for x, y in zip(xs, ys):
        k = x.tobytes() + bytes(x.shape)
        if k in table:
            if not G.same(table[k], y):
                return None
            repeated = True
        table[k] = y
    if not repeated:
        return None
    return Fitted("lookup", 2.5, lambda g: table.get(g.tobytes() + bytes(g.shape)))


# ------------------------------------------------------------------------------------------------ counting

COUNTS: dict[str, Callable[[Grid], int]] = {
    "objects4": lambda g: len(objects(g, "c4")),
    "objects8": lambda g: len(objects(g, "c8")),
    "objects_m8": lambda g: len(objects(g, "m8")),
    "cells": lambda g: int((g != G.background(g)).sum()),
    "colours": lambda g: len(G.palette(g) - {G.background(g)}),
}


def _uniform(a: np.ndarray) -> bool:
    return a.size > 0 and bool((a == a.flat[0]).all())


def _is_prefix_bar(y: Grid) -> bool:
    """First cells (reading order) of one colour, the rest of another."""
    flat = y.ravel()
    n = int(np.argmax(flat != flat[0])) if (flat != flat[0]).any() else flat.size
    return _uniform(flat[n:]) or n == flat.size


def bar_layouts(ys: Sequence[Grid]) -> list[str]:
    """The count-bar layouts the train outputs could be, judged from the outputs alone (once per task)."""
    fixed = len({y.shape for y in ys}) == 1
    square = all(y.shape[0] == y.shape[1] for y in ys)
    uniform = all(_uniform(y) for y in ys)
    diagonal = square and all(_uniform(y[np.eye(y.shape[0], dtype=bool)])
                              and (y.shape[0] == 1 or _uniform(y[~np.eye(y.shape[0], dtype=bool)])) for y in ys)
    return [layout for layout, ok in (
        ("row", uniform and all(y.shape[0] == 1 for y in ys)),
        ("column", uniform and all(y.shape[1] == 1 for y in ys)),
        ("square", uniform and square), ("diagonal", diagonal),
        ("fill", fixed and all(_is_prefix_bar(y) for y in ys))) if ok]


def fit_count_bar(xs: Sequence[Grid], ys: Sequence[Grid], layouts: Sequence[str]) -> Fitted | None:
    """Output = a bar whose length is a count of the node (objects, cells, colours): either a 1 x n (or
    n x 1, or n x n) grid of one colour, or a fixed-size grid whose first n cells in reading order have one
    colour and the rest another. The colour is fixed, or the node's most common foreground colour.
    `layouts` comes from bar_layouts(ys): counting objects is costly, and most tasks are no bar at all."""
    if not layouts:
        return None
    shapes = {y.shape for y in ys}
    for cname, count in COUNTS.items():
        ns = [count(x) for x in xs]
        if len(set(ns)) < 2:  # a count that never changes explains nothing
            continue
        for layout in layouts:
            want = {"row": lambda n: (1, n), "column": lambda n: (n, 1), "square": lambda n: (n, n),
                    "diagonal": lambda n: (n, n)}.get(layout)
            if want and any(y.shape != want(n) for y, n in zip(ys, ns)):
                continue
            found = _bar_colours(xs, ys, ns, layout)
            if found is None:
                continue
            on, off = found
            shape = next(iter(shapes))

            def apply(g: Grid, count=count, want=want, on=on, off=off, shape=shape, layout=layout) -> Grid | None:
                n = count(g)
                colour = G.majority_colour_grid(g, G.background(g)) if on == "majority" else on
                if colour is None:
                    return None
                colour = int(colour[0, 0]) if on == "majority" else colour
                if want is None:  # 'fill': a fixed grid, first n cells on
                    if n > shape[0] * shape[1]:
                        return None
                    out = np.full(shape[0] * shape[1], off, np.uint8)
                    out[:n] = colour
                    return out.reshape(shape)
                h, w = want(n)
                if not (1 <= h <= G.MAX_SIDE and 1 <= w <= G.MAX_SIDE):
                    return None
                if layout == "diagonal":
                    out = np.full((h, w), off, np.uint8)
                    np.fill_diagonal(out, colour)
                    return out
                return np.full((h, w), colour, np.uint8)
            return Fitted(f"count_bar[{cname},{layout},{on}]", 2.0, apply)
    return None


def fit_count_scale(xs: Sequence[Grid], ys: Sequence[Grid]) -> Fitted | None:
    """Output = the node scaled up by a factor that differs from pair to pair and is a count of the node
    (its colours, its objects, ...)."""
    ratios = []
    for x, y in zip(xs, ys):
        (ky, ry), (kx, rx) = divmod(y.shape[0], x.shape[0]), divmod(y.shape[1], x.shape[1])
        if ry or rx or ky != kx:
            return None
        ratios.append(y.shape[0] // x.shape[0])
    if len(set(ratios)) < 2:
        return None  # a fixed factor is resize_steps' business
    for cname, count in COUNTS.items():
        if all(count(x) == r for x, r in zip(xs, ratios)):
            return Fitted(f"upscale_by[{cname}]", 2.0, lambda g, count=count: G.upscale(g, count(g), count(g))
                          if count(g) >= 1 else None)
    return None


def _bar_colours(xs, ys, ns, layout: str) -> tuple[int | str, int] | None:
    """(colour of the counted cells, colour of the rest) consistent with every pair, or None. The first is
    a fixed colour or 'majority' (the node's most common foreground colour)."""
    on_fixed, off = set(), set()
    majority_ok = True
    for x, y, n in zip(xs, ys, ns):
        flat = y.ravel()
        if layout == "fill":
            on_cells, off_cells = flat[:n], flat[n:]
        elif layout == "diagonal":
            diag = np.eye(y.shape[0], dtype=bool).ravel()
            on_cells, off_cells = flat[diag], flat[~diag]
        else:
            on_cells, off_cells = flat, flat[:0]
        if not _uniform(on_cells) or (off_cells.size and not _uniform(off_cells)):
            return None
        on_fixed.add(int(on_cells[0]))
        if off_cells.size:
            off.add(int(off_cells[0]))
        m = G.majority_colour_grid(x, G.background(x))
        majority_ok = majority_ok and m is not None and int(m[0, 0]) == int(on_cells[0])
    if len(off) > 1:
        return None
    off_colour = off.pop() if off else 0
    if len(on_fixed) == 1:
        return on_fixed.pop(), off_colour
    return ("majority", off_colour) if majority_ok else None


# ------------------------------------------------------------------------------------------------ resizing


def shape_ratio(xs: Sequence[Grid], ys: Sequence[Grid], axis: int) -> tuple[str, int] | None:
    """('up', k) when every y is k times its x along the axis, ('down', k) when 1/k, ('same', 1)."""
    return _ratio_of_shapes(tuple(x.shape for x in xs), tuple(y.shape for y in ys), axis)


def _ratio_of_shapes(xshapes: Sequence[tuple], yshapes: Sequence[tuple], axis: int) -> tuple[str, int] | None:
    ups = {y[axis] / x[axis] for x, y in zip(xshapes, yshapes)}
    if len(ups) != 1:
        return None
    r = ups.pop()
    if r == 1:
        return "same", 1
    if r > 1 and r == int(r):
        return "up", int(r)
    inv = 1 / r
    if abs(inv - round(inv)) < 1e-9:
        return "down", int(round(inv))
    return None


def resize_steps(xs: Sequence[Grid], ys: Sequence[Grid]) -> list[Fitted]:
    """Shape-changing steps whose factors are read off the train shapes (node shape -> output shape). The
    output shape of each, where it applies, is a function of the input's shape alone: the search relies on
    it (a step that gave the wrong shapes for some node shapes is not tried on those shapes again)."""
    steps: list[Fitted] = []
    grow = [(n, f) for n, f in output_shape_rules(xs, ys) if not n.startswith("T")]
    if grow and all(y.shape[0] >= x.shape[0] and y.shape[1] >= x.shape[1] for x, y in zip(xs, ys)):
        name, shape = grow[0]
        steps.append(Fitted(f"extend_periodic{name}", 1.5, lambda g: G.extend_periodic(g, *shape(g))))
        steps.append(Fitted(f"extend_shifted{name}", 1.8, lambda g: G.extend_shifted(g, *shape(g))))
        steps.append(Fitted(f"extend_reflect{name}", 1.8, lambda g: G.extend_reflect(g, *shape(g))))
    steps += _window_steps(xs, ys) + _frame_steps(xs, ys)
    ry, rx = shape_ratio(xs, ys, 0), shape_ratio(xs, ys, 1)
    if ry is None or rx is None:
        return steps
    (dy, ky), (dx, kx) = ry, rx
    if {dy, dx} <= {"up", "same"} and (ky, kx) != (1, 1):
        steps.append(Fitted(f"upscale[{ky},{kx}]", 1.0, lambda g: G.upscale(g, ky, kx)))
        steps.append(Fitted(f"tile[{ky},{kx}]", 1.0, lambda g: G.tile(g, ky, kx)))
        if (ky, kx) == (2, 1):
            steps += [Fitted(f"mirror[{k}]", 1.0, lambda g, k=k: G.mirror(g, k)) for k in ("down", "up")]
        if (ky, kx) == (1, 2):
            steps += [Fitted(f"mirror[{k}]", 1.0, lambda g, k=k: G.mirror(g, k)) for k in ("right", "left")]
        if (ky, kx) == (2, 2):
            steps.append(Fitted("mirror[quad]", 1.0, lambda g: G.mirror(g, "quad")))
            steps.append(Fitted("rot_quad", 1.0, _rot_quad))
        if all(x.shape[0] == ky and x.shape[1] == kx for x in xs):
            # Which colour is 'empty' decides the fractal; black and the most common colour are both usual.
            for inverse in (False, True):
                name = "kronecker_inverse" if inverse else "kronecker"
                steps.append(Fitted(f"{name}[0]", 1.0, lambda g, i=inverse: G.kronecker(g, 0, i)))
                steps.append(Fitted(f"{name}[bg]", 1.1, lambda g, i=inverse: G.kronecker(g, G.background(g), i)))
    if {dy, dx} <= {"down", "same"} and (ky, kx) != (1, 1):
        steps.append(Fitted(f"downscale[{ky},{kx}]", 1.0, lambda g: G.downscale(g, ky, kx)))
    return steps


WINDOW_ANCHORS = ("top_left", "top_right", "bottom_left", "bottom_right", "centre")


def window(g: Grid, h: int, w: int, anchor: str) -> Grid | None:
    """The h x w window of g at a corner or the centre (the centre only when it is exactly centred)."""
    H, W = g.shape
    if not (1 <= h <= H and 1 <= w <= W) or (h, w) == (H, W):
        return None
    if anchor == "centre":
        if (H - h) % 2 or (W - w) % 2:
            return None
        r, c = (H - h) // 2, (W - w) // 2
    else:
        r = 0 if anchor.startswith("top") else H - h
        c = 0 if anchor.endswith("left") else W - w
    return g[r:r + h, c:c + w].copy()


def _window_steps(xs: Sequence[Grid], ys: Sequence[Grid]) -> list[Fitted]:
    """Cut a window of the output's size (a fixed size, or the node's size less a fixed margin or ratio,
    by the simplest shape rule) at a corner or the centre: 'the top-left 3x3', 'drop the last row'."""
    if not all(y.shape[0] <= x.shape[0] and y.shape[1] <= x.shape[1] for x, y in zip(xs, ys)):
        return []
    rules = [(n, f) for n, f in output_shape_rules(xs, ys) if not n.startswith("T") and n != "(same,same)"]
    if not rules:
        return []
    name, shape = rules[0]
    return [Fitted(f"window[{anchor}{name}]", 1.5, lambda g, a=anchor: window(g, *shape(g), a))
            for anchor in WINDOW_ANCHORS]


def _frame_steps(xs: Sequence[Grid], ys: Sequence[Grid]) -> list[Fitted]:
    """One more cell on every side, with the colour of the outputs' corner cells (the same in every
    train output) at the corners: a copy of the edge rows and columns, or that colour all round."""
    if any(y.shape != (x.shape[0] + 2, x.shape[1] + 2) for x, y in zip(xs, ys)):
        return []
    corners = {int(y[i, j]) for y in ys for i in (0, -1) for j in (0, -1)}
    if len(corners) != 1:
        return []
    c = corners.pop()

    def frame(g: Grid, edge: bool) -> Grid | None:
        if g.shape[0] + 2 > G.MAX_SIDE or g.shape[1] + 2 > G.MAX_SIDE:
            return None
        out = np.full((g.shape[0] + 2, g.shape[1] + 2), c, np.uint8)
        out[1:-1, 1:-1] = g
        if edge:
            out[0, 1:-1], out[-1, 1:-1], out[1:-1, 0], out[1:-1, -1] = g[0], g[-1], g[:, 0], g[:, -1]
        return out
    return [Fitted(f"frame[edge,{c}]", 1.2, lambda g: frame(g, True)),
            Fitted(f"frame[{c}]", 1.2, lambda g: frame(g, False))]


@lru_cache(maxsize=4096)
def _tiling_factors(xshapes: tuple, yshapes: tuple) -> tuple[int, int] | None:
    """(ky, kx) when every output is ky x kx blocks of its node grid's shape (2 to 16 blocks), else None.
    By shapes only, and cached: the search asks it of every node whose shapes are not the outputs'."""
    ry, rx = _ratio_of_shapes(xshapes, yshapes, 0), _ratio_of_shapes(xshapes, yshapes, 1)
    if not ry or not rx or ry[0] == "down" or rx[0] == "down" or ry[1] * rx[1] < 2 or ry[1] * rx[1] > 16:
        return None
    return ry[1], rx[1]


def fit_block_tiling(xs: Sequence[Grid], ys: Sequence[Grid]) -> Fitted | None:
    """Output = a ky x kx arrangement of blocks, each block one fixed D8 transform of the node grid or
    blank (background): the transform of every block is learned from the train pairs."""
    factors = _tiling_factors(tuple(x.shape for x in xs), tuple(y.shape for y in ys))
    if factors is None:
        return None
    ky, kx = factors
    square = all(x.shape[0] == x.shape[1] for x in xs)
    options = [n for n in G.D8_NAMES if square or n in ("identity", "rot180", "flip_lr", "flip_ud")]
    plan = []
    blocks: dict[tuple[int, str], Grid] = {}  # each transform of each node grid, made once for every block

    def block(i: int, name: str) -> Grid:
        b = blocks.get((i, name))
        if b is None:
            b = blocks[(i, name)] = _block(xs[i], name)
        return b
    hists = [np.bincount(x.ravel(), minlength=10) for x in xs]
    bgs = [G.background(x) for x in xs]
    for bi in range(ky):
        for bj in range(kx):
            # A D8 transform keeps the node grid's colour counts and a blank block is all background: a
            # block with neither on some pair rules every choice out, without trying the eight.
            for x, y, hist, bg in zip(xs, ys, hists, bgs):
                b = y[bi * x.shape[0]:(bi + 1) * x.shape[0], bj * x.shape[1]:(bj + 1) * x.shape[1]]
                if not (np.array_equal(np.bincount(b.ravel(), minlength=10), hist) or (b == bg).all()):
                    return None
            choice = None
            for name in options + ["blank"]:
                if all(np.array_equal(block(i, name), y[bi * x.shape[0]:(bi + 1) * x.shape[0],
                                                        bj * x.shape[1]:(bj + 1) * x.shape[1]])
                       for i, (x, y) in enumerate(zip(xs, ys))):
                    choice = name
                    break
            if choice is None:
                return None
            plan.append(choice)

    turns = any(p in ("rot90", "rot270", "transpose", "antitranspose") for p in plan)

    def apply(g: Grid) -> Grid | None:
        if g.shape[0] * ky > G.MAX_SIDE or g.shape[1] * kx > G.MAX_SIDE or (turns and g.shape[0] != g.shape[1]):
            return None
        rows = [np.concatenate([_block(g, plan[bi * kx + bj]) for bj in range(kx)], axis=1) for bi in range(ky)]
        return np.concatenate(rows, axis=0)
    return Fitted(f"tile_blocks[{ky}x{kx}:{','.join(plan)}]", 1.5, apply)


def _block(g: Grid, name: str) -> Grid:
    return np.full_like(g, G.background(g)) if name == "blank" else G.d8(g, name)


def _rot_quad(g: Grid) -> Grid | None:
    """The grid and its three rotations as a 2x2 pinwheel (square grids only)."""
    if g.shape[0] != g.shape[1]:
        return None
    top = G.concat(g, np.rot90(g, -1), 1)
    bottom = G.concat(np.rot90(g, 1), np.rot90(g, 2), 1)
    return None if top is None or bottom is None else G.concat(top, bottom, 0)


# --------------------------------------------------------------------------------------------- local rules
#
# out[i, j] = table[features of cell (i, j)], learned from every train cell. A feature set fits when no two
# train cells with equal features want different colours; it applies to a test input only when every test
# cell's features were seen in training. Feature sets go from plain to rich, so the first that fits is the
# simplest explanation.

OUTSIDE = 10  # the 'colour' of cells beyond the border


def _neighbours(g: Grid, offsets: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    h, w = g.shape
    p = np.full((h + 2, w + 2), OUTSIDE, np.int64)
    p[1:-1, 1:-1] = g
    return [p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets]


N4 = [(-1, 0), (1, 0), (0, -1), (0, 1)]
N8 = N4 + [(-1, -1), (-1, 1), (1, -1), (1, 1)]


def _obj_feature(g: Grid, mode: str, what: str) -> np.ndarray:
    """Per cell, a property of the object it belongs to (0 for background cells)."""
    bg = G.background(g)
    out = np.zeros(g.shape, np.int64)
    obs = objects(g, mode, bg)
    if not obs:
        return out
    sizes = sorted({o.size for o in obs})
    for o in obs:
        if what == "size":
            v = min(o.size, 60)
        elif what == "size_rank":  # 1 = smallest size present, counted from the top: largest is 63
            v = 1 + sizes.index(o.size) if o.size != sizes[-1] else 63
        elif what == "border":
            v = 1 + o.touches_border
        elif what == "shape":
            v = 1 + zlib.crc32(o.shape_key) % 61  # crc32, not hash(): stable across processes
        elif what == "n_colours":
            v = o.n_colours
        elif what in ("minor", "major"):  # the object's least / most common colour
            counts = np.bincount(o.cells[o.mask], minlength=10)
            counts[counts == 0] = 10 ** 6 if what == "minor" else 0
            v = 1 + int(np.argmin(counts) if what == "minor" else np.argmax(counts))
        elif what == "holes":
            inside = ~o.mask & ~G.outside_mask(~o.mask)
            v = 1 + min(int(inside.sum()), 60)
        else:
            raise ValueError(what)
        region = out[o.top:o.top + o.height, o.left:o.left + o.width]
        region[o.mask] = v
    return out


def _region_rank(g: Grid) -> np.ndarray:
    """Per cell, the size rank of its 4-connected one-colour region among the regions of the same colour,
    background included (1 = smallest, 63 = largest): 'the biggest empty area', 'the small holes'."""
    lab, n = label(g, "c4", -1)
    sizes = np.bincount(lab.ravel(), minlength=n)
    colour_of = np.zeros(n, np.int64)
    colour_of[lab.ravel()] = g.ravel()
    rank = np.zeros(n, np.int64)
    for c in np.unique(colour_of):
        members = np.flatnonzero(colour_of == c)
        distinct = np.unique(sizes[members])
        r = np.searchsorted(distinct, sizes[members]) + 1
        r[sizes[members] == distinct[-1]] = 63
        rank[members] = r
    return rank[lab]


def _line_colours(g: Grid, axis: int) -> np.ndarray:
    """Per cell, a bitmask of the foreground colours in its row (axis=1) or column (axis=0)."""
    bg = G.background(g)
    bits = np.zeros(g.shape, np.int64)
    for c in range(10):
        if c == bg:
            continue
        has = (g == c).any(axis=axis, keepdims=True)
        bits |= np.where(has, 1 << c, 0)
    return np.broadcast_to(bits, g.shape) if bits.shape != g.shape else bits


def _nbr_colours(g: Grid, offsets) -> np.ndarray:
    """Per cell, a bitmask of the foreground colours among its neighbours (where they are is ignored, so
    the rule carries over to places never seen, like the grid's corners)."""
    bg = G.background(g)
    bits = np.zeros(g.shape, np.int64)
    for n in _neighbours(g, offsets):
        bits |= np.where((n != bg) & (n != OUTSIDE), np.left_shift(1, np.minimum(n, 9)), 0)
    return bits


def _count_fg(g: Grid, offsets) -> np.ndarray:
    bg = G.background(g)
    return sum((n != bg) & (n != OUTSIDE) for n in _neighbours(g, offsets)).astype(np.int64)


def _coordinate(axis: int, period: int) -> Callable[[Grid], np.ndarray]:
    """Per cell, its row (axis 0) or column (axis 1) index modulo `period`: stripes, every third column."""
    return lambda g: np.indices(g.shape)[axis] % period


def _uniform_lines(g: Grid) -> np.ndarray:
    """Per cell: 1 if its row is all one colour, 2 if its column is, 3 if both, else 0 (the empty lines
    of a picture, whatever its background)."""
    rows = (g == g[:, :1]).all(axis=1, keepdims=True)
    cols = (g == g[:1, :]).all(axis=0, keepdims=True)
    return rows.astype(np.int64) + 2 * cols


def _neighbour(dy: int, dx: int) -> Callable[[Grid], np.ndarray]:
    return lambda g: _neighbours(g, [(dy, dx)])[0]


# One cell feature each: name -> function(g) -> int array of g's shape, every value below 1031.
FEATURES: dict[str, Callable[[Grid], np.ndarray]] = {
    "colour": lambda g: g.astype(np.int64),
    **{f"n{dy}{dx}": _neighbour(dy, dx) for dy, dx in N8},
    "count8": lambda g: _count_fg(g, N8),
    "count4": lambda g: _count_fg(g, N4),
    "nbr_colours8": lambda g: _nbr_colours(g, N8),
    "nbr_colours4": lambda g: _nbr_colours(g, N4),
    "size4": lambda g: _obj_feature(g, "c4", "size"),
    "size8": lambda g: _obj_feature(g, "c8", "size"),
    "rank8": lambda g: _obj_feature(g, "c8", "size_rank"),
    "shape8": lambda g: _obj_feature(g, "c8", "shape"),
    "border8": lambda g: _obj_feature(g, "c8", "border"),
    "colours8": lambda g: _obj_feature(g, "m8", "n_colours"),
    "holes4": lambda g: _obj_feature(g, "c4", "holes"),
    "region": _region_rank,
    "minor8": lambda g: _obj_feature(g, "m8", "minor"),
    "major8": lambda g: _obj_feature(g, "m8", "major"),
    "row": lambda g: _line_colours(g, 1),
    "col": lambda g: _line_colours(g, 0),
    "uniform_lines": _uniform_lines,
    **{f"{'row' if axis == 0 else 'col'}%{p}": _coordinate(axis, p) for axis in (0, 1) for p in (2, 3)},
}

_H = [f"n{dy}{dx}" for dy, dx in [(0, -1), (0, 1)]]
_V = [f"n{dy}{dx}" for dy, dx in [(-1, 0), (1, 0)]]
_D = [f"n{dy}{dx}" for dy, dx in N8[4:]]

# name -> (cost, the features whose tuple is the key), plainest first.
FEATURE_SETS: dict[str, tuple[float, list[str]]] = {
    "nbr_h": (1.8, ["colour"] + _H),
    "nbr_v": (1.8, ["colour"] + _V),
    "nbr4": (2.0, ["colour"] + _V + _H),
    "nbr_diag": (2.0, ["colour"] + _D),
    "count8": (2.0, ["colour", "count8"]),
    "count4": (2.0, ["colour", "count4"]),
    "nbr_colours8": (2.0, ["colour", "nbr_colours8"]),
    "nbr_colours4": (2.0, ["colour", "nbr_colours4"]),
    "obj_size": (2.0, ["colour", "size4"]),
    "obj_size8": (2.0, ["colour", "size8"]),
    "obj_rank": (2.0, ["colour", "rank8"]),
    "obj_shape": (2.5, ["colour", "shape8"]),
    "obj_border": (2.0, ["colour", "border8"]),
    "obj_colours": (2.0, ["colour", "colours8"]),
    "obj_holes": (2.0, ["colour", "holes4"]),
    "region_rank": (2.0, ["colour", "region"]),
    "obj_minor": (2.0, ["colour", "minor8"]),
    "obj_major": (2.0, ["colour", "major8"]),
    "row_col": (2.5, ["colour", "row", "col"]),
    "uniform_lines": (2.2, ["colour", "uniform_lines"]),
    "col%2": (2.5, ["colour", "col%2"]),
    "row%2": (2.5, ["colour", "row%2"]),
    "col%3": (2.5, ["colour", "col%3"]),
    "row%3": (2.5, ["colour", "row%3"]),
    "checker": (2.8, ["colour", "row%2", "col%2"]),
    "nbr8": (3.0, ["colour"] + _V + _H + _D),
}

LOO_PENALTY = 1.5  # extra cost of a table that cannot predict each train pair from the others


class _FeatureCache:
    """Features of one grid, each computed at most once however many feature sets use it."""

    def __init__(self, g: Grid):
        self.g = g
        self.done: dict[str, np.ndarray] = {}

    def keys(self, names: Sequence[str]) -> np.ndarray:
        key = np.zeros(self.g.shape, np.int64)
        for name in names:
            f = self.done.get(name)
            if f is None:
                f = self.done[name] = FEATURES[name](self.g)
            key = key * 1031 + f  # 1031 > every feature value, so distinct tuples give distinct keys
        return key.ravel()


def _table(keys: Sequence[np.ndarray], ys: Sequence[Grid]) -> tuple[np.ndarray, np.ndarray] | None:
    """key -> colour from every train cell, or None when one key wants two colours."""
    k_all = np.concatenate(keys)
    v_all = np.concatenate([y.ravel() for y in ys]).astype(np.int64)
    order = np.lexsort((v_all, k_all))
    k, v = k_all[order], v_all[order]
    first = np.r_[True, k[1:] != k[:-1]]
    # Within a key the values are sorted, so a key is consistent iff its first and last values agree.
    last = np.r_[k[1:] != k[:-1], True]
    if (v[first] != v[last]).any():
        return None
    return k[first], v[first]


def _lookup(table: tuple[np.ndarray, np.ndarray], k: np.ndarray) -> np.ndarray | None:
    keys, vals = table
    idx = np.searchsorted(keys, k)
    idx[idx >= keys.size] = 0
    if (keys[idx] != k).any():
        return None  # a neighbourhood never seen in training
    return vals[idx]


def _leave_one_out_ok(keys: Sequence[np.ndarray], ys: Sequence[Grid]) -> bool:
    """Whether a table learned without each train pair predicts that pair: evidence that the rule is a rule
    and not a memorised list of cells."""
    if len(keys) < 2:
        return False
    for i in range(len(keys)):
        table = _table([k for j, k in enumerate(keys) if j != i], [y for j, y in enumerate(ys) if j != i])
        pred = None if table is None else _lookup(table, keys[i])
        if pred is None or not np.array_equal(pred, ys[i].ravel()):
            return False
    return True


# No object labelling; each is (nearly) a function of the 3x3 window, which fit_local_rules relies on.
CHEAP_FEATURE_SETS = ("nbr_h", "nbr_v", "nbr4", "nbr_diag", "count8", "count4", "nbr_colours8", "nbr_colours4",
                      "nbr8")


def fit_local_rules(xs: Sequence[Grid], ys: Sequence[Grid], which: str = "all") -> list[Fitted]:
    """Every feature set whose table explains all train pairs (same-shape pairs only). `which` is 'all',
    'cheap' (no object labelling: for the many nodes deep in a search) or 'rich' (only the others)."""
    if any(x.shape != y.shape for x, y in zip(xs, ys)):
        return []
    caches = [_FeatureCache(x) for x in xs]
    if which == "cheap" and _table([c.keys(FEATURE_SETS["nbr8"][1]) for c in caches], ys) is None:
        # Every cheap set is (nearly) a function of the 3x3 window: if the window itself cannot explain the
        # outputs, none of them can. One table instead of seven for most nodes.
        return []
    fitted = []
    for name, (cost, names) in FEATURE_SETS.items():
        if which != "all" and (name in CHEAP_FEATURE_SETS) != (which == "cheap"):
            continue
        keys = [c.keys(names) for c in caches]
        table = _table(keys, ys)
        if table is None:
            continue
        if not _leave_one_out_ok(keys, ys):
            cost += LOO_PENALTY

        def apply(g: Grid, table=table, names=names) -> Grid | None:
            pred = _lookup(table, _FeatureCache(g).keys(names))
            return None if pred is None else pred.astype(np.uint8).reshape(g.shape)

        fitted.append(Fitted(f"local_rule[{name}]", cost, apply))
    return fitted


# ------------------------------------------------------------------------------------------------ stamps
#
# A decoration learned per kind of object: every one-colour object (c8) of a given colour and shape gets the
# same colours painted at the same places around its bounding box (a halo of 1s round each 2, four colours on
# the corners of each square, a pixel replaced by a cross). The local rules above see only a cell's own 3x3
# window and refuse a test cell whose window training never showed (an object by the border, two objects
# close together); a stamp is anchored on the object, so it carries over to any position.

STAMP_MARGINS = (1, 2)  # cells around the bounding box a stamp may paint
STAMP_MAX_OBJECTS = 60  # a grid with more objects is noise or texture, not things to decorate
STAMP_COST = 2.0

_KEEP, _UNSEEN = -1, -2


def _stamp_objects(g: Grid) -> list[tuple[tuple, int, int, int, int]] | None:
    """(kind, top, left, height, width) of each one-colour object's bounding box, or None if too many."""
    objs = objects(g, "c8", G.background(g))
    if len(objs) > STAMP_MAX_OBJECTS:
        return None
    return [((o.colour, o.mask.shape, o.mask.tobytes()), o.top, o.left, o.height, o.width) for o in objs]


def _paint_stamps(g: Grid, stamps: dict, margin: int) -> Grid | None:
    """g with every object's stamp painted; None when an object's kind has no stamp or two stamps clash."""
    found = _stamp_objects(g)
    if found is None:
        return None
    out = g.copy()
    painted = np.zeros(g.shape, bool)
    h, w = g.shape
    for kind, top, left, _, _ in found:
        stamp = stamps.get(kind)
        if stamp is None:
            return None  # a kind of object training never showed: no evidence of what it gets
        for (dy, dx), colour in stamp:
            i, j = top - margin + dy, left - margin + dx
            if 0 <= i < h and 0 <= j < w:
                if painted[i, j] and out[i, j] != colour:
                    return None
                out[i, j] = colour
                painted[i, j] = True
    return out


def _learn_stamps(xs: Sequence[Grid], ys: Sequence[Grid], margin: int) -> dict | None:
    """kind -> [((dy, dx), colour)] from every object of the train inputs (None: too many objects). An
    offset is painted when every instance's output has the same colour there, at least one instance changed
    there, and two instances or more stand behind it (a lone object's surroundings are not memorised). Other
    offsets are left alone: a change there may be another object's stamp, and a change nothing explains
    fails the check of the painted inputs against the outputs (fit_stamp)."""
    seen: dict = {}  # kind -> (out colour per offset: one colour, _KEEP if several, _UNSEEN; changes; instances)
    for x, y in zip(xs, ys):
        found = _stamp_objects(x)
        if found is None:
            return None
        h, w = x.shape
        for kind, top, left, oh, ow in found:
            size = (oh + 2 * margin, ow + 2 * margin)
            if kind not in seen:
                seen[kind] = (np.full(size, _UNSEEN, np.int16), np.zeros(size, np.int16), np.zeros(size, np.int16))
            const, changed, count = seen[kind]
            r0, c0 = top - margin, left - margin
            a0, b0 = max(0, -r0), max(0, -c0)
            a1, b1 = min(size[0], h - r0), min(size[1], w - c0)
            xin = x[r0 + a0:r0 + a1, c0 + b0:c0 + b1]
            yout = y[r0 + a0:r0 + a1, c0 + b0:c0 + b1].astype(np.int16)
            cv = const[a0:a1, b0:b1]
            cv[:] = np.where(cv == _UNSEEN, yout, np.where(cv == yout, cv, _KEEP))
            changed[a0:a1, b0:b1] += (xin != yout)
            count[a0:a1, b0:b1] += 1
    stamps = {}
    for kind, (const, changed, count) in seen.items():
        paint = (changed > 0) & (const >= 0) & (count >= 2)
        stamps[kind] = [((int(dy), int(dx)), int(const[dy, dx])) for dy, dx in zip(*np.nonzero(paint))]
    return stamps if any(stamps.values()) else None


def _stamps_fit(xs: Sequence[Grid], ys: Sequence[Grid], margin: int) -> dict | None:
    stamps = _learn_stamps(xs, ys, margin)
    if stamps is None or not all(G.same(_paint_stamps(x, stamps, margin), y) for x, y in zip(xs, ys)):
        return None
    return stamps


def fit_stamp(xs: Sequence[Grid], ys: Sequence[Grid]) -> Fitted | None:
    """The learned stamp (see above) that turns every train input into its output, nearest margin first.
    At least one train pair must follow from the stamps learned on the others (leave-one-out): a stamp that
    only restates each pair (one object's whole scene, an accident of placement) predicts none of them. When
    some pairs do not follow, the step costs LOO_PENALTY more, as a local rule does."""
    if (len(xs) < 2 or any(x.shape != y.shape for x, y in zip(xs, ys))
            or all(np.array_equal(x, y) for x, y in zip(xs, ys))):
        return None
    for margin in STAMP_MARGINS:
        stamps = _stamps_fit(xs, ys, margin)
        if stamps is None:
            continue
        predicted = 0
        for i in range(len(xs)):
            rest = _learn_stamps(xs[:i] + xs[i + 1:], ys[:i] + ys[i + 1:], margin)
            predicted += rest is not None and G.same(_paint_stamps(xs[i], rest, margin), ys[i])
        if predicted == 0:
            continue
        cost = STAMP_COST + 0.2 * margin + (LOO_PENALTY if predicted < len(xs) else 0.0)
        return Fitted(f"stamp[{margin}]", cost,
                      lambda g, stamps=stamps, margin=margin: _paint_stamps(g, stamps, margin))
    return None


# ---------------------------------------------------------------------------------------- output shapes


def _axis_rules(xs: Sequence[int], ys: Sequence[int]) -> list[tuple[str, Callable[[int], int]]]:
    """Rules giving every y from its x along one axis, simplest first."""
    rules: list[tuple[str, Callable[[int], int]]] = []
    if all(x == y for x, y in zip(xs, ys)):
        rules.append(("same", lambda n: n))
    if len(set(ys)) == 1:
        c = ys[0]
        rules.append((f"{c}", lambda n: c))
    ratios = {y / x for x, y in zip(xs, ys)}
    if len(ratios) == 1 and (r := ratios.pop()) != 1:
        rules.append((f"*{r:g}", lambda n: int(round(n * r))))
    offsets = {y - x for x, y in zip(xs, ys)}
    if len(offsets) == 1 and (d := offsets.pop()) != 0:
        rules.append((f"{d:+d}", lambda n: n + d))
    if not rules and len(set(xs)) >= 2 and min(xs) >= 2:
        # k copies sharing their edge lines (a pattern reflected back and forth): y = k(x - 1) + 1
        ks = {(y - 1) / (x - 1) for x, y in zip(xs, ys)}
        if len(ks) == 1 and (k := ks.pop()) == int(k) and k >= 2:
            rules.append((f"*{k:g}-{k - 1:g}", lambda n, k=int(k): k * (n - 1) + 1))
    return rules


ShapeRule = Callable[[Grid], tuple[int, int]]


def output_shape_rules(xs: Sequence[Grid], ys: Sequence[Grid]) -> list[tuple[str, ShapeRule]]:
    """Rules that give every y's shape from its x's shape, simplest first: per axis the same size, a fixed
    size, a fixed ratio or a fixed offset; also with the axes swapped. An empty list means the shape depends
    on the content (a crop, a count), which only a program can explain."""
    rules = []
    for swap in (False, True):
        hs = [x.shape[1] if swap else x.shape[0] for x in xs]
        ws = [x.shape[0] if swap else x.shape[1] for x in xs]
        for rn, rh in _axis_rules(hs, [y.shape[0] for y in ys]):
            for cn, rw in _axis_rules(ws, [y.shape[1] for y in ys]):
                def shape(g: Grid, rh=rh, rw=rw, swap=swap) -> tuple[int, int]:
                    h, w = (g.shape[1], g.shape[0]) if swap else g.shape
                    return rh(h), rw(w)
                rules.append((("T" if swap else "") + f"({rn},{cn})", shape))
    return rules


def predict_output_shapes(xs: Sequence[Grid], ys: Sequence[Grid],
                          tests: Sequence[Grid]) -> list[tuple[int, int]] | None:
    """The test outputs' shapes when the train pairs leave no doubt: every output has its input's shape, or
    every output has one and the same shape. None otherwise (the shape depends on the content)."""
    rules = dict(output_shape_rules(xs, ys))
    for name in ("(same,same)", f"({ys[0].shape[0]},{ys[0].shape[1]})"):
        if name in rules:
            return [rules[name](t) for t in tests]
    return None


# ------------------------------------------------------------------------------------------ shape swaps


def _swap_shapes(g: Grid, table: dict[bytes, np.ndarray], mode: str) -> Grid | None:
    out = g.copy()
    for o in objects(g, mode, G.background(g)):
        patch = table.get(o.cells.tobytes() + bytes(o.mask.shape))
        if patch is None:
            return None  # a shape the train pairs never showed
        out[o.top:o.top + o.height, o.left:o.left + o.width] = patch
    return out


def _shape_table(xs: Sequence[Grid], ys: Sequence[Grid], mode: str) -> dict[bytes, np.ndarray] | None:
    table: dict[bytes, np.ndarray] = {}
    changes: dict[bytes, set[int]] = {}  # a changing shape -> the pairs it changes in
    for k, (x, y) in enumerate(zip(xs, ys)):
        if x.shape != y.shape:
            return None
        covered = np.zeros(x.shape, bool)
        for o in objects(x, mode, G.background(x)):
            box = (slice(o.top, o.top + o.height), slice(o.left, o.left + o.width))
            key, patch = o.cells.tobytes() + bytes(o.mask.shape), y[box]
            seen = table.setdefault(key, patch)
            if seen is not patch and not np.array_equal(seen, patch):
                return None
            covered[box] = True
            if not np.array_equal(patch, x[box]):
                changes.setdefault(key, set()).add(k)
        if (x != y)[~covered].any():
            return None
    # A change seen in one pair only is a list of answers, not a rule (as for colour maps).
    if not changes or any(len(pairs) < 2 for pairs in changes.values()):
        return None
    if any(not G.same(_swap_shapes(x, table, mode), y) for x, y in zip(xs, ys)):
        return None
    return table


def fit_shape_swap(xs: Sequence[Grid], ys: Sequence[Grid]) -> Fitted | None:
    """A dictionary of shapes: every object (8-connected, else 4-connected where shapes touch at a corner;
    with its colour) becomes, in its bounding box, the picture the train outputs show in that box, the same
    for every copy of the shape ('rings become crosses, squares stay'). Fitted only when everything outside
    the boxes stays, the table reproduces every train output, and each change is seen in two pairs or more
    (a change seen once is a list of answers, as for colour maps); a test grid with a shape not in the table
    gets None."""
    for mode in ("c8", "c4"):
        table = _shape_table(xs, ys, mode)
        if table is not None:
            return Fitted(f"swap_shapes[{mode}]", 2.0, lambda g, t=table, m=mode: _swap_shapes(g, t, m))
    return None
