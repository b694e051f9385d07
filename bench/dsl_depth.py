"""How fast and how deep the DSL search of a checkout goes: states per CPU-second, the deepest program
checked (reach) and the depth up to which every program was checked (full), per task, measured from
outside the search, so that it works on commits from before the search reported them.

    cd CHECKOUT && python /path/to/bench/dsl_depth.py ../shared/arc/arc-agi-2_training --seconds 10 \
        --split heldout --limit 80

It imports the `solver` package of the current directory (run it from the root of the checkout to
measure), solves the tasks one after another in this process (numba kernels warmed up first, the worker's
memory cap applied, as bench/dsl.py's workers do), and counts per depth the states put on the frontier and
the states every op was applied to. `full` is the largest d such that every state of a depth below d was
expanded (states refused for memory are not counted as put on the frontier here). Only programs that
bench/dsl.py scores are unchanged by the counting; use that for pass@2.
"""
from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

from solver.budget import Deadline  # noqa: E402
from solver.config import load_config  # noqa: E402
from solver.dsl import search as S  # noqa: E402
from solver.dsl.pool import limit_memory, worker_memory_mb  # noqa: E402
from solver.dsl.stage import warm_up  # noqa: E402
from solver.tasks import load_challenges  # noqa: E402


class Counted(S.Search):
    """The search, with frontier pushes, finished expansions and checked depths counted per depth."""

    def __init__(self, *args):
        super().__init__(*args)
        self.put = [0] * (self.cfg.max_depth + 1)
        self.put[0] = 1  # the root
        self.done = [0] * (self.cfg.max_depth + 1)
        self.reach = 0

    def _expand(self, node, frontier, counter) -> bool:
        before = counter[0]  # every push numbers its entry, so the counter tells how many this expansion made
        ok = super()._expand(node, frontier, counter)
        self.put[node.depth + 1] += counter[0] - before
        self.done[node.depth] += ok
        return ok

    def _check(self, node) -> None:
        self.reach = max(self.reach, node.depth)
        super()._check(node)

    def full(self) -> int:
        full = 0
        for d in range(self.cfg.max_depth):
            if self.done[d] < self.put[d]:
                break
            full = d + 1
        return full


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="path prefix of <prefix>_challenges.json")
    p.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per task (default 10)")
    p.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    p.add_argument("--limit", type=int, help="only the first N tasks (after the split)")
    args = p.parse_args(argv)

    cfg = load_config("cpu", [f"dsl.seconds_per_task={args.seconds}"]).dsl
    challenges = load_challenges(f"{args.dataset}_challenges.json")
    ids = [t for t in challenges.order if t in challenges.tasks]
    if args.split != "all":  # bench/dsl.py's split
        held = lambda t: int(hashlib.sha256(t.encode()).hexdigest(), 16) % 4 == 0  # noqa: E731
        ids = [t for t in ids if held(t) == (args.split == "heldout")]
    ids = ids[:args.limit] if args.limit else ids
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"command: python {' '.join(sys.argv)}\nsolver of commit {commit or 'unknown'} ({Path.cwd()}), "
          f"{len(ids)} tasks, {args.seconds:g} CPU-s per task, depth {cfg.max_depth}")
    limit_memory(worker_memory_mb(cfg))
    warm_up()
    reach, full, rate = [], [], []
    for t in ids:
        s = Counted(challenges.tasks[t], cfg, S.Clock(cfg.seconds_per_task, Deadline.never()))
        r = s.run()
        reach.append(s.reach)
        full.append(s.full())
        rate.append(r.nodes / max(r.cpu_seconds, 1e-9))
        print(f"{t} reach {s.reach} full {full[-1]} states {r.nodes:>6} cpu {r.cpu_seconds:5.2f} "
              f"states/cpu-s {rate[-1]:6.0f} stop {r.stopped_by}", flush=True)
    print(f"tasks {len(ids)}: depth reached median {statistics.median(reach):g} mean {statistics.mean(reach):.2f}; "
          f"fully expanded median {statistics.median(full):g} mean {statistics.mean(full):.2f}; "
          f"states per CPU-s median {statistics.median(rate):.0f} mean {statistics.mean(rate):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
