"""Fresh synthetic tasks, one or more generators per concept of the general basis (catalogue.GENERAL).

    make_task(name, seed) -> Task        a new task of that generator: 3-4 train pairs and one test pair

Each generator draws the rule's parameters once per task (a direction, a colour, a factor), then fresh
random input grids (sides 3..15, colours on a background that is black or, in a quarter of the tasks,
another colour) and computes each output with its own few lines of numpy, never with the DSL's op for the
concept: the benchmark (bench/dsl_concepts.py) then asks whether the concept's op carries to instances it
was not written from. A few generators compose two concepts (crop the largest object then flip it).

A draw is rejected and drawn again when it is degenerate: an output equal to its input, two pairs with the
same input or the same output (the test output must not be a train output: a lookup would answer it), or
a scene the rule is not defined on (objects that do not fit, ties where the rule needs an extreme).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..tasks import Example, Task

Grid = np.ndarray
Rng = np.random.Generator
Pair = tuple[Grid, Grid]
PairFn = Callable[[Rng], "Pair | None"]  # one fresh pair of the task's rule, or None for a degenerate draw
Rule = Callable[[Rng], PairFn]            # draws the task's parameters, gives its pair maker

EIGHT = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
FOUR = [(-1, 0), (1, 0), (0, -1), (0, 1)]


# ------------------------------------------------------------------------------------------------ scenes

def colours(rng: Rng, n: int, bg: int) -> list[int]:
    """n distinct colours other than the background."""
    return [int(c) for c in rng.choice([c for c in range(10) if c != bg], size=n, replace=False)]


def background(rng: Rng) -> int:
    """Black in three tasks of four, another colour otherwise (the scenes keep it the most common colour)."""
    return 0 if rng.random() < 0.75 else int(rng.integers(1, 10))


def side(rng: Rng, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))


def scatter(rng: Rng, h: int, w: int, bg: int, palette: list[int], density: float) -> Grid:
    """Cells of the palette's colours scattered over a background grid."""
    g = np.full((h, w), bg, np.uint8)
    on = rng.random((h, w)) < density
    g[on] = rng.choice(palette, size=int(on.sum()))
    return g


def blob(rng: Rng, h: int, w: int, size: int | None = None) -> np.ndarray:
    """A random 4-connected shape that touches every row and column of an h x w box (a bool mask)."""
    size = size or side(rng, max(h, w), h * w)
    for _ in range(50):
        mask = np.zeros((h, w), bool)
        mask[rng.integers(h), rng.integers(w)] = True
        while mask.sum() < size:
            ys, xs = np.nonzero(mask)
            k = rng.integers(len(ys))
            dy, dx = FOUR[rng.integers(4)]
            y, x = ys[k] + dy, xs[k] + dx
            if 0 <= y < h and 0 <= x < w:
                mask[y, x] = True
        if mask.any(axis=1).all() and mask.any(axis=0).all():
            return mask
    mask = np.zeros((h, w), bool)  # the growth kept missing a row or column: an L along the box's edges
    mask[0, :] = mask[:, 0] = True
    return mask


def dilate(mask: np.ndarray, steps: int = 1) -> np.ndarray:
    """The mask grown by `steps` cells in the 8 directions."""
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        h, w = out.shape
        for dy, dx in EIGHT:
            grown[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] |= \
                out[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
        out = grown
    return out


def place(rng: Rng, h: int, w: int, masks: list[np.ndarray], gap: int = 1) -> list[tuple[int, int]] | None:
    """Top-left corners for the masks on an h x w grid, each at least `gap` cells (8-neighbour) from the
    others; None when they do not fit."""
    taken = np.zeros((h, w), bool)
    corners = []
    for m in masks:
        mh, mw = m.shape
        if mh > h or mw > w:
            return None
        for _ in range(100):
            y, x = side(rng, 0, h - mh), side(rng, 0, w - mw)
            if not (taken[y:y + mh, x:x + mw] & m).any():
                break
        else:
            return None
        here = np.zeros((h, w), bool)
        here[y:y + mh, x:x + mw] = m
        taken |= dilate(here, gap)
        corners.append((y, x))
    return corners


def draw(g: Grid, m: np.ndarray, at: tuple[int, int], colour: int | Grid) -> None:
    y, x = at
    region = g[y:y + m.shape[0], x:x + m.shape[1]]
    region[m] = colour if np.isscalar(colour) else colour[m]


def bbox(mask: np.ndarray) -> tuple[slice, slice]:
    ys, xs = np.nonzero(mask)
    return slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)


def objects_scene(rng: Rng, h: int, w: int, bg: int, sizes: list[int], palette: list[int],
                  gap: int = 1) -> tuple[Grid, list[tuple[np.ndarray, tuple[int, int], int]]] | None:
    """Blobs of the given cell counts, in colours drawn from the palette, apart from each other: the grid and
    each blob's (mask, corner, colour)."""
    masks = []
    for n in sizes:  # a box the blob can fill: n cells reach every row and column, at most 5 wide
        bh = side(rng, 1, min(n, 4))
        bw = min(-(-n // bh) + side(rng, 0, 1), 5)
        if bh * bw < n or bh + bw - 1 > n:
            bh, bw = 1, n
        if bw > w or bh > h:
            return None
        masks.append(blob(rng, bh, bw, n))
    corners = place(rng, h, w, masks, gap)
    if corners is None:
        return None
    g = np.full((h, w), bg, np.uint8)
    out = []
    for m, at in zip(masks, corners):
        c = int(rng.choice(palette))
        draw(g, m, at, c)
        out.append((m, at, c))
    return g, out


def turn(g: Grid, k: int) -> Grid:
    """Quarter turns counter-clockwise: rules written for 'down' serve the other directions turned."""
    return np.ascontiguousarray(np.rot90(g, k))


DIRECTION_TURNS = {"down": 0, "right": 1, "up": 2, "left": 3}  # turns that make the direction 'down'


# ------------------------------------------------------------------------------------------------ rules

def geometry_d8(rng: Rng) -> PairFn:
    """A fixed symmetry of the square (a turn, a flip, a transpose) of a scattered picture."""
    name = str(rng.choice(["rot90", "rot180", "rot270", "flip_lr", "flip_ud", "transpose", "antitranspose"]))
    fn = {"rot90": lambda g: np.rot90(g, 1), "rot180": lambda g: np.rot90(g, 2), "rot270": lambda g: np.rot90(g, 3),
          "flip_lr": np.fliplr, "flip_ud": np.flipud, "transpose": np.transpose,
          "antitranspose": lambda g: np.rot90(g, 2).T}[name]
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair:
        x = scatter(r, side(r, 3, 10), side(r, 3, 10), bg, pal, r.uniform(0.2, 0.45))
        return x, np.ascontiguousarray(fn(x))
    return pair


def geometry_mirror(rng: Rng) -> PairFn:
    """The picture joined with its mirror image, to the right or below."""
    axis = int(rng.integers(2))
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair:
        x = scatter(r, side(r, 3, 8), side(r, 3, 8), bg, pal, r.uniform(0.25, 0.5))
        return x, np.concatenate([x, np.flip(x, axis)], axis)
    return pair


def crop_content(rng: Rng) -> PairFn:
    """The box around the coloured cells, cut out of a larger empty canvas. The content is two or three
    shapes close together, so that no single object's box is the answer (the rule is the content's box)."""
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 7, 15), side(r, 7, 15)
        ph, pw = side(r, 3, min(6, h - 1)), side(r, 3, min(6, w - 1))
        found = objects_scene(r, ph, pw, bg, [side(r, 1, 4) for _ in range(side(r, 2, 3))], pal)
        if found is None:
            return None
        patch = found[0]
        x = np.full((h, w), bg, np.uint8)
        y0, x0 = side(r, 0, h - ph), side(r, 0, w - pw)
        x[y0:y0 + ph, x0:x0 + pw] = patch
        return x, x[bbox(x != bg)].copy()
    return pair


def scale_upscale(rng: Rng) -> PairFn:
    """Every cell blown up to a k x k block."""
    k = side(rng, 2, 3)
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair:
        x = scatter(r, side(r, 2, 5), side(r, 2, 5), bg, pal, 0.5)
        return x, np.repeat(np.repeat(x, k, 0), k, 1)
    return pair


def scale_tile(rng: Rng) -> PairFn:
    """The picture repeated a x b times."""
    a, b = [(1, 2), (2, 1), (2, 2), (1, 3), (3, 3)][rng.integers(5)]
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair:
        x = scatter(r, side(r, 2, 5), side(r, 2, 5), bg, pal, 0.5)
        return x, np.tile(x, (a, b))
    return pair


def objects_crop_largest(rng: Rng) -> PairFn:
    """The object with the most cells, cut out on its own box (other objects apart)."""
    bg = background(rng)
    pal = colours(rng, 4, bg)

    def pair(r: Rng) -> Pair | None:
        sizes = [int(s) for s in r.choice(np.arange(1, 12), size=side(r, 3, 5), replace=False)]
        found = objects_scene(r, side(r, 8, 15), side(r, 8, 15), bg, sizes, pal)
        if found is None:
            return None
        x, obs = found
        m, _, c = max(obs, key=lambda o: o[0].sum())
        if m.sum() < 2:
            return None
        y_ = np.full(m.shape, bg, np.uint8)
        y_[m] = c
        return x, y_
    return pair


def objects_remove_noise(rng: Rng) -> PairFn:
    """Lone cells (no neighbour of any colour, diagonals included) disappear; shapes stay."""
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 6, 15), side(r, 6, 15)
        found = objects_scene(r, h, w, bg, [side(r, 3, 8) for _ in range(side(r, 1, 3))], pal)
        if found is None:
            return None
        y, _ = found
        x = y.copy()
        free = ~dilate(y != bg)
        for _ in range(side(r, 2, 6)):
            ys, xs = np.nonzero(free)
            if not len(ys):
                break
            k = r.integers(len(ys))
            x[ys[k], xs[k]] = r.choice(pal)
            free &= ~dilate(x != bg)
        return x, y
    return pair


def objects_crop_odd_colour(rng: Rng) -> PairFn:
    """Objects all of one colour but one; that one cut out. Both colours change from pair to pair (a role:
    'the object of the colour no other object has', not a colour the task names)."""
    bg = background(rng)

    def pair(r: Rng) -> Pair | None:
        common, odd = colours(r, 2, bg)
        found = objects_scene(r, side(r, 7, 14), side(r, 7, 14), bg, [side(r, 2, 6) for _ in range(side(r, 3, 5))],
                              [common])
        if found is None:
            return None
        x, obs = found
        m, at, _ = obs[int(r.integers(len(obs)))]
        draw(x, m, at, odd)
        return x, np.where(m, odd, bg).astype(np.uint8)
    return pair


def lists_keep_holed(rng: Rng) -> PairFn:
    """Of hollow frames and solid blocks, only the frames (the objects with a hole) stay."""
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair | None:
        n_frames, n_solid = side(r, 1, 2), side(r, 1, 3)
        masks = []
        for _ in range(n_frames):
            m = np.ones((side(r, 3, 5), side(r, 3, 5)), bool)
            m[1:-1, 1:-1] = False
            masks.append(m)
        for _ in range(n_solid):
            masks.append(np.ones((side(r, 1, 4), side(r, 1, 4)), bool))
        order = r.permutation(len(masks))
        h, w = side(r, 8, 15), side(r, 8, 15)
        corners = place(r, h, w, [masks[i] for i in order])
        if corners is None:
            return None
        x, y = np.full((h, w), bg, np.uint8), np.full((h, w), bg, np.uint8)
        for i, at in zip(order, corners):
            c = int(r.choice(pal))
            draw(x, masks[i], at, c)
            if i < n_frames:
                draw(y, masks[i], at, c)
        return x, y
    return pair


def lists_stack_by_size(rng: Rng) -> PairFn:
    """Objects of one height, cut out and put side by side, the one with most cells first."""
    bg = background(rng)
    pal = colours(rng, 4, bg)

    def pair(r: Rng) -> Pair | None:
        bh = side(r, 2, 3)
        masks = []
        for _ in range(side(r, 2, 4)):
            bw = side(r, 1, 3)
            masks.append(blob(r, bh, bw, side(r, max(bh, bw), bh * bw)))
        sizes = [int(m.sum()) for m in masks]
        if len(set(sizes)) < len(sizes):
            return None
        h, w = side(r, 7, 14), side(r, 7, 14)
        corners = place(r, h, w, masks)
        if corners is None:
            return None
        x = np.full((h, w), bg, np.uint8)
        crops = []
        for m, at in zip(masks, corners):
            c = int(r.choice(pal))
            draw(x, m, at, c)
            crops.append((-int(m.sum()), np.where(m, c, bg).astype(np.uint8)))
        return x, np.concatenate([c for _, c in sorted(crops, key=lambda t: t[0])], axis=1)
    return pair


def counting_colours_by_count(rng: Rng) -> PairFn:
    """The colours as a column (or a row), the most frequent first."""
    axis = int(rng.integers(2))
    bg = background(rng)

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 5, 12), side(r, 5, 12)
        pal = colours(r, side(r, 2, 4), bg)
        counts = sorted((int(n) for n in r.choice(np.arange(1, h * w // 3), size=len(pal), replace=False)),
                        reverse=True)
        if h * w - sum(counts) <= counts[0]:
            return None  # the background must stay the most common colour (else it is one of the answer's)
        x = np.full(h * w, bg, np.uint8)
        cells = r.permutation(h * w)
        at = 0
        for c, n in zip(pal, counts):
            x[cells[at:at + n]] = c
            at += n
        order = np.array(pal, np.uint8)  # drawn most frequent first
        return x.reshape(h, w), (order[:, None] if axis == 0 else order[None, :])
    return pair


def counting_objects(rng: Rng) -> PairFn:
    """A row with one cell per object, in the objects' colour."""
    bg = background(rng)
    pal = colours(rng, 2, bg)

    def pair(r: Rng) -> Pair | None:
        n = side(r, 1, 6)
        found = objects_scene(r, side(r, 6, 12), side(r, 6, 12), bg, [side(r, 1, 4) for _ in range(n)], pal[:1])
        if found is None:
            return None
        return found[0], np.full((1, n), pal[0], np.uint8)
    return pair


def colours_recolour(rng: Rng) -> PairFn:
    """A fixed colour-for-colour exchange (a permutation of three colours)."""
    bg = background(rng)
    src = colours(rng, 3, bg)
    dst = src[1:] + src[:1]
    lut = np.arange(10, dtype=np.uint8)
    lut[src] = dst

    def pair(r: Rng) -> Pair | None:
        x = scatter(r, side(r, 3, 12), side(r, 3, 12), bg, src, r.uniform(0.3, 0.5))
        if len(set(np.unique(x)) & set(src)) < 3:
            return None
        return x, lut[x]
    return pair


def most_frequent(x: Grid, pal) -> int | None:
    """The colour of `pal` with the most cells in x, or None on a tie (the rule would not say which)."""
    n = np.bincount(x.ravel(), minlength=10)[pal]
    if len(n) < 2 or sorted(n)[-1] == sorted(n)[-2]:
        return None
    return int(pal[int(np.argmax(n))])


def colours_keep_one(rng: Rng) -> PairFn:
    """Only the cells of one fixed colour stay."""
    bg = background(rng)
    pal = colours(rng, 4, bg)

    def pair(r: Rng) -> Pair | None:
        x = scatter(r, side(r, 3, 12), side(r, 3, 12), bg, pal, r.uniform(0.25, 0.45))
        if not (x == pal[0]).any():
            return None
        return x, np.where(x == pal[0], x, bg).astype(np.uint8)
    return pair


def colours_to_majority(rng: Rng) -> PairFn:
    """Every coloured cell painted in the most frequent of the colours."""
    bg = background(rng)

    def pair(r: Rng) -> Pair | None:
        pal = colours(r, side(r, 2, 3), bg)
        x = scatter(r, side(r, 4, 12), side(r, 4, 12), bg, pal, r.uniform(0.2, 0.4))
        top = most_frequent(x, pal)
        if top is None:
            return None
        return x, np.where(x != bg, top, bg).astype(np.uint8)
    return pair


def colours_keep_majority(rng: Rng) -> PairFn:
    """Only the cells of the most frequent colour stay; which colour that is changes from pair to pair."""
    bg = background(rng)

    def pair(r: Rng) -> Pair | None:
        pal = colours(r, side(r, 2, 4), bg)
        x = scatter(r, side(r, 4, 12), side(r, 4, 12), bg, pal, r.uniform(0.2, 0.45))
        top = most_frequent(x, pal)
        if top is None:
            return None
        return x, np.where(x == top, x, bg).astype(np.uint8)
    return pair


def completion_symmetry(rng: Rng) -> PairFn:
    """A mirror-symmetric picture (left-right or up-down) with a block hidden under a mask colour, restored."""
    axis = int(rng.integers(2))
    mask = int(rng.integers(1, 10))
    pal = [c for c in range(10) if c != mask]

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 4, 14), side(r, 4, 7)
        half = r.choice(pal[:5], size=(h, w)).astype(np.uint8) if r.random() < 0.5 else \
            r.choice(pal, size=(h, w)).astype(np.uint8)
        y = np.concatenate([half, half[:, ::-1]], 1)
        if axis == 0:
            y = y.T.copy()
        x = y.copy()
        hh, ww = y.shape
        # the hidden block lies within one half, so its mirror image is known
        if axis == 1:
            bh, bw = side(r, 1, max(1, hh // 2)), side(r, 1, max(1, ww // 2 - 1))
            y0, x0 = side(r, 0, hh - bh), side(r, 0, ww // 2 - bw) + (ww // 2 if r.random() < 0.5 else 0)
        else:
            bh, bw = side(r, 1, max(1, hh // 2 - 1)), side(r, 1, max(1, ww // 2))
            y0, x0 = side(r, 0, hh // 2 - bh) + (hh // 2 if r.random() < 0.5 else 0), side(r, 0, ww - bw)
        x[y0:y0 + bh, x0:x0 + bw] = mask
        return x, y
    return pair


def connected8(mask: np.ndarray) -> bool:
    """Whether the True cells of mask form one 8-connected shape."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return False
    seen, stack = {(int(ys[0]), int(xs[0]))}, [(int(ys[0]), int(xs[0]))]
    while stack:
        y, x = stack.pop()
        for dy, dx in EIGHT:
            n = (y + dy, x + dx)
            if 0 <= n[0] < mask.shape[0] and 0 <= n[1] < mask.shape[1] and mask[n] and n not in seen:
                seen.add(n)
                stack.append(n)
    return len(seen) == len(ys)


def completion_objects(rng: Rng) -> PairFn:
    """Objects each mirror-symmetric in its own box (left-right, or up-down: one per task) with some cells of
    one half lost; every object restored. The objects stay whole (8-connected, the same box), so each
    object's own symmetry says what was lost, while the picture as a whole has none."""
    axis = int(rng.integers(2))
    bg = background(rng)
    pal = colours(rng, 4, bg)

    def pair(r: Rng) -> Pair | None:
        masks, losts = [], []
        for _ in range(side(r, 2, 3)):
            half = blob(r, side(r, 3, 5), side(r, 2, 3))
            m = np.concatenate([half, half[:, ::-1]], 1)
            lost = m.copy()
            hw = half.shape[1]
            cut = (r.random(half.shape) < 0.4) & half
            if r.random() < 0.5:
                lost[:, :hw] &= ~cut
            else:
                lost[:, hw:] &= ~cut[:, ::-1]
            if not (lost.any(axis=0).all() and lost.any(axis=1).all() and connected8(lost)):
                return None
            masks.append(m if axis == 0 else m.T.copy())
            losts.append(lost if axis == 0 else lost.T.copy())
        h, w = side(r, 8, 15), side(r, 8, 15)
        corners = place(r, h, w, masks)
        if corners is None:
            return None
        x = np.full((h, w), bg, np.uint8)
        y = x.copy()
        for m, lost, at in zip(masks, losts, corners):
            c = int(r.choice(pal))
            draw(x, lost, at, c)
            draw(y, m, at, c)
        return x, y
    return pair


def completion_periodic(rng: Rng) -> PairFn:
    """A tiling of a small motif with a block hidden under a mask colour, restored."""
    mask = int(rng.integers(1, 10))
    pal = [c for c in range(10) if c != mask]

    def pair(r: Rng) -> Pair | None:
        p, q = side(r, 2, 3), side(r, 2, 3)
        motif = r.choice(pal, size=(p, q)).astype(np.uint8)
        if len(np.unique(motif)) < 2:
            return None
        h, w = side(r, 3 * p, 15), side(r, 3 * q, 15)
        y = np.tile(motif, (-(-h // p), -(-w // q)))[:h, :w]
        x = y.copy()
        bh, bw = side(r, 1, h // 2), side(r, 1, w // 2)
        y0, x0 = side(r, 0, h - bh), side(r, 0, w - bw)
        x[y0:y0 + bh, x0:x0 + bw] = mask
        return x, y
    return pair


def fall_objects(g: Grid, bg: int) -> Grid:
    """Every 8-connected object falls down as a rigid body until it rests on the floor or on a fallen one,
    the lowest first. (Computed here by moving each object one row at a time.)"""
    h, w = g.shape
    seen = np.zeros((h, w), bool)
    obs = []
    for y in range(h):
        for x in range(w):
            if g[y, x] != bg and not seen[y, x]:
                stack, cells = [(y, x)], []
                seen[y, x] = True
                while stack:
                    cy, cx = stack.pop()
                    cells.append((cy, cx))
                    for dy, dx in EIGHT:
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < h and 0 <= nx < w and not seen[ny, nx] and g[ny, nx] != bg:
                            seen[ny, nx] = True
                            stack.append((ny, nx))
                obs.append(cells)
    out = np.full_like(g, bg)
    for cells in sorted(obs, key=lambda cs: -max(c[0] for c in cs)):
        drop = 0
        while all(cy + drop + 1 < h and out[cy + drop + 1, cx] == bg for cy, cx in cells):
            drop += 1
        for cy, cx in cells:
            out[cy + drop, cx] = g[cy, cx]
    return out


def movement_objects_fall(rng: Rng) -> PairFn:
    """Objects fall (down, up, left or right: one per task) until they land on the wall or on each other."""
    k = DIRECTION_TURNS[str(rng.choice(list(DIRECTION_TURNS)))]
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair | None:
        found = objects_scene(r, side(r, 6, 13), side(r, 5, 13), bg, [side(r, 1, 6) for _ in range(side(r, 2, 4))],
                              pal)
        if found is None:
            return None
        x = turn(found[0], -k)
        return x, turn(fall_objects(turn(x, k), bg), -k)
    return pair


def movement_cells_fall(rng: Rng) -> PairFn:
    """Every coloured cell falls within its column (or row) to the wall, keeping their order."""
    k = DIRECTION_TURNS[str(rng.choice(list(DIRECTION_TURNS)))]
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair:
        x = scatter(r, side(r, 3, 12), side(r, 3, 12), bg, pal, r.uniform(0.15, 0.4))
        down = turn(x, k)
        out = np.full_like(down, bg)
        for col in range(down.shape[1]):
            cells = down[:, col][down[:, col] != bg]
            if len(cells):
                out[-len(cells):, col] = cells
        return x, turn(out, -k)
    return pair


def movement_shift(rng: Rng) -> PairFn:
    """The whole picture moved one cell in a fixed direction (it never leaves the grid)."""
    k = DIRECTION_TURNS[str(rng.choice(list(DIRECTION_TURNS)))]
    bg = background(rng)
    pal = colours(rng, 3, bg)

    def pair(r: Rng) -> Pair:
        down = scatter(r, side(r, 4, 12), side(r, 3, 12), bg, pal, r.uniform(0.2, 0.4))
        down[-1] = bg
        out = np.full_like(down, bg)
        out[1:] = down[:-1]
        return turn(down, -k), turn(out, -k)
    return pair


def lines_rays(rng: Rng) -> PairFn:
    """From each lone cell, a line in its colour to the edge of the grid in a fixed direction."""
    k = DIRECTION_TURNS[str(rng.choice(list(DIRECTION_TURNS)))]
    bg = background(rng)
    pal = colours(rng, 4, bg)

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 5, 14), side(r, 5, 14)
        n = side(r, 1, min(4, w))
        down = np.full((h, w), bg, np.uint8)
        out = down.copy()
        for col in r.choice(w, size=n, replace=False):
            y, c = side(r, 0, h - 2), int(r.choice(pal))
            down[y, col] = c
            out[y:, col] = c
        return turn(down, -k), turn(out, -k)
    return pair


def rays_per_colour(rng: Rng) -> PairFn:
    """Two or three colours of lone cells, each casting lines to the edge in its own direction (fixed by the
    task) on grids of 10 to 22 a side: one step per colour, which no single op draws. A draw whose lines
    would meet a cell or each other is refused, so the order the steps are laid in does not matter."""
    bg = background(rng)
    k = side(rng, 2, 3)
    pal = colours(rng, k, bg)
    steps = [FOUR[i] for i in rng.choice(4, size=k, replace=False)]

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 10, 22), side(r, 10, 22)
        x = np.full((h, w), bg, np.uint8)
        n = [side(r, 1, 2) for _ in range(k)]
        cells = r.choice(h * w, size=sum(n), replace=False)
        colour_of = [c for c, m in zip(pal, n) for _ in range(m)]
        for c, colour in zip(cells, colour_of):
            x[c // w, c % w] = colour
        y = x.copy()
        drawn = x != bg
        for c, colour in zip(cells, colour_of):
            dy, dx = steps[pal.index(colour)]
            i, j = c // w + dy, c % w + dx
            while 0 <= i < h and 0 <= j < w:
                if drawn[i, j]:
                    return None
                y[i, j], drawn[i, j] = colour, True
                i, j = i + dy, j + dx
        return x, y
    return pair


def lines_connect(rng: Rng) -> PairFn:
    """Two cells of one colour in the same row (or column) joined by a line of that colour."""
    vertical = bool(rng.integers(2))
    bg = background(rng)
    pal = colours(rng, 5, bg)

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 5, 14), side(r, 5, 14)
        n = side(r, 1, min(3, h // 2))
        rows = sorted(r.choice(h, size=n, replace=False))
        x = np.full((h, w), bg, np.uint8)
        y = x.copy()
        cols_used: set[int] = set()
        for row, c in zip(rows, r.choice(pal, size=n, replace=False)):
            a, b = sorted(int(v) for v in r.choice(w, size=2, replace=False))
            if b - a < 2 or {a, b} & cols_used:
                return None
            cols_used |= {a, b}
            x[row, a] = x[row, b] = c
            y[row, a:b + 1] = c
        return (x.T.copy(), y.T.copy()) if vertical else (x, y)
    return pair


def fills_enclosed(rng: Rng) -> PairFn:
    """The inside of every closed frame filled with one fixed colour."""
    bg = background(rng)
    pal = colours(rng, 4, bg)
    fill, pal = pal[0], pal[1:]

    def pair(r: Rng) -> Pair | None:
        masks = []
        for _ in range(side(r, 1, 3)):
            m = np.ones((side(r, 3, 6), side(r, 3, 6)), bool)
            m[1:-1, 1:-1] = False
            masks.append(m)
        h, w = side(r, 6, 15), side(r, 6, 15)
        corners = place(r, h, w, masks)
        if corners is None:
            return None
        x = np.full((h, w), bg, np.uint8)
        y = x.copy()
        for m, (y0, x0) in zip(masks, corners):
            c = int(r.choice(pal))
            draw(x, m, (y0, x0), c)
            draw(y, m, (y0, x0), c)
            y[y0 + 1:y0 + m.shape[0] - 1, x0 + 1:x0 + m.shape[1] - 1] = fill
        return x, y
    return pair


def fills_own_colour(rng: Rng) -> PairFn:
    """The inside of every closed frame filled with the frame's own colour (frames of several colours)."""
    bg = background(rng)
    pal = colours(rng, 4, bg)

    def pair(r: Rng) -> Pair | None:
        masks = []
        for _ in range(side(r, 2, 3)):
            m = np.ones((side(r, 3, 6), side(r, 3, 6)), bool)
            m[1:-1, 1:-1] = False
            masks.append(m)
        h, w = side(r, 6, 15), side(r, 6, 15)
        corners = place(r, h, w, masks)
        if corners is None:
            return None
        x = np.full((h, w), bg, np.uint8)
        for m, at in zip(masks, corners):
            draw(x, m, at, int(r.choice(pal)))
        y = x.copy()
        for m, (y0, x0) in zip(masks, corners):
            y[y0 + 1:y0 + m.shape[0] - 1, x0 + 1:x0 + m.shape[1] - 1] = x[y0, x0]
        return x, y
    return pair


def fills_outline(rng: Rng) -> PairFn:
    """A ring of one fixed colour drawn around every object (its 8 neighbours)."""
    bg = background(rng)
    pal = colours(rng, 4, bg)
    ring, pal = pal[0], pal[1:]

    def pair(r: Rng) -> Pair | None:
        found = objects_scene(r, side(r, 6, 14), side(r, 6, 14), bg, [side(r, 1, 5) for _ in range(side(r, 1, 3))],
                              pal, gap=3)
        if found is None:
            return None
        x = found[0]
        return x, np.where(dilate(x != bg) & (x == bg), ring, x).astype(np.uint8)
    return pair


def lattices_combine(rng: Rng) -> PairFn:
    """Two halves split by a line; the cells set in both (or either, or exactly one, or neither) painted."""
    how = str(rng.choice(["and", "or", "xor", "nor"]))
    op = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor,
          "nor": lambda a, b: ~(a | b)}[how]
    vertical = bool(rng.integers(2))
    sep, paint, ca, cb = colours(rng, 4, 0)

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 3, 6), side(r, 3, 6)
        a, b = r.random((h, w)) < 0.5, r.random((h, w)) < 0.5
        x = np.concatenate([np.where(a, ca, 0), np.full((h, 1), sep), np.where(b, cb, 0)], 1).astype(np.uint8)
        y = np.where(op(a, b), paint, 0).astype(np.uint8)
        if not y.any() or y.all():
            return None
        return (x.T.copy(), y.T.copy()) if vertical else (x, y)
    return pair


def lattices_pick_densest(rng: Rng) -> PairFn:
    """Parts between separator lines; the part with the most coloured cells cut out."""
    bg = background(rng)
    sep, *pal = colours(rng, 4, bg)
    vertical = bool(rng.integers(2))

    def pair(r: Rng) -> Pair | None:
        n, h, w = side(r, 3, 4), side(r, 3, 5), side(r, 3, 5)
        parts = [scatter(r, h, w, bg, pal, r.uniform(0.1, 0.7)) for _ in range(n)]
        counts = [int((p != bg).sum()) for p in parts]
        if sorted(counts)[-1] == sorted(counts)[-2]:
            return None
        row = [parts[0]]
        for p in parts[1:]:
            row += [np.full((h, 1), sep, np.uint8), p]
        x = np.concatenate(row, 1)
        y = parts[int(np.argmax(counts))]
        return (x.T.copy(), y.T.copy()) if vertical else (x, y.copy())
    return pair


def lattices_overlay_priority(rng: Rng) -> PairFn:
    """Equal parts side by side, each a layer of its own colour; the output lays them on top of each other,
    in an order fixed by the task (not necessarily first or last on top)."""
    n = side(rng, 2, 4)
    bg = 0
    pal = colours(rng, n, bg)
    order = [int(i) for i in rng.permutation(n)]  # the part on top first
    vertical = bool(rng.integers(2))
    sep = int(rng.choice([c for c in range(1, 10) if c not in pal])) if rng.random() < 0.5 else None

    def pair(r: Rng) -> Pair | None:
        h, w = side(r, 3, 5), side(r, 3, 5)
        masks = [r.random((h, w)) < r.uniform(0.25, 0.5) for _ in range(n)]
        y = np.full((h, w), bg, np.uint8)
        for i in reversed(order):  # the bottom layer first, the top one last
            y[masks[i]] = pal[i]
        if any(not (y == pal[i]).any() for i in range(n)):
            return None  # a layer hidden everywhere says nothing of its place in the order
        row = []
        for i in range(n):
            if row and sep is not None:
                row.append(np.full((h, 1), sep, np.uint8))
            row.append(np.where(masks[i], pal[i], bg).astype(np.uint8))
        x = np.concatenate(row, 1)
        if np.bincount(x.ravel()).argmax() != bg:
            return None  # the scenes keep the background the most common colour
        return (x.T.copy(), y.T.copy()) if vertical else (x, y)
    return pair


# ---- two concepts in a row

def then(first: Rule, second: Callable[[Rng], Callable[[Grid], Grid]]) -> Rule:
    """A rule followed by a second step whose parameters are drawn once per task."""
    def rule(rng: Rng) -> PairFn:
        make, step = first(rng), second(rng)

        def pair(r: Rng) -> Pair | None:
            p = make(r)
            return None if p is None else (p[0], np.ascontiguousarray(step(p[1])))
        return pair
    return rule


def flip_step(rng: Rng) -> Callable[[Grid], Grid]:
    return [np.fliplr, np.flipud, lambda g: np.rot90(g, 2)][rng.integers(3)]


def upscale_step(rng: Rng) -> Callable[[Grid], Grid]:
    return lambda g: np.repeat(np.repeat(g, 2, 0), 2, 1)


def mirror_step(rng: Rng) -> Callable[[Grid], Grid]:
    axis = int(rng.integers(2))
    return lambda g: np.concatenate([g, np.flip(g, axis)], axis)


@dataclass(frozen=True)
class Generator:
    name: str
    concept: str   # a concept of catalogue.GENERAL, or "compose" for two in a row
    rule: Rule


GENERATORS: dict[str, Generator] = {g.name: g for g in [
    Generator("d8", "geometry", geometry_d8),
    Generator("mirror", "geometry", geometry_mirror),
    Generator("crop_content", "crop", crop_content),
    Generator("upscale", "scale", scale_upscale),
    Generator("tile", "scale", scale_tile),
    Generator("crop_largest", "objects", objects_crop_largest),
    Generator("remove_noise", "objects", objects_remove_noise),
    Generator("crop_odd_colour", "objects", objects_crop_odd_colour),
    Generator("keep_holed", "lists", lists_keep_holed),
    Generator("stack_by_size", "lists", lists_stack_by_size),
    Generator("colours_by_count", "counting", counting_colours_by_count),
    Generator("count_objects", "counting", counting_objects),
    Generator("recolour", "colours", colours_recolour),
    Generator("keep_colour", "colours", colours_keep_one),
    Generator("to_majority", "colours", colours_to_majority),
    Generator("keep_majority", "colours", colours_keep_majority),
    Generator("symmetry", "completion", completion_symmetry),
    Generator("periodic", "completion", completion_periodic),
    Generator("complete_objects", "completion", completion_objects),
    Generator("objects_fall", "movement", movement_objects_fall),
    Generator("cells_fall", "movement", movement_cells_fall),
    Generator("shift", "movement", movement_shift),
    Generator("rays", "lines", lines_rays),
    Generator("connect", "lines", lines_connect),
    Generator("fill_enclosed", "fills", fills_enclosed),
    Generator("fill_own_colour", "fills", fills_own_colour),
    Generator("outline", "fills", fills_outline),
    Generator("combine_halves", "lattices", lattices_combine),
    Generator("densest_part", "lattices", lattices_pick_densest),
    Generator("overlay_priority", "lattices", lattices_overlay_priority),
    Generator("largest_then_flip", "compose", then(objects_crop_largest, flip_step)),
    Generator("crop_then_upscale", "compose", then(crop_content, upscale_step)),
    Generator("denoise_then_mirror", "compose", then(objects_remove_noise, mirror_step)),
    Generator("complete_then_flip", "compose", then(completion_objects, flip_step)),
    Generator("complete_flip_upscale", "compose", then(then(completion_objects, flip_step), upscale_step)),
    Generator("rays_per_colour", "compose", rays_per_colour),
]}


# ------------------------------------------------------------------------------------------------ tasks

def fresh(pair: Pair, pairs: list[Pair]) -> bool:
    """Not degenerate: a valid ARC pair whose output is not its input, and whose input and output are new."""
    x, y = pair
    if not (1 <= min(x.shape) and max(x.shape) <= 30 and 1 <= min(y.shape) and max(y.shape) <= 30):
        return False
    if x.shape == y.shape and (x == y).all():
        return False
    return not any((a.shape == x.shape and (a == x).all()) or (b.shape == y.shape and (b == y).all())
                   for a, b in pairs)


def make_task(name: str, seed: int, n_train: int | None = None) -> Task:
    """A fresh task of the generator: its rule's parameters and every grid drawn from `seed` alone."""
    rng = np.random.default_rng(seed)
    rule = GENERATORS[name].rule
    for _ in range(20):
        make = rule(rng)
        n = (n_train or side(rng, 3, 4)) + 1
        pairs: list[Pair] = []
        for _ in range(60 * n):
            p = make(rng)
            if p is not None and fresh((p[0].astype(np.uint8), p[1].astype(np.uint8)), pairs):
                pairs.append((p[0].astype(np.uint8), p[1].astype(np.uint8)))
                if len(pairs) == n:
                    train = tuple(Example(x, y) for x, y in pairs[:-1])
                    return Task(f"{name}-{seed}", train, (Example(*pairs[-1]),))
    raise RuntimeError(f"{name}: no non-degenerate task from seed {seed}")
