"""Grid primitives, re-exported from solver/dsl/prims/, where they live by kind:

- prims/basics.py: validity, background, palette, equality, bounding box
- prims/geometry.py: D8, crop, pad, tile, scale, Kronecker, mirror, concat, motif
- prims/colours.py: keep/remove a colour, colour maps, binarise, majority/minority colours
- prims/completion.py: symmetrize, hidden parts, periodic fill, denoise, periodic/reflected extension
- prims/movement.py: gravity, shift
- prims/drawing.py: flood, enclosed fills, rays, connecting lines, borders
- prims/lattices.py: separators, splits, cells, parts combined/overlaid/picked
- prims/scene_lines.py: lines and rays of scene ops
- prims/scene_fills.py: fills and recolouring of scene ops
- prims/scene_movement.py: piles and rolls of scene ops
- prims/scene_completion.py: completions of scene ops
- prims/scene_lattices.py: lattice steps of scene ops
- prims/scene_shapes.py: crops and scalings of scene ops

Ops and tests reach the primitives as `grids.<name>` (`from . import grids as G`); this module only
gathers them, so a primitive can move between kinds (a scene op admitted to the general basis) without
its callers changing. The conventions all primitives keep are in prims/basics.py's docstring.
"""
from __future__ import annotations

from ..tasks import MAX_SIDE, Grid

from .prims.basics import valid, defined, background, palette, same, bbox
from .prims.geometry import (D8_NAMES, _D8, d8, crop_to_content, pad, trim_border, tile, upscale, downscale,
    kronecker, compress_repeats, concat, mirror, motif)
from .prims.colours import (keep_colour, remove_colour, apply_colour_map, binarise, majority_colour_grid,
    minority_colour_grid, keep_solid, colours_by_count, colour_stripes, uniform_colour, line_majority)
from .prims.completion import (SYMMETRIES, _reflections, symmetrize, hidden_part, symmetrize_offset,
    denoise_minority, periodic_fill, denoise, extend_periodic, extend_shifted, extend_reflect)
from .prims.movement import gravity, shift
from .prims.drawing import (outside_mask, flood, fill_enclosed, RAY_DIRECTIONS, rays, connect_pairs,
    draw_border, fill_clear_lines)
from .prims.lattices import (separator_lines, _parts_between, split_by_separators, lattice, cells_to_pixels,
    cells_to_counts, fill_cells, split_equal, PART_PICKS, pick_part, combine_masks, overlay)
from .prims.scene_lines import (seed_stripes, wall_rays, elbow, hole_lines, dashed_rays, xor_lines,
    midpoint_plus, zigzag, complete_dashed, spiral, diagonal_tails)
from .prims.scene_fills import (recolour_in_box, corner_halo, fill_largest_rect, fill_largest_square,
    opposite_corners, gather_to_rarest, recolour_by_edge_key, alternate_flood, header_rows, lower_half_bars,
    parity_recolour, grow_to_corner, fill_with_loose)
from .prims.scene_movement import roll_alternate, pile_pyramid, roll_by_marker
from .prims.scene_completion import (repeat_content, reverse_rings, complete_lines, complete_cells,
    mirror_around_pivot, complete_rot90)
from .prims.scene_lattices import (pile_parts, key_to_cells, on_cells, key_paint, copy_part_to_all,
    lattice_defects, template_to_marked, place_marked_cell)
from .prims.scene_shapes import (pool, colour_rings, count_bars, kronecker_by_colour, canvas, kron_colour,
    kron_halves, staircase, crop_dense_rect, crop_line_box, continue_layers)

__all__ = [
    "Grid", "MAX_SIDE", "valid", "defined", "background", "palette", "same", "bbox", "D8_NAMES", "_D8",
    "d8", "crop_to_content", "pad", "trim_border", "tile", "upscale", "downscale", "kronecker",
    "compress_repeats", "concat", "mirror", "motif", "keep_colour", "remove_colour", "apply_colour_map",
    "binarise", "majority_colour_grid", "minority_colour_grid", "keep_solid", "colours_by_count",
    "colour_stripes", "uniform_colour", "line_majority", "SYMMETRIES", "_reflections", "symmetrize",
    "hidden_part", "symmetrize_offset", "denoise_minority", "periodic_fill", "denoise", "extend_periodic",
    "extend_shifted", "extend_reflect", "gravity", "shift", "outside_mask", "flood", "fill_enclosed",
    "RAY_DIRECTIONS", "rays", "connect_pairs", "draw_border", "fill_clear_lines", "separator_lines",
    "_parts_between", "split_by_separators", "lattice", "cells_to_pixels", "cells_to_counts",
    "fill_cells", "split_equal", "PART_PICKS", "pick_part", "combine_masks", "overlay", "seed_stripes",
    "wall_rays", "elbow", "hole_lines", "dashed_rays", "xor_lines", "midpoint_plus", "zigzag",
    "complete_dashed", "spiral", "diagonal_tails", "recolour_in_box", "corner_halo", "fill_largest_rect",
    "fill_largest_square", "opposite_corners", "gather_to_rarest", "recolour_by_edge_key",
    "alternate_flood", "header_rows", "lower_half_bars", "parity_recolour", "grow_to_corner",
    "fill_with_loose", "roll_alternate", "pile_pyramid", "roll_by_marker", "repeat_content",
    "reverse_rings", "complete_lines", "complete_cells", "mirror_around_pivot", "complete_rot90",
    "pile_parts", "key_to_cells", "on_cells", "key_paint", "copy_part_to_all", "lattice_defects",
    "template_to_marked", "place_marked_cell", "pool", "colour_rings", "count_bars",
    "kronecker_by_colour", "canvas", "kron_colour", "kron_halves", "staircase", "crop_dense_rect",
    "crop_line_box", "continue_layers"
]
