"""General ops as numba kernels: most of the general basis compiled, for the deep search (deep.py).

Each kernel is one op of the general basis (catalogue.py) with the same name and the same result, written
as a loop over cells in numba, so that deep.py can apply a whole level of the search in one compiled call
instead of one Python call per op and grid (per-op Python overhead was 10 of 14 profiled seconds of op
application, issue 24). tests/test_dsl_kernels.py checks every kernel against the op it stands for.

An op is (kind, a, b): a kind code and two integer parameters. `apply(kind, a, b, src, dst)` writes the
result into the top-left corner of `dst` (a MAX_SIDE x MAX_SIDE buffer) and returns its (height, width), or
(-1, -1) where the op is undefined on `src` (the Python op's None). `kernel_for(name)` maps an op's name
(`gravity[down]`, `upscale[2,3]`, `part[1x2,first]`) to its (kind, a, b), or None when it has no kernel.
The background is each grid's own (grids.background), as the general ops read it. The object families
(crop_object, keep_object, remove_noise, ...) are in kernels_objects.py.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numba
import numpy as np

from ..tasks import MAX_SIDE
from . import kernels_draw as KD
from .prims.basics import _background
from .kernels_objects import (EACH_OBJECT, FALLS, FILL_BOXES, FILTER, KEEP_OBJECT, KEEP_SOLID, KEEPS, MODES,
                              MOVE_TO_TOUCH, OBJ_ALONE, OBJ_CROP, OBJECT_GRAVITY, PROPERTIES, REMOVE_NOISE,
                              MAP, MAP_STEPS, REMOVE_OBJECT, SELECTORS, TURNS, objects_op)

# The files whose njit functions end up in the compiled code of apply and of deep.py's level loop.
_LINKED = ("kernels.py", "kernels_objects.py", "kernels_draw.py", "objects.py", "prims/basics.py", "prims/drawing.py",
           "prims/completion.py", "deep.py")


def _drop_stale_caches(here: Path = Path(__file__).parent) -> bool:
    """Drop the numba cache of this module, kernels_objects, kernels_draw and deep when a file of _LINKED changed since it
    was written; True when it did. numba (cache=True) keys a function's cached code by its own file only,
    but the code holds the njit functions it calls from other files compiled in: after an edit or a merge
    that changes kernels_objects.py and not kernels.py, apply (and deep.py's _expand, which calls apply)
    would run the old object kernels. A digest of the sources, kept beside the cache, tells."""
    cache = here / "__pycache__"
    digest = hashlib.sha256(b"".join((here / f).read_bytes() for f in _LINKED)).hexdigest()
    stamp = cache / "kernels.linked"
    if stamp.is_file() and stamp.read_text() == digest:
        return False
    try:
        for prefix in ("kernels.", "kernels_objects.", "kernels_draw.", "deep."):
            for f in cache.glob(prefix + "*.nb[ic]"):
                f.unlink(missing_ok=True)
        stamp.write_text(digest)
    except OSError:  # no cache folder to write (numba then caches elsewhere, or not at all)
        return False
    return True


_drop_stale_caches()

# kind codes
D8, MIRROR, CROP, TRIM, COMPRESS, UPSCALE, TILE, DOWNSCALE = 1, 2, 3, 4, 5, 6, 7, 8
KEEP_COLOUR, REMOVE_COLOUR, BINARISE, GRAVITY, SHIFT, FILL_ENCLOSED, BORDER = 9, 10, 11, 12, 13, 14, 15
PART, COMBINE, OVERLAY, PAD, MOTIF, FLOOD = 16, 17, 18, 19, 20, 21
# KD.FIRST (40) and up: kernels_draw.py's (lines, colour roles, completion, lattice cells)

D8_ELEMENTS = ("identity", "rot90", "rot180", "rot270", "flip_lr", "flip_ud", "transpose", "antitranspose")
MIRRORS = ("right", "left", "down", "up", "quad")
DIRECTIONS = ("down", "up", "left", "right")
SPLITS = ("1x2", "2x1", "1x3", "3x1", "2x2", "sep")  # catalogue.PART_COUNTS by name, then the separator lines
SEP = 5
PICKS = ("first", "last", "most_fg", "least_fg", "most_colours", "least_colours", "unique")
HOWS = ("and", "or", "xor", "nor", "one")
PADS = ("bg", "edge")


def kernel_for(name: str) -> tuple[int, int, int] | None:
    """An op name's kernel as (kind, a, b), or None."""
    fam, _, rest = name.partition("[")
    args = rest[:-1].split(",") if rest else []
    try:
        if fam in D8_ELEMENTS[1:] and not args:
            return D8, D8_ELEMENTS.index(fam), 0
        if fam == "mirror":
            return MIRROR, MIRRORS.index(args[0]), 0
        if fam in ("crop_content", "crop_nonzero") and not args:
            return CROP, int(fam == "crop_nonzero"), 0
        simple = {"trim_border": TRIM, "compress_repeats": COMPRESS, "binarise": BINARISE, "motif": MOTIF}
        if fam in simple and not args:
            return simple[fam], 0, 0
        if fam in ("upscale", "tile", "downscale"):
            return {"upscale": UPSCALE, "tile": TILE, "downscale": DOWNSCALE}[fam], int(args[0]), int(args[1])
        if fam in ("keep_colour", "remove_colour", "fill_enclosed", "border", "flood"):
            kinds = {"keep_colour": KEEP_COLOUR, "remove_colour": REMOVE_COLOUR, "fill_enclosed": FILL_ENCLOSED,
                     "border": BORDER, "flood": FLOOD}
            return kinds[fam], int(args[0]), 0
        if fam in ("gravity", "shift"):
            return (GRAVITY if fam == "gravity" else SHIFT), DIRECTIONS.index(args[0]), 0
        if fam == "pad":
            return PAD, PADS.index(args[0]), 0
        if fam == "part":
            return PART, SPLITS.index(args[0]), PICKS.index(args[1])
        if fam == "combine":
            return COMBINE, SPLITS.index(args[0]), HOWS.index(args[1])
        if fam in ("overlay", "overlay_rev"):
            return OVERLAY, SPLITS.index(args[0]), int(fam == "overlay_rev")
        objs = {"crop_object": OBJ_CROP, "object": OBJ_ALONE, "keep_object": KEEP_OBJECT,
                "remove_object": REMOVE_OBJECT}
        if fam in objs and len(args) == 2:
            return objs[fam], MODES.index(args[0]), SELECTORS.index(args[1])
        if fam == "remove_noise" and len(args) == 1:
            return REMOVE_NOISE, MODES.index(args[0]), 0
        if fam == "keep_solid" and not args:
            return KEEP_SOLID, 0, 0
        if fam == "fill_boxes" and len(args) == 1:
            return FILL_BOXES, 0, int(args[0])  # c8 objects, as the catalogue op reads them
        if fam == "object_gravity" and len(args) == 1:
            return OBJECT_GRAVITY, 1, FALLS.index(args[0])  # m8 objects, as the catalogue op reads them
        if fam == "each_object" and len(args) == 2:
            return EACH_OBJECT, MODES.index(args[0]), TURNS.index(args[1])
        if fam == "move_to_touch" and len(args) == 2:
            return MOVE_TO_TOUCH, MODES.index(args[0]), SELECTORS.index(args[1])
        if fam == "map" and name.count("[") <= 2 and "|" not in name:  # not the list pipeline's map[..|join]
            mode, _, step = rest[:-1].partition(",")
            return MAP, MODES.index(mode), MAP_STEPS.index(step)
        if fam == "filter" and len(args) == 3 and "|" not in args[2]:  # not the list pipeline's filter[..|join]
            return FILTER, MODES.index(args[0]), 4 * PROPERTIES.index(args[1]) + KEEPS.index(args[2])
        if fam in KD.FAMILIES:
            return KD.kernel_for(fam, args)
    except (ValueError, IndexError):  # a parameter no kernel takes (a 'nand', m4)
        return None
    return None


@numba.njit(cache=True)
def _d8(a, src, dst):
    h, w = src.shape
    for i in range(h):
        for j in range(w):
            v = src[i, j]
            if a == 1:    # rot90 (counter-clockwise): out[w-1-j, i]
                dst[w - 1 - j, i] = v
            elif a == 2:  # rot180
                dst[h - 1 - i, w - 1 - j] = v
            elif a == 3:  # rot270
                dst[j, h - 1 - i] = v
            elif a == 4:  # flip_lr
                dst[i, w - 1 - j] = v
            elif a == 5:  # flip_ud
                dst[h - 1 - i, j] = v
            elif a == 6:  # transpose
                dst[j, i] = v
            else:         # antitranspose
                dst[w - 1 - j, h - 1 - i] = v
    if a == 2 or a == 4 or a == 5:
        return h, w
    return w, h


@numba.njit(cache=True)
def _mirror(a, src, dst):
    h, w = src.shape
    if a <= 1 and 2 * w > MAX_SIDE or (a == 2 or a == 3) and 2 * h > MAX_SIDE \
            or a == 4 and (2 * w > MAX_SIDE or 2 * h > MAX_SIDE):
        return -1, -1
    for i in range(h):
        for j in range(w):
            v = src[i, j]
            if a == 0:
                dst[i, j] = v
                dst[i, 2 * w - 1 - j] = v
            elif a == 1:
                dst[i, w - 1 - j] = v
                dst[i, w + j] = v
            elif a == 2:
                dst[i, j] = v
                dst[2 * h - 1 - i, j] = v
            elif a == 3:
                dst[h - 1 - i, j] = v
                dst[h + i, j] = v
            else:
                dst[i, j] = v
                dst[i, 2 * w - 1 - j] = v
                dst[2 * h - 1 - i, j] = v
                dst[2 * h - 1 - i, 2 * w - 1 - j] = v
    if a <= 1:
        return h, 2 * w
    if a <= 3:
        return 2 * h, w
    return 2 * h, 2 * w


@numba.njit(cache=True)
def _copy_box(src, r0, c0, r1, c1, dst):
    for i in range(r0, r1):
        for j in range(c0, c1):
            dst[i - r0, j - c0] = src[i, j]
    return r1 - r0, c1 - c0


@numba.njit(cache=True)
def _crop(bg, src, dst):
    h, w = src.shape
    r0, c0, r1, c1 = h, w, -1, -1
    for i in range(h):
        for j in range(w):
            if src[i, j] != bg:
                r0, r1 = min(r0, i), max(r1, i)
                c0, c1 = min(c0, j), max(c1, j)
    if r1 < 0:
        return -1, -1
    return _copy_box(src, r0, c0, r1 + 1, c1 + 1, dst)


@numba.njit(cache=True)
def _compress(src, dst):
    h, w = src.shape
    rows = np.empty(h, np.int64)
    nr = 0
    for i in range(h):
        keep = i == 0
        if not keep:
            for j in range(w):
                if src[i, j] != src[i - 1, j]:
                    keep = True
                    break
        if keep:
            rows[nr] = i
            nr += 1
    cols = np.empty(w, np.int64)
    nc = 0
    for j in range(w):
        keep = j == 0
        if not keep:
            for k in range(nr):
                if src[rows[k], j] != src[rows[k], j - 1]:
                    keep = True
                    break
        if keep:
            cols[nc] = j
            nc += 1
    for k in range(nr):
        for m in range(nc):
            dst[k, m] = src[rows[k], cols[m]]
    return nr, nc


@numba.njit(cache=True)
def _scale(kind, a, b, src, dst):
    h, w = src.shape
    if kind == DOWNSCALE:
        if h % a or w % b or (a == 1 and b == 1):
            return -1, -1
        for i in range(h):
            for j in range(w):
                if src[i, j] != src[i - i % a, j - j % b]:
                    return -1, -1
        for i in range(h // a):
            for j in range(w // b):
                dst[i, j] = src[i * a, j * b]
        return h // a, w // b
    if h * a > MAX_SIDE or w * b > MAX_SIDE:
        return -1, -1
    for i in range(h * a):
        for j in range(w * b):
            dst[i, j] = src[i // a, j // b] if kind == UPSCALE else src[i % h, j % w]
    return h * a, w * b


@numba.njit(cache=True)
def _recolour(kind, c, bg, src, dst):
    h, w = src.shape
    n = 0
    for i in range(h):
        for j in range(w):
            n += src[i, j] == c
    if kind == KEEP_COLOUR and (n == 0 or n == h * w):
        return -1, -1
    for i in range(h):
        for j in range(w):
            v = src[i, j]
            if kind == KEEP_COLOUR:
                dst[i, j] = v if v == c else bg
            elif kind == REMOVE_COLOUR:
                dst[i, j] = bg if v == c else v
            else:  # binarise
                dst[i, j] = 1 if v != bg else 0
    return h, w


@numba.njit(cache=True)
def _gravity(d, bg, src, dst):
    """Foreground cells fall to side d (0 down, 1 up, 2 left, 3 right) of their line, keeping their order."""
    h, w = src.shape
    for i in range(h):
        for j in range(w):
            dst[i, j] = bg
    if d <= 1:
        for j in range(w):
            k = h - 1 if d == 0 else 0
            for t in range(h):
                i = h - 1 - t if d == 0 else t
                if src[i, j] != bg:
                    dst[k, j] = src[i, j]
                    k += -1 if d == 0 else 1
    else:
        for i in range(h):
            k = 0 if d == 2 else w - 1
            for t in range(w):
                j = t if d == 2 else w - 1 - t
                if src[i, j] != bg:
                    dst[i, k] = src[i, j]
                    k += 1 if d == 2 else -1
    return h, w


@numba.njit(cache=True)
def _shift(d, bg, src, dst):
    h, w = src.shape
    dy = 1 if d == 0 else (-1 if d == 1 else 0)
    dx = -1 if d == 2 else (1 if d == 3 else 0)
    for i in range(h):
        for j in range(w):
            y, x = i - dy, j - dx
            dst[i, j] = src[y, x] if 0 <= y < h and 0 <= x < w else bg
    return h, w


@numba.njit(cache=True)
def _reach(src, h, w, bg, seed, from_border, reach):
    """Background cells 4-connected through background to the border (from_border) or to a cell of seed."""
    stack = np.empty(h * w, np.int64)
    top = 0
    for i in range(h):
        for j in range(w):
            reach[i, j] = False
    for i in range(h):
        for j in range(w):
            if from_border:
                start = (i == 0 or j == 0 or i == h - 1 or j == w - 1) and src[i, j] == bg
                if start:
                    reach[i, j] = True
            else:
                start = src[i, j] == seed
            if start:
                stack[top] = i * w + j
                top += 1
    while top > 0:
        top -= 1
        y, x = stack[top] // w, stack[top] % w
        for k in range(4):
            yy = y + (1 if k == 0 else (-1 if k == 1 else 0))
            xx = x + (1 if k == 2 else (-1 if k == 3 else 0))
            if 0 <= yy < h and 0 <= xx < w and src[yy, xx] == bg and not reach[yy, xx]:
                reach[yy, xx] = True
                stack[top] = yy * w + xx
                top += 1


@numba.njit(cache=True)
def _fill(kind, c, bg, src, dst):
    h, w = src.shape
    if kind == FLOOD:
        if c == bg:
            return -1, -1
        found = False
        for i in range(h):
            for j in range(w):
                found = found or src[i, j] == c
        if not found:
            return -1, -1
    reach = np.empty((h, w), np.bool_)
    _reach(src, h, w, bg, c, kind == FILL_ENCLOSED, reach)
    for i in range(h):
        for j in range(w):
            v = src[i, j]
            if kind == FILL_ENCLOSED:
                dst[i, j] = c if v == bg and not reach[i, j] else v
            else:
                dst[i, j] = c if reach[i, j] else v
    return h, w


@numba.njit(cache=True)
def _frame(kind, a, bg, src, dst):
    h, w = src.shape
    if kind == BORDER:
        for i in range(h):
            for j in range(w):
                dst[i, j] = a if i == 0 or j == 0 or i == h - 1 or j == w - 1 else src[i, j]
        return h, w
    if kind == TRIM:
        if h < 3 or w < 3:
            return -1, -1
        return _copy_box(src, 1, 1, h - 1, w - 1, dst)
    # PAD: one more cell on every side, background (a=0) or the edge rows/columns with background corners
    if h + 2 > MAX_SIDE or w + 2 > MAX_SIDE:
        return -1, -1
    for i in range(h + 2):
        for j in range(w + 2):
            y, x = i - 1, j - 1
            inside_y, inside_x = 0 <= y < h, 0 <= x < w
            if inside_y and inside_x:
                dst[i, j] = src[y, x]
            elif a == 1 and (inside_y or inside_x):
                dst[i, j] = src[min(max(y, 0), h - 1), min(max(x, 0), w - 1)]
            else:
                dst[i, j] = bg
    return h + 2, w + 2


@numba.njit(cache=True)
def _motif(src, dst):
    h, w = src.shape
    py = h
    for p in range(1, h):
        ok = True
        for i in range(h - p):
            for j in range(w):
                if src[i + p, j] != src[i, j]:
                    ok = False
                    break
            if not ok:
                break
        if ok:
            py = p
            break
    px = w
    for p in range(1, w):
        ok = True
        for j in range(w - p):
            for i in range(h):
                if src[i, j + p] != src[i, j]:
                    ok = False
                    break
            if not ok:
                break
        if ok:
            px = p
            break
    if py == h and px == w:
        return -1, -1
    return _copy_box(src, 0, 0, py, px, dst)


@numba.njit(cache=True)
def _split(s, h, w):
    """split_equal's layout for SPLITS[s]: (parts down, parts across, part height, width, gap) or ny=0."""
    ny = 2 if s == 1 or s == 4 else (3 if s == 3 else 1)
    nx = 2 if s == 0 or s == 4 else (3 if s == 2 else 1)
    for gap in range(2):
        if (h - gap * (ny - 1)) % ny == 0 and (w - gap * (nx - 1)) % nx == 0:
            ph, pw = (h - gap * (ny - 1)) // ny, (w - gap * (nx - 1)) // nx
            if ph >= 1 and pw >= 1:
                return ny, nx, ph, pw, gap
    return 0, 0, 0, 0, 0


@numba.njit(cache=True)
def _spans(cut):
    """lattices._parts_between: the (start, end) of each run of lines between the cut ones."""
    n = cut.shape[0]
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    m, start = 0, 0
    for c in range(n + 1):
        if c == n or cut[c]:
            if c > start:
                starts[m], ends[m] = start, c
                m += 1
            start = c + 1
    return starts[:m], ends[:m]


@numba.njit(cache=True)
def _separated(src):
    """lattices.separator_lines and split_by_separators: the rows and columns one colour across the grid,
    the lowest colour whose lines split it into two parts or more (and do not fill it); the parts' boxes,
    row by row, as (tops, lefts, heights, widths), empty without such lines."""
    h, w = src.shape
    full_row = np.ones(h, np.bool_)
    full_col = np.ones(w, np.bool_)
    for i in range(h):
        for j in range(w):
            if src[i, j] != src[i, 0]:
                full_row[i] = False
            if src[i, j] != src[0, j]:
                full_col[j] = False
    for colour in range(10):
        rows = full_row & (src[:, 0] == colour)
        cols = full_col & (src[0, :] == colour)
        nr, nc = rows.sum(), cols.sum()
        if nr + nc == 0 or nr == h or nc == w:
            continue
        rs, re = _spans(rows)
        cs, ce = _spans(cols)
        n = rs.shape[0] * cs.shape[0]
        if n >= 2:
            tops, lefts = np.empty(n, np.int64), np.empty(n, np.int64)
            hs, ws = np.empty(n, np.int64), np.empty(n, np.int64)
            for a in range(rs.shape[0]):
                for b in range(cs.shape[0]):
                    k = a * cs.shape[0] + b
                    tops[k], lefts[k], hs[k], ws[k] = rs[a], cs[b], re[a] - rs[a], ce[b] - cs[b]
            return tops, lefts, hs, ws
    empty = np.empty(0, np.int64)
    return empty, empty.copy(), empty.copy(), empty.copy()


@numba.njit(cache=True)
def _layout(s, src):
    """The parts of SPLITS[s] as (tops, lefts, heights, widths), row by row; empty where it does not split."""
    if s == SEP:
        return _separated(src)
    h, w = src.shape
    ny, nx, ph, pw, gap = _split(s, h, w)
    n = ny * nx
    tops, lefts = np.empty(n, np.int64), np.empty(n, np.int64)
    for k in range(n):
        tops[k] = (k // nx) * (ph + gap)
        lefts[k] = (k % nx) * (pw + gap)
    return tops, lefts, np.full(n, ph, np.int64), np.full(n, pw, np.int64)


@numba.njit(cache=True)
def _parts(kind, s, b, bg, src, dst):
    r0, c0, hs, ws = _layout(s, src)
    n = r0.shape[0]
    if n < 2:
        return -1, -1
    ph, pw = hs[0], ws[0]
    same_shape = True
    for k in range(n):
        same_shape = same_shape and hs[k] == ph and ws[k] == pw
    if kind == COMBINE:  # lattices.combine_masks: parts of one shape
        if not same_shape:
            return -1, -1
        for i in range(ph):
            for j in range(pw):
                cnt = 0
                for k in range(n):
                    cnt += src[r0[k] + i, c0[k] + j] != bg
                if b == 0:
                    v = cnt == n
                elif b == 1:
                    v = cnt > 0
                elif b == 2:
                    v = cnt % 2 == 1
                elif b == 3:
                    v = cnt == 0
                else:
                    v = cnt == 1
                dst[i, j] = 1 if v else 0
        return ph, pw
    if kind == OVERLAY:  # lattices.overlay: the first part's foreground wins (the last's when b)
        if not same_shape:
            return -1, -1
        for i in range(ph):
            for j in range(pw):
                v = bg
                for t in range(n):
                    k = n - 1 - t if b == 1 else t
                    c = src[r0[k] + i, c0[k] + j]
                    if c != bg:
                        v = c
                        break
                dst[i, j] = v
        return ph, pw
    # PART: lattices.pick_part
    pick = -1
    if b == 0:
        pick = 0
    elif b == 1:
        pick = n - 1
    elif b == 6:  # the one part unlike all others (more than two parts)
        if n <= 2:
            return -1, -1
        lone = 0
        for k in range(n):
            alone = True
            for m in range(n):
                if m == k or hs[m] != hs[k] or ws[m] != ws[k]:
                    continue
                same = True
                for i in range(hs[k]):
                    for j in range(ws[k]):
                        if src[r0[k] + i, c0[k] + j] != src[r0[m] + i, c0[m] + j]:
                            same = False
                            break
                    if not same:
                        break
                if same:
                    alone = False
                    break
            if alone:
                lone += 1
                pick = k
        if lone != 1:
            return -1, -1
    else:
        vals = np.zeros(n, np.int64)
        for k in range(n):
            seen = np.zeros(10, np.bool_)
            for i in range(hs[k]):
                for j in range(ws[k]):
                    c = src[r0[k] + i, c0[k] + j]
                    if c != bg:
                        vals[k] += 1 if b <= 3 else 0
                        seen[c] = True
            if b >= 4:
                vals[k] = seen.sum()
        best = vals.max() if b == 2 or b == 4 else vals.min()
        hits = 0
        for k in range(n):
            if vals[k] == best:
                hits += 1
                if pick < 0:
                    pick = k
        if hits != 1:
            return -1, -1
    return _copy_box(src, r0[pick], c0[pick], r0[pick] + hs[pick], c0[pick] + ws[pick], dst)


@numba.njit(cache=True)
def apply(kind, a, b, src, dst):
    """Op (kind, a, b) on src into dst's corner: its (height, width), or (-1, -1) where undefined."""
    if kind >= KD.FIRST:
        return KD.apply(kind, a, b, src, dst)
    if kind == D8:
        return _d8(a, src, dst)
    if kind == MIRROR:
        return _mirror(a, src, dst)
    if kind == COMPRESS:
        return _compress(src, dst)
    if kind == UPSCALE or kind == TILE or kind == DOWNSCALE:
        return _scale(kind, a, b, src, dst)
    if kind == MOTIF:
        return _motif(src, dst)
    bg = _background(src)
    if kind == CROP:
        return _crop(0 if a == 1 else bg, src, dst)
    if kind == KEEP_COLOUR or kind == REMOVE_COLOUR or kind == BINARISE:
        return _recolour(kind, a, bg, src, dst)
    if kind == GRAVITY:
        return _gravity(a, bg, src, dst)
    if kind == SHIFT:
        return _shift(a, bg, src, dst)
    if kind == FILL_ENCLOSED or kind == FLOOD:
        return _fill(kind, a, bg, src, dst)
    if kind == BORDER or kind == TRIM or kind == PAD:
        return _frame(kind, a, bg, src, dst)
    if kind == PART or kind == COMBINE or kind == OVERLAY:
        return _parts(kind, a, b, bg, src, dst)
    if OBJ_CROP <= kind <= MAP:
        return objects_op(kind, a, b, bg, src, dst)
    return -1, -1


def run(kernel: tuple[int, int, int], g: np.ndarray) -> np.ndarray | None:
    """One kernel on one grid, as a new grid (None where undefined): for tests and for replaying programs."""
    dst = np.zeros((MAX_SIDE, MAX_SIDE), np.uint8)
    h, w = apply(kernel[0], kernel[1], kernel[2], np.ascontiguousarray(g, dtype=np.uint8), dst)
    return None if h < 0 else dst[:h, :w].copy()
