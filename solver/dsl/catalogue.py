"""The general basis: op families for concepts that recur across tasks, as a table grouped by concept.

Each entry is (concept, hand-set cost, factory): the factory reads the task's facts (ops.TaskFacts: the
colours the pairs use, the scale factors, whether shapes are kept) and gives the entry's ops as (name, fn)
pairs; an op's family, the key of its learned cost (costs.json), is its name without the bracketed
parameters. The hand-set cost is the prior the first cost table was fitted under (dsl.learned_costs=false
uses it). Parameters come from the task, never from its id: a fill paints a colour some train output has,
a completion fills a colour the inputs have and the outputs lose, scale factors are read off the shapes.

Op families written for one task that the solving programs of too few other development tasks use are
apart, in scenes.py (the admission rule, bench/op_usage.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from . import grids as G
from . import lists as L
from . import objects as O
from .batches import UsesBg, on_objects, on_parts
from .grids import Grid

if TYPE_CHECKING:
    from .ops import TaskFacts

Fn = Callable[[Grid], Grid | None]
Factory = Callable[["TaskFacts"], Iterable[tuple[str, Fn]]]
Entry = tuple[str, float, Factory]

DIRECTIONS = ("down", "up", "left", "right")
STEPS = {"down": (1, 0), "up": (-1, 0), "left": (0, -1), "right": (0, 1)}
PART_COUNTS = ((1, 2), (2, 1), (1, 3), (3, 1), (2, 2))


def bg(g: Grid) -> int:  # (scenes.py's ops read it; the general ones get it through batches.UsesBg)
    return G.background(g)


def scales(f: "TaskFacts") -> list[tuple[int, int]]:
    """The task's output/input scale factors but 1x1."""
    return [(a, b) for a, b in sorted(f.scale_factors) if (a, b) != (1, 1)]


def splitters() -> list[tuple[str, Callable[[Grid], list[Grid] | None]]]:
    """A grid cut into parts: by separator lines, or into equal parts."""
    out: list[tuple[str, Callable[[Grid], list[Grid] | None]]] = [("sep", G.split_by_separators)]
    for ny, nx in PART_COUNTS:
        out.append((f"{ny}x{nx}", lambda g, a=ny, b=nx: G.split_equal(g, a, b)))
    return out


def paint(f: "TaskFacts") -> list[int]:
    """Colours an outline-like op may draw in: the new colours, or failing those every output colour."""
    return sorted(f.new_colours) or sorted(f.out_colours)


GENERAL: list[Entry] = [
    # ---- geometry and symmetry: the 7 symmetries of the square, mirrored copies
    ("geometry", 1.0, lambda f: [(n, lambda g, n=n: G.d8(g, n)) for n in G.D8_NAMES[1:]]),
    ("geometry", 1.2, lambda f: [(f"mirror[{k}]", lambda g, k=k: G.mirror(g, k))
                                 for k in ("right", "left", "down", "up", "quad")]),
    ("geometry", 1.8, lambda f: [(f"each_object[{m},{t}]", lambda g, m=m, t=t: O.each_object(g, m, t))
                                 for m in ("c8", "m8") for t in ("flip_lr", "flip_ud", "rot180", "transpose")]),

    # ---- crop, tile, scale
    ("crop", 1.0, lambda f: [("crop_content", UsesBg(lambda g, b: G.crop_to_content(g, b)))]),
    ("crop", 1.2, lambda f: [("crop_nonzero", lambda g: G.crop_to_content(g, 0))]),
    ("crop", 1.5, lambda f: [("trim_border", G.trim_border), ("compress_repeats", G.compress_repeats)]
     + [(f"pad[{k}]", lambda g, k=k: G.pad(g, k)) for k in ("bg", "edge")]),
    ("scale", 1.2, lambda f: [op for a, b in scales(f) for op in (
        (f"upscale[{a},{b}]", lambda g, a=a, b=b: G.upscale(g, a, b)),
        (f"tile[{a},{b}]", lambda g, a=a, b=b: G.tile(g, a, b)),
        (f"downscale[{a},{b}]", lambda g, a=a, b=b: G.downscale(g, a, b)))]),
    ("scale", 1.5, lambda f: [("motif", G.motif)]),

    # ---- objects and their properties: crop, keep or drop the one a selector picks
    # (Each a member of its connectivity's objects batch, batches.py: objects found and chosen once a grid.)
    ("objects", 1.5, lambda f: [(f"crop_object[{m},{s}]",
                                 on_objects(m, lambda g, bg, sc, s=s: O.crop_chosen(g, sc.pick(s), False)))
                                for m in ("c8", "m8", "c4") for s in O.SELECTORS]),
    ("objects", 1.6, lambda f: [(f"object[{m},{s}]",
                                 on_objects(m, lambda g, bg, sc, s=s: O.crop_chosen(g, sc.pick(s), True)))
                                for m in ("c8", "m8", "c4") for s in O.SELECTORS]),
    ("objects", 1.8, lambda f: [op for m in ("c8", "m8") for s in (
        "largest", "smallest", "unique_colour", "unique_shape", "inner", "topmost", "bottommost", "leftmost",
        "rightmost") for op in (
        (f"keep_object[{m},{s}]",
         on_objects(m, lambda g, bg, sc, s=s: O.keep_chosen(g, bg, len(sc.obs), sc.pick(s), True))),
        (f"remove_object[{m},{s}]",
         on_objects(m, lambda g, bg, sc, s=s: O.keep_chosen(g, bg, len(sc.obs), sc.pick(s), False))))]
     + [(f"remove_noise[{m}]", on_objects(m, lambda g, bg, sc: O.remove_small_of(g, bg, sc.obs, 1)))
        for m in ("c8", "m8")]
     + [("keep_solid", UsesBg(lambda g, b: G.keep_solid(g, b)))]),

    # ---- sorting, counting, selecting: objects as a list, kept by an extreme property, mapped, stacked
    ("lists", 1.8, lambda f: [(f"filter[{m},{p},{k}]", on_objects(m, lambda g, bg, sc, p=p, k=k: L.filter_by(
                                  g, bg, sc.obs, sc.values(p) if len(sc.obs) >= 2 else None, k)))
                              for m in ("c8", "m8") for p in L.PROPERTIES if not (p == "colours" and m == "c8")
                              for k in (L.KEEPS[:2] if p == "holes" else L.KEEPS)]),
    ("lists", 1.8, lambda f: [(f"map[{m},{s}]", on_objects(m, lambda g, bg, sc, s=s: L.map_over(g, bg, sc.obs, s)))
                              for m in ("c8", "m8") for s in L.PIECE_STEPS]),
    ("lists", 1.8, lambda f: [] if f.same_shape else [
        (f"stack[{m},{'vh'[a]},{o}]", on_objects(m, lambda g, bg, sc, a=a, o=o: L.stack_of(sc.obs, a, o)))
        for m in ("c8", "m8") for a in (0, 1) for o in L.ORDERS]),
    ("counting", 1.8, lambda f: [] if f.same_shape else [("colour_stripes", G.colour_stripes)] + [
        (f"colours_by_count[{'vh'[a]}]", UsesBg(lambda g, b, a=a: G.colours_by_count(g, b, a))) for a in (0, 1)]),

    # ---- colour roles: a colour kept or dropped, the majority / minority colour, per line
    ("colours", 1.5, lambda f: [op for c in sorted(f.in_colours) for op in (
        (f"keep_colour[{c}]", UsesBg(lambda g, b, c=c: G.keep_colour(g, c, b))),
        (f"remove_colour[{c}]", UsesBg(lambda g, b, c=c: G.remove_colour(g, c, b))))]
     + [("binarise", UsesBg(lambda g, b: G.binarise(g, b)))]),
    ("colours", 2.0, lambda f: [("majority_colour", UsesBg(lambda g, b: G.majority_colour_grid(g, b))),
                                ("minority_colour", UsesBg(lambda g, b: G.minority_colour_grid(g, b))),
                                ("most_common_colour", lambda g: G.majority_colour_grid(g, -1))]),
    ("colours", 1.8, lambda f: [("uniform_colour", UsesBg(lambda g, b: G.uniform_colour(g, b))),
                                ("uniform_minority", UsesBg(lambda g, b: G.uniform_colour(g, b, minority=True))),
                                ("column_majority", lambda g: G.line_majority(g, 0)),
                                ("row_majority", lambda g: G.line_majority(g, 1))]),

    # ---- pattern completion: hidden cells from symmetry or period, noise removed
    ("completion", 1.5, lambda f: [(f"denoise[{c}]", lambda g, c=c: G.denoise(g, c)) for c in sorted(f.mask_colours)]
     + [(f"symmetrize[{k},{c}]", lambda g, k=k, c=c: G.symmetrize(g, k, c))
        for c in sorted(f.mask_colours | {0}) for k in G.SYMMETRIES]
     + [(f"periodic_fill[{c},{k}]", lambda g, c=c, k=k: G.periodic_fill(g, c, k))
        for c in sorted(f.mask_colours | {0}) for k in (0, 1, 2)]),
    ("completion", 1.8, lambda f: [("denoise_minority", G.denoise_minority)]
     + [(f"hidden_by_symmetry[{k},{c}]", lambda g, k=k, c=c: G.hidden_part(g, G.symmetrize(g, k, c), c))
        for c in sorted(f.mask_colours | {0}) for k in G.SYMMETRIES]
     + [(f"hidden_by_period[{c}]", lambda g, c=c: G.hidden_part(g, G.periodic_fill(g, c), c))
        for c in sorted(f.mask_colours | {0})]),
    ("completion", 2.0, lambda f: [(f"symmetrize_offset[{k},{c}]", lambda g, k=k, c=c: G.symmetrize_offset(g, k, c))
                                   for c in sorted(f.mask_colours | {0}) for k in ("lr", "ud")]),

    # ---- gravity and movement
    ("movement", 1.5, lambda f: [(f"shift[{d}]",
                                  UsesBg(lambda g, bgc, a=STEPS[d][0], b=STEPS[d][1]: G.shift(g, a, b, bgc)))
                                 for d in DIRECTIONS]
     + [(f"gravity[{d}]", UsesBg(lambda g, b, d=d: G.gravity(g, d, b))) for d in DIRECTIONS]),
    ("movement", 1.8, lambda f: [(f"object_gravity[{d}]", lambda g, d=d: O.object_gravity(g, "m8", d))
                                 for d in DIRECTIONS]
     + [(f"move_to_touch[{m},{s}]", lambda g, m=m, s=s: O.move_until_touch(g, m, s))
        for m in ("c8", "m8") for s in ("largest", "smallest", "unique_colour", "unique_shape")]
     + [(f"attract[{m}]", lambda g, m=m: O.attract_all(g, m)) for m in ("c8", "m8")]
     + [(f"stamp[{a}]", lambda g, a=a: O.stamp_markers(g, a)) for a in ("centre", "match")]
     # loose cells moved to the frame side of their colour (to it, one step, or drawing a trail)
     + [("to_matching_side[trail]", lambda g: O.to_matching_side(g, trail=True))]
     + ([("to_matching_side", O.to_matching_side), ("to_matching_side[1]", lambda g: O.to_matching_side(g, 1))]
        if f.same_shape else [])),

    # ---- lines and rays
    ("lines", 1.5, lambda f: [(f"rays[{d}]", UsesBg(lambda g, b, d=d: G.rays(g, d, b))) for d in G.RAY_DIRECTIONS]
     + [(f"connect[{a}]", UsesBg(lambda g, b, a=a: G.connect_pairs(g, b, a))) for a in ("hv", "h", "v", "d")]),
    ("lines", 1.8, lambda f: [(f"connect[hv,{c}]", UsesBg(lambda g, b, c=c: G.connect_pairs(g, b, "hv", c)))
                              for c in sorted(f.new_colours)]
     # the rows/columns that cross the grid unobstructed painted
     + [(f"fill_clear_lines[{c}]", lambda g, c=c: G.fill_clear_lines(g, c)) for c in sorted(f.new_colours)]),

    # ---- fills and outlines
    ("fills", 1.5, lambda f: [op for c in sorted(f.out_colours) for op in (
        (f"fill_enclosed[{c}]", UsesBg(lambda g, b, c=c: G.fill_enclosed(g, c, b))),
        (f"flood[{c}]", UsesBg(lambda g, b, c=c: G.flood(g, c, b))))]),
    ("fills", 2.0, lambda f: [op for c in paint(f) for op in (
        (f"outline[{c}]", lambda g, c=c: O.outline_objects(g, "c8", c, True)),
        (f"outline4[{c}]", lambda g, c=c: O.outline_objects(g, "c8", c, False)),
        (f"interior[{c}]", lambda g, c=c: O.interior(g, c)),
        (f"fill_boxes[{c}]", lambda g, c=c: O.fill_object_boxes(g, "c8", c)),
        (f"border[{c}]", lambda g, c=c: G.draw_border(g, c)))]),

    # ---- lattices: a grid cut into parts, the parts combined, overlaid or one picked
    ("lattices", 1.5, lambda f: [("cells_to_pixels", G.cells_to_pixels)]),
    ("lattices", 1.8, lambda f: [("fill_cells", G.fill_cells), ("cells_to_counts", G.cells_to_counts)]
     # (Each a member of its splitter's batch, batches.py: a grid is split once by each splitter.)
     + [(f"combine[{n},{h}]", on_parts(n, s, lambda g, b, parts, h=h: G.combine_masks(parts, h, b)))
        for n, s in splitters() for h in ("and", "or", "xor", "nor", "one")]
     + [(f"overlay{'_rev' if r else ''}[{n}]", on_parts(n, s, lambda g, b, parts, r=r: G.overlay(parts, b, r)))
        for n, s in splitters() for r in (False, True)]
     + [(f"part[{n},{p}]", on_parts(n, s, lambda g, b, parts, p=p: G.pick_part(parts, p, b)))
        for n, s in splitters() for p in G.PART_PICKS]),
]
