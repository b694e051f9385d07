"""The object families of the general basis as numba kernels (kernels.py's `apply` calls `objects_op`).

crop_object / object, keep_object / remove_object, remove_noise and keep_solid, each equal to the catalogue
op of the same name (tests/test_dsl_kernels.py): the grid is labelled once per call with objects.py's own
labelling (_label, _stats), so the objects, their reading order and their numbers are the Python ops'; the
selector then reads them as objects.SELECTORS does, with the same refusals (a tie picks nothing, one object
is picked whatever the selector). The kernel is (kind, mode index in MODES, selector index in SELECTORS).
"""
from __future__ import annotations

import numba
import numpy as np

from .objects import _label, _stats
from .prims.drawing import _reach

# kind codes (after kernels.py's)
OBJ_CROP, OBJ_ALONE, KEEP_OBJECT, REMOVE_OBJECT, REMOVE_NOISE, KEEP_SOLID = 22, 23, 24, 25, 26, 27

MODES = ("c8", "m8", "c4")
# objects.SELECTORS in its order (tests check it is); _pick reads a selector by its index here
SELECTORS = ("largest", "smallest", "largest_box", "smallest_box", "most_colours", "densest", "sparsest",
             "topmost", "bottommost", "leftmost", "rightmost", "unique_colour", "unique_shape", "unique_pattern",
             "unique_size", "inner", "holed", "symmetric_lr", "symmetric_both")


@numba.njit(cache=True)
def _unique_extreme(vals, pick_max):
    """objects._unique_extreme: the index of the one greatest (least) value, or -1 on a tie."""
    best = vals[0]
    for k in range(1, vals.shape[0]):
        if (vals[k] > best) if pick_max else (vals[k] < best):
            best = vals[k]
    pick = -1
    for k in range(vals.shape[0]):
        if vals[k] == best:
            if pick >= 0:
                return -1
            pick = k
    return pick


@numba.njit(cache=True)
def _odd_one(flags):
    """objects._odd_one: the one object with the flag, failing that the one without it, else -1."""
    for want in (True, False):
        pick = -1
        hits = 0
        for k in range(flags.shape[0]):
            if flags[k] == want:
                hits += 1
                pick = k
        if hits == 1:
            return pick
    return -1


@numba.njit(cache=True)
def _cell(g, lab, k, bg, y, x):
    """Obj.cells at grid cell (y, x): the object's colour there, background off the object."""
    return g[y, x] if lab[y, x] == k else bg


@numba.njit(cache=True)
def _same_cells(g, lab, box, bg, k, m, pattern):
    """Whether objects k and m have equal shape keys (equal masks), or equal patterns (equal cells)."""
    h, w = box[k, 2] - box[k, 0], box[k, 3] - box[k, 1]
    if h != box[m, 2] - box[m, 0] or w != box[m, 3] - box[m, 1]:
        return False
    for i in range(h):
        for j in range(w):
            yk, xk, ym, xm = box[k, 0] + i, box[k, 1] + j, box[m, 0] + i, box[m, 1] + j
            if pattern:
                if _cell(g, lab, k, bg, yk, xk) != _cell(g, lab, m, bg, ym, xm):
                    return False
            elif (lab[yk, xk] == k) != (lab[ym, xm] == m):
                return False
    return True


@numba.njit(cache=True)
def _has_hole(lab, k, r0, c0, r1, c1):
    """objects._has_hole: a cell of the box off the object that cannot reach the box's edge 4-connected
    through cells off the object (outside_mask's own flood)."""
    off = lab[r0:r1, c0:c1] != k
    edge = np.zeros(off.shape, np.bool_)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    return (off & ~_reach(edge & off, off, False)).any()


@numba.njit(cache=True)
def _symmetric(g, lab, k, bg, r0, c0, r1, c1, both):
    """Whether the object's cells equal their left-right mirror (and, when both, their up-down one)."""
    h, w = r1 - r0, c1 - c0
    for i in range(h):
        for j in range(w):
            v = _cell(g, lab, k, bg, r0 + i, c0 + j)
            if v != _cell(g, lab, k, bg, r0 + i, c1 - 1 - j):
                return False
            if both and v != _cell(g, lab, k, bg, r1 - 1 - i, c0 + j):
                return False
    return True


@numba.njit(cache=True)
def _unique_value(g, lab, box, counts, bg, s, colour):
    """objects._unique_value over colours (s=11), shape keys (12), patterns (13) or sizes (14)."""
    n = box.shape[0]
    pick = -1
    for k in range(n):
        alone = True
        for m in range(n):
            if m == k:
                continue
            if s == 11:
                same = colour[k] == colour[m]
            elif s == 14:
                same = counts[k].sum() == counts[m].sum()
            else:
                same = _same_cells(g, lab, box, bg, k, m, s == 13)
            if same:
                alone = False
                break
        if alone:
            if pick >= 0:
                return -1
            pick = k
    return pick


@numba.njit(cache=True)
def _pick(s, g, lab, n, box, counts, bg):
    """objects.select with SELECTORS[s]: the chosen object's label, or -1 (no object, or a tie)."""
    if n == 0:
        return -1
    if n == 1:
        return 0
    h, w = g.shape
    colour = np.empty(n, np.int64)
    for k in range(n):
        colour[k] = np.argmax(counts[k])  # the most common colour, ties to the smaller (numpy's argmax)
    if 11 <= s <= 14:
        return _unique_value(g, lab, box, counts, bg, s, colour)
    if s >= 15:
        flags = np.empty(n, np.bool_)
        for k in range(n):
            r0, c0, r1, c1 = box[k, 0], box[k, 1], box[k, 2], box[k, 3]
            if s == 15:
                flags[k] = not (r0 == 0 or c0 == 0 or r1 == h or c1 == w)
            elif s == 16:
                flags[k] = _has_hole(lab, k, r0, c0, r1, c1)
            else:
                flags[k] = _symmetric(g, lab, k, bg, r0, c0, r1, c1, s == 18)
        return _odd_one(flags)
    vals = np.empty(n, np.float64)
    for k in range(n):
        size = counts[k].sum()
        area = (box[k, 2] - box[k, 0]) * (box[k, 3] - box[k, 1])
        if s <= 1:
            vals[k] = size
        elif s <= 3:
            vals[k] = area
        elif s == 4:
            nc = 0
            for c in range(10):
                nc += counts[k, c] > 0
            vals[k] = nc
        elif s <= 6:
            vals[k] = size / area  # the same division as the Python selector, so ties are the same
        elif s == 7:
            vals[k] = box[k, 0]
        elif s == 8:
            vals[k] = box[k, 2]
        elif s == 9:
            vals[k] = box[k, 1]
        else:
            vals[k] = box[k, 3]
    # largest, largest_box, most_colours, densest, bottommost, rightmost pick the greatest
    return _unique_extreme(vals, s == 0 or s == 2 or s == 4 or s == 5 or s == 8 or s == 10)


@numba.njit(cache=True)
def _keep_solid(bg, src, dst):
    """prims.colours.keep_solid: the foreground cells of some 2x2 block of one colour, the rest background."""
    h, w = src.shape
    for i in range(h):
        for j in range(w):
            dst[i, j] = bg
    for i in range(h - 1):
        for j in range(w - 1):
            v = src[i, j]
            if v != bg and src[i + 1, j] == v and src[i, j + 1] == v and src[i + 1, j + 1] == v:
                dst[i, j] = dst[i + 1, j] = dst[i, j + 1] = dst[i + 1, j + 1] = v
    return h, w


@numba.njit(cache=True)
def objects_op(kind, a, b, bg, src, dst):
    """Object op (kind, mode a, selector b) on src into dst's corner: its (height, width), or (-1, -1)."""
    h, w = src.shape
    if kind == KEEP_SOLID:
        return _keep_solid(bg, src, dst)
    lab, n = _label(src, bg, a != 2, a == 1)
    if kind == REMOVE_NOISE:  # objects of one cell erased (objects.remove_small_of with max_size 1)
        size = np.zeros(n, np.int64)
        for i in range(h):
            for j in range(w):
                if lab[i, j] >= 0:
                    size[lab[i, j]] += 1
        for i in range(h):
            for j in range(w):
                dst[i, j] = bg if lab[i, j] >= 0 and size[lab[i, j]] <= 1 else src[i, j]
        return h, w
    if n == 0 or (kind == KEEP_OBJECT or kind == REMOVE_OBJECT) and n < 2:
        return -1, -1
    box, counts = _stats(src, lab, n)
    k = _pick(b, src, lab, n, box, counts, bg)
    if k < 0:
        return -1, -1
    r0, c0, r1, c1 = box[k, 0], box[k, 1], box[k, 2], box[k, 3]
    if kind == OBJ_CROP or kind == OBJ_ALONE:  # objects.crop_chosen: the box as it is, or the object alone
        for i in range(r0, r1):
            for j in range(c0, c1):
                dst[i - r0, j - c0] = src[i, j] if kind == OBJ_CROP or lab[i, j] == k else bg
        return r1 - r0, c1 - c0
    for i in range(h):  # objects.keep_chosen: the object alone on the background, or erased
        for j in range(w):
            if kind == KEEP_OBJECT:
                dst[i, j] = src[i, j] if lab[i, j] == k else bg
            else:
                dst[i, j] = bg if lab[i, j] == k else src[i, j]
    return h, w
