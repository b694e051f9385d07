"""A grid swept on Ray against its configs run one after another with `python -m solver run`. One table.

    python bench/sweep.py [--challenges FILE --solutions FILE] [--tasks 10] [--grid GRID.toml]

The tasks: the first --tasks ARC-AGI-2 training tasks outside the held-out quarter (bench/dsl.py is_held_out),
in file order, written to a temporary challenges file. The grid (default: the issue's example, the DSL
only): dsl.seconds_per_task in [1, 2] times dsl.second_pass in ["transpose", ""]. Both sides are real
processes, timed from outside (start to exit: interpreter, Ray or worker start-up and the final writes all
count): one `python -m solver sweep` on a local Ray of this machine's cores, then, per point, `python -m
solver run` with the point's settings (its default workers: one CPU process per core), one after another.
Per point: the score of each side, and on how many tasks the two made the same candidates (the DSL's limit
is CPU-seconds, so a task that uses all of it may end elsewhere under another load).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from dsl import is_held_out  # noqa: E402
from solver.journal import read_tasks  # noqa: E402
from solver.sweep import load_grid  # noqa: E402

ARC = ROOT.parent / "shared" / "arc"
GRID = """base = "cpu"
[grid]
"dsl.seconds_per_task" = [1, 2]
"dsl.second_pass" = ["transpose", ""]
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return time.monotonic() - start, done.stdout


def score_of(stdout: str) -> str:
    line = next((l for l in stdout.splitlines() if l.startswith("score")), "")
    return line.split()[1] if line else "-"


def same_candidates(a: Path, b: Path) -> tuple[int, int]:
    ra, rb = read_tasks(a), read_tasks(b)
    key = lambda r: sorted((c.test_index, c.grid.tobytes(), c.grid.shape, c.stage, str(c.program)) for c in r.candidates)
    return sum(key(ra[t]) == key(rb[t]) for t in ra if t in rb), len(ra)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--challenges", default=str(ARC / "arc-agi-2_training_challenges.json"))
    ap.add_argument("--solutions", default=str(ARC / "arc-agi-2_training_solutions.json"))
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--grid", help="a grid file (default: the issue's 2x2 DSL grid)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    challenges, solutions = json.loads(Path(args.challenges).read_text()), json.loads(Path(args.solutions).read_text())
    ids = [t for t in challenges if not is_held_out(t)][:args.tasks]
    (folder / "ch.json").write_text(json.dumps({t: challenges[t] for t in ids}))
    (folder / "so.json").write_text(json.dumps({t: solutions[t] for t in ids}))
    grid_file = Path(args.grid) if args.grid else folder / "grid.toml"
    if not args.grid:
        grid_file.write_text(GRID)
    grid = load_grid(grid_file)
    data = ["--challenges", str(folder / "ch.json"), "--solutions", str(folder / "so.json")]

    sweep_wall, _ = timed([sys.executable, "-m", "solver", "sweep", *data, "--grid", str(grid_file),
                           "--workdir", str(folder / "sweep"), "--no-progress"])
    runs = {}
    for p in grid.points:
        sets = [f"--set={k}={json.dumps(v)}" for k, v in p.settings.items()]
        work = folder / "runs" / p.name
        runs[p.name] = timed([sys.executable, "-m", "solver", "run", *data, "--config", grid.base, "--out",
                              str(work / "submission.json"), "--workdir", str(work), "--no-progress", *sets])
    table = json.loads((folder / "sweep" / "sweep.json").read_text())
    sweep_scores = {p["name"]: p["score"] for p in table["points"]}

    print(f"grid {grid_file.name if args.grid else 'dsl.seconds_per_task [1, 2] x dsl.second_pass [transpose, none]'}"
          f"; {len(ids)} ARC-AGI-2 training tasks (the first outside the held-out quarter); {len(grid.points)} points")
    print(f"{'point':<52} {'run wall s':>10} {'run score':>9} {'sweep score':>11} {'same candidates':>15}")
    for p in grid.points:
        wall, out = runs[p.name]
        same, n = same_candidates(folder / "sweep" / p.name, folder / "runs" / p.name)
        print(f"{p.name:<52} {wall:>10.1f} {score_of(out):>9} {sweep_scores[p.name]:>11.4f} {f'{same}/{n} tasks':>15}")
    sequential = sum(w for w, _ in runs.values())
    print(f"\n{'the four runs one after another':<40} {sequential:>8.1f} s")
    print(f"{'the sweep (local Ray, every core)':<40} {sweep_wall:>8.1f} s   ({sequential / sweep_wall:.2f}x)")
    print(f"files: {folder}")


if __name__ == "__main__":
    main()
