"""The budget's pure parts: each task's share of the time, and the degrade ladder."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from solver.budget import (Deadline, degraded, knobs, lighter, model_seconds, plan_task, task_share)
from solver.config import load_config


def model_cfg(**over):
    sets = {"model.path": '"tiny"', "ttt.steps": 32, "sample.views": 8, "sample.method": '"dfs"',
            "budget.model_task_seconds": 2.0, "budget.ttt_step_seconds": 0.5, "budget.view_seconds": 1.0,
            "budget.dfs_factor": 4.0, "budget.min_ttt_steps": 8, **over}
    return load_config(None, [f"{k}={v}" for k, v in sets.items()])


# ---- shares ----

def test_share_splits_what_remains_by_weight():
    assert task_share(100, weight=1, weight_left=4, tasks_left=4) == pytest.approx(25)
    assert task_share(100, weight=2, weight_left=4, tasks_left=3) == pytest.approx(50)


def test_share_counts_parallel_workers_and_their_promised_time():
    # 4 workers, 100 s each, 8 equal tasks: 50 s each; 100 worker-seconds promised elsewhere leave 300.
    assert task_share(100, 1, 8, 8, workers=4) == pytest.approx(50)
    assert task_share(100, 1, 6, 6, workers=4, busy_seconds=100) == pytest.approx(50)


def test_share_is_capped_by_max_fraction_and_by_the_run():
    # One huge task among small ones gets at most 2 equal shares.
    assert task_share(100, weight=97, weight_left=100, tasks_left=4, max_fraction=2) == pytest.approx(50)
    # The last task on 4 workers may not run past the run's end.
    assert task_share(100, 1, 1, 1, workers=4) == pytest.approx(100)


def test_deadline_within_and_expiry():
    d = Deadline.after(1000)
    assert d.within(1).remaining() <= 1 and not d.expired()
    assert Deadline.after(0).expired() and Deadline.never().unlimited and not d.unlimited
    assert d.within(None) is d


# ---- the ladder ----

def test_unlimited_time_changes_nothing():
    cfg = model_cfg()
    assert knobs(plan_task(cfg, 1000, 1)) == knobs(cfg)
    assert degraded(cfg, plan_task(cfg, 1000, 1, model_budget=1e9, dsl_budget=1e9)) == []


def test_ladder_rungs_in_order():
    cfg = model_cfg()  # 1000 cells, 1 test: 2 + 32*0.5 + 8*4 = 50 s
    assert model_seconds(cfg, 1000, 1) == pytest.approx(50)
    rungs = []
    for seconds in (60, 40, 30, 12, 6, 1):
        plan = plan_task(cfg, 1000, 1, model_budget=seconds)
        rungs.append((seconds, knobs(plan)["ttt_steps"], plan.sample.views, plan.sample.method,
                      plan.model.active))
        if plan.model.active:
            assert model_seconds(plan, 1000, 1) <= seconds
    assert rungs == [
        (60, 32, 8, "dfs", True),     # full
        (40, 12, 8, "dfs", True),     # fewer TTT steps: (40 - 34) / 0.5
        (30, 0, 7, "dfs", True),      # under 8 steps is not worth it: no TTT, then 7 DFS views
        (12, 0, 8, "greedy", True),   # under half the DFS views: greedy affords all 8
        (6, 0, 4, "greedy", True),    # fewer greedy views
        (1, 0, 8, "greedy", False),   # not one pass fits: DSL only
    ]


def test_ladder_scales_with_task_size():
    cfg = model_cfg()
    small, large = plan_task(cfg, 200, 1, model_budget=20), plan_task(cfg, 4000, 1, model_budget=20)
    assert knobs(small) == knobs(cfg)
    assert degraded(cfg, large) and model_seconds(large, 4000, 1) <= 20


def test_dsl_side_caps_then_turns_off():
    cfg = model_cfg(**{"dsl.seconds_per_task": 10.0, "budget.min_dsl_seconds": 0.5})
    assert plan_task(cfg, 100, 1, dsl_budget=3).dsl.seconds_per_task == 3
    off = plan_task(cfg, 100, 1, dsl_budget=0.2)
    assert not off.dsl.enabled and degraded(cfg, off) == ["dsl.enabled", "dsl.seconds_per_task"]
    assert knobs(off)["dsl_seconds"] == 0.0
    assert plan_task(cfg, 100, 1, dsl_budget=0.2).model.active  # the model side is left alone


def test_plan_does_not_touch_the_run_config():
    cfg = model_cfg()
    plan_task(cfg, 5000, 3, model_budget=1, dsl_budget=0)
    assert knobs(cfg) == knobs(model_cfg())


@settings(max_examples=200, deadline=None)
@given(cells=st.integers(1, 9000), n_test=st.integers(1, 4), seconds=st.floats(0, 500),
       steps=st.integers(0, 64), views=st.integers(1, 16), method=st.sampled_from(["dfs", "greedy"]))
def test_a_plan_with_the_model_on_always_fits(cells, n_test, seconds, steps, views, method):
    cfg = model_cfg(**{"ttt.steps": steps, "sample.views": views, "sample.method": f'"{method}"'})
    plan = plan_task(cfg, cells, n_test, model_budget=seconds)
    if plan.model.active:
        assert model_seconds(plan, cells, n_test) <= seconds + 1e-9
        assert plan.sample.views >= 1 and (plan.ttt.steps <= steps)
    else:
        # Off only when not even one greedy pass fits.
        assert cfg.budget.model_task_seconds + cells / 1000 * n_test * cfg.budget.view_seconds > seconds


def test_lighter_steps_down_for_memory():
    cfg = model_cfg()
    seen = []
    plan = cfg
    while (plan := lighter(plan, "gpu")) is not None:
        seen.append((plan.ttt.enabled, plan.sample.views, plan.sample.method))
    assert seen == [(False, 8, "dfs"), (False, 4, "dfs"), (False, 2, "dfs"), (False, 1, "dfs"),
                    (False, 1, "greedy")]
    cpu = lighter(model_cfg(**{"dsl.seconds_per_task": 4.0}), "cpu")
    assert cpu.dsl.seconds_per_task == 2.0
    assert lighter(model_cfg(**{"dsl.seconds_per_task": 0.6}), "cpu") is None


def test_knobs_report_what_ran():
    assert knobs(model_cfg(**{"ttt.enabled": "false"}))["ttt_steps"] == 0
    assert math.isclose(knobs(model_cfg())["dsl_seconds"], 10.0)


def test_rescoring_is_in_the_cost_model_and_on_the_ladder_after_training():
    # 1000 cells, 1 test input, greedy: 2 s fixed + 8 views x 1 s + rescoring 4 views x 0.5 s = 12 s.
    cfg = model_cfg(**{"sample.method": '"greedy"', "ttt.enabled": "false", "rescore.enabled": "true",
                       "rescore.views": 4, "budget.rescore_view_seconds": 0.5})
    assert model_seconds(cfg, 1000, 1) == pytest.approx(12.0)
    fewer = plan_task(cfg, 1000, 1, model_budget=11.0)  # two rescoring views go, the sampling views stay
    assert (fewer.rescore.enabled, fewer.rescore.views, fewer.sample.views) == (True, 2, 8)
    assert degraded(cfg, fewer) == ["rescore.views"] and knobs(fewer)["rescore_views"] == 2
    none = plan_task(cfg, 1000, 1, model_budget=9.5)  # no rescoring view fits beside the sampling
    assert not none.rescore.enabled and none.sample.views == 7
    trained = model_cfg(**{"sample.method": '"greedy"', "rescore.enabled": "true", "rescore.views": 4,
                           "budget.rescore_view_seconds": 0.5})
    assert not plan_task(trained, 1000, 1, model_budget=12.0).ttt.enabled  # training goes before rescoring
    assert plan_task(trained, 1000, 1, model_budget=12.0).rescore.views == 4
