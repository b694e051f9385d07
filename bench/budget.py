"""Deadline overshoot of budgeted runs, and what a resumed run recovers after a `kill -9`. One table.

    python bench/budget.py [--challenges FILE] [--budgets 120] [--kill-at 60] [--set section.key=value ...]

Every run is a real `python -m solver run` process; its wall time is measured from outside, from starting
the process to its exit, so interpreter start, worker start-up and the final writes all count. Overshoot =
wall - budget, in seconds and as a percentage of the budget (negative: it ended early).

Kill -9: a run with the last budget is started in a fresh work directory, SIGKILLed after --kill-at seconds
(its workers die with it), then started again with the same command. Reported: tasks in the journal at the
kill, whether the submission on disk was valid then, tasks the rerun carried over unchanged, tasks it lost
(journalled before the kill, different or missing afterwards: must be 0), and the rerun's own overshoot.

Stages come from the config (--config, --set); `--set run.extra_stages=...` with tests.faulty_stages adds an
emulated model stage where no real one is available.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from solver.journal import read_tasks  # noqa: E402
from solver.submission import validate_submission  # noqa: E402
from solver.tasks import load_challenges  # noqa: E402

DEFAULT_CHALLENGES = ROOT.parent / "shared" / "arc" / "arc-agi-2_training_challenges.json"


def command(args, folder: Path, budget: float) -> list[str]:
    cmd = [sys.executable, "-m", "solver", "run", "--challenges", str(args.challenges), "--out",
           str(folder / "submission.json"), "--workdir", str(folder / "work"), "--no-progress",
           "--config", args.config, "--budget", str(budget)]
    solutions = Path(str(args.challenges).replace("_challenges", "_solutions"))
    if solutions.exists() and solutions != args.challenges:
        cmd += ["--solutions", str(solutions)]
    for s in args.set or []:
        cmd += ["--set", s]
    return cmd


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def score(out: str) -> str:
    """The score line of the run's summary, if it printed one."""
    line = next((s for s in out.splitlines() if s.startswith("score")), "")
    return line.split(None, 1)[1].split(" (")[0] if line else "-"


def timed_run(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, done


def statuses(work: Path) -> dict[str, int]:
    """Tasks per status, and per ladder knob the tasks it was turned down in."""
    out: dict[str, int] = {}
    for r in read_tasks(work).values():
        for key in [r.status] + [f"{k} down" for k in r.degraded]:
            out[key] = out.get(key, 0) + 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--challenges", type=Path, default=DEFAULT_CHALLENGES)
    ap.add_argument("--config", default="cpu")
    ap.add_argument("--set", action="append")
    ap.add_argument("--budgets", type=float, nargs="+", default=[120.0])
    ap.add_argument("--kill-at", type=float, default=60.0, help="seconds into the last budget's run (0: skip)")
    args = ap.parse_args()
    challenges = load_challenges(args.challenges)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-budget-") as tmp:
        for budget in args.budgets:
            folder = Path(tmp) / f"b{budget:g}"
            wall, done = timed_run(command(args, folder, budget))
            rows.append((f"run, budget {budget:g} s", budget, wall, score(done.stdout), statuses(folder / "work")))

        kill = None
        if args.kill_at > 0:
            budget = args.budgets[-1]
            folder = Path(tmp) / "killed"
            cmd = command(args, folder, budget)
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(args.kill_at)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            before = read_tasks(folder / "work")
            at_kill = json.loads((folder / "submission.json").read_text())
            valid_at_kill = not validate_submission(at_kill, challenges)
            wall, done = timed_run(cmd)
            after = json.loads((folder / "submission.json").read_text())
            kept = [t for t, r in before.items() if r.status != "cut" and t in after
                    and after[t] == at_kill[t]]
            lost = [t for t, r in before.items() if r.status != "cut" and (t not in after or after[t] != at_kill[t])]
            rows.append((f"rerun after kill -9 at {args.kill_at:g} s", budget, wall, score(done.stdout),
                         statuses(folder / "work")))
            kill = (len(before), valid_at_kill, len(kept), len(lost), not validate_submission(after, challenges))

    print(f"challenges: {args.challenges} ({len(challenges.order)} tasks); config {args.config}; "
          f"--set {' '.join(args.set or []) or '(none)'}")
    print(f"{'run':<34} {'budget s':>9} {'wall s':>8} {'over s':>7} {'over %':>7} {'score':>7}  tasks")
    for name, budget, wall, sc, st in rows:
        print(f"{name:<34} {budget:>9.0f} {wall:>8.2f} {wall - budget:>+7.2f} {100 * (wall - budget) / budget:>+7.2f} "
              f"{sc:>7}  "
              + ", ".join(f"{n} {k}" for k, n in sorted(st.items(), key=lambda kv: ("down" in kv[0], kv[0]))))
    if kill:
        n, valid, kept, lost, final_valid = kill
        print(f"kill -9: {n} tasks journalled at the kill, submission on disk valid then: {valid}; the rerun "
              f"carried over {kept} finished tasks unchanged, lost {lost}; final submission valid: {final_valid}")


if __name__ == "__main__":
    main()
