"""The object families of the general basis as numba kernels (kernels.py's `apply` calls `objects_op`).

crop_object / object, keep_object / remove_object, remove_noise, keep_solid, fill_boxes, object_gravity,
each_object, move_to_touch and lists.py's filter and map (each object completed by a symmetry, or its holes
filled, in its own box), each equal to the catalogue op of the same name
(tests/test_dsl_kernels.py): the grid is labelled once per call with objects.py's own labelling (_label,
_stats), so the objects, their reading order and their numbers are the Python ops'; the selector then reads
them as objects.SELECTORS does, with the same refusals (a tie picks nothing, one object is picked whatever
the selector). The kernel is (kind, mode index in MODES,
selector index in SELECTORS); the third number of fill_boxes is its colour, of object_gravity its direction,
of each_object its transform, of filter its property and keep, of map its step.
"""
from __future__ import annotations

import numba
import numpy as np

from .kernels_draw import _symmetrize
from .objects import _fall, _label, _stats
from .prims.drawing import _reach

# kind codes (after kernels.py's)
OBJ_CROP, OBJ_ALONE, KEEP_OBJECT, REMOVE_OBJECT, REMOVE_NOISE, KEEP_SOLID, FILL_BOXES = 22, 23, 24, 25, 26, 27, 28
OBJECT_GRAVITY, EACH_OBJECT, MOVE_TO_TOUCH, FILTER, MAP = 29, 30, 31, 32, 33
FALLS = ("down", "up", "right", "left")  # object_gravity's directions, by their index b
TURNS = ("flip_lr", "flip_ud", "rot180", "transpose")  # each_object's transforms, by their index b
# lists.PROPERTIES and lists.KEEPS in their order (tests check it is): filter's b is prop * 4 + keep
PROPERTIES = ("size", "box", "colours", "holes", "same_colour", "same_shape")
KEEPS = ("max", "min", "not_max", "not_min")
# lists.PIECE_STEPS in its order (tests check it is): map's b; the symmetries are kernels_draw.SYMMETRIES'
MAP_STEPS = ("symmetrize[lr]", "symmetrize[ud]", "symmetrize[rot180]", "symmetrize[transpose]",
             "symmetrize[rot90]", "fill_holes")

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
def _filter(prop, keep, bg, src, lab, n, box, counts, dst):
    """lists.filter_pieces: only the objects whose PROPERTIES[prop] is the largest (keep 0), the smallest (1),
    or all but those (2, 3), on the background; undefined for fewer than two objects or when the property
    does not tell them apart."""
    h, w = src.shape
    if n < 2:
        return -1, -1
    vals = np.zeros(n, np.int64)
    for k in range(n):
        if prop == 0:
            vals[k] = counts[k].sum()
        elif prop == 1:
            vals[k] = (box[k, 2] - box[k, 0]) * (box[k, 3] - box[k, 1])
        elif prop == 2:
            for c in range(10):
                vals[k] += counts[k, c] > 0
        elif prop == 3:
            vals[k] = _has_hole(lab, k, box[k, 0], box[k, 1], box[k, 2], box[k, 3])
        elif prop == 4:  # how many objects share its colour (the most common one, as Obj.colour)
            for m in range(n):
                vals[k] += np.argmax(counts[k]) == np.argmax(counts[m])
        else:  # how many objects share its shape (its mask)
            for m in range(n):
                vals[k] += _same_cells(src, lab, box, bg, k, m, False)
    lo, hi = vals.min(), vals.max()
    if lo == hi:
        return -1, -1
    target = hi if keep == 0 or keep == 2 else lo
    for i in range(h):
        for j in range(w):
            k = lab[i, j]
            dst[i, j] = src[i, j] if k >= 0 and (vals[k] == target) != (keep >= 2) else bg
    return h, w


@numba.njit(cache=True)
def _copied(src, n, dst):
    """dst = src, where an op over each object starts; False (the op undefined) without objects."""
    if n == 0:
        return False
    h, w = src.shape
    for i in range(h):
        for j in range(w):
            dst[i, j] = src[i, j]
    return True


@numba.njit(cache=True)
def _each_object(t, bg, src, lab, n, box, dst):
    """objects.each_object: every object, in reading order, erased and redrawn turned by TURNS[t] inside its own
    box (a later object's erasing may take cells an earlier one drew, as in the Python op); undefined without
    objects, or when a transpose would not keep a box's shape."""
    h, w = src.shape
    if not _copied(src, n, dst):
        return -1, -1
    for k in range(n):
        r0, c0 = box[k, 0], box[k, 1]
        oh, ow = box[k, 2] - r0, box[k, 3] - c0
        if t == 3 and oh != ow:
            return -1, -1
        for i in range(oh):
            for j in range(ow):
                if lab[r0 + i, c0 + j] == k:
                    dst[r0 + i, c0 + j] = bg
        for i in range(oh):
            for j in range(ow):
                if lab[r0 + i, c0 + j] == k:
                    ti = i if t == 0 else oh - 1 - i if t <= 2 else j
                    tj = ow - 1 - j if t == 0 or t == 2 else j if t == 1 else i
                    dst[r0 + ti, c0 + tj] = src[r0 + i, c0 + j]
    return h, w


@numba.njit(cache=True)
def _fill_holes(bg, cells, out):
    """lists._fill_holes: the background cells of a piece's box enclosed by it (4-connected, as
    drawing.fill_enclosed), painted in its least common colour (the first of a tie); False without colours."""
    h, w = cells.shape
    counts = np.zeros(10, np.int64)
    for i in range(h):
        for j in range(w):
            counts[cells[i, j]] += 1
    counts[bg] = 0
    colour = -1
    for c in range(10):
        if counts[c] > 0 and (colour < 0 or counts[c] < counts[colour]):
            colour = c
    if colour < 0:
        return False
    passable = cells == bg
    edge = np.zeros((h, w), np.bool_)
    for i in range(h):
        for j in range(w):
            edge[i, j] = passable[i, j] and (i == 0 or j == 0 or i == h - 1 or j == w - 1)
    outside = _reach(edge, passable, False)
    for i in range(h):
        for j in range(w):
            out[i, j] = colour if passable[i, j] and not outside[i, j] else cells[i, j]
    return True


@numba.njit(cache=True)
def _map(step, bg, src, lab, n, box, dst):
    """lists.map_over: each object's cells (the rest of its box background) put through MAP_STEPS[step], its
    cells other than background painted back over the grid, in reading order; an object the step is not
    defined on stays as it was. Undefined without objects."""
    h, w = src.shape
    if not _copied(src, n, dst):
        return -1, -1
    for k in range(n):
        r0, c0 = box[k, 0], box[k, 1]
        oh, ow = box[k, 2] - r0, box[k, 3] - c0
        cells = np.empty((oh, ow), np.uint8)
        for i in range(oh):
            for j in range(ow):
                cells[i, j] = src[r0 + i, c0 + j] if lab[r0 + i, c0 + j] == k else bg
        out = np.empty((oh, ow), np.uint8)
        if step == 5:
            if not _fill_holes(bg, cells, out):
                continue
        elif _symmetrize(step, bg, cells, out)[0] < 0:
            continue
        for i in range(oh):
            for j in range(ow):
                if out[i, j] != bg:
                    dst[r0 + i, c0 + j] = out[i, j]
    return h, w


@numba.njit(cache=True)
def _move_to_touch(s, bg, src, lab, n, box, counts, dst):
    """objects.move_until_touch: the object SELECTORS[s] picks slides towards the others (the one side their
    box lies on) until it is 4-adjacent to one of them; undefined when no side or two, when it would leave
    the grid or pass through them first, or when it already touches."""
    h, w = src.shape
    if n < 2:
        return -1, -1
    k = _pick(s, src, lab, n, box, counts, bg)
    if k < 0:
        return -1, -1
    r0, c0, r1, c1 = h, w, -1, -1  # the box of every other object's cells
    for i in range(h):
        for j in range(w):
            if lab[i, j] >= 0 and lab[i, j] != k:
                r0, c0, r1, c1 = min(r0, i), min(c0, j), max(r1, i + 1), max(c1, j + 1)
    top, left, bottom, right = box[k, 0], box[k, 1], box[k, 2], box[k, 3]
    sides = 0
    dy, dx = 0, 0
    if r0 >= bottom:
        sides, dy, dx = sides + 1, 1, 0
    if r1 <= top:
        sides, dy, dx = sides + 1, -1, 0
    if c0 >= right:
        sides, dy, dx = sides + 1, 0, 1
    if c1 <= left:
        sides, dy, dx = sides + 1, 0, -1
    if sides != 1:
        return -1, -1
    step = 0
    while True:
        near = False
        for i in range(top, bottom):
            for j in range(left, right):
                if lab[i, j] != k:
                    continue
                y, x = i + step * dy, j + step * dx
                if y < 0 or x < 0 or y >= h or x >= w or (lab[y, x] >= 0 and lab[y, x] != k):
                    return -1, -1  # off the grid, or through the others without touching them
                for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= ny < h and 0 <= nx < w and lab[ny, nx] >= 0 and lab[ny, nx] != k:
                        near = True
        if near:
            break
        step += 1
    if step == 0:
        return -1, -1
    for i in range(h):
        for j in range(w):
            dst[i, j] = bg if lab[i, j] == k else src[i, j]
    for i in range(top, bottom):
        for j in range(left, right):
            if lab[i, j] == k:
                dst[i + step * dy, j + step * dx] = src[i, j]
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
    box, counts = _stats(src, lab, n)
    if kind == FILTER:
        return _filter(b // 4, b % 4, bg, src, lab, n, box, counts, dst)
    if kind == EACH_OBJECT:
        return _each_object(b, bg, src, lab, n, box, dst)
    if kind == MAP:
        return _map(b, bg, src, lab, n, box, dst)
    if kind == MOVE_TO_TOUCH:
        return _move_to_touch(b, bg, src, lab, n, box, counts, dst)
    if kind == OBJECT_GRAVITY:  # objects.object_gravity: rigid falls, the object nearest the wall first
        if n == 0:
            return -1, -1
        key = np.empty(n, np.int64)
        for k in range(n):  # objects.object_gravity's sort keys, by direction
            key[k] = -box[k, 2] if b == 0 else box[k, 0] if b == 1 else -box[k, 3] if b == 2 else box[k, 1]
        order = np.argsort(key, kind="mergesort")  # stable, as Python's sorted
        dy = 1 if b == 0 else -1 if b == 1 else 0
        dx = 1 if b == 2 else -1 if b == 3 else 0
        out = _fall(src, lab, order, dy, dx, np.uint8(bg))
        for i in range(h):
            for j in range(w):
                dst[i, j] = out[i, j]
        return h, w
    if kind == FILL_BOXES:  # objects.fill_object_boxes: the background in any object's box painted colour b
        for i in range(h):
            for j in range(w):
                dst[i, j] = src[i, j]
        for k in range(n):
            for i in range(box[k, 0], box[k, 2]):
                for j in range(box[k, 1], box[k, 3]):
                    if src[i, j] == bg:
                        dst[i, j] = b
        return h, w
    if n == 0 or (kind == KEEP_OBJECT or kind == REMOVE_OBJECT) and n < 2:
        return -1, -1
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
