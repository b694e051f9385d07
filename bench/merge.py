"""Merge policies measured: how often the two attempts each policy selects contain the right answer.

On the dev split of a training set (a task is held out when sha256(id) % 4 == 0, as in bench/dsl.py; only
the other tasks are used), the first N tasks are solved by the baseline, the DSL (a short CPU budget) and
the neural stage (a tiny model built here, optionally with a few TTT steps), and their candidates are merged
by each policy of solver/select.py. A random tiny model's grids are nearly always wrong, so on ARC this
measures the machinery and what each policy costs when the model is weak; `policy_rows` takes any
candidates (a trained model's, the miniature benchmark's).

    nice -n 10 python bench/merge.py ../shared/arc/arc-agi-1_training --tasks 40 --dsl-seconds 2
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dsl import _commit, is_held_out  # noqa: E402
from solver import baseline  # noqa: E402
from solver.budget import Deadline  # noqa: E402
from solver.config import SelectConfig, load_config  # noqa: E402
from solver.dsl import is_fitting, solve_many  # noqa: E402
from solver.metrics import same_grid as _right  # noqa: E402
from solver.select import rank_family, select_attempts
from solver.tasks import family  # noqa: E402
from solver.tasks import load_challenges, load_solutions  # noqa: E402

POLICIES = {
    "fitting-first (default)": SelectConfig(),
    "priority dsl>neural>baseline": SelectConfig(merge="priority", stage_priority=["dsl", "neural", "baseline"]),
    "priority neural>dsl>baseline": SelectConfig(merge="priority", stage_priority=["neural", "dsl", "baseline"]),
    "score (calibrated)": SelectConfig(merge="score"),
}


def policy_rows(tasks, candidates: dict, truths: dict, policies: dict | None = None) -> list[tuple[str, int, int, int]]:
    """(label, test outputs right in either attempt, test outputs, tasks fully right) per policy, then for
    reference each family alone and any candidate at all (the coverage no policy can beat)."""
    policies = dict(POLICIES if policies is None else policies)
    rows = []

    def count(pick) -> tuple[int, int, int]:
        right = total = solved = 0
        for task in tasks:
            ok = [pick([c for c in candidates[task.id] if c.test_index == i], task.test[i].input, truths[task.id][i])
                  for i in range(len(task.test))]
            right, total, solved = right + sum(ok), total + len(ok), solved + all(ok)
        return right, total, solved

    for label, cfg in policies.items():
        rows.append((label, *count(lambda cs, fb, truth, cfg=cfg: any(_right(a, truth) for a in select_attempts(cs, cfg, fb)))))
    for fam in ("dsl", "neural", "baseline"):
        only = SelectConfig(merge="priority", stage_priority=[fam])
        rows.append((f"{fam} alone", *count(lambda cs, fb, truth, only=only, fam=fam: any(
            _right(a, truth) for a in select_attempts([c for c in cs if family(c.stage) == fam], only, fb)))))
    rows.append(("any candidate (coverage)", *count(lambda cs, fb, truth: any(_right(c.grid, truth) for c in cs))))
    return rows


def calibration(tasks, candidates: dict, truths: dict, vote: str = "hierarchical") -> dict[str, tuple[int, int]]:
    """(offered, right) of the first grid of each kind per test input: what the score policy's precisions
    should be."""
    kinds = {"fitting program": lambda c: is_fitting(c), "partial program": lambda c: c.stage == "dsl" and not is_fitting(c),
             "neural": lambda c: family(c.stage) == "neural", "baseline": lambda c: family(c.stage) == "baseline"}
    out = {k: (0, 0) for k in kinds}
    for task in tasks:
        for i, ex in enumerate(task.test):
            for kind, test in kinds.items():
                top = rank_family([c for c in candidates[task.id] if c.test_index == i and test(c)], vote)[:1]
                if top:
                    offered, right = out[kind]
                    out[kind] = (offered + 1, right + _right(top[0], truths[task.id][i]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="path prefix of <prefix>_challenges.json and <prefix>_solutions.json")
    p.add_argument("--tasks", type=int, default=40, help="first N dev-split tasks (default 40)")
    p.add_argument("--dsl-seconds", type=float, default=2.0, help="DSL CPU seconds per task (default 2)")
    p.add_argument("--neural-seconds", type=float, default=20.0, help="neural wall seconds per task (default 20)")
    p.add_argument("--model-size", default="tiny", help="tiny model size built here (default tiny)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override for the neural stage's config (tiny preset), e.g. ttt.steps=4")
    args = p.parse_args(argv)

    torch.set_num_threads(1)  # the DSL worker and this process share 2 cores; spinning threads cost ~30x
    challenges = load_challenges(f"{args.dataset}_challenges.json")
    truths = load_solutions(f"{args.dataset}_solutions.json")
    ids = [t for t in challenges.order if t in challenges.tasks and not is_held_out(t)][:args.tasks]
    tasks = [challenges.tasks[t] for t in ids]
    print(f"command: python {' '.join(sys.argv)}")
    print(f"commit: {_commit()}, {os.cpu_count()} cores; {len(tasks)} dev-split tasks of {args.dataset}")

    from solver.model import make_tiny_model
    from solver.neural import NeuralStage
    started = time.process_time()
    dsl_cfg = load_config("cpu", [f"dsl.seconds_per_task={args.dsl_seconds}"]).dsl
    candidates = {o.task_id: list(o.candidates) for o in solve_many(tasks, dsl_cfg, workers=1)}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = make_tiny_model(Path(tmp) / "model", args.model_size, seed=0)
        cfg = load_config("tiny", [f"model.path={str(model_dir)!r}", *args.set])
        stage = NeuralStage(cfg)
        neural_seconds = time.monotonic()
        for task in tasks:
            candidates[task.id] += baseline.solve(task, cfg, Deadline.never())
            candidates[task.id] += stage.solve(task, stage.cfg, Deadline.after(args.neural_seconds)).candidates
        neural_seconds = time.monotonic() - neural_seconds
    print(f"neural: {cfg.sample.method}, {cfg.sample.views} views, ttt {cfg.ttt.steps if cfg.ttt.enabled else 0} "
          f"steps, rescore {'on' if cfg.rescore.enabled else 'off'}; {neural_seconds:.0f} s wall; "
          f"{time.process_time() - started:.0f} CPU-s in this process (DSL worker not counted)")

    rows = policy_rows(tasks, candidates, truths)
    print(f"\n{'policy':<30} {'right':>6} {'of':>4} {'rate':>6} {'tasks':>6}")
    for label, right, total, solved in rows:
        print(f"{label:<30} {right:>6} {total:>4} {right / max(1, total):>6.3f} {solved:>6}")
    print(f"\n{'first grid of kind':<30} {'offered':>7} {'right':>6} {'precision':>9}")
    for kind, (offered, right) in calibration(tasks, candidates, truths).items():
        print(f"{kind:<30} {offered:>7} {right:>6} {right / max(1, offered):>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
