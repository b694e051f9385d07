"""The operation library the search composes: grid -> grid steps with their parameters bound.

Parameters come from the task, never from its id: colours are those the train pairs use (the colour a fill
paints must appear in some train output; a 'mask' colour for symmetry completion is one the inputs have and
the outputs lose), and scale factors are read off the train shapes. Each op has a cost; the search explores
cheap compositions first and ranks fitting programs by total cost, so a cost is a prior on how often such
a step is the answer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

from . import grids as G
from . import lists as L
from . import objects as O
from .catalogue import SCENES
from .grids import Grid
from .learn import shape_ratio
from ..tasks import Task

COSTS_PATH = Path(__file__).with_name("costs.json")


@dataclass(frozen=True)
class Op:
    name: str
    cost: float
    fn: Callable[[Grid], Grid | None]
    scene: bool = False  # of the scenes catalogue (catalogue.py): searched only near the root


def family(name: str) -> str:
    """An op's family: its name without the bracketed parameters (crop_object[c8,largest] -> crop_object)."""
    return name.split("[", 1)[0]


@lru_cache(maxsize=1)
def learned_costs() -> tuple[dict[str, float], float]:
    """The committed cost table (costs.json, made by fit_costs.py): (cost per family, cost of any other)."""
    data = json.loads(COSTS_PATH.read_text())
    return data["costs"], data["default"]


@dataclass(frozen=True)
class TaskFacts:
    """What the op library is parameterised by, all read off the task's grids."""
    in_colours: frozenset[int]      # in any input (train or test)
    out_colours: frozenset[int]     # in any train output
    new_colours: frozenset[int]     # in some train output but in no train input
    mask_colours: frozenset[int]    # in every train input, in no train output: cells to fill in
    scale_factors: frozenset[tuple[int, int]]  # the output/input shape ratio, when all pairs share one
    same_shape: bool                # every train output has its input's shape
    common_colours: frozenset[int] = frozenset()  # in every train input


def task_facts(task: Task) -> TaskFacts:
    xs = [ex.input for ex in task.train]
    ys = [ex.output for ex in task.train]
    in_colours = frozenset().union(*(G.palette(ex.input) for ex in task.train + task.test))
    train_in = frozenset().union(*(G.palette(x) for x in xs))
    out_colours = frozenset().union(*(G.palette(y) for y in ys))
    common = frozenset.intersection(*(G.palette(x) for x in xs))
    mask = common - out_colours
    factors = set()
    ry, rx = shape_ratio(xs, ys, 0), shape_ratio(xs, ys, 1)
    if ry and rx:
        factors.add((ry[1], rx[1]))
    return TaskFacts(in_colours, out_colours, out_colours - train_in, mask, frozenset(factors),
                     all(x.shape == y.shape for x, y in zip(xs, ys)), common)


def build_ops(facts: TaskFacts, catalogues: Sequence[str] = ("general", "scenes"), learned: bool = True) -> list[Op]:
    """Every op for this task of the given catalogues, the general basis first, then cheapest first, then by
    name (the order is part of the search's determinism). Costs: the learned table (costs.json), or with
    learned=False the hand-set ones written below (kept as the prior the first table was fitted under)."""
    ops = _table(facts)
    if learned:
        costs, default = learned_costs()
        ops = [Op(op.name, costs.get(family(op.name), default), op.fn) for op in ops]
    ops = [Op(op.name, op.cost, op.fn, family(op.name) in SCENES) for op in ops]
    ops = [op for op in ops if ("scenes" if op.scene else "general") in catalogues]
    return sorted(ops, key=lambda op: (op.scene, op.cost, op.name))


def _table(facts: TaskFacts) -> list[Op]:
    """The op table with its hand-set costs."""
    ops: list[Op] = []

    def add(name: str, cost: float, fn: Callable[[Grid], Grid | None]) -> None:
        ops.append(Op(name, cost, fn))

    # Geometry.
    for name in G.D8_NAMES[1:]:
        add(name, 1.0, lambda g, n=name: G.d8(g, n))
    add("crop_content", 1.0, lambda g: G.crop_to_content(g, G.background(g)))
    add("crop_nonzero", 1.2, lambda g: G.crop_to_content(g, 0))
    add("trim_border", 1.5, G.trim_border)
    for kind in ("bg", "edge"):
        add(f"pad[{kind}]", 1.5, lambda g, k=kind: G.pad(g, k))
    add("compress_repeats", 1.5, G.compress_repeats)
    for kind in ("right", "left", "down", "up", "quad"):
        add(f"mirror[{kind}]", 1.2, lambda g, k=kind: G.mirror(g, k))
    for ky, kx in sorted(facts.scale_factors):
        if (ky, kx) != (1, 1):
            add(f"upscale[{ky},{kx}]", 1.2, lambda g, a=ky, b=kx: G.upscale(g, a, b))
            add(f"tile[{ky},{kx}]", 1.2, lambda g, a=ky, b=kx: G.tile(g, a, b))
            add(f"downscale[{ky},{kx}]", 1.2, lambda g, a=ky, b=kx: G.downscale(g, a, b))

    # Objects: crop one, keep one, drop one.
    for mode in ("c8", "m8", "c4"):
        for sel in O.SELECTORS:
            add(f"crop_object[{mode},{sel}]", 1.5, lambda g, m=mode, s=sel: O.crop_object(g, m, s, False))
            add(f"object[{mode},{sel}]", 1.6, lambda g, m=mode, s=sel: O.crop_object(g, m, s, True))
    for mode in ("c8", "m8"):
        for sel in ("largest", "smallest", "unique_colour", "unique_shape", "inner", "topmost", "bottommost",
                    "leftmost", "rightmost"):
            add(f"keep_object[{mode},{sel}]", 1.8, lambda g, m=mode, s=sel: O.keep_object(g, m, s))
            add(f"remove_object[{mode},{sel}]", 1.8, lambda g, m=mode, s=sel: O.keep_object(g, m, s, keep=False))
        add(f"remove_noise[{mode}]", 1.8, lambda g, m=mode: O.remove_small(g, m, 1))
        for t in ("flip_lr", "flip_ud", "rot180", "transpose"):
            add(f"each_object[{mode},{t}]", 1.8, lambda g, m=mode, t=t: O.each_object(g, m, t))

    # Lists of objects: keep all that are extreme by a property, map a step over each, stack their crops.
    for mode in ("c8", "m8"):
        for prop in L.PROPERTIES:
            if prop == "colours" and mode == "c8":
                continue  # one-colour objects all have one colour
            for keep in (L.KEEPS[:2] if prop == "holes" else L.KEEPS):
                add(f"filter[{mode},{prop},{keep}]", 1.8, lambda g, m=mode, p=prop, k=keep: L.filter_pieces(g, m, p, k))
        for step in L.PIECE_STEPS:
            add(f"map[{mode},{step}]", 1.8, lambda g, m=mode, s=step: L.map_pieces(g, m, s))
        if not facts.same_shape:
            for axis in (0, 1):
                for order in L.ORDERS:
                    add(f"stack[{mode},{'vh'[axis]},{order}]", 1.8,
                        lambda g, m=mode, a=axis, o=order: L.stack_pieces(g, m, a, o))

    # Colours.
    for c in sorted(facts.in_colours):
        add(f"keep_colour[{c}]", 1.5, lambda g, c=c: G.keep_colour(g, c, G.background(g)))
        add(f"remove_colour[{c}]", 1.5, lambda g, c=c: G.remove_colour(g, c, G.background(g)))
    add("binarise", 1.5, lambda g: G.binarise(g, G.background(g)))
    add("majority_colour", 2.0, lambda g: G.majority_colour_grid(g, G.background(g)))
    add("minority_colour", 2.0, lambda g: G.minority_colour_grid(g, G.background(g)))
    add("most_common_colour", 2.0, lambda g: G.majority_colour_grid(g, -1))
    add("uniform_colour", 1.8, lambda g: G.uniform_colour(g, G.background(g)))
    add("uniform_minority", 1.8, lambda g: G.uniform_colour(g, G.background(g), minority=True))
    add("motif", 1.5, G.motif)
    if not facts.same_shape:
        add("colour_stripes", 1.8, G.colour_stripes)
        for axis in (0, 1):
            add(f"colours_by_count[{'vh'[axis]}]", 1.8, lambda g, a=axis: G.colours_by_count(g, G.background(g), a))
    add("keep_solid", 1.8, lambda g: G.keep_solid(g, G.background(g)))
    add("column_majority", 1.8, lambda g: G.line_majority(g, 0))
    add("row_majority", 1.8, lambda g: G.line_majority(g, 1))

    # Completion of hidden cells.
    for c in sorted(facts.mask_colours):
        add(f"denoise[{c}]", 1.5, lambda g, c=c: G.denoise(g, c))
    add("denoise_minority", 1.8, G.denoise_minority)
    for c in sorted(facts.mask_colours | {0}):
        for kind in G.SYMMETRIES:
            add(f"symmetrize[{kind},{c}]", 1.5, lambda g, k=kind, c=c: G.symmetrize(g, k, c))
            add(f"hidden_by_symmetry[{kind},{c}]", 1.8,
                lambda g, k=kind, c=c: G.hidden_part(g, G.symmetrize(g, k, c), c))
        add(f"hidden_by_period[{c}]", 1.8, lambda g, c=c: G.hidden_part(g, G.periodic_fill(g, c), c))
        for kind in ("lr", "ud"):
            add(f"symmetrize_offset[{kind},{c}]", 2.0, lambda g, k=kind, c=c: G.symmetrize_offset(g, k, c))
        for kind in (0, 1, 2):
            add(f"periodic_fill[{c},{kind}]", 1.5, lambda g, c=c, k=kind: G.periodic_fill(g, c, k))

    # Movement.
    for d, (dy, dx) in {"down": (1, 0), "up": (-1, 0), "left": (0, -1), "right": (0, 1)}.items():
        add(f"shift[{d}]", 1.5, lambda g, a=dy, b=dx: G.shift(g, a, b, G.background(g)))
    for d in ("down", "up", "left", "right"):
        add(f"gravity[{d}]", 1.5, lambda g, d=d: G.gravity(g, d, G.background(g)))
        add(f"object_gravity[{d}]", 1.8, lambda g, d=d: O.object_gravity(g, "m8", d))
    for mode in ("c8", "m8"):
        for sel in ("largest", "smallest", "unique_colour", "unique_shape"):
            add(f"move_to_touch[{mode},{sel}]", 1.8, lambda g, m=mode, s=sel: O.move_until_touch(g, m, s))
        add(f"attract[{mode}]", 1.8, lambda g, m=mode: O.attract_all(g, m))
    for align in ("centre", "match"):
        add(f"stamp[{align}]", 1.8, lambda g, a=align: O.stamp_markers(g, a))
    for mode in ("m8", "m4"):
        for keep in (True, False):
            add(f"stamp_shapes[{mode},{'keep' if keep else 'drop'}]", 1.8,
                lambda g, m=mode, k=keep: O.stamp_shapes(g, m, k))

    # Drawing.
    paint = sorted(facts.out_colours)
    for c in paint:
        add(f"fill_enclosed[{c}]", 1.5, lambda g, c=c: G.fill_enclosed(g, c, G.background(g)))
        add(f"flood[{c}]", 1.5, lambda g, c=c: G.flood(g, c, G.background(g)))
    for d in G.RAY_DIRECTIONS:
        add(f"rays[{d}]", 1.5, lambda g, d=d: G.rays(g, d, G.background(g)))
    for axes in ("hv", "h", "v", "d"):
        add(f"connect[{axes}]", 1.5, lambda g, a=axes: G.connect_pairs(g, G.background(g), a))
    for c in sorted(facts.new_colours):
        add(f"connect[hv,{c}]", 1.8, lambda g, c=c: G.connect_pairs(g, G.background(g), "hv", c))
    for c in sorted(facts.new_colours) or paint:
        add(f"outline[{c}]", 2.0, lambda g, c=c: O.outline_objects(g, "c8", c, True))
        add(f"outline4[{c}]", 2.0, lambda g, c=c: O.outline_objects(g, "c8", c, False))
        add(f"interior[{c}]", 2.0, lambda g, c=c: O.interior(g, c))
        add(f"fill_boxes[{c}]", 2.0, lambda g, c=c: O.fill_object_boxes(g, "c8", c))
        add(f"border[{c}]", 2.0, lambda g, c=c: G.draw_border(g, c))

    # Parts of a grid cut by separator lines or into equal pieces.
    splitters: list[tuple[str, Callable[[Grid], list[Grid] | None]]] = [("sep", G.split_by_separators)]
    for ny, nx in ((1, 2), (2, 1), (1, 3), (3, 1), (2, 2)):
        splitters.append((f"{ny}x{nx}", lambda g, a=ny, b=nx: G.split_equal(g, a, b)))
    add("cells_to_pixels", 1.5, G.cells_to_pixels)
    add("fill_cells", 1.8, G.fill_cells)
    add("cells_to_counts", 1.8, G.cells_to_counts)
    for sname, split in splitters:
        for how in ("and", "or", "xor", "nor", "one"):
            add(f"combine[{sname},{how}]", 1.8,
                lambda g, s=split, h=how: G.combine_masks(s(g), h, G.background(g)))
        for reverse in (False, True):
            add(f"overlay{'_rev' if reverse else ''}[{sname}]", 1.8,
                lambda g, s=split, r=reverse: G.overlay(s(g), G.background(g), r))
        for pick in G.PART_PICKS:
            add(f"part[{sname},{pick}]", 1.8, lambda g, s=split, p=pick: G.pick_part(s(g), p, G.background(g)))
    # Scenes (issue 16, each from ARC-AGI-2 training development tasks the search missed): markers take the
    # nearest colour, clear corridors, a marked box recolours its contents, framed cards overlaid into one
    # picture, a shape's odd cell shoots a ray through it, parts' rows piled up.
    for c in sorted(facts.mask_colours):
        add(f"recolour_nearest[{c}]", 1.8, lambda g, c=c: O.recolour_by_nearest(g, c))
    for c in sorted(facts.new_colours):
        add(f"fill_clear_lines[{c}]", 1.8, lambda g, c=c: G.fill_clear_lines(g, c))
        for b in sorted(facts.in_colours & facts.out_colours):  # the box's colour stays
            add(f"recolour_in_box[{b},{c}]", 1.8, lambda g, b=b, c=c: G.recolour_in_box(g, b, c))
    if facts.same_shape:
        add("ray_from_odd", 1.8, O.ray_from_odd_cell)
    else:
        add("overlay_objects", 1.8, lambda g: O.overlay_objects(g, "m8"))
        for up in (True, False):
            add(f"pile[sep,{'bottom' if up else 'top'}]", 1.8,
                lambda g, u=up: G.pile_parts(G.split_by_separators(g), G.background(g), u))
    # More scenes: stripes from two seeds, an X-shaped halo, lines that attract their colour, markers cast on a wall,
    # a key cell blown up to its lattice, lattice parts completed to the first one's pattern, lines completed to
    # the full line's pattern, concentric rings' colours reversed, a drawn band
    # repeated over the grid, segments extended to full lines, objects lined up with the one of a colour.
    add("seed_stripes", 1.8, G.seed_stripes)
    for c in sorted(facts.new_colours):
        add(f"corner_halo[{c}]", 2.0, lambda g, c=c: G.corner_halo(g, c))
    add("attract_to_lines", 1.8, O.attract_to_lines)
    add("project_markers", 1.8, O.project_markers)
    if facts.same_shape:
        for axis in (0, 1):
            add(f"complete_lines[{'rc'[axis]}]", 1.8, lambda g, a=axis: G.complete_lines(g, a))
        add("reverse_rings", 1.8, G.reverse_rings)
        for axes in ("v", "h", "hv"):
            add(f"repeat_content[{axes}]", 1.8, lambda g, a=axes: G.repeat_content(g, a))
        for top in ("h", "v"):
            add(f"extend_segments[{top}]", 1.8, lambda g, t=top: O.extend_segments(g, t))
    for pick in ("least_fg", "most_fg"):
        add(f"key_to_cells[{pick}]", 1.8, lambda g, p=pick: G.key_to_cells(g, p))
    for paint in ("sep", "template"):
        add(f"complete_cells[{paint}]", 1.8, lambda g, p=paint: G.complete_cells(g, p))
    if facts.same_shape:
        for c in sorted(facts.in_colours):
            add(f"align_to[{c}]", 2.0, lambda g, c=c: O.align_to_colour(g, c))
    # prim-c: same-colour blocks joined corner to corner by a diagonal, a notched corner shoots a diagonal ray,
    # scattered fragments of multicolour templates redrawn whole, a template stamped on markers at the level
    # of a lattice's blocks, the hidden part of rectangles under noise (the staircase extension and the shape
    # dictionary are learned steps, learn.py).
    if facts.same_shape:
        add("bridge_diagonal", 1.8, O.bridge_diagonal)
        add("ray_from_notch", 1.8, O.ray_from_notch)
        add("complete_copies", 1.8, O.complete_copies)
        add("on_cells[stamp]", 1.8, lambda g: G.on_cells(g, lambda s: O.stamp_markers(s, "match")))
        for c in sorted(facts.new_colours):  # each cluster of a colour every input has marks a box
            for b in sorted(facts.common_colours & facts.out_colours):
                add(f"recolour_in_boxes[{b},{c}]", 1.8, lambda g, b=b, c=c: G.recolour_in_box(g, b, c, 2))
    # prim-d: the biggest empty rectangle marked, a quarter picture mirrored around its marked centre, dots
    # read at a coarser scale, a picture scaled into its frame, a shape used as a stencil over a key,
    # the colours nested as rings by count.
    if facts.same_shape:
        for c in sorted(facts.new_colours):
            add(f"fill_largest_rect[{c}]", 2.0, lambda g, c=c: G.fill_largest_rect(g, c))
        add("mirror_around_pivot", 1.8, G.mirror_around_pivot)
    else:
        for ky, kx in sorted(facts.scale_factors):
            add(f"pool[{ky},{kx}]", 1.5, lambda g, a=ky, b=kx: G.pool(g, a, b))
        add("fit_into_frame", 1.8, O.fit_into_frame)
        add("stencil_key", 1.8, O.stencil_key)
        add("colour_rings", 1.8, G.colour_rings)
    # prim-e: debris piles against the largest object, the biggest empty squares, a key blown up over a
    # one-colour pattern, two pieces fitted into a rectangle, diagonal segments extended as bouncing rays,
    # one diagonal ray from each object's corner.
    add("attract_pile[c8]", 1.8, lambda g: O.attract_all(g, "c8", pile=True))
    for c in sorted(facts.new_colours):
        add(f"fill_largest_square[{c}]", 1.8, lambda g, c=c: G.fill_largest_square(g, c))
        add(f"bounce_rays[{c}]", 1.8, lambda g, c=c: O.bounce_rays(g, c))
    for d, (dy, dx) in {"dr": (1, 1), "dl": (1, -1), "ur": (-1, 1), "ul": (-1, -1)}.items():
        add(f"corner_rays[{d}]", 1.8, lambda g, a=dy, b=dx: O.corner_rays(g, a, b))
    if not facts.same_shape:
        add("key_paint", 1.8, G.key_paint)
        add("fit_pieces", 1.8, O.fit_pieces)
    # (Ops that apply to nearly any grid cost more: their children would crowd the deeper levels.)
    # Walls, elbows and bands: cells of a colour cast lines toward or away from the one full line, two
    # cells joined by an L, holes in bands become lines across them, a box drawn inside four markers, a
    # 2 x 2 block's colours sent to the opposite corners, dashed rays, ladders punched in bars, a mark
    # dropped under each object, edge markers' lines that turn to gaps on their own colour, every second
    # row rolled, a lattice's closed cells told from the ones joined through gaps, four corner pieces put
    # together, colour counts as a bar chart, a fractal per colour, satellites gathered round their centres.
    if facts.same_shape:
        for c in sorted(facts.common_colours):
            for toward in (True, False):
                add(f"wall_rays[{c},{'to' if toward else 'away'}]", 1.8,
                    lambda g, c=c, t=toward: G.wall_rays(g, c, t))
        for p in sorted(facts.new_colours):
            for c in sorted(facts.common_colours):
                add(f"elbow[{p},{c}]", 1.8, lambda g, p=p, c=c: G.elbow(g, p, c))
        add("hole_lines", 1.8, G.hole_lines)
        add("box_in_markers", 1.8, O.box_in_markers)
        add("opposite_corners", 1.8, G.opposite_corners)
        add("punch_middle", 1.8, O.punch_middle)
        for c in sorted(facts.new_colours):
            add(f"mark_below[{c}]", 1.8, lambda g, c=c: O.mark_below(g, c))
        for c in sorted(facts.new_colours):
            for d in ("right", "left", "down", "up"):
                add(f"dashed_rays[{c},{d}]", 2.0, lambda g, c=c, d=d: G.dashed_rays(g, c, d))
        for edge in ("top", "left"):
            add(f"xor_lines[{edge}]", 1.8, lambda g, e=edge: G.xor_lines(g, e))
        for axis in (0, 1):
            for shift in (1, -1):
                add(f"roll_alternate[{'rc'[axis]},{shift}]", 2.2,
                    lambda g, a=axis, s=shift: G.roll_alternate(g, a, s))
        for a in sorted(facts.new_colours):
            for b in sorted(facts.new_colours - {a}):
                add(f"paint_regions[{a},{b}]", 1.8, lambda g, a=a, b=b: O.paint_regions(g, a, b))
    else:
        add("assemble_corners", 1.8, O.assemble_corners)
        for axis in (0, 1):
            add(f"count_bars[{'vh'[axis]}]", 1.8, lambda g, a=axis: G.count_bars(g, a))
        add("kronecker_by_colour", 1.8, G.kronecker_by_colour)
    add("gather_to_rarest", 1.8, G.gather_to_rarest)
    # prim-f: a picture placed in the corner of a bigger canvas, copies of the picture
    # at its cells of one colour, cells recoloured by the key at the grid's edge, a checkerboard flood from
    # two seed cells, a box with a door that leaks, a box stretched to reach a lone marker, a key row repeated
    # as whole rows, the one filled lattice part copied to all, two rectangles bridged, lone cells drawn to the
    # largest object, bars' lower halves recoloured, every other column recoloured, bars sorted by length,
    # loose cells moved to the frame side of their colour, a picture's cells blown up to a shape,
    # objects rising by their size, a run grown into a staircase.
    for ky, kx in sorted(facts.scale_factors):
        if (ky, kx) != (1, 1) and not facts.same_shape:
            add(f"canvas[{ky},{kx}]", 1.8, lambda g, a=ky, b=kx: G.canvas(g, a, b))
    if not facts.same_shape:
        add("kron_halves", 1.8, G.kron_halves)
        add("kron_majority", 1.8, lambda g: G.kron_colour(g, None))
        for c in sorted(facts.common_colours):
            add(f"kron_colour[{c}]", 1.8, lambda g, c=c: G.kron_colour(g, c))
    if facts.same_shape:
        for c in sorted(facts.mask_colours):
            for edge in ("left", "right", "top", "bottom"):
                add(f"edge_key[{c},{edge}]", 1.8, lambda g, c=c, e=edge: G.recolour_by_edge_key(g, c, e))
        for c in sorted(facts.common_colours & facts.out_colours):
            add(f"alternate_flood[{c}]", 1.8, lambda g, c=c: G.alternate_flood(g, c))
        for c in sorted(facts.new_colours):
            add(f"leaky_box[{c}]", 1.8, lambda g, c=c: O.leaky_box(g, c))
        add("stretch_to_marker", 1.8, O.stretch_to_marker)
        add("header_rows", 1.8, G.header_rows)
        add("copy_part_to_all", 1.8, G.copy_part_to_all)
        for c in sorted(facts.new_colours):
            add(f"bridge_rects[{c}]", 1.8, lambda g, c=c: O.bridge_rects(g, c))
        add("lines_to_largest", 1.8, O.lines_to_largest)
        for c in sorted(facts.new_colours):
            add(f"lower_half_bars[{c}]", 2.0, lambda g, c=c: G.lower_half_bars(g, c))
            for edge in ("left", "right", "top", "bottom"):
                add(f"parity_recolour[{c},{edge}]", 2.2, lambda g, c=c, e=edge: G.parity_recolour(g, c, e))
        add("sort_bars", 1.8, O.sort_bars)
        add("to_matching_side", 1.8, O.to_matching_side)
        add("rise_by_size", 1.8, O.rise_by_size)
    else:
        add("staircase", 1.8, G.staircase)
    # prim-g: a plus midway between two lone cells of a colour, the picture completed to quarter-turn
    # symmetry, a lattice of copies of one tile read as the tile with its changed cells marked, a lattice's
    # template part copied onto the parts marked with holes, a lone edge cell's path bouncing between the walls.
    for c in sorted(facts.new_colours):
        add(f"midpoint_plus[{c}]", 1.8, lambda g, c=c: G.midpoint_plus(g, c))
    if facts.same_shape:
        add("complete_rot90", 1.8, G.complete_rot90)
        add("template_to_marked", 1.8, G.template_to_marked)
        add("zigzag", 1.8, G.zigzag)
    else:
        for c in sorted(facts.new_colours):
            add(f"lattice_defects[{c}]", 1.8, lambda g, c=c: G.lattice_defects(g, c))
    # prim-h: a lone cell grown into the rectangle to its nearest corner, a dashed frame and its walls made
    # solid, a spiral drawn on an empty grid, a hole filled with the loose shape stretched to fit, a block sliding
    # diagonally out through its marked corners (to the edge leaving a trail, or one step), cells one step
    # toward the frame side of their colour, a framed block turned inside out, a column of cells piled into
    # a pyramid.
    if facts.same_shape:
        add("grow_to_corner", 1.8, G.grow_to_corner)
        for c in sorted(facts.new_colours):
            add(f"complete_dashed[{c}]", 1.8, lambda g, c=c: G.complete_dashed(g, c))
            add(f"spiral[{c}]", 1.8, lambda g, c=c: G.spiral(g, c))
        add("fill_with_loose", 1.8, G.fill_with_loose)
        for c in sorted(facts.mask_colours):
            add(f"marked_trails[{c}]", 1.8, lambda g, c=c: O.marked_trails(g, c))
            add(f"marked_step[{c}]", 1.8, lambda g, c=c: O.marked_trails(g, c, False))
        add("to_matching_side[1]", 1.8, lambda g: O.to_matching_side(g, 1))
        add("inside_out", 1.8, O.inside_out)
        add("pile_pyramid", 1.8, G.pile_pyramid)
    # prim-i: a grid rolled by the marker on its edge line(s), the line(s) cut off; the mostly one-colour
    # rectangle standing in a noisy picture cropped; the box between two row and two column lines cropped,
    # loose cells drawn as lines to the frame side of their colour; objects rising by their height, nested
    # L-shaped layers continued over a bigger canvas, the lattice part holding the marker copied to the
    # part at the marker's place, cells hanging by one corner extended as diagonal lines.
    if not facts.same_shape:
        add("roll_by_marker", 1.8, G.roll_by_marker)
        add("crop_dense_rect", 1.5, G.crop_dense_rect)
        add("crop_line_box", 1.5, G.crop_line_box)
        for ky, kx in sorted(facts.scale_factors):
            if (ky, kx) != (1, 1):
                add(f"continue_layers[{ky},{kx}]", 1.8, lambda g, a=ky, b=kx: G.continue_layers(g, a, b))
    add("to_matching_side[trail]", 1.8, lambda g: O.to_matching_side(g, trail=True))
    if facts.same_shape:
        add("rise_by_height", 1.8, lambda g: O.rise_by_size(g, "height"))
        for c in sorted(facts.common_colours):
            add(f"place_marked_cell[{c}]", 1.8, lambda g, c=c: G.place_marked_cell(g, c))
        add("diagonal_tails", 1.8, G.diagonal_tails)
    return ops
