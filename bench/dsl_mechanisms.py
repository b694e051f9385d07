"""Fresh instances of the synthetic tasks each issue-16 search mechanism was built for, solved by the DSL.

    python bench/dsl_mechanisms.py [--instances 10] [--seconds 10] [--workers 2] [--set dsl.KEY=VALUE]

Every instance is a new task: its train pairs and its test pair are drawn from seeds no other instance
uses (the unit tests use seeds 0-9). The families come from tests/test_dsl_lists.py:
  fill       diagonal stripes of random colours with a masked block (holes filled from 3x3 patches)
  canvas     a checkerboard twice the input's size (a blank canvas of the predicted size as a start state)
  template   the input with a fixed zigzag of 8s drawn on it (the cells every output shares as a start state)
  transpose  objects mark the right edge (the op library only marks below: the second, transposed pass)
  subsets    two ray rules, one train pair with a stray cell (a stack fitting all pairs but one, best effort)
Per family: instances whose test output is right among the first two attempts, whose best candidate
reproduces every train pair, and whose best program uses the mechanism (read off its text).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dsl import _commit, attempts, right  # noqa: E402
from solver.config import load_config  # noqa: E402
from solver.dsl import is_fitting, solve_many  # noqa: E402
from tests.test_dsl import task_of  # noqa: E402
from tests.test_dsl_lists import (checker_pair, diagonal_stripes, mark_right_pair, rays_pair,  # noqa: E402
                                  rays_with_a_stray_cell, zigzag_pair)

FAMILIES = {  # name: (pair maker, train pairs, the mark the mechanism leaves in a program's text)
    "fill": (diagonal_stripes, 3, "fill_patches["),
    "canvas": (checker_pair, 3, "blank_canvas("),
    "template": (zigzag_pair, 3, "common_output("),
    "transpose": (mark_right_pair, 3, "transpose^-1("),
    "subsets": (rays_pair, 3, "partial: compose("),
}


def instance(family: str, i: int):
    make, n_train, _ = FAMILIES[family]
    seeds = [1000 + 10 * i + k for k in range(n_train + 1)]  # fresh: the tests use seeds below 10
    train = rays_with_a_stray_cell(seeds[:-1]) if family == "subsets" else [make(s) for s in seeds[:-1]]
    return task_of(train, [make(seeds[-1])], task_id=f"{family}-{i}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", type=int, default=10, help="instances per family (default 10)")
    p.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per task (default 10)")
    p.add_argument("--workers", type=int, default=0, help="processes (default: every core)")
    p.add_argument("--set", action="append", default=[], metavar="dsl.KEY=VALUE", help="config override")
    args = p.parse_args(argv)
    cfg = load_config("cpu", args.set + [f"dsl.seconds_per_task={args.seconds}"])
    tasks = {t.id: t for t in (instance(f, i) for f in FAMILIES for i in range(args.instances))}
    print(f"command: python {' '.join(sys.argv)}")
    print(f"commit: {_commit()}, {os.cpu_count()} cores; {args.instances} fresh instances per family, "
          f"{args.seconds:g} CPU-s per task, overrides {args.set or 'none'}", flush=True)
    counts = {f: [0, 0, 0] for f in FAMILIES}
    lines = []
    for out in solve_many(tasks.values(), cfg.dsl, args.workers or None):
        family = out.task_id.split("-")[0]
        task = tasks[out.task_id]
        ok = right(attempts(out.candidates, 0), task.test[0].output)
        best = min(out.candidates, key=lambda c: (not c.fits_train, c.cost or 0.0), default=None)
        fit = best is not None and is_fitting(best)
        used = best is not None and FAMILIES[family][2] in best.program
        for k, v in enumerate((ok, fit, used)):
            counts[family][k] += v
        lines.append(f"{out.task_id:<12} {'right' if ok else '-':<6} {'fit' if fit else '-':<4} "
                     f"cpu {out.cpu_seconds:5.2f} {out.error or (best.program if best else '-')}")
    print(f"\n{'family':<10} {'right':>7} {'fit':>7} {'uses it':>8}")
    for f, (ok, fit, used) in counts.items():
        print(f"{f:<10} {ok:>4}/{args.instances:<2} {fit:>4}/{args.instances:<2} {used:>5}/{args.instances:<2}")
    print()
    print("\n".join(sorted(lines)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
