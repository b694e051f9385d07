"""The numba kernels (solver/dsl/kernels.py, kernels_draw.py) stand for general ops of the same name: each
kernel's result equals its op's on real grids of development tasks, on random grids and on grids made for
the rarer cases (None where the op is None), under facts that make every op of the catalogue, for both
shape cases and several scale factors."""
from __future__ import annotations

import numpy as np

from solver.dsl import kernels as K
from solver.dsl import kernels_draw as KD
from solver.dsl import grids as G
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
                "overlay", "overlay_rev",
                # kernels_draw.py's
                "rays", "connect", "fill_clear_lines", "majority_colour", "minority_colour", "most_common_colour",
                "uniform_colour", "uniform_minority", "column_majority", "row_majority", "symmetrize",
                "periodic_fill", "denoise", "hidden_by_symmetry", "hidden_by_period", "symmetrize_offset",
                "cells_to_pixels", "fill_cells"):
        assert fam in names, fam
    ops = kernel_ops()
    for d in G.RAY_DIRECTIONS:  # every direction has its kernel
        assert f"rays[{d}]" in ops, d
    for name, (kernel, _) in ops.items():  # kernels.py's kind codes stay below kernels_draw.py's
        assert (kernel[0] >= KD.FIRST) == (name.split("[")[0] in KD.FAMILIES), name
    assert K.kernel_for("part[sep,first]") is None  # the separator splitter has no kernel
    assert K.kernel_for("crop_object[c8,largest]") is None


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
    grids += completion_and_line_grids(rng)
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
    return out
