"""Fresh synthetic instances of each concept of the general basis, solved by the DSL (issue 24, item 4).

    python bench/dsl_concepts.py [--instances 8] [--seconds 10] [--seed 0] [--workers 1] [--only NAME,...]

Every instance is a new task of a generator of solver/dsl/concept_tasks.py (fresh grids and a fresh draw of
the rule's parameters from a seed made of --seed, the generator's name and the instance's number; the
unit tests use seeds below 100), whose outputs that module computes itself, not with the DSL's ops: a concept
counts as solved where its op carries to instances nobody wrote it from. Per generator: instances whose test
output is among the first two attempts (pass@2), instances with a program reproducing every train pair
(fitting), and the median CPU-s per task; then one line per instance with its best program.
"""
from __future__ import annotations

import argparse
import os
import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dsl import _commit, attempts, dsl_rank, right  # noqa: E402
from solver.config import load_config  # noqa: E402
from solver.dsl import solve_many  # noqa: E402
from solver.dsl.concept_tasks import GENERATORS, make_task  # noqa: E402


def seed_of(name: str, i: int, seed: int) -> int:
    """The instance's seed: apart for every generator (by its name, so a new generator changes no other's
    instances), instance and --seed, and above the tests' seeds."""
    return 100 + seed * 10 ** 13 + zlib.crc32(name.encode()) * 1000 + i


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--instances", type=int, default=8, help="instances per generator (default 8)")
    p.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per task (default 10)")
    p.add_argument("--seed", type=int, default=0, help="which fresh instances (default 0)")
    p.add_argument("--workers", type=int, default=0, help="processes (default: every core)")
    p.add_argument("--only", help="comma-separated generator names (default: all)")
    p.add_argument("--set", action="append", default=[], metavar="dsl.KEY=VALUE", help="config override")
    args = p.parse_args(argv)
    names = args.only.split(",") if args.only else list(GENERATORS)
    cfg = load_config("cpu", args.set + [f"dsl.seconds_per_task={args.seconds}"])
    tasks = {t.id: t for t in (make_task(n, seed_of(n, i, args.seed)) for n in names
                               for i in range(args.instances))}
    print(f"command: python {' '.join(sys.argv)}")
    print(f"commit: {_commit()}, {os.cpu_count()} cores; {args.instances} fresh instances per generator "
          f"(seed {args.seed}), {args.seconds:g} CPU-s per task, overrides {args.set or 'none'}", flush=True)
    rows: dict[str, list[tuple[bool, bool, float]]] = {n: [] for n in names}
    lines = []
    for out in solve_many(tasks.values(), cfg.dsl, args.workers or None):
        name = out.task_id.rsplit("-", 1)[0]
        ok = right(attempts(out.candidates, 0), tasks[out.task_id].test[0].output)
        fit = out.fitting_programs > 0
        rows[name].append((ok, fit, out.cpu_seconds))
        best = min(out.candidates, key=dsl_rank, default=None)
        lines.append(f"{out.task_id:<28} {'right' if ok else '-':<6} {'fit' if fit else '-':<4} "
                     f"cpu {out.cpu_seconds:5.2f} {out.error or (best.program if best else '-')}")
    print(f"\n{'generator':<20} {'concept':<11} {'instances':>9} {'solved':>6} {'fitting':>7} {'median CPU-s':>12}")
    for n in names:
        r = rows[n]
        print(f"{n:<20} {GENERATORS[n].concept:<11} {len(r):>9} {sum(a for a, _, _ in r):>6} "
              f"{sum(b for _, b, _ in r):>7} {np.median([c for _, _, c in r]) if r else float('nan'):>12.2f}")
    total = [x for r in rows.values() for x in r]
    print(f"{'all':<20} {'':<11} {len(total):>9} {sum(a for a, _, _ in total):>6} {sum(b for _, b, _ in total):>7} "
          f"{np.median([c for _, _, c in total]):>12.2f}")
    print()
    print("\n".join(sorted(lines)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
