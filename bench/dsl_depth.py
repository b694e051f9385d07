"""How fast and how deep the DSL search of a checkout goes: states per CPU-second, the deepest program
checked (reach) and the depth up to which every program was checked (full), per task, measured from
outside the search, so that it works on commits from before the search reported them.

    python bench/dsl_depth.py ../shared/arc/arc-agi-2_training --seconds 10 --split dev --limit 40 \
        --baseline /path/to/baseline/checkout

Each checkout measured (this one, and with --baseline the other one too) runs in a subprocess of its own
started in that checkout's root, so it imports that checkout's `solver` package (this script is the same
for both: it only needs Search._expand and Search._check, which every search since issue 16 has). The
subprocesses warm their numba kernels first, take the worker's memory cap (as bench/dsl.py's workers do)
and solve the tasks one after another, alternating task by task between the checkouts, so that the
machine's load falls on both alike. Per depth they count the states put on the frontier and the states
every op was applied to; `full` is the largest d such that every state of a depth below d was expanded
(states refused for memory are not counted as put on the frontier here). `pass@2` counts test outputs
whose truth is among the first two programs of Search.run() (the first pass only; bench/dsl.py scores
the whole stage, use it for the benchmark's pass@2). Per-task lines are printed for development tasks only.
For a checkout with the deep search (solver/dsl/deep.py) it also reports the deep search's depth fully
checked, programs checked and CPU, and programs checked per CPU-s of both searches together (a main-search
state is one program checked through every final step; a deep one, through the colour map).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
from pathlib import Path


def held_out(task_id: str) -> bool:  # bench/dsl.py's split
    return int(hashlib.sha256(task_id.encode()).hexdigest(), 16) % 4 == 0


def serve(dataset: str, seconds: float, overrides: list[str]) -> int:
    """Measure tasks named on stdin, one JSON line each on stdout, with the solver of the current directory."""
    sys.path.insert(0, str(Path.cwd()))
    from solver.budget import Deadline
    from solver.config import load_config
    from solver.dsl import search as S
    from solver.dsl.pool import limit_memory, worker_memory_mb
    from solver.dsl.stage import warm_up
    from solver.tasks import load_challenges, load_solutions

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

    cfg = load_config("cpu", [f"dsl.seconds_per_task={seconds}", *overrides]).dsl
    challenges = load_challenges(f"{dataset}_challenges.json")
    truths = load_solutions(f"{dataset}_solutions.json")
    limit_memory(worker_memory_mb(cfg))
    warm_up()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "solver"]).returncode != 0
    print(json.dumps({"commit": (commit or "unknown") + (" (with uncommitted changes)" if dirty else ""),
                      "depth": cfg.max_depth}), flush=True)
    for line in sys.stdin:
        t = line.strip()
        s = Counted(challenges.tasks[t], cfg, S.Clock(cfg.seconds_per_task, Deadline.never()))
        r = s.run()
        right = sum(any(i < len(p.outputs) and p.outputs[i].shape == y.shape and (p.outputs[i] == y).all()
                        for p in r.programs[:2]) for i, y in enumerate(truths[t]))
        deep = getattr(r, "deep", None)  # the deep search (solver/dsl/deep.py), in checkouts that have it
        print(json.dumps({"task": t, "reach": s.reach, "full": s.full(), "states": r.nodes, "cpu": r.cpu_seconds,
                          "stop": r.stopped_by, "right": int(right), "outputs": len(truths[t]),
                          "deep_states": deep.states if deep else 0, "deep_checked": deep.checked if deep else 0,
                          "deep_full": deep.depth_full if deep else 0, "deep_cpu": deep.cpu_seconds if deep else 0.0}),
              flush=True)
    return 0


def summary(rows: list[dict]) -> dict[str, float]:
    rate = [r["states"] / max(r["cpu"], 1e-9) for r in rows]
    # Programs checked per CPU-s, both searches: a main-search state is one program checked (through every
    # final step), a deep-search program one checked through the colour map (deep.py).
    checked = [(r["states"] + r.get("deep_checked", 0)) / max(r["cpu"], 1e-9) for r in rows]
    return {"rate_median": statistics.median(rate), "rate_mean": statistics.mean(rate),
            "checked_median": statistics.median(checked), "checked_mean": statistics.mean(checked),
            "deep_full_median": statistics.median(r.get("deep_full", 0) for r in rows),
            "deep_cpu_mean": statistics.mean(r.get("deep_cpu", 0.0) for r in rows),
            "reach_median": statistics.median(r["reach"] for r in rows),
            "reach_mean": statistics.mean(r["reach"] for r in rows),
            "full_median": statistics.median(r["full"] for r in rows),
            "full_mean": statistics.mean(r["full"] for r in rows),
            "cpu_mean": statistics.mean(r["cpu"] for r in rows),
            "right": sum(r["right"] for r in rows), "outputs": sum(r["outputs"] for r in rows)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="path prefix of <prefix>_challenges.json and <prefix>_solutions.json")
    p.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per task (default 10)")
    p.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    p.add_argument("--limit", type=int, help="only the first N tasks (after the split)")
    p.add_argument("--baseline", help="another checkout's root, measured on the same tasks, alternating")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override for both checkouts, e.g. dsl.max_nodes=1000000 (the node cap "
                        "otherwise stops a fast search early, which hides its speed)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.serve:
        return serve(args.dataset, args.seconds, args.set)

    dataset = str(Path(args.dataset).resolve())
    sys.path.insert(0, str(Path.cwd()))
    from solver.tasks import load_challenges
    challenges = load_challenges(f"{dataset}_challenges.json")
    ids = [t for t in challenges.order if t in challenges.tasks]
    if args.split != "all":
        ids = [t for t in ids if held_out(t) == (args.split == "heldout")]
    ids = ids[:args.limit] if args.limit else ids

    roots = ([("before", Path(args.baseline).resolve())] if args.baseline else []) + [("after", Path.cwd())]
    if not args.baseline:
        roots = [("this", Path.cwd())]
    script = str(Path(__file__).resolve())
    sets = [a for kv in args.set for a in ("--set", kv)]
    procs = {name: subprocess.Popen([sys.executable, script, dataset, "--seconds", str(args.seconds), "--serve", *sets],
                                    cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for name, root in roots}
    heads = {name: json.loads(proc.stdout.readline()) for name, proc in procs.items()}
    print(f"command: python {' '.join(sys.argv)}\n{len(ids)} tasks ({args.split}), {args.seconds:g} CPU-s per task"
          + (f", config {' '.join(args.set)}" if args.set else ""))
    for name, root in roots:
        print(f"{name}: solver of commit {heads[name]['commit']} ({root}), depth {heads[name]['depth']}")
    rows: dict[str, list[dict]] = {name: [] for name in procs}
    for k, t in enumerate(ids):
        order = list(procs) if k % 2 == 0 else list(reversed(procs))  # alternate who goes first
        for name in order:
            procs[name].stdin.write(t + "\n")
            procs[name].stdin.flush()
            row = json.loads(procs[name].stdout.readline())
            rows[name].append(row)
        if not held_out(t):  # held-out tasks are reported in aggregate only
            print(t + "  " + "  |  ".join(
                f"{name} reach {r['reach']} full {r['full']} states {r['states']:>6} cpu {r['cpu']:5.2f} "
                f"states/cpu-s {r['states'] / max(r['cpu'], 1e-9):6.0f} stop {r['stop']:<9} "
                f"right {r['right']}/{r['outputs']} deep full {r.get('deep_full', 0)} "
                f"checked {r.get('deep_checked', 0):>8} cpu {r.get('deep_cpu', 0.0):4.2f}"
                for name in procs for r in [rows[name][-1]]), flush=True)
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()

    sums = {name: summary(rows[name]) for name in procs}
    print(f"\n{'':<8} {'states/cpu-s median':>20} {'mean':>8} {'reach median':>13} {'mean':>6} "
          f"{'full median':>12} {'mean':>6} {'cpu mean':>9} {'pass@2 (first pass)':>20} "
          f"{'programs/cpu-s median':>22} {'mean':>9} {'deep full median':>17} {'deep cpu mean':>14}")
    for name, s in sums.items():
        print(f"{name:<8} {s['rate_median']:>20.0f} {s['rate_mean']:>8.0f} {s['reach_median']:>13g} "
              f"{s['reach_mean']:>6.2f} {s['full_median']:>12g} {s['full_mean']:>6.2f} {s['cpu_mean']:>9.2f} "
              f"{s['right']:>13}/{s['outputs']} {s['checked_median']:>22.0f} {s['checked_mean']:>9.0f} "
              f"{s['deep_full_median']:>17g} {s['deep_cpu_mean']:>14.2f}")
    if args.baseline:
        b, a = sums["before"], sums["after"]
        print(f"after/before: states per CPU-s median x{a['rate_median'] / b['rate_median']:.2f}, "
              f"mean x{a['rate_mean'] / b['rate_mean']:.2f}; programs checked per CPU-s median "
              f"x{a['checked_median'] / b['checked_median']:.2f}, mean x{a['checked_mean'] / b['checked_mean']:.2f}")
        lost = [t for t, rb, ra in zip(ids, rows["before"], rows["after"]) if ra["right"] < rb["right"]]
        won = [t for t, rb, ra in zip(ids, rows["before"], rows["after"]) if ra["right"] > rb["right"]]
        dev = lambda ts: ", ".join(t for t in ts if not held_out(t)) or "none"  # noqa: E731
        print(f"tasks with fewer right outputs after: {len(lost)} (development: {dev(lost)}); "
              f"with more: {len(won)} (development: {dev(won)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
