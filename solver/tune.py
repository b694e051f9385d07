"""`python -m solver tune WORKDIR --gpus 4 --hours 12 --tasks 240`: settings for the real run, from a dry run.

1. Fit the budget's cost model (budget.model_task_seconds, ttt_step_seconds, view_seconds, dfs_factor,
   rescore_view_seconds) to the model workers' part times in the dry run's journal. Where the journal has
   the neural stage's seconds per phase (TTT, sampling, DFS, rescoring), each phase's cost per unit is
   fitted to that phase's own seconds and the fixed cost to what the phases leave of the part's time.
   Older journals (no phases): a ridge fit of the part times pulls towards the dry run's own coefficients,
   so what the journal cannot tell apart (every task ran the same settings, so steps and views grow
   together) keeps the configured ratio and only the scale is fitted. Either way the fit says how much of
   the measured model time it explains.
   The DSL's time per task is read off directly: a search that ended before its limit needed that long.
2. Simulate the Kaggle schedule: `--tasks` tasks drawn from the dry run's (sizes, and each one's measured
   time against the model's estimate), one model worker per GPU and a pool of CPU workers, each pulling
   from its queue, with the coordinator's own share and ladder functions (solver/budget.py).
3. Walk the ladder from the configured settings (more TTT steps allowed, up to 4x) and recommend the first
   settings whose whole schedule, run without any per-task degrading, ends `--margin` before the budget's
   end; likewise the longest DSL search that fits. The run's own ladder is then only a safety net.
4. Plot the recommended settings' simulated timeline, with the per-task ladder on as in a real run.

Views, from the repeated-sampling curve (solver/curve.py) when the dry run had solutions and model candidates:
its fit coverage(n) = exp(a n^b) says what doubling the views adds. Where that is under `VIEW_GAIN` (one point
of coverage) from some number of views on, no more views than that are recommended, so that their time goes
to TTT steps; where doubling still adds more and the schedule has room at the recommended TTT steps, views
are doubled (up to 4x the configured ones); else the tuner says what the doubling would buy. The fit was
measured at the dry run's settings (its TTT steps): a guide, not a promise.

`--slowdown` converts the dry run's model seconds to Kaggle's (e.g. about 4 for a dry run on an H100 for
L4s); `--cpu-slowdown` does the same for the DSL's CPU seconds.
"""
from __future__ import annotations

import copy
import heapq
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .budget import degraded, model_seconds, plan_task, task_share, task_weight
from .config import Config, config_from_dict
from .curve import SamplingCurve, saturation_views
from .journal import read_entries

COST_FIELDS = ("model_task_seconds", "ttt_step_seconds", "view_seconds", "dfs_factor", "rescore_view_seconds")
PHASES = ("ttt", "sample", "dfs", "rescore")  # the neural stage's, in the order of the cost model's columns
VIEW_GAIN = 0.01  # coverage that doubling the views must add, by the sampling curve's fit, to be worth its time


class DryRunError(ValueError):
    """A work directory whose journal cannot be tuned from."""


@dataclass
class SimTask:
    cells: int
    n_test: int
    model_ratio: float = 1.0       # measured model time / the fitted model's estimate, in the dry run
    dsl_need: float = math.inf     # seconds the DSL needed (inf: it used all it was given)


@dataclass
class DryRun:
    cfg: Config
    tasks: list[SimTask]
    costs: dict[str, float]        # fitted budget coefficients, in dry-run seconds
    model_points: int              # model parts the fit used
    dsl_points: int
    dsl_overhead: float            # seconds a CPU part takes beyond the DSL's own limit
    startup: dict[str, float]      # seconds from the run's start until a worker of each kind was ready
    cpu_workers: int
    fit: "CostFit | None" = None   # how well the fitted cost model explains the measured model time
    curve: SamplingCurve | None = None  # the repeated-sampling curve (needs the dry run's solutions)


@dataclass
class CostFit:
    """The fitted model against the dry run: summed over the model parts, per phase and in all."""
    by_phases: bool                # fitted phase by phase (the journal has per-phase seconds)
    measured: float                # seconds of the model parts
    estimated: float               # what the fitted model says they take
    # Per part, |estimate - measured|, summed, over the measured seconds: how far off the model is task by
    # task (the totals agree by construction: the fixed cost is what the phases leave, on average).
    error: float = 0.0
    median_task_error: float = 0.0  # median over parts of |estimate - measured| / measured
    phases_measured: dict[str, float] = field(default_factory=dict)
    phases_estimated: dict[str, float] = field(default_factory=dict)


@dataclass
class Simulation:
    lanes: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    makespan: float = 0.0
    cut: int = 0          # task parts the deadline left undone
    degraded: int = 0     # task parts the ladder turned down


def _read_journal(workdir: str | Path) -> tuple[dict, list[dict], dict[str, float]]:
    """A dry run's header, its finished task records, and when a worker of each kind was first ready."""
    header, records, available = {}, [], {}
    for e in read_entries(workdir):
        if e.get("type") == "run" and not header:
            header = e
        elif e.get("type") == "task" and e.get("status") in ("ok", "error"):
            records.append(e)
        elif e.get("type") == "worker" and e.get("event") in ("ready", "prepared"):
            available.setdefault(e["worker"], {}).setdefault(e["event"], e["at"])  # the first start only
    startup: dict[str, float] = {}  # when the first worker of each kind could take a task
    for label, events in available.items():
        kind = label.rstrip("0123456789")
        startup[kind] = min(startup.get(kind, math.inf), max(events.values()))
    if not header:
        raise DryRunError(f"{workdir} holds no run journal")
    if not records:
        raise DryRunError(f"{workdir}: the journal has no finished task to learn timings from")
    return header, records, startup


def _model_parts(records: list[dict], tasks: list[SimTask]) -> tuple[list, list, list, list]:
    """The model workers' parts: per part its units of each cost (cost_row), its wall time, its task, and the
    neural stage's seconds per phase (None where not journaled)."""
    rows, ys, owners, phases = [], [], [], []
    for t, r in zip(tasks, records):
        part = r.get("parts", {}).get("gpu")
        if not part or "end" not in part or any("gpu part lost" in e for e in r.get("errors", [])):
            continue
        ran = r.get("phases", {}).get("neural")
        rows.append(cost_row(r.get("plan", {}), t.cells, t.n_test, set(ran) if ran else None))
        ys.append(part["end"] - part["start"])
        owners.append(t)
        phases.append(ran)
    return rows, ys, owners, phases


def _sim_tasks(records: list[dict]) -> list[SimTask]:
    return [SimTask(r.get("cells") or 1, max(1, len(r["attempts"]))) for r in records]


def read_dry_run(workdir: str | Path, pooled: tuple[str | Path, ...] = ()) -> DryRun:
    """The dry run in `workdir`, its cost model fitted to its own model parts and those of the `pooled` dry
    runs (a sweep's other points: their different settings tell the costs apart that one run cannot)."""
    header, records, startup = _read_journal(workdir)
    cfg = config_from_dict(header["config"])
    tasks = _sim_tasks(records)

    # The model workers' parts: wall time against [1, steps * size, greedy views, DFS views, rescoring views].
    prior = np.array([cfg.budget.model_task_seconds, cfg.budget.ttt_step_seconds, cfg.budget.view_seconds,
                      cfg.budget.view_seconds * cfg.budget.dfs_factor, cfg.budget.rescore_view_seconds])
    rows, ys, owners, phases = _model_parts(records, tasks)
    own = len(rows)
    for other in pooled:
        _, more, _ = _read_journal(other)
        r, y, _, ph = _model_parts(more, _sim_tasks(more))
        rows, ys, phases = rows + r, ys + y, phases + ph
    x, y = np.array(rows).reshape(-1, len(prior)), np.array(ys)
    by_phases = bool(rows) and all(ph for ph in phases)
    if by_phases:
        coef = fit_phases(x, y, np.array([[ph.get(name, 0.0) for name in PHASES] for ph in phases]), prior)
    else:
        coef = fit_costs(x, y, prior) if rows else prior
    estimates = x @ coef if rows else np.zeros(0)
    for t, estimate, measured in zip(owners, estimates[:own], y[:own]):
        t.model_ratio = float(np.clip(measured / estimate, 0.25, 4.0)) if estimate > 0 else 1.0
    fit = None
    if rows:
        fit = CostFit(by_phases, float(y.sum()), float(estimates.sum()),
                      float(np.abs(estimates - y).sum() / max(float(y.sum()), 1e-9)),
                      float(np.median(np.abs(estimates - y) / np.maximum(y, 1e-9))))
        for k, name in enumerate(("task",) + PHASES):
            fit.phases_estimated[name] = float((x[:, k] * coef[k]).sum())
            if by_phases and name != "task":
                fit.phases_measured[name] = float(sum(ph.get(name, 0.0) for ph in phases))
        if by_phases:
            fit.phases_measured["task"] = fit.measured - sum(fit.phases_measured.values())

    # The CPU parts: a search that stopped before its limit needed that long; one that did not, more.
    overheads, dsl_points = [], 0
    for t, r in zip(tasks, records):
        part = r.get("parts", {}).get("cpu")
        if not part or "end" not in part:
            continue
        took, limit = part["end"] - part["start"], r.get("plan", {}).get("dsl_seconds", 0.0)
        dsl_points += 1
        if limit and took < 0.9 * limit:
            t.dsl_need = took
        else:
            t.dsl_need = math.inf
            overheads.append(max(0.0, took - limit))
    dfs_seen = any(row[3] > 0 for row in rows)
    greedy_seen = any(row[2] > 0 for row in rows)
    costs = dict(zip(COST_FIELDS, [coef[0], coef[1], coef[3] / cfg.budget.dfs_factor if dfs_seen and not greedy_seen
                                   else coef[2],
                                   coef[3] / coef[2] if dfs_seen and greedy_seen and coef[2] > 0
                                   else cfg.budget.dfs_factor, coef[4]]))
    return DryRun(cfg, tasks, costs, len(rows), dsl_points, float(np.median(overheads)) if overheads else 0.0,
                  startup, int(header.get("workers", {}).get("cpu") or 1), fit)


def cost_row(plan: dict, cells: int, n_test: int, ran: set[str] | None = None) -> list[float]:
    """A model part's units of each cost (budget.model_seconds's terms), from the knobs it ran with:
    [1, TTT steps x size, greedy views x tests x size, DFS views x tests x size, rescoring views x ...].
    `ran`: the phases the journal says ran (None: unknown, all that the plan enables); a phase that did not
    run (rescoring with no candidate to score) has no units, so that it does not dilute its cost."""
    if not plan.get("model"):
        return [1.0, 0.0, 0.0, 0.0, 0.0]
    size = cells / 1000
    views = plan.get("views", 0) * n_test * size
    dfs = plan.get("method") == "dfs"
    row = [1.0, plan.get("ttt_steps", 0) * size, 0.0 if dfs else views, views if dfs else 0.0,
           plan.get("rescore_views", 0) * n_test * size]
    if ran is not None:
        row = [row[0]] + [u if name in ran else 0.0 for name, u in zip(PHASES, row[1:])]
    return row


def fit_phases(x: np.ndarray, wall: np.ndarray, seconds: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """The cost model from per-phase seconds: each phase's cost per unit (x's columns 1..) is its seconds
    over its units, summed over the parts where it ran (so the model's total for the phase is the measured
    total, whatever the mix of task sizes); the prior where the phase never ran. The fixed cost (column 0)
    is the mean of what the phases leave of the part's wall time (the worker's own work between phases)."""
    coef = prior.astype(float).copy()
    for k in range(1, x.shape[1]):
        units = x[:, k].sum()
        if units > 0:
            coef[k] = float(seconds[x[:, k] > 0, k - 1].sum() / units)
    coef[0] = max(0.0, float(np.mean(wall - x[:, 1:] @ coef[1:])))
    return coef


def fit_costs(x: np.ndarray, y: np.ndarray, prior: np.ndarray, strength: float = 1e-2) -> np.ndarray:
    """Non-negative coefficients b with x @ b ~ y, kept at the prior's proportions where the data cannot
    tell them apart.

    First the prior is scaled to the data as a whole; then a ridge in relative terms (b = scaled prior * r,
    penalty on r - 1) moves each coefficient only as far as the data asks, with the same pull whatever its
    unit. `strength` is relative to the data's own scale. A column of zeros (say, no DFS in the dry run)
    leaves its coefficient at the scaled prior."""
    prior = np.maximum(prior, 1e-6)
    guess = x @ prior
    prior = prior * (float(guess @ y) / float(guess @ guess) if guess @ guess > 0 else 1.0)
    xs = x * prior
    gram = xs.T @ xs
    lam = strength * max(np.trace(gram) / len(prior), 1e-12)
    # Non-negative: a coefficient the data drives below zero is set to zero and the others are solved again
    # without it. Clipping alone would keep the others at values that assumed the negative one (on a dry run
    # whose times do not grow with size, the fixed cost came out well above the mean part time).
    r = np.zeros(len(prior))
    free = np.ones(len(prior), bool)
    while free.any():
        idx = np.flatnonzero(free)
        sub = np.linalg.solve(gram[np.ix_(idx, idx)] + lam * np.eye(len(idx)), xs[:, idx].T @ y + lam)
        if (sub >= 0).all():
            r[idx] = sub
            break
        free[idx[sub < 0]] = False
    return prior * r


def simulate(cfg: Config, tasks: list[SimTask], gpus: int, cpus: int, budget: float, startup: dict[str, float],
             dsl_overhead: float = 0.0, ladder: bool = True) -> Simulation:
    """The coordinator's schedule on paper: each pool takes its queue in order; a task's share and plan come
    from solver/budget.py as in a real run (`ladder`), or every task runs `cfg` as it is (not `ladder`)."""
    sim = Simulation()
    deadline = budget - cfg.budget.safety_seconds
    for device, n in (("gpu", gpus if cfg.model.active else 0), ("cpu", cpus if cfg.dsl.enabled else 0)):
        free = [(startup.get(device, 0.0), w) for w in range(n)]
        heapq.heapify(free)
        planned_end = [0.0] * n
        for w in range(n):
            sim.lanes[f"{device}{w}"] = []
        weights = [task_weight(cfg, device, t.cells, t.n_test) for t in tasks]
        weight_left = float(sum(weights))
        for k, task in enumerate(tasks):
            if not free:
                break
            now, w = heapq.heappop(free)
            if now >= deadline:
                sim.cut += len(tasks) - k
                break
            share = None
            if ladder:
                busy = sum(max(0.0, min(e, deadline) - now) for j, e in enumerate(planned_end) if j != w)
                share = task_share(deadline - now, weights[k], weight_left, len(tasks) - k, n, busy,
                                   cfg.budget.max_task_fraction)
            weight_left -= weights[k]
            plan = plan_task(cfg, task.cells, task.n_test, model_budget=share if device == "gpu" else None,
                             dsl_budget=share if device == "cpu" else None)
            if device == "gpu":
                took = model_seconds(plan, task.cells, task.n_test) * task.model_ratio
            else:
                took = min(task.dsl_need, plan.dsl.seconds_per_task + dsl_overhead) if plan.dsl.enabled else 0.0
            label = "degraded" if degraded(cfg, plan) else "ok"
            sim.degraded += label == "degraded"
            if share is not None:
                hard = min(share * cfg.budget.grace_factor, deadline - now)
                if took > hard + cfg.budget.kill_grace_seconds:
                    took, label = hard + cfg.budget.kill_grace_seconds, "lost"
            if now + took > deadline + cfg.budget.kill_grace_seconds:
                took, label = max(0.0, deadline - now), "cut"
                sim.cut += 1
            planned_end[w] = now + (share if share is not None else took)
            sim.lanes[f"{device}{w}"].append((now, now + took, label))
            sim.makespan = max(sim.makespan, now + took)
            heapq.heappush(free, (now + took, w))
    return sim


def with_costs(cfg: Config, costs: dict[str, float], slowdown: float, budget: float, **knobs) -> Config:
    out = copy.deepcopy(cfg)
    for name in COST_FIELDS:
        cost = costs.get(name, getattr(cfg.budget, name))  # one the fit did not give: as configured
        setattr(out.budget, name, cost * (1.0 if name == "dfs_factor" else slowdown))
    out.budget.total_seconds = budget
    for name, value in knobs.items():
        section, key = name.split("__")
        setattr(getattr(out, section), key, value)
    return out


@dataclass
class Recommendation:
    cfg: Config
    fixed: Simulation   # every task at the recommended settings, no per-task ladder
    laddered: Simulation  # as a real run would go: the ladder on
    target: float       # the recommended settings' schedule ends by here
    views_advice: list[str] = field(default_factory=list)  # what the sampling curve's fit said about views


def recommend(dry: DryRun, gpus: int, cpus: int, hours: float, n_tasks: int, margin: float = 0.1,
              slowdown: float = 1.0, cpu_slowdown: float = 1.0, seed: int = 0,
              view_gain: float = VIEW_GAIN) -> Recommendation:
    budget = hours * 3600
    tasks, startup, overhead = kaggle_tasks(dry, n_tasks, seed, slowdown, cpu_slowdown)
    base = with_costs(dry.cfg, dry.costs, slowdown, budget)
    target = (budget - base.budget.safety_seconds) * (1 - margin)

    def fits(cfg: Config, device: str) -> bool:
        sim = simulate(cfg, tasks, gpus if device == "gpu" else 0, cpus if device == "cpu" else 0, budget,
                       startup, overhead, ladder=False)
        return sim.cut == 0 and sim.makespan <= target

    cfg = copy.deepcopy(base)
    advice: list[str] = []
    curve = dry.curve if cfg.model.active and dry.curve is not None and dry.curve.fit is not None else None
    if curve is not None:
        cfg.sample.views = _cap_views(curve, cfg.sample.views, view_gain, advice)
    if cfg.model.active:
        cfg = _fit_model_settings(cfg, lambda c: fits(c, "gpu"))
    if curve is not None and cfg.model.active:
        cfg = _more_views(curve, cfg, 4 * dry.cfg.sample.views, view_gain, lambda c: fits(c, "gpu"), advice)
    if cfg.dsl.enabled and dry.dsl_points:  # without DSL parts in the dry run there is nothing to go by
        lo, hi = cfg.budget.min_dsl_seconds, 4 * cfg.dsl.seconds_per_task
        if not fits(with_costs(cfg, dry.costs, slowdown, budget, dsl__seconds_per_task=lo), "cpu"):
            cfg.dsl.enabled = False
        else:
            for _ in range(30):  # bisect to a tenth of a second
                if hi - lo < 0.1:
                    break
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if fits(with_costs(cfg, dry.costs, slowdown, budget,
                                                      dsl__seconds_per_task=mid), "cpu") else (lo, mid)
            cfg.dsl.seconds_per_task = round(lo, 1)
    if not dry.dsl_points:
        cpus = 0
    gpus_used = gpus if cfg.model.active else 0
    fixed = simulate(cfg, tasks, gpus_used, cpus, budget, startup, overhead, ladder=False)
    laddered = simulate(cfg, tasks, gpus_used, cpus, budget, startup, overhead, ladder=True)
    return Recommendation(cfg, fixed, laddered, target, advice)


def kaggle_tasks(dry: DryRun, n_tasks: int, seed: int, slowdown: float,
                 cpu_slowdown: float) -> tuple[list[SimTask], dict[str, float], float]:
    """The hidden test set on paper: `n_tasks` drawn from the dry run's; with the workers' start-up and the
    DSL's overhead, all in Kaggle seconds."""
    rng = random.Random(seed)
    tasks = [copy.copy(rng.choice(dry.tasks)) for _ in range(n_tasks)]
    for t in tasks:
        t.dsl_need *= cpu_slowdown
    startup = {k: v * (slowdown if k == "gpu" else cpu_slowdown) for k, v in dry.startup.items()}
    return tasks, startup, dry.dsl_overhead * cpu_slowdown


def _cap_views(curve: SamplingCurve, views: int, gain: float, advice: list[str]) -> int:
    """The configured views, or fewer where the fit says that doubling stops paying before them (never fewer
    than the curve measured: below its first point the fit is extrapolation)."""
    cap = saturation_views(curve, views, gain)
    if cap is None or cap >= views:
        return views
    cap = max(cap, math.ceil(curve.views[0]))
    if cap >= views:
        return views
    advice.append(f"by the fit, doubling the views adds less than {100 * gain:g} point of coverage from "
                  f"{cap} views on ({100 * curve.doubling_gain(cap):+.2f} at {cap}): views capped at {cap} (configured "
                  f"{views}), their time left to TTT steps")
    return cap


def _more_views(curve: SamplingCurve, cfg: Config, most: int, gain: float, fits, advice: list[str]) -> Config:
    """Views doubled while the fit says doubling adds at least `gain` and the schedule still fits (the
    recommended TTT steps kept), up to `most`; else a line on what the doubling would buy."""
    start = cfg.sample.views
    while cfg.sample.views < most and curve.doubling_gain(cfg.sample.views) >= gain:
        more = copy.deepcopy(cfg)
        more.sample.views = min(most, 2 * cfg.sample.views)
        if not fits(more):
            if cfg.sample.views == start:
                advice.append(f"by the fit, doubling the views to {2 * start} would add "
                              f"{100 * curve.doubling_gain(start):+.1f} points of coverage (to "
                              f"{curve.predict(2 * start):.1%}): worth more views, but the schedule has no room "
                              f"for them at these TTT steps (fewer steps or more time would make it)")
            break
        cfg = more
    if cfg.sample.views > start:
        advice.append(f"by the fit, more views are worth it and the schedule has room: views raised from {start} "
                      f"to {cfg.sample.views} (coverage {curve.predict(start):.1%} -> "
                      f"{curve.predict(cfg.sample.views):.1%})")
    return cfg


def _fit_model_settings(cfg: Config, fits) -> Config:
    """The ladder, run once for the whole schedule: the most TTT steps that fit (up to 4x the configured
    ones), else no TTT and fewer rescoring views, else no rescoring and fewer views (DFS down to half of
    them), else greedy views, else no model."""
    c = copy.deepcopy(cfg)
    views, method = c.sample.views, c.sample.method
    if c.ttt.enabled and c.ttt.steps > 0:
        lo, hi = c.budget.min_ttt_steps, 4 * c.ttt.steps
        c.ttt.steps = lo
        if fits(c):
            while lo < hi:  # the largest step count that still fits
                mid = (lo + hi + 1) // 2
                c.ttt.steps = mid
                lo, hi = (mid, hi) if fits(c) else (lo, mid - 1)
            c.ttt.steps = lo
            return c
        c.ttt.enabled = False
    if _fit_rescoring(c, fits):
        return c
    for m in ([method, "greedy"] if method == "dfs" else [method]):
        c.sample.method = m
        floor = math.ceil(views / 2) if m == "dfs" else 1
        for v in range(views, floor - 1, -1):
            c.sample.views = v
            if fits(c):
                return c
    c.sample.views, c.model.enabled = views, False
    return c


def _fit_rescoring(c: Config, fits) -> bool:
    """The most rescoring views that fit (TTT is off by now); else no rescoring. True when it fits."""
    if not c.rescore.enabled:
        return False
    for v in range(c.rescore.views, 0, -1):
        c.rescore.views = v
        if fits(c):
            return True
    c.rescore.enabled = False
    return fits(c)


def report_lines(dry: DryRun, rec: Recommendation, gpus: int, cpus: int, hours: float, n_tasks: int,
                 slowdown: float, cpu_slowdown: float) -> list[str]:
    b, c = dry.cfg.budget, rec.cfg
    lines = [f"dry run: {len(dry.tasks)} finished tasks, {dry.model_points} model parts, {dry.dsl_points} DSL parts"
             f"; workers ready after " + ", ".join(f"{k} {v:.1f} s" for k, v in dry.startup.items()),
             "", "cost model (dry-run seconds, per 1000 cells)   configured      fitted"]
    for name in COST_FIELDS:
        lines.append(f"  budget.{name:<38} {getattr(b, name):>10.4g} {dry.costs[name]:>11.4g}")
    if dry.fit is not None:
        f = dry.fit
        lines.append(f"  explains {f.measured:.1f} s of measured model time ({f.estimated:.1f} s estimated); "
                     f"task by task {100 * f.error:.1f}% off in all, median {100 * f.median_task_error:.1f}%; "
                     + ("fitted phase by phase:" if f.by_phases else "fitted on part times (no phases journaled)"))
        if f.by_phases:
            lines.append("    phase        measured s   estimated s")
            for name, measured in f.phases_measured.items():
                lines.append(f"    {name:<10} {measured:>12.1f} {f.phases_estimated.get(name, 0.0):>13.1f}")
    lines += ["", f"Kaggle schedule: {n_tasks} tasks, {gpus} GPU workers, {cpus} CPU workers, {hours:g} h, "
                  f"slowdown x{slowdown:g} GPU, x{cpu_slowdown:g} CPU; settings must end by {rec.target:.0f} s",
              f"  fixed settings:  ends at {rec.fixed.makespan:.0f} s, {rec.fixed.cut} parts cut",
              f"  with the ladder: ends at {rec.laddered.makespan:.0f} s, {rec.laddered.cut} parts cut, "
              f"{rec.laddered.degraded} parts turned down", ""]
    if dry.cfg.model.active:
        lines += curve_lines(dry.curve, rec) + [""]
    lines.append("recommended settings:")
    lines += ["  " + s for s in settings_toml(rec.cfg).splitlines()]
    if not c.model.active and dry.cfg.model.active:
        lines.append("  (not even one greedy view per task fits: DSL only)")
    if not dry.dsl_points:
        lines.append("  (no DSL parts in the dry run: dsl.seconds_per_task left as configured)")
    lines.append("add them to the run's preset, or pass each as --set section.key=value")
    return lines


def curve_lines(curve: SamplingCurve | None, rec: Recommendation) -> list[str]:
    """The repeated-sampling curve of the dry run, its fit at the recommended views, and the advice."""
    if curve is None:
        return ["repeated sampling: no curve (the dry run needs solutions and model candidates): views left to the "
                "time budget"]
    lines = [f"repeated sampling (dry run, {curve.outputs} test outputs of {curve.tasks} tasks with solutions, one "
             f"output {100 / curve.outputs:.1f} points; the model's candidates of the first n views):",
             "  views      " + " ".join(f"{v:>7g}" for v in curve.views),
             "  coverage   " + " ".join(f"{c:>7.1%}" for c in curve.coverage),
             "  pass@2     " + " ".join(f"{p:>7.1%}" for p in curve.pass2)]
    if curve.fit is None:
        nothing = max(curve.coverage) == 0
        return lines + ["  no fit of coverage = exp(a n^b) (it needs two points strictly between 0 and 1"
                        + ("; the model found no truth under any view, more views will not help" if nothing else "")
                        + "): views left to the time budget"]
    a, b = curve.fit
    v = rec.cfg.sample.views
    lines.append(f"  fit coverage = exp({a:.3f} n^{b:.3f}): at the recommended {v} views {curve.predict(v):.1%}, "
                 f"at {2 * v} {curve.predict(2 * v):.1%} ({100 * curve.doubling_gain(v):+.2f} points)")
    return lines + [f"  {line}" for line in rec.views_advice]


def settings_toml(cfg: Config) -> str:
    b = cfg.budget
    out = ["[budget]", f"total_seconds = {b.total_seconds:.0f}"]
    out += [f"{name} = {getattr(b, name):.4g}" for name in COST_FIELDS]
    if cfg.model.active:
        out += ["[ttt]", f"enabled = {str(cfg.ttt.enabled).lower()}", f"steps = {cfg.ttt.steps}",
                "[sample]", f"views = {cfg.sample.views}", f'method = "{cfg.sample.method}"',
                "[rescore]", f"enabled = {str(cfg.rescore.enabled).lower()}", f"views = {cfg.rescore.views}"]
    out += ["[dsl]", f"enabled = {str(cfg.dsl.enabled).lower()}", f"seconds_per_task = {cfg.dsl.seconds_per_task:g}"]
    if not cfg.model.active:
        out += ["[model]", "enabled = false"]
    return "\n".join(out) + "\n"


def tune(workdir: str | Path, gpus: int, hours: float, n_tasks: int, cpus: int | None = None,
         margin: float = 0.1, slowdown: float = 1.0, cpu_slowdown: float = 1.0,
         seed: int = 0, solutions: str | Path | None = None) -> tuple[list[str], Path, Path]:
    """Everything `python -m solver tune` does; returns the printed lines, the plot and the settings file.
    `solutions`: the dry run's, for the sampling curve (default: the file the run recorded, if any)."""
    from .report import plot_timeline, sampling_curve_of
    workdir = Path(workdir)
    if (workdir / "sweep.json").exists() and not (workdir / "journal.jsonl").exists():
        return tune_sweep(workdir, gpus, hours, n_tasks, cpus, margin, slowdown, cpu_slowdown, seed)
    dry = read_dry_run(workdir)
    dry.curve = sampling_curve_of(workdir, solutions)
    cpus = dry.cpu_workers if cpus is None else cpus
    rec = recommend(dry, gpus, cpus, hours, n_tasks, margin, slowdown, cpu_slowdown, seed)
    pools = ", ".join(f"{sum(1 for lane in rec.laddered.lanes if lane.startswith(d))} {d.upper()} workers"
                      for d in ("gpu", "cpu") if any(lane.startswith(d) for lane in rec.laddered.lanes))
    fig = plot_timeline(rec.laddered.lanes, hours * 3600, rec.target,
                        title=f"simulated with the recommended settings: {n_tasks} tasks, {pools}")
    plot = workdir / "tune_timeline.png"
    fig.savefig(plot, dpi=90, bbox_inches="tight")
    settings = workdir / "tuned.toml"
    settings.write_text(settings_toml(rec.cfg))
    return report_lines(dry, rec, gpus, cpus, hours, n_tasks, slowdown, cpu_slowdown), plot, settings


# ---- a sweep's points (solver/sweep.py): which one wins within the schedule ----

@dataclass
class PointFit:
    name: str
    score: float | None   # the dry run's, over its finished tasks (sweep.json), None without solutions
    cfg: Config           # the point's settings with the pooled cost model, on the Kaggle budget
    fixed: Simulation     # every task at the point's settings
    laddered: Simulation  # as a real run would go: the ladder on
    fits: bool            # the fixed schedule ends by the target with nothing cut


def tune_sweep(workdir: str | Path, gpus: int, hours: float, n_tasks: int, cpus: int | None = None,
               margin: float = 0.1, slowdown: float = 1.0, cpu_slowdown: float = 1.0,
               seed: int = 0) -> tuple[list[str], Path, Path]:
    """`tune` on a sweep's work directory: one cost model fitted to every point's parts (their settings
    differ, which tells the costs apart), each point's settings simulated on the Kaggle schedule as they
    are, and the winner: the best score among the points whose schedule fits with the margin (ties: the one
    that ends first). Writes the winner's simulated timeline and its settings, like `tune` on a run."""
    from .report import plot_timeline
    workdir = Path(workdir)
    sweep = json.loads((workdir / "sweep.json").read_text())
    dirs = [workdir / p["name"] for p in sweep["points"] if (workdir / p["name"] / "journal.jsonl").exists()]
    scores = {p["name"]: p.get("score") for p in sweep["points"]}
    budget = hours * 3600
    points: list[PointFit] = []
    skipped: list[str] = []
    for d in dirs:
        try:
            dry = read_dry_run(d, pooled=tuple(o for o in dirs if o != d))
        except DryRunError as exc:
            skipped.append(str(exc))
            continue
        tasks, startup, overhead = kaggle_tasks(dry, n_tasks, seed, slowdown, cpu_slowdown)
        cfg = with_costs(dry.cfg, dry.costs, slowdown, budget)
        n_cpu = (dry.cpu_workers if cpus is None else cpus) if dry.dsl_points else 0
        n_gpu = gpus if cfg.model.active else 0
        fixed = simulate(cfg, tasks, n_gpu, n_cpu, budget, startup, overhead, ladder=False)
        laddered = simulate(cfg, tasks, n_gpu, n_cpu, budget, startup, overhead, ladder=True)
        target = (budget - cfg.budget.safety_seconds) * (1 - margin)
        points.append(PointFit(d.name, scores.get(d.name), cfg, fixed, laddered,
                               fixed.cut == 0 and fixed.makespan <= target))
    if not points:
        raise DryRunError(f"{workdir}: no point of the sweep has a finished task to learn timings from")
    ranked = sorted((p for p in points if p.fits), key=lambda p: (-(p.score if p.score is not None else -1.0),
                                                                 p.fixed.makespan))
    winner = ranked[0] if ranked else min(points, key=lambda p: p.fixed.makespan)
    lines = [f"sweep: {len(points)} points, one cost model fitted to all their parts; Kaggle schedule: {n_tasks} "
             f"tasks, {gpus} GPU workers, {hours:g} h, slowdown x{slowdown:g} GPU, x{cpu_slowdown:g} CPU; a point "
             f"fits when its settings, unchanged, end {100 * margin:g}% before the budget with nothing cut", "",
             "cost model (dry-run seconds, per 1000 cells, fitted on every point):"]
    lines += [f"  budget.{name:<38} {getattr(winner.cfg.budget, name) / (1.0 if name == 'dfs_factor' else slowdown):>10.4g}"
              for name in COST_FIELDS]
    lines += ["", f"{'point':<60} {'score':>7} {'fixed ends s':>12} {'cut':>5} {'fits':>5} {'laddered ends s':>15} "
                  f"{'turned down':>11}"]
    for p in points:
        lines.append(f"{p.name:<60} {p.score if p.score is not None else float('nan'):>7.4f} "
                     f"{p.fixed.makespan:>12.0f} {p.fixed.cut:>5} {'yes' if p.fits else 'no':>5} "
                     f"{p.laddered.makespan:>15.0f} {p.laddered.degraded:>11}")
    lines += [f"skipped: {s}" for s in skipped] + [""]
    if not ranked:
        lines.append(f"no point fits the schedule as it is; the fastest is {winner.name} (its settings, with "
                     f"the ladder on, are what a real run would turn down)")
    elif all(p.score is None for p in ranked):
        lines.append(f"no scores (the sweep had no solutions): of the points that fit, {winner.name} ends first")
    else:
        lines.append(f"winner within the schedule: {winner.name} (score {winner.score:.4f})")
    fig = plot_timeline(winner.laddered.lanes, budget, (budget - winner.cfg.budget.safety_seconds) * (1 - margin),
                        title=f"simulated: {winner.name}, {n_tasks} tasks")
    plot = workdir / "tune_timeline.png"
    fig.savefig(plot, dpi=90, bbox_inches="tight")
    settings = workdir / "tuned.toml"
    settings.write_text(f"# the sweep's point {winner.name}, with the cost model fitted on every point\n"
                        + settings_toml(winner.cfg))
    return lines, plot, settings
