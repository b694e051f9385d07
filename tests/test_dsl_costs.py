"""Learned op costs and the catalogues (issue 24): reading solving programs, the description-length fit,
and the search trying scene ops only near the root."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from .test_dsl import fast_cfg, task_of
from solver.budget import Deadline
from solver.dsl import fit_costs as F
from solver.dsl import search as S
from solver.dsl.ops import COSTS_PATH, SCENES, TaskFacts, build_ops, family

NAMES = {"crop_object[c8,largest]": "crop_object", "keep_solid": "keep_solid", "rot90": "rot90",
         "tile[2,2]": "tile", "corner_halo[8]": "corner_halo"}


def test_ops_used_reads_steps_list_maps_but_not_parameters_or_learned_steps():
    assert F.ops_used("recolour[1>2](crop_object[c8,largest](rot90(x)))", NAMES) == [
        "crop_object[c8,largest]", "rot90"]
    assert F.ops_used("local_rule[row_col](map[c8,keep_solid|in_place](x))", NAMES) == ["keep_solid"]
    assert F.ops_used("each_object[c8,rot90](x)", NAMES) == []  # a parameter, not a step
    assert F.ops_used("corner_halo[8](tile[2,2](x))", NAMES) == ["corner_halo[8]", "tile[2,2]"]


def test_solved_programs_reads_development_fits_only(tmp_path):
    lines = ["split     tasks  pass@2",
             "00000001 dev  SOLVED    right 1/1 cpu  3.43 nodes   6720 depth 0 reach 3/1 stop enough    rot90(x)",
             "00000002 dev  fit-wrong right 0/1 cpu  3.43 nodes   6720 depth 0 reach 3/1 stop enough    tile[2,2](x)",
             "00000003 dev  SOLVED    right 1/1 cpu  3.43 nodes   6720 depth 0 reach 3/1 stop budget    partial: keep_solid(x)",
             "00000004 held SOLVED    right 1/1 cpu  3.43 nodes   6720 depth 0 reach 3/1 stop enough    keep_solid(x)"]
    path = tmp_path / "r.txt"
    path.write_text("\n".join(lines) + "\n")
    assert F.solved_programs(path) == {"00000001": "rot90(x)"}


def test_fit_gives_frequent_families_lower_costs_within_floor_and_ceiling():
    uses = {"crop_object": 12, "rot90": 3, "keep_solid": 1}
    families = {"crop_object", "rot90", "keep_solid", "tile", "corner_halo"}
    costs, default = F.fit(uses, families)
    assert costs["crop_object"] == F.FLOOR
    assert costs["crop_object"] < costs["rot90"] < costs["keep_solid"] < costs["tile"] == default <= F.CEIL
    # One bit (twice as rare, smoothed) costs SCALE more.
    total = 16 + F.ALPHA * 5
    bits = {f: -math.log2((uses.get(f, 0) + F.ALPHA) / total) for f in families}
    assert math.isclose(costs["rot90"] - costs["crop_object"], F.SCALE * (bits["rot90"] - bits["crop_object"]),
                        abs_tol=2e-3)


def test_the_committed_table_covers_every_family_and_build_ops_uses_it():
    data = json.loads(COSTS_PATH.read_text())
    assert data["command"].startswith("python -m solver.dsl.fit_costs ")
    assert set(data["costs"]) == set(F.all_op_names().values())
    every = frozenset(range(10))
    ops = build_ops(TaskFacts(every, every, every, every, frozenset({(2, 2)}), True, every))
    for op in ops:
        assert op.cost == data["costs"][family(op.name)]
        assert op.scene == (family(op.name) in SCENES)
    scene = [op.scene for op in ops]
    assert scene == sorted(scene)  # the general basis first
    assert not any(op.scene for op in build_ops(TaskFacts(every, every, every, every, frozenset(), True, every),
                                                ("general",)))


def halo_pair(seed: int, noise: bool = False) -> tuple[list, list]:
    """Cells of colour 2 get an X-shaped halo of 8 (corner_halo, a scene op); with noise, the input also has
    cells of 5 on its border that the output drops (so the halo must come after removing them)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((9, 9), np.uint8)
    for r, c in rng.integers(2, 7, size=(2, 2)):
        x[r, c] = 2
    y = x.copy()
    for r, c in zip(*np.nonzero(x)):
        for dr in (-1, 1):
            for dc in (-1, 1):
                if y[r + dr, c + dc] == 0:
                    y[r + dr, c + dc] = 8
    if noise:
        x[0, rng.integers(0, 9)] = 5
        x[rng.integers(1, 9), 0] = 5
    return x.tolist(), y.tolist()


@pytest.mark.slow
def test_scene_ops_are_tried_only_within_scene_depth_of_the_root():
    task = task_of([halo_pair(s) for s in range(3)], [halo_pair(7)])
    assert "corner_halo" in SCENES
    s = S.Search(task, fast_cfg(), S.Clock(5.0, Deadline.never()))
    assert all(not op.scene for op in s.ops_at(1)) and any(op.scene for op in s.ops_at(0))
    found = s.run()
    assert found.programs and found.programs[0].text.startswith("corner_halo[8](")
    # With noise to remove first, the halo is a second step: beyond scene_depth 1; scene_depth 2 finds it.
    noisy = task_of([halo_pair(s, True) for s in range(3)], [halo_pair(7, True)])
    # (Not the clock: the near search runs out of states or hits the cap; 20000 states reach depth 2.)
    near = S.Search(noisy, fast_cfg(max_nodes=20000), S.Clock(100.0, Deadline.never())).run()
    assert near.stopped_by in ("nodes", "exhausted") and not any("corner_halo" in p.text for p in near.programs)
    deeper = S.Search(noisy, fast_cfg(scene_depth=2, cost_slack=5.0, max_nodes=20000),
                      S.Clock(100.0, Deadline.never())).run()
    assert any(p.text.startswith("corner_halo[8](remove_colour[5](") for p in deeper.programs)
