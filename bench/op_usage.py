"""Which op families the programs that solve development tasks use: the admission rule of issue 24.

    python bench/op_usage.py bench/results/dsl_arc2_training.txt [--base b69af03]

For every op family of the library (solver/dsl/fit_costs.all_op_names) it prints how many development tasks'
solving programs use it (bench/dsl.py writes per-task lines for development tasks only, so no held-out task
is ever read), the commit that first wrote the family into the op table (git log -G over
solver/dsl/ops.py and solver/dsl/catalogue.py), whether it was written for one task (first written after
--base: the scene ops of issue 16, each written from one development task the search missed), and its
catalogue today. An op written for one task joins the general catalogue only when the solving programs of
at least two development tasks besides the one it was written from use it, i.e. at least ADMIT tasks in all;
the last lines list the families that fail the rule (the scenes catalogue, solver/dsl/scenes.py) and the
general families no program uses. The decision itself is `admission`, a pure function of plain data
(tested on a toy library in tests/test_dsl_admission.py).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Callable, Collection, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dsl import is_held_out  # noqa: E402
from solver.dsl.fit_costs import all_op_names, ops_used, solved_programs  # noqa: E402
from solver.dsl.ops import SCENES  # noqa: E402

ADMIT = 3  # the task it was written from and two more
OTHERS = ADMIT - 1  # development tasks besides the one it was written from
# Written for one task whose id the history does not record (the issue-16 ops: first written after --base,
# each from one development task the search missed): that task is taken to be one of its users.
SOME_TASK = "?"
BASE = "b69af03"  # main before the issue-16 scene ops (stop 20's "before")
SOURCES = ["solver/dsl/ops.py", "solver/dsl/catalogue.py", "solver/dsl/scenes.py"]  # where op tables lived


def first_commit(fam: str) -> str | None:
    """The oldest commit whose diff of the op table adds a line naming the family as an op name (None for
    names the table generates, as the symmetries of the square from grids.D8_NAMES)."""
    out = subprocess.run(["git", "log", "--reverse", "--format=%h", "-G", f"\"{fam}[\\[\"]", "--", *SOURCES],
                         capture_output=True, text=True).stdout.split()
    return out[0] if out else None


def after_base(commit: str | None, base: str) -> bool:
    if commit is None:
        return False
    if subprocess.run(["git", "merge-base", "--is-ancestor", commit, base]).returncode == 0:
        return False
    return True


def admission(solving: Mapping[str, Collection[str]], written_for: Mapping[str, str | None],
              held_out: Callable[[str], bool] = is_held_out, others: int = OTHERS) -> dict[str, bool]:
    """The admission rule, on plain data: for every family of `written_for`, whether it belongs to the
    general catalogue. solving: family -> ids of the tasks whose solving programs use it; written_for: family
    -> the development task it was written from, SOME_TASK when that task is not known, None for a family
    not written for one task (general by construction). A family written for a task is admitted when at
    least `others` development tasks besides that one use it; held-out tasks never count."""
    out = {}
    for fam, source in written_for.items():
        if source is None:
            out[fam] = True
            continue
        users = {t for t in solving.get(fam, ()) if not held_out(t)}
        besides = len(users) - 1 if source == SOME_TASK else len(users - {source})
        out[fam] = besides >= others
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, help="a bench/dsl.py output with per-task lines")
    p.add_argument("--base", default=BASE, help="ops first written after this commit were written for one task")
    args = p.parse_args(argv)
    names = all_op_names()
    programs = solved_programs(args.results)
    tasks = defaultdict(set)
    for tid, prog in programs.items():
        for name in ops_used(prog, names):
            tasks[names[name]].add(tid)
    print(f"{args.results}: {len(programs)} development tasks solved by a fitting program; "
          f"admission: written for one task and used by >= {ADMIT} of them")
    print(f"{'family':<22} {'dev tasks':>9} {'first commit':>12} {'one task':>8} {'catalogue':>9} {'admitted':>8}")
    families = sorted(set(names.values()))
    commits = {fam: first_commit(fam) for fam in families}
    written_for = {fam: SOME_TASK if after_base(commits[fam], args.base) else None for fam in families}
    verdict = admission(tasks, written_for)
    fails, unused = [], []
    for fam in families:
        commit, scene_made = commits[fam], written_for[fam] is not None
        n = len(tasks.get(fam, ()))
        admitted = verdict[fam]
        if not admitted:
            fails.append(fam)
        elif n == 0:
            unused.append(fam)
        print(f"{fam:<22} {n:>9} {commit or 'generated':>12} {'yes' if scene_made else 'no':>8} "
              f"{'scenes' if fam in SCENES else 'general':>9} {'yes' if admitted else 'no':>8}")
    print(f"fail the rule ({len(fails)}): {' '.join(fails)}")
    print(f"general, used by no solving program ({len(unused)}): {' '.join(unused)}")
    mismatch = sorted(set(fails) ^ set(SCENES))
    print(f"differ from the scenes catalogue ({len(mismatch)}): {' '.join(mismatch)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
