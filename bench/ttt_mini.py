"""Miniature replication of the test-time training claim, on CPU: a model fine-tuned on a family of rules,
evaluated on held-out rules of that family, without and with TTT.

Akyurek et al. (2024) fine-tune a model on ARC-like tasks, then evaluate it on unseen tasks (1B model: 5%
without TTT -> 29% with it). Here, in miniature:

  pre-training  `finetune` (solver/finetune.py, in process) turns a random tiny Llama ('small': 2 layers,
                hidden 128) into a model of a family of rules on 4x4 grids of 3-4 colours, in runs that each
                start from the previous model (--pretrain): copying (synth:copy4); then copying and colour
                maps, every task a permutation of 1-9 drawn afresh (synth:recolour), so that the map can only
                be read from the demonstrations; then the same with paint tasks added (synth:paint: every
                coloured cell takes one colour, drawn from 1-6 for each task);
  evaluation    held-out rules of the family, never a pre-training task: `--rules` colour maps drawn once
                (solver/synth.py `colour_maps`) and the paint rules of the colours 7, 8 and 9, which no
                paint task of pre-training used; each task shows its rule by three demonstrations. Through
                the kit's own neural stage pieces (LoRA TTT on augmented leave-one-out tasks, greedy sampling
                under views, inversion, hierarchical vote).

Rows (top-1 = attempt 1 right, pass@2 = either attempt, the Kaggle metric; coverage = any candidate right):
    no TTT / no TTT + voting      the fine-tuned model, 1 view / `--views` views voted
    TTT / TTT + voting            a per-task LoRA adapter trained on the task's leave-one-out data
    TTT + DFS, + rescoring        depth-first sampling, product-of-experts rescoring (first tasks of each rule)
ablations (TTT + voting), as in the paper: loss on the held-out pair's output only, instead of every output
but the first; one adapter shared by all tasks instead of one per task (shared, then per task from it).

The repeated-sampling curve: coverage and pass@2 against the number of views (1, 2, 4, ... up to `--views`),
for the model with and without TTT, with coverage fitted as exp(a n^b) (Brown et al. 2024,
solver/metrics.py `fit_coverage_curve`); a plot is written with `--plot`. Where coverage climbs and pass@2
does not, selection is the bottleneck; where both are flat, more views buy nothing.

The maps are cell-wise, so they commute with the symmetries of the square: TTT and sampling use geometric
and demonstration-order views (a colour permutation of a map's task is a task of another map).

    nice -n 5 python bench/ttt_mini.py [--seed 0] [--model DIR: skip pre-training] [--plot PNG]

One intra-op thread by default: on a machine shared with other jobs, torch's spinning OpenMP threads made a
training step of this model 13x slower with 2 threads than with 1 (1.8 s vs 0.14 s).
"""
from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.augment import views_of_kinds  # noqa: E402
from solver.budget import Deadline  # noqa: E402
from solver.config import Config, ModelConfig, load_config  # noqa: E402
from solver.finetune import finetune  # noqa: E402
from solver.metrics import coverage_at, fit_coverage_curve, same_grid  # noqa: E402
from solver.model import load_model, make_tiny_model  # noqa: E402
from solver.neural import NeuralStage, task_rng  # noqa: E402
from solver.sample import sample_task  # noqa: E402
from solver.select import select_attempts  # noqa: E402
from solver.synth import PAINT_TRAIN_COLOURS, colour_maps, make_task, paint_rule  # noqa: E402
from solver.ttt import train_on_task  # noqa: E402

AUGMENT = ["geometry", "demo_order"]  # the views colour maps commute with


class Clock:
    """Wall and CPU seconds since the last lap."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = wall - self.wall, cpu - self.cpu
        self.wall, self.cpu = wall, cpu
        return out


def judge(task, candidates, cfg: Config) -> tuple[bool, bool, bool]:
    """(attempt 1 right, either attempt right, any candidate right) over every test input of the task. The
    model's candidates only: with none, nothing is right (no fallback grid is credited)."""
    top1 = pass2 = cover = True
    for i, ex in enumerate(task.test):
        mine = [c for c in candidates if c.test_index == i]
        if not mine:
            return False, False, False
        a1, a2 = select_attempts(mine, cfg.select, ex.input)
        top1 &= same_grid(a1, ex.output)
        pass2 &= same_grid(a1, ex.output) or same_grid(a2, ex.output)
        cover &= any(same_grid(c.grid, ex.output) for c in mine)
    return top1, pass2, cover


def run_judged(stage: NeuralStage, task, cfg: Config) -> tuple[bool, bool, bool]:
    """The stage's whole solve of one task (its candidates), judged."""
    return judge(task, stage.solve(task, cfg, Deadline.never()).candidates, cfg)


def config(args, ttt: bool, views: int) -> Config:
    cfg = Config()
    cfg.seed = args.seed
    cfg.model.max_length = 2048
    cfg.ttt.enabled = ttt
    cfg.ttt.steps = args.ttt_steps
    cfg.ttt.lr = args.ttt_lr
    cfg.ttt.rank = args.rank
    cfg.ttt.alpha = float(args.rank)
    cfg.ttt.batch_size = args.ttt_batch
    cfg.ttt.augmentations = args.augmentations
    cfg.ttt.augment = cfg.sample.augment = AUGMENT
    cfg.sample.views = views
    cfg.sample.batch_size = min(views, 8)
    return cfg


def per_view(stage: NeuralStage, task, cfg: Config) -> list[list]:
    """The stage's steps for one task (reset the adapter, TTT when enabled, greedy sampling), one view at a
    time so that the candidates of the first n views are known for every n: the views are those the stage
    draws (identity first, then each symmetry of the square in turn)."""
    rng = task_rng(cfg.seed, task.id)
    loaded = stage.loaded
    stage.adapter.reset()
    try:
        if cfg.ttt.enabled:
            train_on_task(stage.adapter, task, cfg.ttt, loaded.format, loaded.max_length, Deadline.never(), rng)
        views = views_of_kinds(task, cfg.sample.views, cfg.sample.augment, rng, "sample.augment")
        return [sample_task(task, stage.backend, loaded.format, cfg.sample, loaded.max_length, Deadline.never(),
                            rng, views=[v])[0] for v in views]
    finally:
        stage.adapter.reset()


def curve_points(n_views: int) -> list[int]:
    ns, n = [], 1
    while n < n_views:
        ns.append(n)
        n *= 2
    return ns + [n_views]


def decoding_variants(args) -> dict[str, Config]:
    """Depth-first sampling and product-of-experts rescoring on top of TTT + voting (each retrains the task's
    adapter; training is seeded by the task, so it is the same adapter)."""
    dfs = config(args, True, args.views)
    dfs.sample.method, dfs.sample.min_prob = "dfs", 0.1
    poe = config(args, True, args.views)
    poe.rescore.enabled, poe.rescore.views, poe.rescore.augment = True, args.views, AUGMENT
    dfs_poe = copy.deepcopy(dfs)
    dfs_poe.rescore = copy.deepcopy(poe.rescore)
    return {"TTT + DFS": dfs, "TTT + voting + rescoring": poe, "TTT + DFS + rescoring": dfs_poe}


def pretrain(args, tmp: str) -> tuple[str, list[dict], float, float]:
    """The base fine-tuned on the family by `finetune`, in runs that each start from the previous run's model
    (--pretrain DATA:STEPS:LR ...). (model directory, the runs' records, wall s, CPU s)."""
    base = make_tiny_model(Path(tmp) / "base", args.size, args.seed)
    clock = Clock()
    metas = []
    for k, spec in enumerate(args.pretrain):
        data, steps, lr = spec.split(":")
        cfg = load_config("cpu", [f"finetune.steps={steps}", f"finetune.batch_size={args.pretrain_batch}",
                                  f"finetune.save_steps={steps}", "finetune.eval_tasks=12", "finetune.eval_views=2",
                                  f"finetune.eval_augment={AUGMENT}", f"finetune.lr={lr}", f"seed={args.seed}"])
        metas.append(finetune(base, "kit", [f"synth:{data}"], Path(tmp) / f"run{k}", cfg, progress=False))
        base = Path(tmp) / f"run{k}"
    wall, cpu = clock.lap()
    return str(base), metas, wall, cpu


def held_out_rules(args) -> list:
    """`--rules` colour maps drawn once, and the paint rules of the colours synth:paint never draws."""
    return colour_maps(args.rules, args.seed) + [paint_rule(c) for c in range(1, 10) if c not in PAINT_TRAIN_COLOURS]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="model weights, rules, tasks and views all follow it")
    p.add_argument("--size", default="small", help="make-model size")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--pretrain", nargs="+", metavar="RULES:STEPS:LR",
                   default=["copy4:300:0", "copy4,recolour:600:2e-3", "copy4,recolour,paint:400:2e-3"],
                   help="finetune runs, each from the previous one's model: synth generators, steps, lr (0: "
                        "finetune's default)")
    p.add_argument("--pretrain-batch", type=int, default=16)
    p.add_argument("--model", help="a model pre-trained by an earlier run (skips pre-training)")
    p.add_argument("--rules", type=int, default=5, help="held-out colour maps (the paint rules 7-9 come on top)")
    p.add_argument("--tasks-per-rule", type=int, default=3)
    p.add_argument("--ttt-steps", type=int, default=32)
    p.add_argument("--ttt-lr", type=float, default=1e-2)
    p.add_argument("--ttt-batch", type=int, default=8)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--augmentations", type=int, default=8)
    p.add_argument("--views", type=int, default=16)
    p.add_argument("--vote-views", type=int, default=8, help="views of the '+ voting' rows")
    p.add_argument("--variant-tasks", type=int, default=1,
                   help="tasks per rule that also run the DFS and rescoring rows (each retrains the adapter)")
    p.add_argument("--shared-steps", type=int, default=96, help="steps of the shared adapter (ablation)")
    p.add_argument("--plot", help="write the repeated-sampling curve to this PNG")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng([args.seed, 99])
    held_out = held_out_rules(args)
    tasks = [make_task(rule, rng) for rule in held_out for _ in range(args.tasks_per_rule)]
    total = Clock()

    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            model_dir, pre_wall, pre_cpu = args.model, 0.0, 0.0
        else:
            model_dir, metas, pre_wall, pre_cpu = pretrain(args, tmp)
            for meta in metas:
                v = meta["validation"][-1]
                print(f"pre-training (finetune {' '.join(meta['data'])}, {meta['method']}, lr {meta['lr']:g}): "
                      f"{meta['steps']} steps x {args.pretrain_batch} tasks, loss {np.mean(meta['losses'][:20]):.3f} "
                      f"-> {np.mean(meta['losses'][-20:]):.4f}; validation on {v['tasks']} new tasks of its "
                      f"generators (2 views): top-1 {v['top1']}, pass@2 {v['pass2']}", flush=True)
            print(f"pre-training: {pre_wall:.0f} s wall, {pre_cpu:.0f} s CPU", flush=True)
        loaded = load_model(ModelConfig(path=model_dir, device="cpu", max_length=2048))
        stage = NeuralStage(config(args, True, args.views), loaded=loaded)

        clock = Clock()
        views = {"no TTT": [], "TTT": []}
        for task in tasks:
            views["no TTT"].append(per_view(stage, task, config(args, False, args.views)))
            views["TTT"].append(per_view(stage, task, config(args, True, args.views)))
        base_cfg = config(args, True, args.views)
        results: dict[str, list] = {}
        for name in ("no TTT", "TTT"):
            results[name] = [judge(t, v[0], base_cfg) for t, v in zip(tasks, views[name])]
            results[f"{name} + voting"] = [judge(t, sum(v[:args.vote_views], []), base_cfg)
                                           for t, v in zip(tasks, views[name])]
        curve = {name: [(n, [judge(t, sum(v[:n], []), base_cfg) for t, v in zip(tasks, views[name])])
                         for n in curve_points(args.views)] for name in views}
        main_wall, main_cpu = clock.lap()

        variant_idx = [k for k in range(len(tasks)) if k % args.tasks_per_rule < args.variant_tasks]
        for name, cfg in decoding_variants(args).items():
            cfg.sample.views = args.vote_views
            results[name] = [run_judged(stage, tasks[k], cfg) for k in variant_idx]
        test_only = config(args, True, args.vote_views)
        test_only.ttt.loss_test_only = True
        results["ablation: loss on the test output only"] = [run_judged(stage, t, test_only) for t in tasks]
        var_wall, var_cpu = clock.lap()

        # The shared adapter changes the stage's starting weights: a fresh stage on a fresh copy of the model.
        shared_cfg = config(args, False, args.vote_views)
        shared_cfg.ttt.scope, shared_cfg.ttt.shared_steps = "shared", args.shared_steps
        shared = NeuralStage(shared_cfg, loaded=load_model(ModelConfig(path=model_dir, device="cpu", max_length=2048)))
        shared.prepare(tasks, Deadline.never())
        results["ablation: one shared adapter"] = [run_judged(shared, t, shared_cfg) for t in tasks]
        then = config(args, True, args.vote_views)
        results["ablation: shared, then per task"] = [run_judged(shared, t, then) for t in tasks]
        abl_wall, abl_cpu = clock.lap()
    wall, cpu = total.lap()

    n = len(tasks)
    print(f"\n{len(held_out)} held-out rules ({', '.join(r.name for r in held_out)}) x {args.tasks_per_rule} "
          f"tasks = {n} tasks; seed {args.seed}; model "
          f"'{args.size}'; TTT {args.ttt_steps} steps, lr {args.ttt_lr:g}, rank {args.rank}; voting over "
          f"{args.vote_views} views")
    print(f"{'setting':<40} {'top-1':>12} {'pass@2':>12} {'coverage':>12}")
    for name, rows in results.items():
        m = len(rows)
        cells = [sum(r[j] for r in rows) for j in range(3)]
        print(f"{name:<40} " + " ".join(f"{c:>4}/{m:<3} {c / m:5.1%}" for c in cells))
    print(f"(DFS and rescoring rows: the first {args.variant_tasks} task(s) of each rule, {len(variant_idx)} tasks; "
          f"TTT + voting on those same tasks: top-1 {sum(results['TTT + voting'][k][0] for k in variant_idx)}/"
          f"{len(variant_idx)})")

    print("\nper rule, pass@2 (no TTT / no TTT + voting / TTT / TTT + voting)")
    for k, rule in enumerate(held_out):
        idx = range(k * args.tasks_per_rule, (k + 1) * args.tasks_per_rule)
        print(f"  {rule.name:<16} " + " / ".join(str(sum(results[name][i][1] for i in idx))
                                                  for name in ("no TTT", "no TTT + voting", "TTT", "TTT + voting"))
              + f"  of {args.tasks_per_rule}")

    print("\nrepeated sampling: tasks right against the number of greedy views (coverage = any candidate, "
          "pass@2 = the vote's two attempts); fit coverage(n) = exp(a n^b)")
    print(f"{'views':>6} " + " ".join(f"{name + ' cover':>14} {name + ' pass@2':>14}" for name in curve))
    for i, nv in enumerate(curve_points(args.views)):
        cells = [(sum(r[2] for r in curve[name][i][1]), sum(r[1] for r in curve[name][i][1])) for name in curve]
        print(f"{nv:>6} " + " ".join(f"{c:>14} {p2:>14}" for c, p2 in cells))
    fits = {}
    for name in curve:
        ns = [nv for nv, _ in curve[name]]
        cov = [sum(r[2] for r in rows) / n for _, rows in curve[name]]
        fits[name] = fit_coverage_curve(ns, cov)
        if fits[name]:
            a, b = fits[name]
            print(f"  {name}: a = {a:.3f}, b = {b:.3f}; predicted coverage at {2 * args.views} views "
                  f"{coverage_at(fits[name], 2 * args.views):.1%}, at {8 * args.views} views "
                  f"{coverage_at(fits[name], 8 * args.views):.1%}")
        else:
            print(f"  {name}: no fit (fewer than two points strictly between 0 and 1)")
    if args.plot:
        plot(curve, fits, n, args.plot)
        print(f"plot: {args.plot}")
    print(f"\nCPU seconds: pre-training {pre_cpu:.0f} ({pre_wall:.0f} wall); no TTT + TTT with {args.views} views "
          f"{main_cpu:.0f} ({main_wall:.0f}); DFS/rescoring/test-only rows {var_cpu:.0f} ({var_wall:.0f}); shared "
          f"adapter rows {abl_cpu:.0f} ({abl_wall:.0f}); whole run {cpu:.0f} ({wall:.0f}), {args.threads} thread(s)")
    return 0


def plot(curve, fits, n_tasks: int, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for (name, points), colour in zip(curve.items(), ("tab:grey", "tab:blue")):
        ns = [nv for nv, _ in points]
        ax.plot(ns, [sum(r[2] for r in rows) / n_tasks for _, rows in points], "o-", color=colour,
                label=f"{name}: coverage")
        ax.plot(ns, [sum(r[1] for r in rows) / n_tasks for _, rows in points], "s--", color=colour,
                label=f"{name}: pass@2")
        if fits[name]:
            xs = np.geomspace(1, 4 * max(ns), 50)
            ax.plot(xs, [coverage_at(fits[name], x) for x in xs], ":", color=colour, label=f"{name}: fit")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("greedy views")
    ax.set_ylabel("fraction of tasks")
    ax.legend(fontsize=7)
    fig.tight_layout()
    # A results file names its commit and command, a picture too (PNG text chunks).
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent).stdout.strip() or "unknown"
    fig.savefig(path, dpi=120, metadata={"Commit": commit, "Command": " ".join(["python", *sys.argv])})


if __name__ == "__main__":
    sys.exit(main())
