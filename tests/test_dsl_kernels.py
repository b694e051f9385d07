"""The numba kernels (solver/dsl/kernels.py, kernels_draw.py) stand for general ops of the same name: each
kernel's result equals its op's on real grids of development tasks, on random grids and on grids made for
the rarer cases (None where the op is None), under facts that make every op of the catalogue, for both
shape cases and several scale factors."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from solver.dsl import kernels as K
from solver.dsl import kernels_draw as KD
from solver.dsl import grids as G
from solver.dsl import objects as O
from solver.dsl.grids import defined
from solver.dsl.ops import build_ops, every_fact

from .test_dsl_batches import real_and_random_grids


def kernel_ops():
    ops = {}
    for same in (True, False):
        for factors in ({(2, 2)}, {(1, 2), (3, 1)}, {(2, 3)}):
            for op in build_ops(every_fact(same, frozenset(factors)), ("general",), False):
                k = K.kernel_for(op.name)
                if k is not None:
                    ops[op.name] = (k, op.fn)
    return ops


def test_kernels_cover_the_cheap_families():
    names = {n.split("[")[0] for n in kernel_ops()}
    for fam in ("rot90", "flip_lr", "transpose", "mirror", "crop_content", "crop_nonzero", "trim_border",
                "compress_repeats", "upscale", "tile", "downscale", "keep_colour", "remove_colour", "binarise",
                "gravity", "shift", "fill_enclosed", "flood", "border", "pad", "motif", "part", "combine",
                "overlay", "overlay_rev", "crop_object", "object", "keep_object", "remove_object", "remove_noise",
                "keep_solid",
                # kernels_draw.py's
                "rays", "connect", "fill_clear_lines", "majority_colour", "minority_colour", "most_common_colour",
                "uniform_colour", "uniform_minority", "column_majority", "row_majority", "symmetrize",
                "periodic_fill", "denoise", "hidden_by_symmetry", "hidden_by_period", "symmetrize_offset",
                "cells_to_pixels", "fill_cells", "outline", "outline4", "interior", "fill_boxes", "object_gravity",
                "each_object", "move_to_touch", "filter", "map"):
        assert fam in names, fam
    ops = kernel_ops()
    for d in G.RAY_DIRECTIONS:  # every direction has its kernel
        assert f"rays[{d}]" in ops, d
    for name, (kernel, _) in ops.items():  # kernels.py's kind codes stay below kernels_draw.py's
        assert (kernel[0] >= KD.FIRST) == (name.split("[")[0] in KD.FAMILIES), name
    assert K.kernel_for("part[sep,first]") == (K.PART, K.SPLITS.index("sep"), 0)  # separator lines too
    assert K.kernel_for("crop_object[m4,largest]") is None  # nor 4-connected multicolour objects
    assert K.kernel_for("filter[c8,top,max|in_place]") is None  # nor the list pipeline's filters
    from solver.dsl import kernels_objects as KO
    from solver.dsl import lists as L
    assert KO.PROPERTIES == tuple(L.PROPERTIES) and KO.KEEPS == L.KEEPS  # filter's kernel reads them by index
    assert KO.MAP_STEPS == tuple(L.PIECE_STEPS)  # and map's its steps
    assert KO.MAP_STEPS[:5] == tuple(f"symmetrize[{s}]" for s in KD.SYMMETRIES[:5])  # by kernels_draw's index
    assert K.kernel_for("map[c8,fill_holes|in_place]") is None  # nor the list pipeline's maps
    # every selector of every object family has its kernel, under the selector's own index
    assert K.SELECTORS == tuple(O.SELECTORS)
    for name in kernel_ops():
        if name.split("[")[0] in ("crop_object", "object", "keep_object", "remove_object"):
            assert K.kernel_for(name)[2] == K.SELECTORS.index(name[:-1].split(",")[1])
    assert sum(n.startswith(("crop_object[", "object[")) for n in kernel_ops()) == 2 * 3 * len(O.SELECTORS)


def object_grids() -> list[np.ndarray]:
    """Grids of several objects where the selectors' rare cases happen: ties in size, box and position,
    objects of different colours touching (one m8 object, two c8 ones), diagonal contacts (one c8 object,
    two c4 ones), holes, mirror-symmetric shapes, repeated shapes in other colours, lone cells."""
    a = np.zeros((7, 8), np.uint8)
    a[1:3, 1:3] = 2           # a 2x2 square ...
    a[4:6, 5:7] = 2           # ... and its copy: tie in size, shape, pattern
    a[3, 3] = 4               # touches both squares only diagonally
    a[0, 7] = 1
    b = np.zeros((8, 8), np.uint8)
    b[1:4, 1:4] = 3
    b[2, 2] = 0               # a ring: holed, symmetric both ways
    b[1:4, 4] = 6             # a bar of another colour touching the ring: one m8 object
    b[6, 1:4] = 3             # the ring's size in another shape
    b[5:8, 6] = 3             # the same shape turned: same size, box area
    b[7, 0] = 5
    c = np.zeros((6, 6), np.uint8)
    c[0, 0] = c[1, 1] = c[2, 2] = 7  # a diagonal: one c8 object, three c4 ones
    c[2, 3] = c[3, 3] = 8
    c[5, 5] = 7
    c[4, 0:2] = 9
    d = np.full((7, 7), 1, np.uint8)  # a non-black background
    d[0:3, 0:3] = 0
    d[4:7, 4:7] = 0
    d[5, 5] = 2
    d[3, 3] = 4
    e = np.zeros((9, 9), np.uint8)
    e[2:7, 2:7] = 5
    e[3:6, 3:6] = 0
    e[4, 4] = 6               # an object inside another's hole
    e[0, 0:3] = 5
    e[8, 6:9] = 6
    f = np.zeros((5, 12), np.uint8)
    f[1:4, 1] = f[2, 0] = 1   # one shape three times, twice in one colour: unique_pattern picks the third
    f[1:4, 5] = f[2, 4] = 2
    f[1:4, 11] = f[2, 10] = 1
    f[0:2, 7:9] = f[3:5, 7:9] = 3  # two solid blocks (for keep_solid): no pattern but colour 2 is unique
    m = np.zeros((4, 6), np.uint8)
    m[0, 0], m[0, 1] = 4, 5   # an m8 object of two colours, one cell each: its colour is the smaller, 4
    m[3, 3] = 5               # so this cell is the only one of its colour
    m[2, 5] = 4
    p = np.zeros((8, 9), np.uint8)
    p[1:5, 1:6] = 3
    p[2:4, 2:5] = 0
    p[2, 2] = 2               # a ring with a marker inside, touching it: fill_holes paints the hole 2
    p[6, 6:9] = p[7, 6] = 4   # a shape one cell short of mirror symmetry in its box
    p[5, 0] = p[6, 1] = p[7, 1] = 6  # and one that no symmetry completes
    return [a, b, c, d, e, f, m, p] + [np.ascontiguousarray(g.T) for g in (a, b, c, e, f, p)]


def test_every_kernel_equals_its_op():
    grids = real_and_random_grids()
    rng = np.random.default_rng(5)
    # grids where the rarer cases happen: enclosed holes, uniform blocks, a tiling, a frame, a lone colour
    ring = np.zeros((6, 7), np.uint8)
    ring[1:5, 1:6] = 3
    ring[2:4, 2:5] = 0
    ring[0, 6] = 5
    grids += [ring, np.kron(rng.integers(0, 4, (3, 4)), np.ones((2, 3), np.int64)).astype(np.uint8),
              np.tile(rng.integers(0, 3, (2, 3)).astype(np.uint8), (4, 3)), np.full((5, 5), 4, np.uint8),
              np.pad(rng.integers(1, 5, (3, 3)).astype(np.uint8), 1, constant_values=7)]
    grids += object_grids() + completion_and_line_grids(rng)
    checked = 0
    for name, (kernel, fn) in sorted(kernel_ops().items()):
        for g in grids:
            want = defined(fn, g)
            got = K.run(kernel, g)
            assert (want is None) == (got is None), (name, g.shape)
            if want is not None:
                assert want.shape == got.shape and (want == got).all(), (name, g.tolist())
                checked += 1
    assert checked > 5_000


def test_cached_kernels_are_dropped_when_a_linked_source_changes(tmp_path):
    # numba keys cached code by its own file: apply's and deep's code would keep an old object kernel
    here = Path(K.__file__).parent
    for f in K._LINKED:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes((here / f).read_bytes())
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    names = ("kernels.apply-1.py311.nbi", "kernels_objects._pick-2.py311.1.nbc", "deep._expand-3.py311.nbi",
             "objects._label-4.py311.nbi")
    for n in names:
        (cache / n).write_bytes(b"")
    assert K._drop_stale_caches(tmp_path)  # no digest yet: dropped
    assert sorted(p.name for p in cache.glob("*.nb?")) == ["objects._label-4.py311.nbi"]  # its file is its key
    for n in names:
        (cache / n).write_bytes(b"")
    assert not K._drop_stale_caches(tmp_path)  # same sources: kept
    assert len(list(cache.glob("*.nb?"))) == 4
    (tmp_path / "kernels_objects.py").write_text("# edited\n", "utf-8")
    assert K._drop_stale_caches(tmp_path)
    assert len(list(cache.glob("*.nb?"))) == 1


def masked(g, rng, colour, n=1):
    """g with n random rectangles painted `colour` (the cells a completion must restore)."""
    g = g.copy()
    for _ in range(n):
        y, x = rng.integers(0, g.shape[0] - 1), rng.integers(0, g.shape[1] - 1)
        g[y:y + rng.integers(1, 4), x:x + rng.integers(1, 4)] = colour
    return g


def completion_and_line_grids(rng):
    """Grids where the rarer cases of kernels_draw.py's ops happen: symmetric grids (also off-centre) and
    periodic ones (also in diagonal stripes) with masked patches, noise on blocks, pairs of one colour on a
    line beside a wall, framed pictures with clear corridors, lattices of separator lines."""
    out = []
    for _ in range(3):
        q = rng.integers(1, 5, (4, 4)).astype(np.uint8)
        quad = np.block([[q, q[:, ::-1]], [q[::-1], q[::-1, ::-1]]])  # lr, ud and rot180 symmetric
        sq = np.maximum(q, q.T)
        d4 = np.block([[sq, np.rot90(sq, -1)], [np.rot90(sq), np.rot90(sq, 2)]])  # rot90 and transpose symmetric
        lr = np.hstack([rng.integers(1, 4, (5, 3)), rng.integers(1, 4, (5, 1))]).astype(np.uint8)
        lr = np.hstack([lr, lr[:, 2::-1]])  # an odd-width lr mirror
        off = np.hstack([rng.integers(1, 4, (6, 2)).astype(np.uint8), quad[:6, :6]])  # axis off the centre
        for g in (quad, d4, lr, off, off.T.copy(), d4[:, :7].copy()):
            out += [masked(g, rng, 0), masked(g, rng, 5, 2), masked(g, rng, 0, 4)]
        motif = rng.integers(1, 5, (rng.integers(1, 4), rng.integers(2, 4))).astype(np.uint8)
        tiled = np.tile(motif, (5, 4))[:11, :10]
        ii, jj = np.indices((9, 10))
        stripes = motif[0][(jj - ii) % motif.shape[1]].astype(np.uint8)  # diagonal stripes (kind 1)
        stripes2 = motif[0][(jj + ii) % motif.shape[1]].astype(np.uint8)  # the other way (kind 2)
        for g in (tiled, stripes, stripes2):
            out += [masked(g, rng, 0), masked(g, rng, 6, 3), np.where(rng.random(g.shape) < 0.15, 7, g).astype(np.uint8)]
        blocks = np.kron(rng.integers(1, 4, (3, 3)), np.ones((3, 3), np.int64)).astype(np.uint8)
        out += [np.where(rng.random(blocks.shape) < 0.2, 8, blocks).astype(np.uint8), np.full((3, 4), 8, np.uint8)]
        lines = np.zeros((9, 11), np.uint8)
        for c in (2, 3, 4):  # pairs on a row, a column and a diagonal
            y, x, k = rng.integers(0, 5), rng.integers(0, 6), rng.integers(2, 5)
            lines[y, x] = lines[y, x + k] = lines[y + k, x] = lines[y + k, x + k] = c
        lines[:, 10] = 5  # a wall: scenery connect_pairs leaves alone
        lines[rng.integers(0, 9), rng.integers(0, 10)] = 5
        out += [lines, lines.T.copy()]
        frame = np.zeros((8, 9), np.uint8)
        frame[[0, -1], :] = frame[:, [0, -1]] = 1
        frame[rng.integers(1, 7, 3), rng.integers(1, 8, 3)] = 2
        out.append(frame)
        cell = rng.integers(0, 3, (2, 2, 3, 3)) * rng.integers(0, 2, (2, 2, 1, 1))
        lattice = np.full((7, 11), 5, np.uint8)
        for a in range(2):
            for b in range(2):
                lattice[4 * a:4 * a + 3, 4 * b:4 * b + 3] = cell[a, b]
        out += [lattice, lattice[:, :7].copy(), lattice[:3].copy()]
        uneven = rng.integers(0, 3, (9, 10)).astype(np.uint8)  # parts of different shapes between lines
        uneven[[2, 6], :] = uneven[:, 4] = 8
        twice = uneven.copy()
        twice[:, 7] = 1                  # full columns of two colours: the lower colour's lines split it
        blank = uneven.copy()
        blank[4, :] = 0                  # a full row of the background, which may split first
        same = np.tile(rng.integers(0, 3, (3, 3)).astype(np.uint8), (3, 3))
        same = np.insert(np.insert(same, [3, 6], 4, axis=0), [3, 6], 4, axis=1)  # nine equal parts
        same[4:7, 4:7] = (same[4:7, 4:7] + 1) % 3  # one of them unlike the others
        out += [uneven, twice, blank, same]
    return out
