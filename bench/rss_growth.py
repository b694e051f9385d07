"""Does the model worker's memory grow from task to task? (issue 15) A run of N synthetic tasks on a tiny
model, the model worker's resident memory after each task read back from the journal (parts.gpu.rss_mb).

    python bench/rss_growth.py --tasks 300 [--model DIR] [--work /tmp/rss] [--out bench/results/x.md]

Tasks cycle through solver/synth.py's rules, each at its own sizes, so that prompts vary in length. Prints the
first and last fifth of the tasks' RSS, and the least-squares slope over task order (MiB per 100 tasks).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.config import load_config  # noqa: E402
from solver.journal import read_tasks  # noqa: E402
from solver.model import make_tiny_model  # noqa: E402
from solver.pipeline import run  # noqa: E402
from solver.synth import RULES, make_task  # noqa: E402


def write_tasks(path: Path, n: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    names = sorted(RULES)
    tasks = {}
    for k in range(n):
        t = make_task(RULES[names[k % len(names)]], rng, task_id=f"t{k:04d}")  # each rule its own sizes
        tasks[t.id] = {"train": [{"input": e.input.tolist(), "output": e.output.tolist()} for e in t.train],
                       "test": [{"input": e.input.tolist()} for e in t.test]}
    path.write_text(json.dumps(tasks))
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", type=int, default=300)
    p.add_argument("--model", default=None, help="a model directory (default: a fresh tiny random model)")
    p.add_argument("--work", default="/tmp/rss_growth")
    p.add_argument("--set", action="append", default=[], help="config overrides, section.key=value")
    p.add_argument("--out", default=None)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    model = args.model or str(make_tiny_model(work / "model", "tiny", seed=0))
    challenges = write_tasks(work / "challenges.json", args.tasks)
    sets = [f"model.path={json.dumps(model)}", "dsl.enabled=false", "run.cpu_workers=1", "ttt.steps=1",
            "sample.views=2", "rescore.enabled=true", "rescore.views=2", *args.set]
    cfg = load_config("tiny", sets)
    run(challenges, cfg, work / "submission.json", workdir=work / "work", progress=False, fresh=True)
    records = sorted(read_tasks(work / "work").values(), key=lambda r: r.parts.get("gpu", {}).get("start", 0.0))
    rss = np.array([r.parts["gpu"]["rss_mb"] for r in records if "rss_mb" in r.parts.get("gpu", {})])
    fifth = max(1, len(rss) // 5)
    slope = float(np.polyfit(np.arange(len(rss)), rss, 1)[0]) * 100 if len(rss) > 1 else 0.0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [f"model worker RSS over a run, commit {commit}: `python bench/rss_growth.py --tasks {args.tasks} "
             + " ".join(f"--set {s}" for s in args.set) + "`", "",
             f"config tiny + {', '.join(sets[1:])}", "",
             "| tasks | first fifth mean MiB | last fifth mean MiB | min | max | slope MiB per 100 tasks |",
             "|---|---|---|---|---|---|",
             f"| {len(rss)} | {rss[:fifth].mean():.1f} | {rss[-fifth:].mean():.1f} | {rss.min():.1f} | "
             f"{rss.max():.1f} | {slope:+.2f} |"]
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
