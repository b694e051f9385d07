"""Which catalogue each op family belongs to (issue 24): the general basis, or the scenes.

Scene ops were each written from one development task the search missed (issue 16) and are not part of the
solving programs of at least two development tasks besides that one (`python bench/op_usage.py
bench/results/dsl_arc2_training_e125a13.txt`, bench/results/op_usage.txt). The search tries them only near
the root (cfg.dsl.scene_depth) and at their learned cost; `dsl.catalogues` says which catalogues are searched.
Every other family is the general basis. An op written for one task from now on starts here, and moves
to the general basis when the report admits it.
"""
from __future__ import annotations

SCENES = frozenset({
    "align_to", "alternate_flood", "assemble_corners", "attract_pile", "attract_to_lines", "bounce_rays",
    "box_in_markers", "bridge_diagonal", "bridge_rects", "canvas", "colour_rings", "complete_cells",
    "complete_copies", "complete_dashed", "complete_lines", "complete_rot90", "continue_layers",
    "copy_part_to_all", "corner_halo", "corner_rays", "count_bars", "crop_dense_rect", "crop_line_box",
    "dashed_rays", "diagonal_tails", "edge_key", "elbow", "extend_segments", "fill_largest_rect",
    "fill_largest_square", "fill_with_loose", "fit_into_frame", "fit_pieces", "gather_to_rarest",
    "grow_to_corner", "header_rows", "hole_lines", "inside_out", "key_paint", "key_to_cells", "kron_colour",
    "kron_halves", "kron_majority", "kronecker_by_colour", "lattice_defects", "leaky_box",
    "lines_to_largest", "lower_half_bars", "mark_below", "marked_step", "marked_trails", "midpoint_plus",
    "mirror_around_pivot", "on_cells", "opposite_corners", "overlay_objects", "paint_regions",
    "parity_recolour", "pile", "pile_pyramid", "place_marked_cell", "pool", "project_markers",
    "punch_middle", "ray_from_notch", "ray_from_odd", "recolour_in_box", "recolour_in_boxes",
    "recolour_nearest", "repeat_content", "reverse_rings", "rise_by_height", "rise_by_size",
    "roll_alternate", "roll_by_marker", "seed_stripes", "sort_bars", "spiral", "staircase", "stamp_shapes",
    "stencil_key", "stretch_to_marker", "template_to_marked", "wall_rays", "xor_lines", "zigzag",
})
