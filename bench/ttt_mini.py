"""Miniature replication of the test-time training claim, on CPU in minutes.

Akyurek et al. (2024) report that test-time training multiplies a fine-tuned model's ARC accuracy (1B
model: 5% -> 29%). Here, in miniature: a tiny Llama (2 layers, hidden size 128) is pre-trained for a minute
or two on tasks generated on the fly, then evaluated on tasks of rules held out from pre-training, by exact
match, in three settings that run the kit's own neural stage (NeuralStage: LoRA TTT on augmented
leave-one-out tasks, greedy sampling under views, inversion, hierarchical vote):

    no TTT        the pre-trained model, the task as given (one view)
    TTT           a LoRA adapter trained on the task's leave-one-out data, the task as given (one view)
    TTT + voting  the same adapter, predictions under 8 augmented views, inverted and voted

The rule family (solver/synth.py `colour_map_split`): recolour every cell of a 4x4 grid of 3-4 colours by a
fixed permutation of the colours 1-9. Pre-training sees only the identity permutation (copying: the format,
and attention from each output cell to its input cell; tasks of 1 to 3 demonstrations, see `pretrain`);
evaluation, 8 other permutations, each shown by three demonstrations. The pre-trained model has no way to
know a held-out map but from the task's own demonstrations, which is what TTT fits; without TTT it copies,
and a copy is never right (every pair of a task changes under its map). The maps are cell-wise, so they
commute with the 8 symmetries of the square (not with colour permutations): TTT and sampling use geometric
and demonstration-order views only, and every view of a task is a task of the same rule.

The TTT row is the identity view of the TTT + voting run (greedy decoding is deterministic, so it is the
prediction a one-view run makes). The columns count a task as solved when attempt 1 (top-1) or either
attempt (pass@2, the Kaggle metric) equals the test output.

    nice -n 5 python bench/ttt_mini.py [--seed 0]     # about 4 CPU minutes, one thread

One intra-op thread by default: on a machine shared with other jobs, torch's spinning OpenMP threads made a
training step of this model 13x slower with 2 threads than with 1 (1.8 s vs 0.14 s).
"""
from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.budget import Deadline  # noqa: E402
from solver.config import Config, ModelConfig  # noqa: E402
from solver.model import load_model, make_tiny_model  # noqa: E402
from solver.neural import NeuralStage  # noqa: E402
from solver.metrics import same_grid  # noqa: E402
from solver.select import select_attempts  # noqa: E402
from solver.synth import colour_map_split, make_task, pretrain  # noqa: E402

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


def solved(task, candidates, cfg: Config) -> tuple[bool, bool]:
    """(attempt 1 right, either attempt right) over every test input of the task."""
    top1 = pass2 = True
    for i, ex in enumerate(task.test):
        a1, a2 = select_attempts([c for c in candidates if c.test_index == i], cfg.select, ex.input)
        same = [same_grid(a, ex.output) for a in (a1, a2)]
        top1 &= same[0]
        pass2 &= any(same)
    return top1, pass2


def config(args, ttt: bool, views: int) -> Config:
    cfg = Config()
    cfg.seed = args.seed
    cfg.ttt.enabled = ttt
    cfg.ttt.steps = args.ttt_steps
    cfg.ttt.lr = args.ttt_lr
    cfg.ttt.rank = args.rank
    cfg.ttt.alpha = float(args.rank)
    cfg.ttt.batch_size = args.ttt_batch
    cfg.ttt.augmentations = args.augmentations
    cfg.ttt.augment = cfg.sample.augment = AUGMENT
    cfg.sample.views = views
    cfg.sample.batch_size = views
    return cfg


def decoding_variants(args) -> dict[str, Config]:
    """The rows of issue 5 on top of TTT + voting: depth-first sampling and product-of-experts rescoring.
    Each retrains the task's adapter; training is seeded by the task, so it is the same adapter."""
    dfs = config(args, True, args.views)
    dfs.sample.method, dfs.sample.min_prob = "dfs", 0.1
    poe = config(args, True, args.views)
    poe.rescore.enabled, poe.rescore.views, poe.rescore.augment = True, args.views, AUGMENT
    dfs_poe = copy.deepcopy(dfs)
    dfs_poe.rescore = copy.deepcopy(poe.rescore)
    return {"TTT + DFS": dfs, "TTT + voting + rescoring": poe, "TTT + DFS + rescoring": dfs_poe}


def evaluate(stage: NeuralStage, tasks, args) -> tuple[dict[str, list[tuple[bool, bool]]], dict[str, list]]:
    """Rows per task; the decoding variants on the first `args.variant_tasks` tasks of each rule only (each
    costs one more adapter training). Also returns each task's TTT + voting candidates."""
    no_ttt, with_ttt = config(args, False, 1), config(args, True, args.views)
    variants = decoding_variants(args)
    results: dict[str, list] = {"no TTT": [], "TTT": [], "TTT + voting": [], **{k: [] for k in variants}}
    voted: dict[str, list] = {}
    for k, task in enumerate(tasks):
        results["no TTT"].append(solved(task, stage.solve(task, no_ttt, Deadline.never()).candidates, no_ttt))
        candidates = voted[task.id] = stage.solve(task, with_ttt, Deadline.never()).candidates
        results["TTT"].append(solved(task, [c for c in candidates if c.view == "identity"][:1], with_ttt))
        results["TTT + voting"].append(solved(task, candidates, with_ttt))
        if k % args.tasks_per_rule < args.variant_tasks:
            for name, cfg in variants.items():
                results[name].append(solved(task, stage.solve(task, cfg, Deadline.never()).candidates, cfg))
    return results, voted


def merge_rows(tasks, voted: dict[str, list], dsl_seconds: float) -> list[tuple[str, int, int, int]]:
    """Issue 5's merge policies on the miniature tasks: the DSL's candidates (a colour map is one of its
    learned steps) pooled with the model's TTT + voting candidates."""
    from bench.merge import policy_rows
    from solver import dsl
    from solver.config import load_config
    dsl_cfg = load_config("cpu", [f"dsl.seconds_per_task={dsl_seconds}"]).dsl
    dsl.warm_up()
    pool = {t.id: voted[t.id] + dsl.solve(t, dsl_cfg, Deadline.never()) for t in tasks}
    return policy_rows(tasks, pool, {t.id: [ex.output for ex in t.test] for t in tasks})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="model weights, rules, tasks and views all follow it")
    p.add_argument("--size", default="small", help="make-model size")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--pretrain-steps", type=int, default=400)
    p.add_argument("--pretrain-batch", type=int, default=16)
    p.add_argument("--pretrain-lr", type=float, default=5e-3)
    p.add_argument("--rules", type=int, default=8, help="held-out colour maps")
    p.add_argument("--tasks-per-rule", type=int, default=8)
    p.add_argument("--seen-tasks", type=int, default=8, help="no-TTT sanity check on the pre-training rule")
    p.add_argument("--ttt-steps", type=int, default=32)
    p.add_argument("--ttt-lr", type=float, default=1e-2)
    p.add_argument("--ttt-batch", type=int, default=8)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--augmentations", type=int, default=8)
    p.add_argument("--views", type=int, default=8)
    p.add_argument("--variant-tasks", type=int, default=2,
                   help="tasks per rule that also run the DFS and rescoring rows (each retrains the adapter)")
    p.add_argument("--merge-tasks", type=int, default=16, help="tasks for the merge-policy rows (0: none)")
    p.add_argument("--dsl-seconds", type=float, default=2.0, help="CPU seconds of the DSL per merge task")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    copy, held_out = colour_map_split(args.seed, args.rules)
    total = Clock()

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_model(ModelConfig(path=str(make_tiny_model(tmp, args.size, args.seed)), device="cpu",
                                        max_length=2048))
    clock = Clock()
    report = pretrain(loaded.model, [copy], loaded.format, steps=args.pretrain_steps,
                      batch_size=args.pretrain_batch, lr=args.pretrain_lr, max_len=loaded.max_length,
                      deadline=Deadline.never(), rng=rng)
    pre_wall, pre_cpu = clock.lap()
    print(f"pre-training: {report.steps} steps x {args.pretrain_batch} tasks of the identity rule, "
          f"loss {np.mean(report.losses[:20]):.3f} -> {np.mean(report.losses[-20:]):.4f}, "
          f"{pre_wall:.0f} s wall, {pre_cpu:.0f} s CPU", flush=True)

    stage = NeuralStage(config(args, True, args.views), loaded=loaded)
    seen = [make_task(copy, rng) for _ in range(args.seen_tasks)]
    seen_ok = sum(solved(t, stage.solve(t, config(args, False, 1), Deadline.never()).candidates, stage.cfg)[0] for t in seen)
    print(f"sanity, the pre-training rule without TTT: {seen_ok}/{len(seen)} tasks solved", flush=True)

    tasks = [make_task(rule, rng) for rule in held_out for _ in range(args.tasks_per_rule)]
    clock = Clock()
    results, voted = evaluate(stage, tasks, args)
    ev_wall, ev_cpu = clock.lap()
    merge_tasks = tasks[::max(1, len(tasks) // args.merge_tasks)][:args.merge_tasks] if args.merge_tasks else []
    merged = merge_rows(merge_tasks, voted, args.dsl_seconds) if merge_tasks else []
    wall, cpu = total.lap()

    n = len(tasks)
    print(f"\n{len(held_out)} held-out rules x {args.tasks_per_rule} tasks = {n} tasks; seed {args.seed}; "
          f"model '{args.size}'; TTT {args.ttt_steps} steps, lr {args.ttt_lr:g}, rank {args.rank}; "
          f"{args.views} views")
    print(f"{'setting':<26} {'top-1':>12} {'pass@2':>12}")
    for name, rows in results.items():
        t1, p2, m = sum(r[0] for r in rows), sum(r[1] for r in rows), len(rows)
        print(f"{name:<26} {t1:>4}/{m:<3} {t1 / m:6.1%} {p2:>4}/{m:<3} {p2 / m:6.1%}")
    m = len(results["TTT + DFS"])
    print(f"(the DFS and rescoring rows: the first {args.variant_tasks} tasks of each rule, {m} tasks; "
          f"TTT + voting on those same tasks: {sum(r[0] for k, r in enumerate(results['TTT + voting']) if k % args.tasks_per_rule < args.variant_tasks)}/{m} top-1)")
    print("\nper rule, top-1 (no TTT / TTT / TTT + voting)")
    for k, rule in enumerate(held_out):
        idx = range(k * args.tasks_per_rule, (k + 1) * args.tasks_per_rule)
        print(f"  {rule.name:<16} " + " / ".join(str(sum(results[s][i][0] for i in idx))
                                                  for s in ("no TTT", "TTT", "TTT + voting"))
              + f"  of {args.tasks_per_rule}")
    if merged:
        print(f"\nmerge policies (select.merge) on {len(merge_tasks)} tasks: the model's TTT + voting candidates "
              f"with the DSL's ({args.dsl_seconds:g} CPU-s a task); right in either attempt")
        for label, right, total_outputs, solved_tasks in merged:
            print(f"  {label:<30} {right:>3}/{total_outputs}")
    print(f"\npre-training {pre_wall:.0f} s wall, {pre_cpu:.0f} s CPU; evaluation {ev_wall:.0f} s wall, "
          f"{ev_cpu:.0f} s CPU; whole run {wall:.0f} s wall, {cpu:.0f} s CPU ({args.threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
