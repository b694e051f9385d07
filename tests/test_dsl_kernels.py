"""The numba kernels (solver/dsl/kernels.py) stand for general ops of the same name: each kernel's result
equals its op's on real grids of development tasks and on random grids (None where the op is None), under
facts that make every op of the catalogue, for both shape cases and several scale factors."""
from __future__ import annotations

import numpy as np

from solver.dsl import kernels as K
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
                "overlay", "overlay_rev"):
        assert fam in names, fam
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
