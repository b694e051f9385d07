"""Op costs learned from the programs that solve development tasks (issue 24): a description-length prior.

    python -m solver.dsl.fit_costs bench/results/dsl_arc2_training.txt [--out solver/dsl/costs.json]

An op family's cost is how many bits it takes to name it under the frequency with which solving programs
use it: -log2 of its smoothed share of all uses, (uses + ALPHA) / (all uses + ALPHA * families), so an unseen
family still gets a finite cost. Bits are mapped onto the search's cost scale (a plain step about 1.5,
learned final steps and list/compose costs are set on that scale): the most used family costs FLOOR, each
bit more adds SCALE, at most CEIL. Only development tasks' programs are read (bench/dsl.py writes per-task
lines for no other task), and only programs that fit every train pair and solve their task.

The same parsing serves bench/op_usage.py (which ops the solving programs use, for the admission rule).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from .ops import COSTS_PATH, build_ops, every_fact, family

ALPHA = 0.5     # add-one-half smoothing: an unseen family has half a use
FLOOR = 1.0     # the most used family's cost (a geometry step's hand-set cost before)
SCALE = 0.25    # cost per bit above the most used family's
CEIL = 2.5      # no family costs more than this

# A per-task line of bench/dsl.py: id, split, status, ..., "stop <why>", then the best program.
LINE = re.compile(r"^([0-9a-f]{8}) (dev |held) (SOLVED|fit-wrong|-)\s.*? stop \S+\s+(.*)$")
NAME = re.compile(r"[a-z_][a-z0-9_]*")


def all_op_names() -> dict[str, str]:
    """Every op name build_ops can make (all colours, scale factors up to 6, both shape cases) -> its family."""
    factors = frozenset((a, b) for a in range(1, 7) for b in range(1, 7))
    names: dict[str, str] = {}
    for same in (True, False):
        for op in build_ops(every_fact(same, factors), learned=False):
            names[op.name] = family(op.name)
    return names


def _step_names(program: str) -> list[str]:
    """The step names of a program text, each with its bracketed parameters (brackets balanced), outermost
    first; names inside a step's brackets are parameters, not steps (each_object[c8,rot180])."""
    out, i = [], 0
    while i < len(program):
        m = NAME.match(program, i)
        if not m:
            i += 1
            continue
        j = m.end()
        if j < len(program) and program[j] == "[":
            depth = 0
            for k in range(j, len(program)):
                depth += {"[": 1, "]": -1}.get(program[k], 0)
                if depth == 0:
                    j = k + 1
                    break
        out.append(program[m.start():j])
        i = j
    return out


def ops_used(program: str, names: dict[str, str]) -> list[str]:
    """The op names (of `names`) a program text uses, in order; learned steps and list steps are not ops,
    but the op a list maps over its pieces is (map[c8,keep_solid|in_place] uses keep_solid)."""
    out = []
    for step in _step_names(program):
        if step in names:
            out.append(step)
        elif step.startswith("map[") and "|" in step and "," in step:
            out += ops_used(step[step.index(",") + 1:step.rindex("|")], names)
    return out


def solved_programs(path: Path) -> dict[str, str]:
    """task id -> the program that solved it, for the development tasks of a bench/dsl.py output whose best
    program fits every train pair (not a best-effort partial program)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        m = LINE.match(line)
        if m and m.group(2) == "dev " and m.group(3) == "SOLVED" and not m.group(4).startswith("partial: "):
            out[m.group(1)] = m.group(4)
    return out


def family_uses(programs: dict[str, str], names: dict[str, str]) -> Counter:
    """How many times each op family appears in the programs (a family used twice in one program counts twice)."""
    return Counter(names[t] for p in programs.values() for t in ops_used(p, names))


def fit(uses: Counter, families: set[str]) -> tuple[dict[str, float], float]:
    """(cost per family, cost of a family never used) from the use counts."""
    total = sum(uses.values()) + ALPHA * len(families)
    bits = {f: -math.log2((uses.get(f, 0) + ALPHA) / total) for f in families}
    low = min(bits.values())

    def cost(b: float) -> float:
        return round(min(CEIL, FLOOR + SCALE * (b - low)), 3)
    return {f: cost(b) for f, b in sorted(bits.items())}, cost(-math.log2(ALPHA / total))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, help="a bench/dsl.py output with per-task lines")
    p.add_argument("--out", type=Path, default=COSTS_PATH)
    args = p.parse_args(argv)
    names = all_op_names()
    programs = solved_programs(args.results)
    if not programs:
        print(f"{args.results}: no solved development task's program in it", file=sys.stderr)
        return 1
    uses = family_uses(programs, names)
    costs, default = fit(uses, set(names.values()))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    data = {"command": f"python -m solver.dsl.fit_costs {args.results}", "commit": commit,
            "programs": len(programs), "uses": sum(uses.values()),
            "rule": f"cost = min({CEIL}, {FLOOR} + {SCALE} * (bits - bits of the most used family)), "
                    f"bits = -log2((uses + {ALPHA}) / (all uses + {ALPHA} * families))",
            "default": default, "uses_by_family": dict(sorted(uses.items())), "costs": costs}
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{len(programs)} solving programs, {sum(uses.values())} op uses, {len(uses)} of {len(costs)} "
          f"families used; default cost {default}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
