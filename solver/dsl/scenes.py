"""The scenes catalogue: op families each written from one development task the search missed (issue 16),
that the solving programs of fewer than two other development tasks use (`python bench/op_usage.py
bench/results/dsl_arc2_training_e125a13.txt`, bench/results/op_usage.txt).

They are kept, not dropped (some transfer), but the search tries them after the general basis, only within
dsl.scene_depth steps of the root, at their learned cost; `dsl.catalogues` can leave them out. Entries as in
catalogue.py: (concept, hand-set cost, factory). An op written for one task from now on starts here, and
moves to catalogue.py when the report admits it. docs/dsl.md says what each does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from . import grids as G
from . import objects as O
from .catalogue import Entry, Factory, Fn, bg, scales
from .grids import Grid

if TYPE_CHECKING:
    from .ops import TaskFacts

EDGES = ("left", "right", "top", "bottom")


def same(make: Callable[["TaskFacts"], Iterable[tuple[str, Fn]]]) -> Factory:
    """Only for tasks whose outputs keep their inputs' shape."""
    return lambda f: list(make(f)) if f.same_shape else []


def other(make: Callable[["TaskFacts"], Iterable[tuple[str, Fn]]]) -> Factory:
    """Only for tasks whose outputs have another shape than their inputs."""
    return lambda f: [] if f.same_shape else list(make(f))


def new(name: str, fn: Callable[[Grid, int], Grid | None]) -> Factory:
    """One op per colour the train outputs gain."""
    return lambda f: [(f"{name}[{c}]", lambda g, c=c: fn(g, c)) for c in sorted(f.new_colours)]


SCENES_TABLE: list[Entry] = [
    # ---- lines and rays
    ("lines", 1.8, lambda f: [("seed_stripes", G.seed_stripes), ("project_markers", O.project_markers)]
     + [(f"corner_rays[{d}]", lambda g, a=a, b=b: O.corner_rays(g, a, b))
        for d, (a, b) in {"dr": (1, 1), "dl": (1, -1), "ur": (-1, 1), "ul": (-1, -1)}.items()]),
    ("lines", 1.8, new("bounce_rays", O.bounce_rays)),
    ("lines", 1.8, new("midpoint_plus", G.midpoint_plus)),
    ("lines", 1.8, same(lambda f: [
        ("ray_from_odd", O.ray_from_odd_cell), ("bridge_diagonal", O.bridge_diagonal),
        ("ray_from_notch", O.ray_from_notch), ("hole_lines", G.hole_lines), ("lines_to_largest", O.lines_to_largest),
        ("zigzag", G.zigzag), ("diagonal_tails", G.diagonal_tails), ("box_in_markers", O.box_in_markers)]
        + [(f"extend_segments[{t}]", lambda g, t=t: O.extend_segments(g, t)) for t in ("h", "v")]
        + [(f"wall_rays[{c},{'to' if t else 'away'}]", lambda g, c=c, t=t: G.wall_rays(g, c, t))
           for c in sorted(f.common_colours) for t in (True, False)]
        + [(f"elbow[{p},{c}]", lambda g, p=p, c=c: G.elbow(g, p, c))
           for p in sorted(f.new_colours) for c in sorted(f.common_colours)]
        + [(f"xor_lines[{e}]", lambda g, e=e: G.xor_lines(g, e)) for e in ("top", "left")]
        + [(f"bridge_rects[{c}]", lambda g, c=c: O.bridge_rects(g, c)) for c in sorted(f.new_colours)]
        + [(f"complete_dashed[{c}]", lambda g, c=c: G.complete_dashed(g, c)) for c in sorted(f.new_colours)]
        + [(f"spiral[{c}]", lambda g, c=c: G.spiral(g, c)) for c in sorted(f.new_colours)]
        + [(f"mark_below[{c}]", lambda g, c=c: O.mark_below(g, c)) for c in sorted(f.new_colours)])),
    ("lines", 2.0, same(lambda f: [(f"dashed_rays[{c},{d}]", lambda g, c=c, d=d: G.dashed_rays(g, c, d))
                                   for c in sorted(f.new_colours) for d in ("right", "left", "down", "up")])),

    # ---- fills and recolouring by place
    ("fills", 1.8, lambda f: [(f"recolour_nearest[{c}]", lambda g, c=c: O.recolour_by_nearest(g, c))
                              for c in sorted(f.mask_colours)]
     + [(f"recolour_in_box[{b},{c}]", lambda g, b=b, c=c: G.recolour_in_box(g, b, c))
        for c in sorted(f.new_colours) for b in sorted(f.in_colours & f.out_colours)]
     + [(f"fill_largest_square[{c}]", lambda g, c=c: G.fill_largest_square(g, c)) for c in sorted(f.new_colours)]
     + [("gather_to_rarest", G.gather_to_rarest)]),
    ("fills", 2.0, new("corner_halo", G.corner_halo)),
    ("fills", 1.8, same(lambda f: [
        (f"recolour_in_boxes[{b},{c}]", lambda g, b=b, c=c: G.recolour_in_box(g, b, c, 2))
        for c in sorted(f.new_colours) for b in sorted(f.common_colours & f.out_colours)]
        + [(f"paint_regions[{a},{b}]", lambda g, a=a, b=b: O.paint_regions(g, a, b))
           for a in sorted(f.new_colours) for b in sorted(f.new_colours - {a})]
        + [(f"edge_key[{c},{e}]", lambda g, c=c, e=e: G.recolour_by_edge_key(g, c, e))
           for c in sorted(f.mask_colours) for e in EDGES]
        + [(f"alternate_flood[{c}]", lambda g, c=c: G.alternate_flood(g, c))
           for c in sorted(f.common_colours & f.out_colours)]
        + [(f"leaky_box[{c}]", lambda g, c=c: O.leaky_box(g, c)) for c in sorted(f.new_colours)]
        + [("opposite_corners", G.opposite_corners), ("punch_middle", O.punch_middle),
           ("grow_to_corner", G.grow_to_corner), ("fill_with_loose", G.fill_with_loose),
           ("inside_out", O.inside_out), ("header_rows", G.header_rows)])),
    ("fills", 2.0, same(lambda f: [(f"fill_largest_rect[{c}]", lambda g, c=c: G.fill_largest_rect(g, c))
                                   for c in sorted(f.new_colours)]
                        + [(f"lower_half_bars[{c}]", lambda g, c=c: G.lower_half_bars(g, c))
                           for c in sorted(f.new_colours)])),
    ("fills", 2.2, same(lambda f: [
        (f"parity_recolour[{c},{e}]", lambda g, c=c, e=e: G.parity_recolour(g, c, e))
        for c in sorted(f.new_colours) for e in EDGES])),

    # ---- movement
    ("movement", 1.8, lambda f: [("attract_to_lines", O.attract_to_lines),
                                 ("attract_pile[c8]", lambda g: O.attract_all(g, "c8", pile=True))]
     + [(f"stamp_shapes[{m},{'keep' if k else 'drop'}]", lambda g, m=m, k=k: O.stamp_shapes(g, m, k))
        for m in ("m8", "m4") for k in (True, False)]),
    ("movement", 1.8, same(lambda f: [
        ("stretch_to_marker", O.stretch_to_marker), ("sort_bars", O.sort_bars), ("rise_by_size", O.rise_by_size),
        ("rise_by_height", lambda g: O.rise_by_size(g, "height")), ("pile_pyramid", G.pile_pyramid)]
        + [op for c in sorted(f.mask_colours) for op in (
            (f"marked_trails[{c}]", lambda g, c=c: O.marked_trails(g, c)),
            (f"marked_step[{c}]", lambda g, c=c: O.marked_trails(g, c, False)))])),
    ("movement", 2.0, same(lambda f: [(f"align_to[{c}]", lambda g, c=c: O.align_to_colour(g, c))
                                      for c in sorted(f.in_colours)])),
    ("movement", 2.2, same(lambda f: [
        (f"roll_alternate[{'rc'[a]},{s}]", lambda g, a=a, s=s: G.roll_alternate(g, a, s))
        for a in (0, 1) for s in (1, -1)])),
    ("movement", 1.8, other(lambda f: [("roll_by_marker", G.roll_by_marker)])),

    # ---- pattern completion
    ("completion", 1.8, lambda f: [(f"complete_cells[{p}]", lambda g, p=p: G.complete_cells(g, p))
                                   for p in ("sep", "template")]),
    ("completion", 1.8, same(lambda f: [
        ("reverse_rings", G.reverse_rings), ("complete_copies", O.complete_copies),
        ("mirror_around_pivot", G.mirror_around_pivot), ("complete_rot90", G.complete_rot90)]
        + [(f"complete_lines[{'rc'[a]}]", lambda g, a=a: G.complete_lines(g, a)) for a in (0, 1)]
        + [(f"repeat_content[{a}]", lambda g, a=a: G.repeat_content(g, a)) for a in ("v", "h", "hv")])),

    # ---- lattices
    ("lattices", 1.8, lambda f: [(f"key_to_cells[{p}]", lambda g, p=p: G.key_to_cells(g, p))
                                 for p in ("least_fg", "most_fg")]),
    ("lattices", 1.8, same(lambda f: [
        ("on_cells[stamp]", lambda g: G.on_cells(g, lambda s: O.stamp_markers(s, "match"))),
        ("copy_part_to_all", G.copy_part_to_all), ("template_to_marked", G.template_to_marked)]
        + [(f"place_marked_cell[{c}]", lambda g, c=c: G.place_marked_cell(g, c)) for c in sorted(f.common_colours)])),
    ("lattices", 1.8, other(lambda f: [(f"pile[sep,{'bottom' if u else 'top'}]",
                                        lambda g, u=u: G.pile_parts(G.split_by_separators(g), bg(g), u))
                                       for u in (True, False)]
                        + [("key_paint", G.key_paint)]
                        + [(f"lattice_defects[{c}]", lambda g, c=c: G.lattice_defects(g, c))
                           for c in sorted(f.new_colours)])),

    # ---- crop, scale, assemble (outputs of another shape)
    ("crop", 1.5, other(lambda f: [("crop_dense_rect", G.crop_dense_rect), ("crop_line_box", G.crop_line_box)]
                        + [(f"pool[{a},{b}]", lambda g, a=a, b=b: G.pool(g, a, b))
                           for a, b in sorted(f.scale_factors)])),
    ("scale", 1.8, other(lambda f: [
        ("overlay_objects", lambda g: O.overlay_objects(g, "m8")), ("fit_into_frame", O.fit_into_frame),
        ("stencil_key", O.stencil_key), ("colour_rings", G.colour_rings), ("fit_pieces", O.fit_pieces),
        ("assemble_corners", O.assemble_corners), ("kronecker_by_colour", G.kronecker_by_colour),
        ("kron_halves", G.kron_halves), ("kron_majority", lambda g: G.kron_colour(g, None)),
        ("staircase", G.staircase)]
        + [(f"count_bars[{'vh'[a]}]", lambda g, a=a: G.count_bars(g, a)) for a in (0, 1)]
        + [(f"kron_colour[{c}]", lambda g, c=c: G.kron_colour(g, c)) for c in sorted(f.common_colours)]
        + [(f"canvas[{a},{b}]", lambda g, a=a, b=b: G.canvas(g, a, b)) for a, b in scales(f)]
        + [(f"continue_layers[{a},{b}]", lambda g, a=a, b=b: G.continue_layers(g, a, b)) for a, b in scales(f)])),
]
