"""The repeated-sampling curve (solver/curve.py) on hand-made journals: coverage and pass@2 per number of views,
exactly; the fit; and the report's section."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from solver.config import load_config
from solver.curve import curve_points, sampling_curve, saturation_views, view_order
from solver.journal import Journal, TaskRecord, read_tasks, run_identity
from solver.tasks import Candidate

VIEWS4 = ["identity", "rot90", "rot180", "rot270"]  # views_for_task's first four: D8 elements 0..3


def g(*rows):
    return np.array(rows, dtype=np.uint8)


T, W, A, B = g([1, 2]), g([3, 3]), g([4, 4]), g([5, 5])


def write_run(workdir: Path, tasks: dict[str, tuple[int, list[tuple[np.ndarray, dict[str, list[np.ndarray]]]]]],
              overrides: tuple[str, ...] = (), others: dict[str, list[Candidate]] | None = None,
              truths: bool = True) -> Path:
    """A journal as a run writes it: per task (views in its plan, per test input (truth, model grids per view));
    `others`: more candidates of other stages. The solutions file beside it, named in the header."""
    cfg = load_config(None, ['model.path="m"', *overrides])
    solutions = workdir.parent / f"{workdir.name}_solutions.json"
    solutions.write_text(json.dumps({tid: [t.tolist() for t, _ in tests] for tid, (_, tests) in tasks.items()}))
    journal = Journal(workdir)
    journal.start({"identity": run_identity("x", cfg.to_dict()), "config": cfg.to_dict(), "challenges": None,
                   "solutions": str(solutions) if truths else None})
    for tid, (views, tests) in tasks.items():
        cands = [Candidate(i, grid, "neural-greedy", view=view, logprob=-0.1 * k)
                 for i, (_, per_view) in enumerate(tests) for view, grids in per_view.items()
                 for k, grid in enumerate(grids)]
        cands += (others or {}).get(tid, [])
        journal.record(TaskRecord(tid, [(W, W)] * len(tests), cands, plan={"model": True, "views": views,
                                                                             "method": "greedy"}))
    return workdir


def hand_made(tmp_path: Path) -> Path:
    return write_run(tmp_path / "work", {
        # selection finds it whenever a view did: one wrong grid besides; rot270's output did not parse
        "cov": (4, [(T, {"identity": [W], "rot90": [T], "rot180": [W]})]),
        # never selected: every view votes A and B twice, rot90 finds T once beside them
        "sel": (4, [(T, {v: [A, A, B, B] + ([T] if v == "rot90" else []) for v in VIEWS4})]),
        # two test inputs: the first found under the identity, the second under rot180
        "two": (4, [(T, {v: [T if v == "identity" else W] for v in VIEWS4}),
                    (B, {v: [B if v == "rot180" else W] for v in VIEWS4})]),
    }, others={"sel": [Candidate(0, T, "dsl", program="p", fits_train=True)]})  # a DSL truth: not the model's


def test_coverage_and_pass2_per_number_of_views_exactly(tmp_path):
    work = hand_made(tmp_path)
    cfg = load_config(None, ['model.path="m"'])
    curve = sampling_curve(read_tasks(work).values(), {k: [np.array(v, np.uint8) for v in vs] for k, vs in
                                                         json.loads((tmp_path / "work_solutions.json").read_text()).items()}, cfg)
    first = {tid: {v: view_order(tid, sorted(VIEWS4)).index(v) for v in VIEWS4} for tid in ("cov", "sel", "two")}
    assert curve.groups == [1, 2, 4] and curve.views == [1, 2, 4] and curve.outputs == 4 and curve.tasks == 3
    for k, n in enumerate(curve.groups):
        found = {(tid, view): first[tid][view] < n for tid in first for view in VIEWS4}
        assert curve.coverage[k] == (found["cov", "rot90"] + found["sel", "rot90"] + found["two", "identity"]
                                     + found["two", "rot180"]) / 4
        assert curve.pass2[k] == (found["cov", "rot90"] + found["two", "identity"] + found["two", "rot180"]) / 4
    # All views: everything found, "sel"'s truth never chosen (the DSL's truth is not the model's).
    assert (curve.coverage[-1], curve.pass2[-1]) == (1.0, 0.75)
    # The same order for every n: the subsets are nested, so coverage never falls.
    assert all(x <= y for x, y in zip(curve.coverage, curve.coverage[1:]))
    # The order is random but fixed: not the same for every task, the same on every call.
    assert len({tuple(view_order(t, VIEWS4)) for t in ("a", "b", "c", "d", "e")}) > 1
    assert view_order("cov", VIEWS4) == view_order("cov", VIEWS4)


def test_views_sharing_a_symmetry_are_one_group_and_the_axis_counts_views(tmp_path):
    # 16 views: 8 D8 groups of 2. A task whose truth only the rot90 group finds.
    work = write_run(tmp_path / "work", {"t": (16, [(T, {v: [T if v == "rot90" else W] * 2 for v in
                                                         ["identity", "rot90", "rot180", "rot270", "transpose",
                                                          "flip_ud", "anti_transpose", "flip_lr"]})])},
                     ("sample.views=16",))
    curve = sampling_curve(read_tasks(work).values(), {"t": [T]}, load_config(None, ['model.path="m"']))
    assert curve.groups == [1, 2, 4, 8] and curve.views == [2, 4, 8, 16]
    assert curve.coverage[-1] == 1.0 and curve.pass2[-1] == 1.0
    assert curve_points(1) == [1] and curve_points(6) == [1, 2, 4, 6] and curve_points(0) == []


def test_no_curve_without_truths_or_model_views(tmp_path):
    work = hand_made(tmp_path)
    cfg = load_config(None, ['model.path="m"'])
    assert sampling_curve(read_tasks(work).values(), {}, cfg) is None
    dsl_only = [TaskRecord("x", [(W, W)], [Candidate(0, T, "dsl")])]
    assert sampling_curve(dsl_only, {"x": [T]}, cfg) is None
    # A task the budget cut, or whose model part was lost, says nothing about views: left out.
    found = [Candidate(0, T, "neural-greedy")]
    plan = {"model": True, "views": 1}
    cut = TaskRecord("x", [(W, W)], [], plan=plan, status="cut")
    lost = TaskRecord("y", [(W, W)], [], plan=plan, errors=["gpu part lost: worker died"])
    ok = TaskRecord("z", [(T, T)], found, plan=plan)
    curve = sampling_curve([cut, lost, ok], {"x": [T], "y": [T], "z": [T]}, cfg)
    assert (curve.tasks, curve.coverage, curve.pass2) == (1, [1.0], [1.0])


def test_the_fit_recovers_a_and_b_from_a_curve_of_many_tasks():
    # Tasks whose truth only one of 8 views finds, or none: with a share q(n) of the tasks found within their
    # first n views following exp(a n^b), the fit on the measured points recovers a and b.
    a, b = -1.2, -0.6
    cov = {n: math.exp(a * n ** b) for n in (1, 2, 4, 8)}
    views8 = ["identity", "rot90", "rot180", "rot270", "transpose", "flip_ud", "anti_transpose", "flip_lr"]
    tasks, k, n_tasks = {}, 0, 500
    target = {n: round(cov[n] * n_tasks) for n in cov}
    for n, lo in zip((1, 2, 4, 8), (0, target[1], target[2], target[4])):
        for _ in range(target[n] - lo):  # found first at the n-th group of its order
            tid = f"t{k}"
            order = view_order(tid, sorted(views8))
            where = order[n // 2] if n > 1 else order[0]  # within the first n, not within the first n / 2
            tasks[tid] = (8, [(T, {v: [T if v == where else W] for v in views8})])
            k += 1
    while k < n_tasks:
        tasks[f"t{k}"] = (8, [(T, {v: [W] for v in views8})])
        k += 1
    records = [TaskRecord(tid, [(W, W)], [Candidate(0, grid, "neural-greedy", view=v) for v, (grid,) in
                                         per_view.items()], plan={"model": True, "views": 8})
               for tid, (_, [(_, per_view)]) in tasks.items()]
    curve = sampling_curve(records, {t: [T] for t in tasks}, load_config(None, ['model.path="m"']))
    assert curve.coverage == pytest.approx([target[n] / n_tasks for n in (1, 2, 4, 8)])
    assert curve.fit == pytest.approx((a, b), rel=0.02)
    assert curve.predict(16) == pytest.approx(math.exp(a * 16 ** b), abs=0.005)


def test_saturation_is_where_doubling_stops_paying():
    from solver.curve import SamplingCurve
    curve = SamplingCurve([1, 2, 4, 8], [1, 2, 4, 8], [0.14, 0.49, 0.78, 0.92], [0.1] * 4, 100, 100,
                          (-2.0, -1.5))
    gains = {v: curve.doubling_gain(v) for v in range(1, 41)}
    assert all(x > y for x, y in zip(list(gains.values()), list(gains.values())[1:]))  # falls with v
    v = saturation_views(curve, 40, 0.01)
    assert 16 < v < 32 and gains[v] < 0.01 <= gains[v - 1]
    assert saturation_views(curve, 16, 0.01) is None  # doubling 16 views still adds 2 points
    assert saturation_views(SamplingCurve([1], [1], [0.0], [0.0], 1, 1, None), 8, 0.01) is None


def test_the_report_shows_the_curve(tmp_path):
    from solver.report import sampling_curve_of, write_report
    work = hand_made(tmp_path)
    page = write_report(work).read_text()
    section = page[page.index("<h2>Repeated sampling</h2>"):page.index("<h2>Time</h2>")]
    curve = sampling_curve_of(work)
    for v, c, p in zip(curve.views, curve.coverage, curve.pass2):
        assert f"<tr><td>{v:g}</td><td>{c:.4f}</td><td>{p:.4f}</td>" in section
    assert "src='data:image/png;base64," in section
    assert "the gap, 25.0 points, is what better selection could still win" in section
    # Without solutions: no curve, and the page still renders.
    bare = write_run(tmp_path / "bare", {"t": (4, [(T, {"identity": [T]})])}, truths=False)
    assert "Repeated sampling" not in write_report(bare).read_text()
