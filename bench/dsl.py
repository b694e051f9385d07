"""Benchmark of the DSL fallback on a challenges file: pass@2, fitting-program precision, CPU, memory.

    python bench/dsl.py ../shared/arc/arc-agi-1_training --seconds 10 [--split dev|heldout|all] [--limit N]

Development / held-out split (fixed, by task id only): a task is HELD OUT when
    int(sha256(task_id).hexdigest(), 16) % 4 == 0
(about a quarter of each set). The DSL was designed by looking at development tasks only; held-out tasks are
only ever scored, in aggregate, so their pass@2 shows whether the DSL generalises.

Numbers (all from the DSL's own candidates, no baseline fallback):
  pass@2          test outputs whose truth is among the DSL's first two distinct grids / all test outputs
                  (the kit's Kaggle metric, solver/metrics.py)
  solved          tasks with every test output right
  fit             tasks where at least one program reproduces every train pair
  precision       of the fit tasks, the share whose test outputs were all right (attempts from fitting
                  programs only): how far "fits all train pairs" can be trusted
  cover           test outputs whose truth is among ANY fitting program's predictions (not only the first
                  two): what a better ranking could reach
  CPU-s           time.process_time inside the worker per task: mean and 95th percentile
  states          distinct search states visited per task (mean)
  depth           searched ops (before learned final steps) of the first right program, over solved test
                  outputs: mean, and the share at depth >= 3
  reach, full     per task, the deepest program the search checked (reach) and the depth up to which it
                  checked every program (full: every state of a lower depth was expanded); the medians
  deep            the depth up to which the deep search (solver/dsl/deep.py) checked every program of the
                  general ops that have numba kernels (median)
  memory          peak resident memory of any worker process, and the largest per-task state store
A line per DEVELOPMENT task follows the table (its status and the best program, which bench/op_usage.py
and solver/dsl/fit_costs.py read), so nobody has to rerun the benchmark to see what solved what. Held-out
tasks are never printed one by one: they appear only in the held-out row of the table and as counts in
the by-kind table (pass@2 per kind of task, task_kind), which says where the search fails on tasks nobody
wrote an op from (issue 24).
"""
from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.config import load_config  # noqa: E402
from solver.dsl import is_fitting, solve_many  # noqa: E402
from solver.tasks import load_challenges, load_solutions  # noqa: E402


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def is_held_out(task_id: str) -> bool:
    return int(hashlib.sha256(task_id.encode()).hexdigest(), 16) % 4 == 0


def dsl_rank(c) -> tuple:
    """Programs fitting every train pair first, the simplest (lowest cost) first among them."""
    return (not c.fits_train, c.cost if c.cost is not None else 0.0)


def attempts(candidates, test_index: int, only_fitting: bool = False) -> list[np.ndarray]:
    """The first two distinct grids for a test input, in the DSL's order (best first)."""
    out: list[np.ndarray] = []
    for c in sorted((c for c in candidates if c.test_index == test_index), key=dsl_rank):
        if only_fitting and not is_fitting(c):
            continue
        if not any(g.shape == c.grid.shape and (g == c.grid).all() for g in out):
            out.append(c.grid)
        if len(out) == 2:
            break
    return out


def right(grids, truth) -> bool:
    return any(g.shape == truth.shape and (g == truth).all() for g in grids)


def covered(predictions, test_index: int, truth) -> tuple[bool, int | None]:
    """Whether any fitting program predicts the truth, and the depth of the first (best-ranked) that does."""
    for _, _, depth, outputs in predictions:
        if test_index < len(outputs) and right([outputs[test_index]], truth):
            return True, depth
    return False, None


HEADER = (f"{'split':<9} {'tasks':>5} {'pass@2':>7} {'solved':>6} {'cover':>6} {'fit':>5} {'precision':>9} "
          f"{'cpu-mean':>8} {'cpu-p95':>7} {'states':>7} {'depth':>5} {'d>=3':>5} {'reach':>5} {'full':>4} {'deep':>4}")


def summarise(rows: list[dict], label: str) -> list[str]:
    if not rows:
        return [f"{label:<9} no tasks"]
    outputs = sum(r["n_test"] for r in rows)
    correct = sum(r["n_right"] for r in rows)
    cover = sum(r["n_covered"] for r in rows)
    solved = sum(r["solved"] for r in rows)
    fit = [r for r in rows if r["fit"]]
    fit_right = sum(r["fit_solved"] for r in fit)
    cpu = np.array([r["cpu"] for r in rows])
    states = np.array([r["nodes"] for r in rows])
    depths = np.array([d for r in rows for d in r["depths"]])
    precision = f"{fit_right / len(fit):6.1%}" if fit else "   n/a"
    depth = f"{depths.mean():5.2f} {(depths >= 3).mean():>5.0%}" if depths.size else f"{'n/a':>5} {'n/a':>5}"
    reach = np.median([r["reach"] for r in rows])
    full = np.median([r["full"] for r in rows])
    deep = np.median([r.get("deep", 0) for r in rows])
    return [f"{label:<9} {len(rows):>5} {correct / outputs:>7.1%} {solved:>6} {cover / outputs:>6.1%} {len(fit):>5} "
            f"{precision:>9} {cpu.mean():>8.2f} {np.percentile(cpu, 95):>7.2f} {states.mean():>7.0f} {depth} "
            f"{reach:>5g} {full:>4g} {deep:>4g}"]


def task_kind(task) -> str:
    """What the train pairs do, read off their grids alone: same shape (only background cells painted,
    only cells erased to background, or both; with a colour no input has), smaller (the output a window of
    the input, or not), bigger, or mixed. For the by-kind table: where the search fails, in aggregate."""
    pairs = [(ex.input, ex.output) for ex in task.train]
    if all(x.shape == y.shape for x, y in pairs):
        bgs = [int(np.bincount(x.ravel(), minlength=10).argmax()) for x, _ in pairs]
        add = all(((x != y) <= (x == b)).all() for (x, y), b in zip(pairs, bgs))
        erase = all(((x != y) <= (y == b)).all() for (x, y), b in zip(pairs, bgs))
        new = any(set(np.unique(y[x != y]).tolist()) - set(np.unique(x).tolist()) for x, y in pairs)
        return "same:" + ("paint" if add else "erase" if erase else "both") + ("+new colour" if new else "")
    if all(y.shape[0] <= x.shape[0] and y.shape[1] <= x.shape[1] for x, y in pairs):
        def window(x, y):
            h, w = y.shape
            return any((x[i:i + h, j:j + w] == y).all()
                       for i in range(x.shape[0] - h + 1) for j in range(x.shape[1] - w + 1))
        return "smaller:" + ("window" if all(window(x, y) for x, y in pairs) else "other")
    if all(y.shape[0] >= x.shape[0] and y.shape[1] >= x.shape[1] for x, y in pairs):
        return "bigger"
    return "mixed"


def by_kind(rows: list[dict]) -> list[str]:
    """pass@2 per task kind (task_kind), development and held-out side by side: counts only."""
    out = [f"{'kind':<22} {'dev tasks':>9} {'solved':>6} {'pass@2':>7}   {'held-out tasks':>14} {'solved':>6} "
           f"{'pass@2':>7}"]
    for kind in sorted({r["kind"] for r in rows}):
        cells = []
        for held in (False, True):
            rs = [r for r in rows if r["kind"] == kind and r["held"] == held]
            n_out = sum(r["n_test"] for r in rs)
            rate = f"{sum(r['n_right'] for r in rs) / n_out:>7.1%}" if n_out else f"{'-':>7}"
            cells.append((len(rs), sum(r["solved"] for r in rs), rate))
        (a, b, c), (d, e, f) = cells
        out.append(f"{kind:<22} {a:>9} {b:>6} {c}   {d:>14} {e:>6} {f}")
    return out


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="path prefix of <prefix>_challenges.json and <prefix>_solutions.json")
    p.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per task (default 10)")
    p.add_argument("--workers", type=int, default=0, help="processes (default: every core)")
    p.add_argument("--split", choices=("all", "dev", "heldout"), default="all")
    p.add_argument("--limit", type=int, help="only the first N tasks (after the split)")
    p.add_argument("--ids", help="comma-separated task ids, or a file of ids")
    p.add_argument("--set", action="append", default=[], metavar="dsl.KEY=VALUE", help="config override")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no per-task lines")
    args = p.parse_args(argv)

    cfg = load_config("cpu", args.set + [f"dsl.seconds_per_task={args.seconds}"])
    challenges = load_challenges(f"{args.dataset}_challenges.json")
    truths = load_solutions(f"{args.dataset}_solutions.json")
    ids = [t for t in challenges.order if t in challenges.tasks]
    if args.split != "all":
        ids = [t for t in ids if is_held_out(t) == (args.split == "heldout")]
    if args.ids:
        # A list of ids has commas (and may be longer than a file name may be): only a comma-less one is a file.
        from_file = "," not in args.ids and Path(args.ids).is_file()
        wanted = set(Path(args.ids).read_text().split() if from_file else args.ids.split(","))
        ids = [t for t in ids if t in wanted]
    if args.limit:
        ids = ids[:args.limit]
    tasks = [challenges.tasks[t] for t in ids]

    print(f"command: python {' '.join(sys.argv)}")
    print(f"commit: {_commit()}, {os.cpu_count()} cores, workers {args.workers or cfg.dsl.workers or os.cpu_count()}")
    print(f"DSL benchmark: {args.dataset}, {len(tasks)} tasks, {args.seconds:g} CPU-s per task, "
          f"depth {cfg.dsl.max_depth}, max_nodes {cfg.dsl.max_nodes}, memory_mb {cfg.dsl.memory_mb}, "
          f"split {args.split}", flush=True)
    started = time.monotonic()
    rows, lines, max_rss, max_state, errors = [], [], 0.0, 0, 0
    progress = tqdm(solve_many(tasks, cfg.dsl, args.workers or None), total=len(tasks), desc="tasks",
                    file=sys.stderr, disable=args.quiet)
    # SIGTERM or Ctrl-C: report the tasks done so far (outcomes come in the file's order, so they are its
    # first N tasks) instead of nothing.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _run(progress, challenges, truths, rows, lines)
    except KeyboardInterrupt:
        print(f"INTERRUPTED after {len(rows)} of {len(tasks)} tasks: the table covers the first {len(rows)} "
              f"tasks in the file's order")
    for r in rows:
        max_rss = max(max_rss, r["rss"])
        max_state = max(max_state, r["state"])
        errors += r["error"]
    wall = time.monotonic() - started

    print(HEADER)
    print("\n".join(summarise(rows, "all")))
    print("\n".join(summarise([r for r in rows if not r["held"]], "dev")))
    print("\n".join(summarise([r for r in rows if r["held"]], "held-out")))
    print(f"peak worker RSS {max_rss:.0f} MiB, largest state store {max_state / 2 ** 20:.1f} MiB, "
          f"errors {errors}, wall {wall:.0f} s")
    print("\n".join(by_kind(rows)))
    if not args.quiet:
        print("\n".join(sorted(lines)))
    if len(rows) < len(tasks):
        sys.stdout.flush()
        for child in multiprocessing.active_children():  # the pool would otherwise finish its queue first
            child.terminate()
        os._exit(0)
    return 0


def _run(progress, challenges, truths, rows: list[dict], lines: list[str]) -> None:
    """Score each outcome as it comes (appending to rows, and to lines for development tasks)."""
    for out in progress:
        task = challenges.tasks[out.task_id]
        truth = truths.get(out.task_id, [])
        n_test = len(task.test)
        ok = [i < len(truth) and right(attempts(out.candidates, i), truth[i]) for i in range(n_test)]
        fit = out.fitting_programs > 0
        cov = [i < len(truth) and covered(out.predictions, i, truth[i]) for i in range(n_test)]
        depths = [c[1] for c, good in zip(cov, ok) if good and c and c[0]]
        fit_ok = fit and all(i < len(truth) and right(attempts(out.candidates, i, True), truth[i])
                             for i in range(n_test))
        rows.append({"id": out.task_id, "held": is_held_out(out.task_id), "kind": task_kind(task),
                     "n_test": n_test, "n_right": sum(ok),
                     "solved": all(ok), "fit": fit, "fit_solved": fit_ok, "cpu": out.cpu_seconds,
                     "nodes": out.nodes, "n_covered": sum(bool(c and c[0]) for c in cov), "depths": depths,
                     "reach": out.depth_reached, "full": out.depth_full, "deep": out.deep_full, "rss": out.max_rss_mb,
                     "state": out.state_bytes, "error": out.error is not None})
        if is_held_out(out.task_id):
            continue  # scored in aggregate only: no held-out task's line, program or status is ever written
        best = min(out.candidates, key=dsl_rank, default=None)
        program = "-" if best is None else best.program
        lines.append(f"{out.task_id} dev  "
                     f"{'SOLVED' if all(ok) else ('fit-wrong' if fit else '-'):<9} "
                     f"right {sum(ok)}/{n_test} cpu {out.cpu_seconds:5.2f} nodes {out.nodes:>6} "
                     f"depth {out.predictions[0][2] if out.predictions else '-'} "
                     f"reach {out.depth_reached}/{out.depth_full} deep {out.deep_full} "
                     f"stop {out.stopped_by:<9} {out.error or program}")


if __name__ == "__main__":
    sys.exit(main())
