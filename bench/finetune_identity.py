"""The issue-17 acceptance run, through the command line only: a random tiny base fine-tuned on identity tasks
answers new identity tasks through `python -m solver run --model DIR` with the baseline and the DSL off.

    1. python -m solver make-model BASE --size small
    2. 60 identity tasks (3 demonstrations, 3x3 grids) written in Kaggle format, and 20 new ones
    3. python -m solver finetune --base BASE --format kit --data train_challenges.json --out MODEL --steps 400
    4. python -m solver run --model MODEL --challenges new_challenges.json --solutions ... \
           --set baseline.enabled=false --set dsl.enabled=false             (and the same on BASE: the control)

    nice -n 10 python bench/finetune_identity.py [--steps 400] [--work DIR]     # about 4 CPU minutes

On identity tasks the kit's fallback attempt (the test input) is always right, so the score cannot tell a
model from none: the table's evidence is the coverage (some candidate of the model right) and the count of
the model's candidates, with the untrained base as the control.

Each step runs as its own process with OMP_NUM_THREADS=1 (see bench/ttt_mini.py on threads).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solver.synth import RULES, make_task, to_kaggle  # noqa: E402


def solver(*args: str) -> tuple[str, float]:
    """Run `python -m solver ARGS`; (stdout, CPU seconds of the child)."""
    before = os.times()
    r = subprocess.run([sys.executable, "-m", "solver", *args], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    after = os.times()
    if r.returncode:
        raise SystemExit(f"python -m solver {' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return r.stdout, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def write(folder: Path, name: str, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    tasks = [make_task(RULES["identity"], rng, n_train=3, sides=(3, 3), task_id=f"{name}{k:03d}") for k in range(n)]
    challenges, solutions = to_kaggle(tasks)
    (folder / f"{name}_solutions.json").write_text(json.dumps(solutions))
    path = folder / f"{name}_challenges.json"
    path.write_text(json.dumps(challenges))
    return path


def summary(stdout: str, workdir: Path) -> str:
    """The run's score and coverage lines, and the model's candidates counted in its journal. On identity
    tasks the score alone proves nothing: the kit's fallback attempt (the test input) is right for every one;
    coverage counts only the candidates, and a model that wrote none has coverage 0."""
    lines = {line.split()[0]: line.split()[1] for line in stdout.splitlines() if line.startswith(("score", "coverage"))}
    rows = [json.loads(line) for line in (workdir / "journal.jsonl").read_text().splitlines()]
    candidates = sum(len(r.get("candidates", [])) for r in rows if r.get("type") == "task")
    return f"score {lines['score']}, coverage {lines['coverage']}, model candidates {candidates}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--train-tasks", type=int, default=60)
    p.add_argument("--new-tasks", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", help="keep the files here (default: a temporary folder)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        train = write(work, "train", args.train_tasks, args.seed)
        new = write(work, "new", args.new_tasks, args.seed + 1)
        solver("make-model", str(work / "base"), "--size", "small", "--seed", str(args.seed))
        start = time.perf_counter()
        out, ft_cpu = solver("finetune", "--base", str(work / "base"), "--format", "kit", "--data", str(train),
                             "--out", str(work / "model"), "--steps", str(args.steps), "--no-progress")
        ft_wall = time.perf_counter() - start
        print(out.strip())
        meta = json.loads((work / "model" / "finetune.json").read_text())
        print(f"finetune: {meta['method']}, lr {meta['lr']:g}, {meta['parameters']} parameters, loss "
              f"{np.mean(meta['losses'][:10]):.3f} (first 10 steps) -> {np.mean(meta['losses'][-10:]):.4f} (last 10); "
              f"{ft_wall:.0f} s wall, {ft_cpu:.0f} s CPU")
        print("validation (held-out training tasks):", ", ".join(
            f"step {r['step']}: pass@2 {r['pass2']}/{r['tasks']}" for r in meta["validation"]))
        rows = []
        for label, model in (("fine-tuned", work / "model"), ("base (control)", work / "base")):
            start = time.perf_counter()
            out, cpu = solver("run", "--model", str(model), "--challenges", str(new), "--solutions",
                              str(new).replace("_challenges", "_solutions"), "--out",
                              str(work / f"run-{model.name}" / "submission.json"), "--set", "baseline.enabled=false",
                              "--set", "dsl.enabled=false", "--no-progress")
            rows.append((label, summary(out, work / f"run-{model.name}" / "work"), time.perf_counter() - start, cpu))
        print(f"\n{args.new_tasks} new identity tasks (3x3), python -m solver run --model M "
              f"--set baseline.enabled=false --set dsl.enabled=false (cpu preset otherwise)")
        for label, line, wall, cpu in rows:
            print(f"  {label:<16} {line}   [{wall:.0f} s wall, {cpu:.0f} s CPU]")
        print("(score: either attempt right, the fallback attempt included, which is the test input and so right "
              "on every identity task; coverage: some candidate of the model right)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
