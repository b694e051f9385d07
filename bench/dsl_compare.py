"""Before/after comparison of two bench/dsl.py outputs, on the tasks both ran (by their per-task lines).

    python bench/dsl_compare.py BEFORE.txt AFTER.txt [--ids FILE] [--first N --challenges FILE]

Prints pass@2, solved, fit, fit precision, CPU-s and states per task, median depth reached and fully
expanded (where the file has them), for each file over the common development tasks, then the development
tasks one solves and the other does not. Works on any two outputs of bench/dsl.py made without --quiet (a
larger run can be compared with a smaller one on the smaller one's tasks).

Held-out tasks (bench/dsl.py is_held_out) are never named: each file's held-out row of its summary table is
printed as it is, and where both files still hold per-task lines of held-out tasks (files older than issue
24), only how many were gained and lost. --first N compares the first N tasks of the challenges file (what
an interrupted bench/dsl.py run covers); a file that still has held-out lines then also gives its held-out
aggregate over those tasks.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dsl import is_held_out  # noqa: E402

LINE = re.compile(r"^(\w{8}) (held|dev ) (SOLVED|fit-wrong|-)\s+right (\d+)/(\d+) cpu\s+([\d.]+) nodes\s+(\d+)"
                  r"(?: depth \S+)?(?: reach (\d+)/(\d+))?(?: deep \d+)? stop \S+\s+(.*)$")


def read(path: Path) -> dict[str, dict]:
    """The per-task lines, held-out ones included (older files have them; they are only ever counted)."""
    rows = {}
    for line in path.read_text().splitlines():
        m = LINE.match(line)
        if m:
            tid, _, status, right, n, cpu, nodes, reach, full, program = m.groups()
            # A task is 'fit' when its best program reproduces every train pair (not a partial one).
            fit = status == "fit-wrong" or (status == "SOLVED" and not program.startswith("partial: "))
            rows[tid] = {"status": status, "fit": fit, "right": int(right), "n": int(n), "cpu": float(cpu),
                         "nodes": int(nodes), "reach": None if reach is None else int(reach),
                         "full": None if full is None else int(full)}
    return rows


def summary(rows: list[dict]) -> str:
    n = sum(r["n"] for r in rows)
    fit = [r for r in rows if r["fit"]]
    solved = sum(r["status"] == "SOLVED" for r in rows)
    precision = f"{sum(r['status'] == 'SOLVED' for r in fit) / len(fit):.1%}" if fit else "n/a"
    # Depth reached / fully expanded: only files from a bench/dsl.py that prints them have them.
    depth = {k: median([r[k] for r in rows]) if all(r[k] is not None for r in rows) else "n/a" for k in ("reach", "full")}
    return (f"{len(rows):>5} {sum(r['right'] for r in rows) / n:>7.1%} {solved:>6} {len(fit):>5} {precision:>9} "
            f"{sum(r['cpu'] for r in rows) / len(rows):>8.2f} {sum(r['nodes'] for r in rows) / len(rows):>7.0f} "
            f"{depth['reach']:>5} {depth['full']:>4}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--ids", type=Path, help="only these task ids (a file, one or more per line)")
    p.add_argument("--first", type=int, help="only the first N tasks of --challenges (an interrupted run's)")
    p.add_argument("--challenges", type=Path, help="the challenges file the runs read (with --first)")
    args = p.parse_args(argv)
    before, after = read(args.before), read(args.after)
    if args.first:
        keep = set(list(json.loads(args.challenges.read_text()))[:args.first])
        before = {t: r for t, r in before.items() if t in keep}
        after = {t: r for t, r in after.items() if t in keep}
        for name, rows in (("before", before), ("after", after)):
            held_rows = [r for t, r in rows.items() if is_held_out(t)]
            if held_rows:  # a file with held-out lines (older than issue 24): their aggregate only
                print(f"{name} held-out among the first {args.first} tasks (aggregate): {summary(held_rows)}")
    shared = sorted(set(before) & set(after))
    common = [t for t in shared if not is_held_out(t)]
    held = [t for t in shared if is_held_out(t)]
    if args.ids:
        wanted = set(args.ids.read_text().split())
        common = [t for t in common if t in wanted]
    for name, path in (("before", args.before), ("after", args.after)):
        row = next((ln for ln in path.read_text().splitlines() if ln.startswith("held-out ")), None)
        print(f"{name} held-out row (aggregate): {row or 'none in the file'}")
    if held:
        print(f"held-out tasks with lines in both files: {len(held)}, gained "
              f"{sum(after[t]['right'] > before[t]['right'] for t in held)}, lost "
              f"{sum(after[t]['right'] < before[t]['right'] for t in held)} (counts only)")
    if not common:
        print("no development task in both files")
        return 1
    print(f"{len(common)} development tasks in both")
    print(f"{'run':<7} {'tasks':>5} {'pass@2':>7} {'solved':>6} {'fit':>5} {'precision':>9} {'cpu-mean':>8} {'states':>7} {'reach':>5} {'full':>4}")
    print(f"{'before':<7} {summary([before[t] for t in common])}")
    print(f"{'after':<7} {summary([after[t] for t in common])}")
    gained = [t for t in common if after[t]["right"] > before[t]["right"]]
    lost = [t for t in common if after[t]["right"] < before[t]["right"]]
    print(f"gained, development ({len(gained)}): {' '.join(gained)}")
    print(f"lost, development ({len(lost)}): {' '.join(lost)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
