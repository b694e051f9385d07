"""Connected-component objects: labelling (numba), per-object properties, and selection by a property.

An object is a connected set of non-background cells: 4- or 8-connected, of one colour or of any colours.
`objects(g, mode)` returns them with their properties computed once; selectors pick the one object that is
uniquely extreme (largest, topmost, the only one of its colour, ...) and return None when no object is,
because a tie means the rule does not say which object to take.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from .grids import Grid, background, bbox, d8, outside_mask

# (diagonal, multicolour): the four ways of cutting a grid into objects.
MODES = {"c4": (False, False), "c8": (True, False), "m4": (False, True), "m8": (True, True)}


@numba.njit(cache=True)
def _label(g, bg, diagonal, multicolour):
    """Component label per cell (-1 for background), and the number of components."""
    h, w = g.shape
    lab = np.full((h, w), -1, np.int32)
    stack = np.empty(h * w, np.int32)
    n = 0
    for i in range(h):
        for j in range(w):
            if lab[i, j] >= 0 or g[i, j] == bg:
                continue
            colour = g[i, j]
            lab[i, j] = n
            top = 0
            stack[top] = i * w + j
            top += 1
            while top > 0:
                top -= 1
                y = stack[top] // w
                x = stack[top] % w
                for dy in range(-1, 2):
                    for dx in range(-1, 2):
                        if dy == 0 and dx == 0:
                            continue
                        if not diagonal and dy != 0 and dx != 0:
                            continue
                        yy = y + dy
                        xx = x + dx
                        if yy < 0 or yy >= h or xx < 0 or xx >= w or lab[yy, xx] >= 0:
                            continue
                        v = g[yy, xx]
                        if v == bg or (not multicolour and v != colour):
                            continue
                        lab[yy, xx] = n
                        stack[top] = yy * w + xx
                        top += 1
            n += 1
    return lab, n


@dataclass(frozen=True)
class Obj:
    """One object: its cells as a mask over its bounding box, and the properties selectors compare."""
    top: int
    left: int
    mask: np.ndarray    # bool, bbox-sized
    cells: np.ndarray   # uint8, bbox-sized: the object's colours, background elsewhere in the box
    size: int
    colour: int         # most common colour of the object
    n_colours: int
    touches_border: bool

    @property
    def height(self) -> int:
        return self.mask.shape[0]

    @property
    def width(self) -> int:
        return self.mask.shape[1]

    @property
    def shape_key(self) -> bytes:
        return self.mask.tobytes() + bytes(self.mask.shape)


def label(g: Grid, mode: str, bg: int) -> tuple[np.ndarray, int]:
    diagonal, multicolour = MODES[mode]
    return _label(np.ascontiguousarray(g), np.int64(bg), diagonal, multicolour)


@numba.njit(cache=True)
def _stats(g, lab, n):
    """Per component: bounding box (top, left, bottom, right; exclusive ends) and cell count per colour."""
    box = np.empty((n, 4), np.int64)
    box[:, 0] = box[:, 1] = 1 << 30
    box[:, 2] = box[:, 3] = -1
    counts = np.zeros((n, 10), np.int64)
    h, w = g.shape
    for i in range(h):
        for j in range(w):
            k = lab[i, j]
            if k < 0:
                continue
            box[k, 0] = min(box[k, 0], i)
            box[k, 1] = min(box[k, 1], j)
            box[k, 2] = max(box[k, 2], i + 1)
            box[k, 3] = max(box[k, 3], j + 1)
            counts[k, g[i, j]] += 1
    return box, counts


@lru_cache(maxsize=4096)
def _objects_cached(data: bytes, h: int, w: int, mode: str, bg: int) -> tuple[Obj, ...]:
    # Keyed by the grid's bytes: the search asks for the objects of the same grid many times over.
    g = np.frombuffer(data, np.uint8).reshape(h, w)
    lab, n = label(g, mode, bg)
    if n == 0:
        return ()
    box, counts = _stats(g, lab, n)
    # Every object's numbers read off in one numpy call each (per object they were most of this function's
    # time on grids of many small objects, which the search segments on every new grid).
    sizes = counts.sum(axis=1).tolist()
    colours = counts.argmax(axis=1).tolist()
    n_colours = (counts > 0).sum(axis=1).tolist()
    bg8 = np.uint8(bg)
    out = []
    for k, (r0, c0, r1, c1) in enumerate(box.tolist()):
        mask = lab[r0:r1, c0:c1] == k
        cells = np.where(mask, g[r0:r1, c0:c1], bg8)
        out.append(Obj(r0, c0, mask, cells, sizes[k], colours[k], n_colours[k],
                       r0 == 0 or c0 == 0 or r1 == h or c1 == w))
    return tuple(out)


def objects(g: Grid, mode: str, bg: int | None = None) -> tuple[Obj, ...]:
    """All objects of `g`, in reading order of their first cell; bg defaults to the most common colour."""
    if bg is None:
        bg = background(g)
    return _objects_cached(g.tobytes(), g.shape[0], g.shape[1], mode, bg)


# ------------------------------------------------------------------------------------------- selection

def _unique_extreme(values: list, pick_max: bool) -> int | None:
    best = max(values) if pick_max else min(values)
    hits = [i for i, v in enumerate(values) if v == best]
    return hits[0] if len(hits) == 1 else None


def _unique_value(values: list) -> int | None:
    """The index of the one object whose value no other object shares."""
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    hits = [i for i, v in enumerate(values) if counts[v] == 1]
    return hits[0] if len(hits) == 1 else None


def _odd_one(flags: list[bool]) -> int | None:
    """The one object with the property, or failing that the one without it."""
    for want in (True, False):
        hits = [i for i, f in enumerate(flags) if f == want]
        if len(hits) == 1:
            return hits[0]
    return None


def _has_hole(o: "Obj") -> bool:
    """Whether the object encloses a cell that is not its own."""
    inside = ~o.mask
    inside[0, :] = inside[-1, :] = inside[:, 0] = inside[:, -1] = False
    if not inside.any():
        return False
    return bool((~o.mask & ~outside_mask(~o.mask)).any())


# name -> function(objects) -> index or None. Each is a generic property; none refers to a task.
SELECTORS = {
    "largest": lambda obs: _unique_extreme([o.size for o in obs], True),
    "smallest": lambda obs: _unique_extreme([o.size for o in obs], False),
    "largest_box": lambda obs: _unique_extreme([o.height * o.width for o in obs], True),
    "smallest_box": lambda obs: _unique_extreme([o.height * o.width for o in obs], False),
    "most_colours": lambda obs: _unique_extreme([o.n_colours for o in obs], True),
    "densest": lambda obs: _unique_extreme([o.size / (o.height * o.width) for o in obs], True),
    "sparsest": lambda obs: _unique_extreme([o.size / (o.height * o.width) for o in obs], False),
    "topmost": lambda obs: _unique_extreme([o.top for o in obs], False),
    "bottommost": lambda obs: _unique_extreme([o.top + o.height for o in obs], True),
    "leftmost": lambda obs: _unique_extreme([o.left for o in obs], False),
    "rightmost": lambda obs: _unique_extreme([o.left + o.width for o in obs], True),
    "unique_colour": lambda obs: _unique_value([o.colour for o in obs]),
    "unique_shape": lambda obs: _unique_value([o.shape_key for o in obs]),
    "unique_pattern": lambda obs: _unique_value([o.cells.tobytes() + bytes(o.mask.shape) for o in obs]),
    "unique_size": lambda obs: _unique_value([o.size for o in obs]),
    "inner": lambda obs: _odd_one([not o.touches_border for o in obs]),
    "holed": lambda obs: _odd_one([_has_hole(o) for o in obs]),
    # The one object that is (or is not) mirror-symmetric left-right, or both ways, unlike the others.
    "symmetric_lr": lambda obs: _odd_one([bool((o.cells == o.cells[:, ::-1]).all()) for o in obs]),
    "symmetric_both": lambda obs: _odd_one([bool((o.cells == o.cells[:, ::-1]).all()
                                                 and (o.cells == o.cells[::-1]).all()) for o in obs]),
}


def select(obs: tuple[Obj, ...], selector: str) -> Obj | None:
    if not obs:
        return None
    if len(obs) == 1:
        return obs[0]
    i = SELECTORS[selector](obs)
    return None if i is None else obs[i]


def crop_object(g: Grid, mode: str, selector: str, alone: bool) -> Grid | None:
    """The selected object's bounding box: with everything inside the box, or the object alone on the
    background (`alone`)."""
    return crop_chosen(g, select(objects(g, mode, background(g)), selector), alone)


def crop_chosen(g: Grid, obj: Obj | None, alone: bool) -> Grid | None:
    """crop_object once the object is chosen (batches.py shares the choice across ops)."""
    if obj is None:
        return None
    if alone:
        return obj.cells.copy()
    return g[obj.top:obj.top + obj.height, obj.left:obj.left + obj.width].copy()


def keep_object(g: Grid, mode: str, selector: str, keep: bool = True) -> Grid | None:
    """The grid with only the selected object left on the background, or (keep=False) with the selected
    object erased; None unless there are at least two objects to choose from."""
    bg = background(g)
    obs = objects(g, mode, bg)
    return keep_chosen(g, bg, len(obs), select(obs, selector), keep)


def keep_chosen(g: Grid, bg: int, n_objects: int, obj: Obj | None, keep: bool) -> Grid | None:
    """keep_object once the objects are found and one chosen (batches.py shares both across ops)."""
    if obj is None or n_objects < 2:
        return None
    out = np.full_like(g, bg) if keep else g.copy()
    region = out[obj.top:obj.top + obj.height, obj.left:obj.left + obj.width]
    region[obj.mask] = obj.cells[obj.mask] if keep else bg
    return out


def remove_small(g: Grid, mode: str, max_size: int) -> Grid | None:
    """Erase objects of at most `max_size` cells (noise)."""
    bg = background(g)
    return remove_small_of(g, bg, objects(g, mode, bg), max_size)


def remove_small_of(g: Grid, bg: int, obs: tuple[Obj, ...], max_size: int) -> Grid | None:
    """remove_small once the objects are found."""
    out = g.copy()
    for o in obs:
        if o.size <= max_size:
            region = out[o.top:o.top + o.height, o.left:o.left + o.width]
            region[o.mask] = bg
    return out


def fill_object_boxes(g: Grid, mode: str, colour: int) -> Grid | None:
    """Paint the background cells inside each object's bounding box (holes and concavities)."""
    bg = background(g)
    out = g.copy()
    for o in objects(g, mode, bg):
        region = out[o.top:o.top + o.height, o.left:o.left + o.width]
        region[region == bg] = colour
    return out


def outline_objects(g: Grid, mode: str, colour: int, diagonal: bool) -> Grid | None:
    """Paint the background cells next to an object (a halo), 4- or 8-neighbourhood."""
    bg = background(g)
    fg = g != bg
    if not fg.any():
        return None
    near = fg.copy()
    near[1:] |= fg[:-1]
    near[:-1] |= fg[1:]
    if diagonal:  # grow the vertical smear sideways: the full 3x3 neighbourhood
        near[:, 1:] |= near[:, :-1].copy()
        near[:, :-1] |= near[:, 1:].copy()
    else:
        near[:, 1:] |= fg[:, :-1]
        near[:, :-1] |= fg[:, 1:]
    halo = near & ~fg
    out = g.copy()
    out[halo] = colour
    return out


def interior(g: Grid, colour: int) -> Grid | None:
    """Paint foreground cells whose four neighbours are all foreground (the inside of solid shapes)."""
    bg = background(g)
    fg = g != bg
    p = np.pad(fg, 1)
    inner = fg & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    out = g.copy()
    out[inner] = colour
    return out


def _shifted_cells(o: Obj, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(o.mask)
    return ys + o.top + dy, xs + o.left + dx


def move_until_touch(g: Grid, mode: str, mover: str) -> Grid | None:
    """Slide the selected object straight towards the other objects until it touches them (4-adjacent);
    the others stay. The direction is the side the others lie on, which must be unambiguous."""
    bg = background(g)
    obs = objects(g, mode, bg)
    obj = select(obs, mover)
    if obj is None or len(obs) < 2:
        return None
    h, w = g.shape
    rest = np.zeros(g.shape, bool)
    for o in obs:
        if o is not obj:
            rest[o.top:o.top + o.height, o.left:o.left + o.width] |= o.mask
    box = bbox(rest)
    r0, c0, r1, c1 = box
    steps = []
    if r0 >= obj.top + obj.height:
        steps.append((1, 0))
    if r1 <= obj.top:
        steps.append((-1, 0))
    if c0 >= obj.left + obj.width:
        steps.append((0, 1))
    if c1 <= obj.left:
        steps.append((0, -1))
    if len(steps) != 1:
        return None
    dy, dx = steps[0]
    padded = np.pad(rest, 1)
    near = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    k = 0
    while True:
        ys, xs = _shifted_cells(obj, k * dy, k * dx)
        if ys.min() < 0 or xs.min() < 0 or ys.max() >= h or xs.max() >= w or rest[ys, xs].any():
            return None  # slid past the others without touching them
        if near[ys, xs].any():
            break
        k += 1
    if k == 0:
        return None
    out = g.copy()
    ys, xs = _shifted_cells(obj, 0, 0)
    out[ys, xs] = bg
    ys2, xs2 = _shifted_cells(obj, k * dy, k * dx)
    out[ys2, xs2] = obj.cells[obj.mask]
    return out


@numba.njit(cache=True)
def _fall(g, lab, order, dy, dx, bg):
    """Move the labelled objects one by one, in `order`, by (dy, dx) steps until the next step would leave
    the grid or hit a cell already taken."""
    h, w = g.shape
    n = order.shape[0]
    # Cells of each object, grouped by label (a counting sort).
    start = np.zeros(n + 1, np.int64)
    for i in range(h):
        for j in range(w):
            if lab[i, j] >= 0:
                start[lab[i, j] + 1] += 1
    for k in range(n):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    cells = np.empty(start[n], np.int64)
    for i in range(h):
        for j in range(w):
            k = lab[i, j]
            if k >= 0:
                cells[fill[k]] = i * w + j
                fill[k] += 1
    out = np.full((h, w), bg, np.uint8)
    taken = np.zeros((h, w), np.bool_)
    for k in order:
        shift = 0
        while True:
            ok = True
            for c in range(start[k], start[k + 1]):
                y = cells[c] // w + (shift + 1) * dy
                x = cells[c] % w + (shift + 1) * dx
                if y < 0 or y >= h or x < 0 or x >= w or taken[y, x]:
                    ok = False
                    break
            if not ok:
                break
            shift += 1
        for c in range(start[k], start[k + 1]):
            y0, x0 = cells[c] // w, cells[c] % w
            y, x = y0 + shift * dy, x0 + shift * dx
            out[y, x] = g[y0, x0]
            taken[y, x] = True
    return out


def object_gravity(g: Grid, mode: str, direction: str) -> Grid | None:
    """Every object falls as a rigid body towards `direction` until it meets the border or a fallen object,
    nearest the wall first."""
    dy, dx = {"down": (1, 0), "up": (-1, 0), "right": (0, 1), "left": (0, -1)}[direction]
    bg = background(g)
    obs = objects(g, mode, bg)
    if not obs:
        return None
    key = {"down": lambda o: -(o.top + o.height), "up": lambda o: o.top,
           "right": lambda o: -(o.left + o.width), "left": lambda o: o.left}[direction]
    order = np.array(sorted(range(len(obs)), key=lambda k: key(obs[k])), dtype=np.int64)
    lab, _ = label(g, mode, bg)
    return _fall(np.ascontiguousarray(g), lab, order, dy, dx, np.uint8(bg))


def attract_all(g: Grid, mode: str, pile: bool = False) -> Grid | None:
    """Every object except the largest slides straight towards the largest until it touches it; an object
    level with the largest on neither axis stays. With `pile`, the objects nearest the largest land first
    and the later ones stop on them (a heap of debris against a wall) instead of passing through."""
    bg = background(g)
    obs = objects(g, mode, bg)
    anchor = select(obs, "largest")
    if anchor is None or len(obs) < 2:
        return None
    h, w = g.shape
    solid = np.zeros(g.shape, bool)
    solid[anchor.top:anchor.top + anchor.height, anchor.left:anchor.left + anchor.width] |= anchor.mask
    out = np.full_like(g, bg)
    out[solid] = g[solid]
    padded = np.pad(solid, 1)
    near = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    a0, a1, b0, b1 = anchor.top, anchor.top + anchor.height, anchor.left, anchor.left + anchor.width

    def gap(o: Obj) -> int:  # cells between the object and the anchor's box along its way
        return max(a0 - o.top - o.height, o.top - a1, b0 - o.left - o.width, o.left - b1, 0)

    others = [o for o in obs if o is not anchor]
    if pile:
        others.sort(key=gap)  # stable: ties keep reading order
    for o in others:
        dy = 1 if o.top + o.height <= a0 else -1 if o.top >= a1 else 0
        dx = 1 if o.left + o.width <= b0 else -1 if o.left >= b1 else 0
        k = 0
        if (dy == 0) != (dx == 0):  # straight towards the anchor, along one axis only
            while True:
                ys, xs = _shifted_cells(o, k * dy, k * dx)
                if near[ys, xs].any():
                    break
                ys2, xs2 = _shifted_cells(o, (k + 1) * dy, (k + 1) * dx)
                if ys2.min() < 0 or xs2.min() < 0 or ys2.max() >= h or xs2.max() >= w or solid[ys2, xs2].any():
                    break
                k += 1
        ys, xs = _shifted_cells(o, k * dy, k * dx)
        out[ys, xs] = o.cells[o.mask]
        if pile:
            solid[ys, xs] = True
    return out


def each_object(g: Grid, mode: str, transform: str) -> Grid | None:
    """Apply a D8 transform to every object inside its own bounding box (the box must keep its shape)."""
    bg = background(g)
    obs = objects(g, mode, bg)
    if not obs:
        return None
    out = g.copy()
    for o in obs:
        if transform in ("rot90", "rot270", "transpose", "antitranspose") and o.height != o.width:
            return None
        region = out[o.top:o.top + o.height, o.left:o.left + o.width]
        region[o.mask] = bg
        moved_mask = d8(o.mask, transform)
        region[moved_mask] = d8(o.cells, transform)[moved_mask]
    return out


def stamp_markers(g: Grid, align: str) -> Grid | None:
    """Copy the largest multi-cell object onto every single-cell object (a marker): centred on it
    ('centre', odd-sized templates), or so that the template's one cell of the marker's colour lands on it
    ('match'). What falls outside the grid is cut off; the template stays where it was."""
    bg = background(g)
    obs = objects(g, "m8", bg)
    template = select(tuple(o for o in obs if o.size > 1), "largest")
    markers = [o for o in obs if o.size == 1]
    if template is None or not markers:
        return None
    h, w = g.shape
    out = g.copy()
    for m in markers:
        if align == "centre":
            if template.height % 2 == 0 or template.width % 2 == 0:
                return None
            dy, dx = template.height // 2, template.width // 2
        else:
            hits = np.argwhere(template.mask & (template.cells == g[m.top, m.left]))
            if len(hits) != 1:
                return None
            dy, dx = int(hits[0][0]), int(hits[0][1])
        top, left = m.top - dy, m.left - dx
        for (i, j) in np.argwhere(template.mask):
            y, x = top + i, left + j
            if 0 <= y < h and 0 <= x < w:
                out[y, x] = template.cells[i, j]
    return out


def stamp_shapes(g: Grid, mode: str, keep_template: bool) -> Grid | None:
    """Repaint every one-colour object whose cells have the shape of the template (the one multicolour
    object) with the template's colours, in place; the template stays or is removed. For tasks where a
    coloured key shows how to paint the plain copies of its shape. `mode`: m8, or m4 where a copy touches
    the key at a corner."""
    bg = background(g)
    obs = objects(g, mode, bg)
    templates = [o for o in obs if o.n_colours > 1]
    if len(templates) != 1:
        return None
    t = templates[0]
    out = g.copy()
    hits = 0
    for o in obs:
        if o is t or o.n_colours != 1 or o.mask.shape != t.mask.shape or not (o.mask == t.mask).all():
            continue
        region = out[o.top:o.top + o.height, o.left:o.left + o.width]
        region[t.mask] = t.cells[t.mask]
        hits += 1
    if not hits:
        return None
    if not keep_template:
        out[t.top:t.top + t.height, t.left:t.left + t.width][t.mask] = bg
    return out


def recolour_by_nearest(g: Grid, colour: int) -> Grid | None:
    """Repaint each object of `colour` (4-connected: blocks that touch at a corner are two) with the colour
    of the nearest cell of another foreground colour (Manhattan distance from any of its cells): markers
    that take the colour of the closest wall or object. None when a marker is equally near two colours, or
    there is nothing else."""
    bg = background(g)
    others = (g != bg) & (g != colour)
    if not others.any() or not (g == colour).any() or colour == bg:
        return None
    oy, ox = np.nonzero(others)
    ocol = g[oy, ox]
    out = g.copy()
    for o in objects(g, "c4", bg):
        if o.colour != colour:
            continue
        ys, xs = _shifted_cells(o, 0, 0)
        d = (np.abs(ys[:, None] - oy[None, :]) + np.abs(xs[:, None] - ox[None, :])).min(axis=0)
        near = set(ocol[d == d.min()].tolist())
        if len(near) != 1:
            return None
        out[ys, xs] = near.pop()
    return out


def overlay_objects(g: Grid, mode: str) -> Grid | None:
    """Overlay the crops of all objects, which must share one box shape: the cells where some crop
    differs from the crops' common base colour (the most common colour of their cells) take that crop's
    colour. For tasks where several framed cards each show part of one picture. None on shapes that
    differ, fewer than two objects, two crops that disagree on a cell, or a base that is the grid's
    background (then the list join `join[..|overlay]` already lays the crops on top of each other)."""
    bg = background(g)
    obs = objects(g, mode, bg)
    if len(obs) < 2 or any(o.mask.shape != obs[0].mask.shape for o in obs):
        return None
    crops = np.stack([g[o.top:o.top + o.height, o.left:o.left + o.width] for o in obs])
    base = int(np.argmax(np.bincount(crops.ravel(), minlength=10)))
    if base == bg:
        return None
    out = np.full(crops.shape[1:], base, np.uint8)
    for c in crops:
        m = c != base
        if ((out[m] != base) & (out[m] != c[m])).any():
            return None
        out[m] = c[m]
    return out


def ray_from_odd_cell(g: Grid) -> Grid | None:
    """For each multicolour object with exactly one cell of a colour it has once (the odd cell), shoot a ray
    of that colour over the background from the odd cell, away from it through the object: along the axis
    on which the object's centre lies farthest from the odd cell (the odd cell at a shape's base points the
    way its body goes). None when no object has an odd cell or an object points no clear way."""
    bg = background(g)
    h, w = g.shape
    out = g.copy()
    shot = 0
    for o in objects(g, "m8", bg):
        counts = np.bincount(o.cells[o.mask], minlength=10)
        odd = np.flatnonzero(counts == 1)
        if o.n_colours < 2 or len(odd) != 1 or o.size < 3:
            continue
        (y, x), = np.argwhere(o.mask & (o.cells == odd[0]))
        ys, xs = np.nonzero(o.mask)
        oy, ox = ys.mean() - y, xs.mean() - x
        if abs(abs(oy) - abs(ox)) < 1e-9:
            return None
        dy, dx = (int(np.sign(oy)), 0) if abs(oy) > abs(ox) else (0, int(np.sign(ox)))
        y, x = y + o.top + dy, x + o.left + dx
        while 0 <= y < h and 0 <= x < w:
            if out[y, x] == bg:
                out[y, x] = odd[0]
            y, x = y + dy, x + dx
        shot += 1
    return out if shot else None


def _full_lines(g: Grid, bg: int) -> list[tuple[int, int, int]]:
    """(axis, index, colour) of every row (axis 0) and column (axis 1) of one foreground colour."""
    lines = []
    for axis, rows in ((0, g), (1, g.T)):
        for i, r in enumerate(rows):
            if r[0] != bg and (r == r[0]).all():
                lines.append((axis, i, int(r[0])))
    return lines


def attract_to_lines(g: Grid) -> Grid | None:
    """Every loose object (c8) jumps straight to the nearest full row or column of its own colour and stays
    touching it on its own side; an object with no line of its colour vanishes. Lines act as magnets that
    sort the debris by colour. None when the grid has no full line or an object is tied between two lines
    or straddles its line."""
    bg = background(g)
    lines = _full_lines(g, bg)
    if not lines:
        return None
    on_line = np.zeros(g.shape, bool)
    for axis, i, _ in lines:
        if axis == 0:
            on_line[i, :] = True
        else:
            on_line[:, i] = True
    loose = np.where(on_line, bg, g).astype(np.uint8)
    out = np.where(on_line, g, bg).astype(np.uint8)
    for o in objects(loose, "c8", bg):
        colour = int(o.cells[o.mask][0])
        best: list[tuple[int, int, int]] = []  # (distance, dy, dx)
        for axis, i, c in lines:
            if c != colour:
                continue
            lo, hi = (o.top, o.top + o.height - 1) if axis == 0 else (o.left, o.left + o.width - 1)
            if lo <= i <= hi:
                return None
            step = i - 1 - hi if hi < i else i + 1 - lo
            dist = abs(step)
            best.append((dist, step if axis == 0 else 0, step if axis == 1 else 0))
        if not best:
            continue
        best.sort()
        if len(best) > 1 and best[0][0] == best[1][0]:
            return None
        _, dy, dx = best[0]
        ys, xs = _shifted_cells(o, dy, dx)
        out[ys, xs] = o.cells[o.mask]
    return out


def extend_segments(g: Grid, on_top: str) -> Grid | None:
    """Extend every straight one-colour segment of two cells or more (4-connected, one cell thick) along
    its own direction from border to border; where a row and a column cross, the horizontal lines are on
    top ('h') or the vertical ones ('v'). Pixels and other shapes stay. None without a segment."""
    bg = background(g)
    rows, cols = [], []
    for o in objects(g, "c4", bg):
        if o.height == 1 and o.width >= 2:
            rows.append((o.top, o.colour))
        elif o.width == 1 and o.height >= 2:
            cols.append((o.left, o.colour))
    if not rows and not cols:
        return None
    out = g.copy()
    for kind in ("hv" if on_top == "v" else "vh"):
        for k, colour in (rows if kind == "h" else cols):
            if kind == "h":
                out[k, :] = colour
            else:
                out[:, k] = colour
    return out


def project_markers(g: Grid) -> Grid | None:
    """Every single-cell object (c4) level with the largest object (m8; in its rows or columns, outside it)
    paints its colour on the first cell of that object it would hit going straight at it; the markers stay.
    Like shadows cast onto a wall. None without a unique largest object or without a marker level with it,
    or when two markers of different colours land on one cell."""
    bg = background(g)
    obs = objects(g, "m8", bg)
    anchor = select(obs, "largest")
    if anchor is None or anchor.size < 2:
        return None
    solid = np.zeros(g.shape, bool)
    solid[anchor.top:anchor.top + anchor.height, anchor.left:anchor.left + anchor.width] = anchor.mask
    out = g.copy()
    hits = 0
    for o in objects(g, "c4", bg):  # markers may touch each other at a corner
        if o.size != 1:
            continue
        y, x = o.top, o.left
        if solid[y, :].any() and not solid[:, x].any():
            cols = np.flatnonzero(solid[y, :])
            hit = (y, int(cols[0])) if x < cols[0] else (y, int(cols[-1])) if x > cols[-1] else None
        elif solid[:, x].any() and not solid[y, :].any():
            rows = np.flatnonzero(solid[:, x])
            hit = (int(rows[0]), x) if y < rows[0] else (int(rows[-1]), x) if y > rows[-1] else None
        else:
            hit = None
        if hit is not None:
            if out[hit] != g[hit] and out[hit] != g[y, x]:
                return None  # two markers of different colours cast on one cell
            out[hit] = g[y, x]
            hits += 1
    return out if hits else None


def align_to_colour(g: Grid, colour: int) -> Grid | None:
    """Line every object (c8) up with the one object of `colour`: all slide vertically to its top when they
    sit beside it (no object shares its columns), else horizontally to its left when they sit above or below
    it (none shares its rows). For 'put them in a row with the reference piece'. None when the colour is not
    exactly one object, when neither layout holds or when moved objects would overlap."""
    bg = background(g)
    obs = objects(g, "c8", bg)
    refs = [o for o in obs if int(o.cells[o.mask][0]) == colour]
    if len(refs) != 1 or len(obs) < 2:
        return None
    ref = refs[0]
    others = [o for o in obs if o is not ref]

    def apart(lo0, n0, lo1, n1):
        return lo0 + n0 <= lo1 or lo1 + n1 <= lo0

    if all(apart(o.left, o.width, ref.left, ref.width) for o in others):
        moves = [(ref.top - o.top, 0) for o in others]
    elif all(apart(o.top, o.height, ref.top, ref.height) for o in others):
        moves = [(0, ref.left - o.left) for o in others]
    else:
        return None
    h, w = g.shape
    out = np.full_like(g, bg)
    out[ref.top:ref.top + ref.height, ref.left:ref.left + ref.width][ref.mask] = ref.cells[ref.mask]
    taken = out != bg
    for o, (dy, dx) in zip(others, moves):
        ys, xs = _shifted_cells(o, dy, dx)
        if ys.min() < 0 or xs.min() < 0 or ys.max() >= h or xs.max() >= w or taken[ys, xs].any():
            return None
        out[ys, xs] = o.cells[o.mask]
        taken[ys, xs] = True
    return out


def bridge_diagonal(g: Grid) -> Grid | None:
    """Join two objects (c8) of one colour whose boxes face each other corner to corner on a diagonal (the
    bottom corner cell of one and the top corner cell of the other lie on one diagonal line, both in their
    objects) with a diagonal line of their colour over the background between them: blocks that a path
    links from corner to corner. None when no such pair has a clear line between it."""
    bg = background(g)
    obs = objects(g, "c8", bg)
    if len(obs) < 2:
        return None
    colour = np.array([o.colour for o in obs])
    top = np.array([o.top for o in obs])
    bottom = top + np.array([o.height for o in obs]) - 1
    left = np.array([o.left for o in obs])
    right = left + np.array([o.width for o in obs]) - 1
    k = top[None, :] - bottom[:, None]  # [a, b]: rows from a's bottom row down to b's top row
    facing = (colour[:, None] == colour[None, :]) & (k >= 2)
    out = g.copy()
    drawn = 0
    for dx, xa, xb in ((1, right[:, None], left[None, :]), (-1, left[:, None], right[None, :])):
        for ia, ib in np.argwhere(facing & (xb - xa == dx * k)).tolist():
            a, b = obs[ia], obs[ib]
            x0, x1 = int(xa[ia, 0]), int(xb[0, ib])
            if not (a.mask[-1, x0 - a.left] and b.mask[0, x1 - b.left]):
                continue
            path = [(int(bottom[ia]) + t, x0 + dx * t) for t in range(1, int(k[ia, ib]))]
            if all(g[p] == bg for p in path):
                for p in path:
                    out[p] = a.colour
                drawn += 1
    return out if drawn else None


def ray_from_notch(g: Grid) -> Grid | None:
    """For each object (c8) whose bounding box lacks exactly one cell and that cell is a corner of the box
    (an L-shaped tromino, a block with a bitten corner), shoot a diagonal ray of its colour out of the
    notch, away from the box, over the background until it meets something or the edge: the notch points
    the way. None when no object has such a notch."""
    bg = background(g)
    h, w = g.shape
    out = g.copy()
    shot = 0
    for o in objects(g, "c8", bg):
        if o.height < 2 or o.width < 2 or o.size != o.height * o.width - 1:
            continue
        for cy, cx in ((0, 0), (0, o.width - 1), (o.height - 1, 0), (o.height - 1, o.width - 1)):
            if o.mask[cy, cx]:
                continue
            dy, dx = (-1 if cy == 0 else 1), (-1 if cx == 0 else 1)
            y, x = o.top + cy + dy, o.left + cx + dx
            while 0 <= y < h and 0 <= x < w and out[y, x] == bg:
                out[y, x] = o.colour
                y, x = y + dy, x + dx
            shot += 1
    return out if shot else None


def complete_copies(g: Grid) -> Grid | None:
    """Complete every fragment of a template: the templates are the multicolour objects (m8); each loose
    cell (foreground outside every template) is matched to the placement of a template that covers it,
    lies inside the grid, agrees with every cell it covers (background or the same colour, loose) and
    matches the most loose cells; that template is drawn there. For 'a few whole motifs and scattered
    parts of them (the centre, or the rim without its centre): redraw them all'. None without templates or
    loose cells, on a too busy grid, or when a cell's best placement is not unique; a cell no placement
    fits stays as it is."""
    bg = background(g)
    obs = objects(g, "m8", bg)
    templates = {}
    in_template = np.zeros(g.shape, bool)
    for o in obs:
        if o.n_colours > 1:
            templates[o.cells.tobytes() + bytes(o.mask.shape)] = o
            in_template[o.top:o.top + o.height, o.left:o.left + o.width] |= o.mask
    loose = (g != bg) & ~in_template
    ly, lx = np.nonzero(loose)
    if not templates or not len(ly) or len(ly) > 100 or sum(t.size for t in templates.values()) > 100:
        return None
    h, w = g.shape
    shapes = []
    for t in templates.values():
        ti, tj = np.nonzero(t.mask)
        shapes.append((t, ti, tj, t.cells[ti, tj]))
    best: dict[tuple[int, int], tuple[int, set]] = {}  # loose cell -> (score, its best placements)
    for k, (t, ti, tj, tc) in enumerate(shapes):
        tried = set()
        for y, x in zip(ly.tolist(), lx.tolist()):
            for i, j in zip(*np.nonzero(t.mask & (t.cells == g[y, x]))):
                top, left = y - int(i), x - int(j)
                if (top, left) in tried:
                    continue
                tried.add((top, left))
                if top < 0 or left < 0 or top + t.height > h or left + t.width > w:
                    continue
                ys, xs = ti + top, tj + left
                under = g[ys, xs]
                if not ((under == bg) | ((under == tc) & loose[ys, xs])).all():
                    continue
                hit = under != bg
                score = int(hit.sum())
                for cell in zip(ys[hit].tolist(), xs[hit].tolist()):
                    s, placed = best.get(cell, (0, set()))
                    if score > s:
                        best[cell] = (score, {(k, top, left)})
                    elif score == s:
                        placed.add((k, top, left))
    if not best:
        return None
    out = g.copy()
    for _, placed in best.values():
        if len(placed) != 1:
            return None
        (k, top, left), = placed
        t, ti, tj, tc = shapes[k]
        out[ti + top, tj + left] = tc
    return out
def _is_frame(o: Obj) -> bool:
    """A one-colour object that is exactly the border of its box (at least 3 x 3)."""
    if o.n_colours != 1 or o.height < 3 or o.width < 3:
        return False
    ring = np.ones_like(o.mask)
    ring[1:-1, 1:-1] = False
    return bool((o.mask == ring).all())


def fit_into_frame(g: Grid) -> Grid | None:
    """The one empty rectangular frame, with the one other object scaled up by the whole factor that
    makes it fill the frame's inside: 'put the picture in the frame'. None unless the grid holds exactly
    a frame and one other object and the inside is a common multiple of the object's box."""
    bg = background(g)
    obs = objects(g, "m8", bg)
    frames = [o for o in obs if _is_frame(o)]
    if len(obs) != 2 or len(frames) != 1:
        return None
    f = frames[0]
    o = obs[1] if obs[0] is f else obs[0]
    ih, iw = f.height - 2, f.width - 2
    if ih % o.height or iw % o.width or ih // o.height != iw // o.width:
        return None
    k = ih // o.height
    out = g[f.top:f.top + f.height, f.left:f.left + f.width].copy()
    out[1:-1, 1:-1] = np.kron(o.cells, np.ones((k, k), np.uint8))
    return out


def stencil_key(g: Grid) -> Grid | None:
    """The one multicolour object (a key), with only the cells kept where the rest of the picture, scaled
    down to the key's size, is filled: a big one-colour shape used as a stencil over a small coloured
    key. None without exactly one multicolour object, when the rest's box is not a multiple of the key's,
    or when a block of it is partly filled (no clear scale)."""
    bg = background(g)
    keys = [o for o in objects(g, "m8", bg) if o.n_colours > 1]
    if len(keys) != 1:
        return None
    key = keys[0]
    rest = g != bg
    rest[key.top:key.top + key.height, key.left:key.left + key.width] = False
    box = bbox(rest)
    if box is None:
        return None
    r0, c0, r1, c1 = box
    shape = rest[r0:r1, c0:c1]
    if shape.shape[0] % key.height or shape.shape[1] % key.width:
        return None
    ky, kx = shape.shape[0] // key.height, shape.shape[1] // key.width
    filled = shape.reshape(key.height, ky, key.width, kx).sum(axis=(1, 3))
    if ((filled > 0) & (filled < ky * kx)).any():
        return None
    return np.where(filled > 0, key.cells, np.uint8(bg)).astype(np.uint8)
def _diagonal_ends(cells: np.ndarray) -> list[tuple[int, int, int, int]] | None:
    """The two ends of a straight diagonal run of cells (sorted by row) with their outward directions."""
    ys, xs = cells[:, 0], cells[:, 1]
    if len(ys) < 2 or len(set(ys.tolist())) != len(ys):
        return None
    order = np.argsort(ys)
    ys, xs = ys[order], xs[order]
    step = int(xs[1] - xs[0])
    if abs(step) != 1 or not ((np.diff(ys) == 1).all() and (np.diff(xs) == step).all()):
        return None
    return [(int(ys[0]), int(xs[0]), -1, -step), (int(ys[-1]), int(xs[-1]), 1, step)]


def bounce_rays(g: Grid, colour: int) -> Grid | None:
    """Every one-colour diagonal segment of at least two cells is extended from both ends as a ray of
    `colour` across the background that bounces off any other cell it meets (a billiard ball: the
    component of its motion that runs into the obstacle flips) and stops at the grid's edge. None when the
    grid has no diagonal segment."""
    bg = background(g)
    h, w = g.shape
    out = g.copy()
    found = False
    for o in objects(g, "c8", bg):
        ends = _diagonal_ends(np.argwhere(o.mask) + (o.top, o.left))
        if ends is None:
            continue
        found = True
        for y, x, dy, dx in ends:
            seen = set()
            while (y, x, dy, dx) not in seen:
                seen.add((y, x, dy, dx))
                ny, nx = y + dy, x + dx
                if not (0 <= ny < h and 0 <= nx < w):
                    break
                if g[ny, nx] != bg:
                    flip_y = 0 <= y + dy < h and g[y + dy, x] != bg
                    flip_x = 0 <= x + dx < w and g[y, x + dx] != bg
                    dy, dx = (-dy if flip_y or not flip_x else dy), (-dx if flip_x or not flip_y else dx)
                    continue
                y, x = ny, nx
                out[y, x] = colour
    return out if found else None


def fit_pieces(g: Grid) -> Grid | None:
    """Two objects that fit together, moved without turning, into a full rectangle: that rectangle (a
    jigsaw of two pieces). None unless the grid has exactly two objects and exactly one such picture."""
    bg = background(g)
    obs = objects(g, "m8", bg)
    if len(obs) != 2:
        return None
    a, b = obs
    n = a.size + b.size
    if n > 400:  # a jigsaw is a small picture; this bounds the placements tried
        return None
    found = None
    for h in range(max(a.height, b.height), n + 1):
        if n % h or n // h < max(a.width, b.width):
            continue
        w = n // h
        for ya in range(h - a.height + 1):
            for xa in range(w - a.width + 1):
                taken = np.zeros((h, w), bool)
                taken[ya:ya + a.height, xa:xa + a.width] = a.mask
                for yb in range(h - b.height + 1):
                    for xb in range(w - b.width + 1):
                        if (taken[yb:yb + b.height, xb:xb + b.width] & b.mask).any():
                            continue
                        out = np.full((h, w), bg, np.uint8)
                        out[ya:ya + a.height, xa:xa + a.width][a.mask] = a.cells[a.mask]
                        out[yb:yb + b.height, xb:xb + b.width][b.mask] = b.cells[b.mask]
                        if found is not None and not np.array_equal(found, out):
                            return None  # two different pictures: the pieces do not say which
                        found = out
    return found


def corner_rays(g: Grid, dy: int, dx: int) -> Grid | None:
    """Every one-colour object whose bounding-box corner towards (dy, dx) (a diagonal) is one of its cells
    shoots a ray of its colour from that corner diagonally outward over the background, stopping at the
    first other cell: one line per object, not one per cell as `rays` draws. None when no ray is drawn."""
    bg = background(g)
    h, w = g.shape
    out = g.copy()
    drawn = False
    for o in objects(g, "c8", bg):
        cy, cx = (o.height - 1 if dy > 0 else 0), (o.width - 1 if dx > 0 else 0)
        if not o.mask[cy, cx]:
            continue
        y, x = o.top + cy + dy, o.left + cx + dx
        while 0 <= y < h and 0 <= x < w and g[y, x] == bg:
            out[y, x] = o.colour
            drawn = True
            y, x = y + dy, x + dx
    return out if drawn else None


def paint_regions(g: Grid, small: int, large: int) -> Grid | None:
    """Paint each background region (4-connected) of the smallest size the grid has with `small` and
    every larger one with `large`: the closed cells of a lattice against those joined through gaps.
    None with fewer than two regions or when all are the same size."""
    bg = background(g)
    lab, n = _label((g == bg).astype(np.uint8), 0, False, False)
    if n < 2:
        return None
    sizes = np.bincount(lab[lab >= 0], minlength=n)
    if sizes.min() == sizes.max():
        return None
    out = g.copy()
    is_small = sizes == sizes.min()
    out[lab >= 0] = np.where(is_small[lab[lab >= 0]], small, large)
    return out


def box_in_markers(g: Grid) -> Grid | None:
    """Four lone cells of one colour mark the sides of a box: draw its outline one cell inside them, in the
    grid's only other foreground colour, over background. None unless one colour has exactly four cells,
    each alone, and exactly one other foreground colour is there."""
    bg = background(g)
    counts = np.bincount(g.ravel(), minlength=10)
    counts[bg] = 0
    colours = np.flatnonzero(counts)
    if len(colours) != 2:
        return None
    marker = [c for c in colours if counts[c] == 4 and all(o.size == 1 for o in objects(g, "c8", bg)
                                                             if o.colour == c)]
    if len(marker) != 1:
        return None
    paint = int(colours[0] if colours[1] == marker[0] else colours[1])
    ys, xs = np.nonzero(g == marker[0])
    r0, r1, c0, c1 = ys.min() + 1, ys.max() - 1, xs.min() + 1, xs.max() - 1
    if r1 - r0 < 2 or c1 - c0 < 2:
        return None
    ring = np.zeros(g.shape, bool)
    ring[r0:r1 + 1, c0:c1 + 1] = True
    ring[r0 + 1:r1, c0 + 1:c1] = False
    out = g.copy()
    out[ring & (g == bg)] = paint
    return out


def assemble_corners(g: Grid) -> Grid | None:
    """Four corner pieces put together as one frame: each object of the same box size has exactly one box
    corner filled whose opposite corner is empty, and goes to that corner of a picture twice its box size.
    None unless there are exactly four such pieces, one for each corner."""
    bg = background(g)
    obs = objects(g, "m8", bg)
    if len(obs) != 4 or len({(o.height, o.width) for o in obs}) != 1:
        return None
    h, w = obs[0].height, obs[0].width
    out = np.full((2 * h, 2 * w), bg, np.uint8)
    seen = set()
    for o in obs:
        m = o.mask
        corners = [(dy, dx) for dy in (0, 1) for dx in (0, 1)
                   if m[-dy, -dx] and not m[dy - 1, dx - 1]]  # (0, 0) is top-left; its opposite is [-1, -1]
        if len(corners) != 1 or corners[0] in seen:
            return None
        seen.add(corners[0])
        dy, dx = corners[0]
        view = out[dy * h:(dy + 1) * h, dx * w:(dx + 1) * w]
        view[m] = o.cells[m]
    return out


def punch_middle(g: Grid) -> Grid | None:
    """Every solid one-colour rectangle three cells thick gets every second cell of its middle line
    punched out to background, starting from the second (a ladder). None without such a rectangle."""
    bg = background(g)
    out = g.copy()
    hit = False
    for o in objects(g, "c4", bg):
        if not o.mask.all() or min(o.height, o.width) != 3 or max(o.height, o.width) < 3:
            continue
        if o.height == 3:
            out[o.top + 1, o.left + 1:o.left + o.width - 1:2] = bg
        else:
            out[o.top + 1:o.top + o.height - 1:2, o.left + 1] = bg
        hit = True
    return out if hit else None


def mark_below(g: Grid, colour: int) -> Grid | None:
    """Under every object of odd width, a cell of `colour` on the grid's bottom row at the object's middle
    column (where it would land if dropped). None unless every object has odd width and the bottom row
    is empty."""
    bg = background(g)
    obs = objects(g, "c8", bg)
    if not obs or (g[-1] != bg).any() or any(o.width % 2 == 0 for o in obs):
        return None
    out = g.copy()
    for o in obs:
        out[-1, o.left + o.width // 2] = colour
    return out


def leaky_box(g: Grid, colour: int) -> Grid | None:
    """A one-colour rectangular outline with a single gap in a side: its inside and the gap fill with
    `colour`, and a line of `colour` leaks out of the gap straight to the grid's edge."""
    bg = background(g)
    out = g.copy()
    done = False
    for o in objects(g, "c8", bg):
        h, w = o.mask.shape
        if h < 3 or w < 3 or o.n_colours != 1:
            continue
        ring = np.ones((h, w), bool)
        ring[1:-1, 1:-1] = False
        gaps = np.argwhere(ring & ~o.mask)
        if len(gaps) != 1 or o.mask[1:-1, 1:-1].any():
            continue
        gy, gx = gaps[0]
        if gy in (0, h - 1) and gx in (0, w - 1):
            continue  # a missing corner is no door
        t, l = o.top, o.left
        if (g[t + 1:t + h - 1, l + 1:l + w - 1] != bg).any():
            continue
        out[t + 1:t + h - 1, l + 1:l + w - 1] = colour
        y, x = t + gy, l + gx
        dy, dx = (-1 if gy == 0 else 1 if gy == h - 1 else 0), (-1 if gx == 0 else 1 if gx == w - 1 else 0)
        while 0 <= y < g.shape[0] and 0 <= x < g.shape[1] and g[y, x] == bg:
            out[y, x] = colour
            y, x = y + dy, x + dx
        done = True
    return out if done else None


def stretch_to_marker(g: Grid) -> Grid | None:
    """One object and one lone cell of a colour the object lacks, level with it: the object stretches (its
    middle row or column repeated) until its far side covers the lone cell."""
    bg = background(g)
    obs = objects(g, "m8", bg)
    if len(obs) != 2:
        return None
    box, mk = sorted(obs, key=lambda o: -o.size)
    if mk.size != 1 or box.size < 4 or (box.cells == mk.colour).any():
        return None
    t, l, h, w = box.top, box.left, box.height, box.width
    y, x = mk.top, mk.left
    if t <= y < t + h:
        a, pos, lo, n = box.cells, x, l, w
    elif l <= x < l + w:
        a, pos, lo, n = box.cells.T, y, t, h
    else:
        return None
    if n < 3:
        return None
    if pos >= lo + n:
        new_n = pos - lo + 1
        idx = np.minimum(np.arange(new_n), n - 2)
        idx[-1] = n - 1
        start = lo
    else:
        new_n = lo + n - pos
        idx = np.maximum(np.arange(new_n) - (new_n - n), 1)
        idx[0] = 0
        start = pos
    piece = a[:, idx]
    out = g.copy()
    out[y, x] = bg
    if a is box.cells:
        out[t:t + h, start:start + new_n] = piece
    else:
        out[start:start + new_n, l:l + w] = piece.T
    return out


def bridge_rects(g: Grid, colour: int) -> Grid | None:
    """Two solid rectangles facing each other: the gap between them is bridged with `colour` over the span
    they share, less one cell at each end."""
    bg = background(g)
    obs = objects(g, "c4", bg)
    if len(obs) != 2 or any(o.size != o.height * o.width for o in obs):
        return None
    a, b = obs
    out = g.copy()
    for ax in (0, 1):  # ax 0: side by side (share rows), ax 1: one above the other (share columns)
        s0 = max(a.top, b.top) if ax == 0 else max(a.left, b.left)
        s1 = min(a.top + a.height, b.top + b.height) if ax == 0 else min(a.left + a.width, b.left + b.width)
        if s1 - s0 < 3:
            continue
        p, q = sorted((a, b), key=lambda o: o.left if ax == 0 else o.top)
        g0 = p.left + p.width if ax == 0 else p.top + p.height
        g1 = q.left if ax == 0 else q.top
        if g1 <= g0:
            return None
        if ax == 0:
            out[s0 + 1:s1 - 1, g0:g1] = colour
        else:
            out[g0:g1, s0 + 1:s1 - 1] = colour
        return out
    return None


def lines_to_largest(g: Grid) -> Grid | None:
    """Lone cells level with the largest object draw a line of their colour straight to it."""
    bg = background(g)
    obs = objects(g, "c8", bg)
    if len(obs) < 2:
        return None
    sizes = sorted(o.size for o in obs)
    if sizes[-1] == sizes[-2] or sizes[-1] < 2:
        return None
    big = max(obs, key=lambda o: o.size)
    t, l, b, r = big.top, big.left, big.top + big.height, big.left + big.width
    out = g.copy()
    for o in obs:
        if o.size != 1:
            continue
        y, x = o.top, o.left
        if t <= y < b:
            seg = (slice(y, y + 1), slice(x + 1, l)) if x < l else (slice(y, y + 1), slice(r, x))
        elif l <= x < r:
            seg = (slice(y + 1, t), slice(x, x + 1)) if y < t else (slice(b, y), slice(x, x + 1))
        else:
            continue
        if (g[seg] == bg).all():
            out[seg] = o.colour
    return out


def sort_bars(g: Grid) -> Grid | None:
    """Horizontal one-colour bars, one per row, restacked by length: the longest at the bottom (above any
    full floor rows), each right-aligned, the shortest on top."""
    bg = background(g)
    h, w = g.shape
    fg = g != bg
    floor = h
    while floor > 0 and fg[floor - 1].all():
        floor -= 1
    bars = []
    for y in range(floor):
        xs = np.flatnonzero(fg[y])
        if not len(xs):
            continue
        if xs[-1] - xs[0] + 1 != len(xs) or len(np.unique(g[y, xs])) != 1:
            return None
        bars.append((len(xs), int(g[y, xs[0]])))
    if len(bars) < 2 or len({n for n, _ in bars}) != len(bars):
        return None
    out = g.copy()
    out[:floor] = bg
    for i, (n, c) in enumerate(sorted(bars, reverse=True)):
        out[floor - 1 - i, w - n:] = c
    return out


def to_matching_side(g: Grid, step: int | None = None, trail: bool = False) -> Grid | None:
    """A frame whose four sides have four colours, loose cells inside: a cell of a side's colour moves
    next to that side (same row or column); the other loose cells vanish. With `step`, the cells of a
    side's colour move that many cells toward it instead (stopping at the side) and the others stay; with
    `trail`, they stay and a line of their colour joins them to the side."""
    h, w = g.shape
    if h < 4 or w < 4:
        return None
    sides = {"top": g[0, 1:-1], "bottom": g[-1, 1:-1], "left": g[1:-1, 0], "right": g[1:-1, -1]}
    cols = {}
    for k, s in sides.items():
        if (s != s[0]).any():
            return None
        cols[int(s[0])] = k
    if len(cols) != 4:
        return None
    inner = g[1:-1, 1:-1]
    bg = background(inner)
    out = g.copy()
    ih, iw = inner.shape
    if step is None:
        out[1:-1, 1:-1] = bg
    else:
        moving = (inner != bg) & np.isin(inner, list(cols))
        if not moving.any():
            return None
        out[1:-1, 1:-1][moving] = bg
    for y, x in np.argwhere(inner != bg):
        side = cols.get(int(inner[y, x]))
        if side is None:
            continue
        if step is not None:
            dy, dx = {"top": (-step, 0), "bottom": (step, 0), "left": (0, -step), "right": (0, step)}[side]
            ty, tx = min(max(y + dy, 0), ih - 1), min(max(x + dx, 0), iw - 1)
        else:
            ty, tx = {"top": (0, x), "bottom": (ih - 1, x), "left": (y, 0), "right": (y, iw - 1)}[side]
        if trail:  # the whole run from the cell to the side
            out[min(y, ty) + 1:max(y, ty) + 2, min(x, tx) + 1:max(x, tx) + 2] = inner[y, x]
        else:
            out[ty + 1, tx + 1] = inner[y, x]
    return out


def rise_by_size(g: Grid, by: str = "size") -> Grid | None:
    """Every object (full-width floor rows aside) moves up by as many rows as it has cells (`by` "size")
    or as it is tall (`by` "height")."""
    bg = background(g)
    out = g.copy()
    moved = []
    for o in objects(g, "c8", bg):
        if o.width == g.shape[1]:
            continue  # a floor or a wall line stays
        d = o.size if by == "size" else o.height
        if o.top - d < 0:
            return None
        out[o.top:o.top + o.height, o.left:o.left + o.width][o.mask] = bg
        moved.append((o, d))
    if not moved:
        return None
    for o, d in moved:
        out[o.top - d:o.top - d + o.height, o.left:o.left + o.width][o.mask] = o.cells[o.mask]
    return out


def marked_trails(g: Grid, mark: int, trail: bool = True) -> Grid | None:
    """Each one-colour object with cells of colour `mark` beside it on corners of their joint bounding box
    slides diagonally out through each marked corner: with `trail`, to the grid's edge, leaving a trail of copies of itself;
    without, one step (the object moves). The object takes its other colour (the mark is gone). None when
    no object has a marked corner."""
    bg = background(g)
    if mark == bg or not (g == mark).any():
        return None
    h, w = g.shape
    out = g.copy()
    paints = []
    marks = g == mark
    for o in objects(np.where(marks, bg, g).astype(np.uint8), "c8", bg):
        t, l = max(o.top - 1, 0), max(o.left - 1, 0)
        win = np.zeros((min(o.top + o.height + 1, h) - t, min(o.left + o.width + 1, w) - l), bool)
        win[o.top - t:o.top - t + o.height, o.left - l:o.left - l + o.width] = o.mask
        near = win.copy()  # the object's cells and their 8 neighbours
        near[1:] |= win[:-1]
        near[:-1] |= win[1:]
        near[:, 1:] |= near[:, :-1].copy()
        near[:, :-1] |= near[:, 1:].copy()
        mk = near & marks[t:t + win.shape[0], l:l + win.shape[1]]
        if not mk.any():
            continue
        for _ in range(2):  # a mark off the corners of the joint box belongs to a neighbour: drop it
            ys, xs = np.nonzero(win | mk)
            y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
            corner = np.zeros_like(mk)
            corner[[y0, y0, y1, y1], [x0, x1, x0, x1]] = True
            mk &= corner
        if not mk.any():
            continue
        ys, xs = np.nonzero(win | mk)
        y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
        colour = o.colour
        dirs = [(dy, dx) for (cy, dy) in ((y0, -1), (y1, 1)) for (cx, dx) in ((x0, -1), (x1, 1)) if mk[cy, cx]]
        if y1 == y0 or x1 == x0 or not dirs or mk.sum() != len(dirs) or (not trail and len(dirs) != 1):
            return None
        ys, xs = ys + t, xs + l
        if trail:
            paints.append((ys, xs, colour))
        else:
            out[ys, xs] = bg
        for dy, dx in dirs:
            k = 1
            while k <= max(h, w) and (trail or k == 1):
                paints.append((ys + k * dy, xs + k * dx, colour))
                k += 1
    if not paints:
        return None
    for ys, xs, colour in paints:
        ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        out[ys[ok], xs[ok]] = colour
    return out


def inside_out(g: Grid) -> Grid | None:
    """Every object is a framed block (a one-cell ring of one colour round a solid block of another) and
    turns inside out: the ring takes the block's colour, the block the ring's, and the ring's colour
    spreads out from each side of the ring as a band as thick as the block."""
    bg = background(g)
    objs = objects(g, "m8", bg)
    if not objs or len(objs) > 8:
        return None
    h, w = g.shape
    out = g.copy()
    for o in objs:
        if o.height < 3 or o.width < 3 or not o.mask.all():
            return None
        c = o.cells
        ring = np.ones(c.shape, bool)
        ring[1:-1, 1:-1] = False
        a, b = c[0, 0], c[1, 1]
        if a == b or (c[ring] != a).any() or (c[1:-1, 1:-1] != b).any():
            return None
        kh, kw = o.height - 2, o.width - 2
        t, l, bt, rt = o.top, o.left, o.top + o.height, o.left + o.width
        if t - kh < 0 or l - kw < 0 or bt + kh > h or rt + kw > w:
            return None
        out[t - kh:t, l:rt] = a
        out[bt:bt + kh, l:rt] = a
        out[t:bt, l - kw:l] = a
        out[t:bt, rt:rt + kw] = a
        out[t:bt, l:rt] = np.where(ring, b, a)
    return out
