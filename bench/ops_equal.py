"""Behaviour of every DSL op on real ARC grids, as one digest per op, to show a refactor changes nothing.

Run it in the tree before the change and in the tree after, on the same grids, and compare:

    cd /work/main && .venv/bin/python /path/to/bench/ops_equal.py --out /tmp/before.json
    cd /work/wt && python bench/ops_equal.py --out /tmp/after.json --against /tmp/before.json

Every op of ops.build_ops(every_fact(True)) and build_ops(every_fact(False)) (both catalogues, every colour
in every role) and the primitives that learned final steps call directly are applied to the inputs (train
and test) of the first `--tasks` tasks of the file, in id order; each op's digest hashes, per grid, its
result's shape and bytes, None, or the exception's type. Only aggregates are printed, never a task id.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path.cwd()))  # the tree the command runs in, not this file's

from solver.dsl import grids as G  # noqa: E402
from solver.dsl import ops  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/arc/arc-agi-2_training_challenges.json"


def load_grids(path: Path, n_tasks: int) -> list[np.ndarray]:
    data = json.loads(path.read_text())
    grids = []
    for tid in sorted(data)[:n_tasks]:
        for ex in data[tid]["train"] + data[tid]["test"]:
            grids.append(np.array(ex["input"], dtype=np.uint8))
    return grids


def direct_calls() -> list[tuple[str, object]]:
    """Primitives the learned final steps (learn.py) and list steps call outside any op."""
    return [("extend_periodic", lambda g: G.extend_periodic(g, 2 * g.shape[0], 2 * g.shape[1])),
            ("extend_shifted", lambda g: G.extend_shifted(g, 2 * g.shape[0], 2 * g.shape[1])),
            ("extend_reflect", lambda g: G.extend_reflect(g, 2 * g.shape[0], g.shape[1] + 3)),
            ("kronecker", lambda g: G.kronecker(g, G.background(g))),
            ("kronecker_inverse", lambda g: G.kronecker(g, G.background(g), True)),
            ("concat", lambda g: G.concat(g, g[::-1], 1)),
            ("apply_colour_map", lambda g: G.apply_colour_map(g, {c: (c + 1) % 10 for c in range(10)})),
            ("outside_mask", lambda g: G.outside_mask(g == G.background(g)).astype(np.uint8)),
            ("separator_lines", lambda g: np.array(repr(G.separator_lines(g)).encode(), "S")),
            ("valid_defined", lambda g: G.defined(G.d8, g, "rot90"))]


def digest(fn, grids: list[np.ndarray]) -> tuple[str, int]:
    h, n_none = hashlib.sha1(), 0
    for g in grids:
        try:
            r = fn(g.copy())
        except Exception as e:  # an op that raises must raise the same way after the change
            h.update(f"raise {type(e).__name__}".encode())
            continue
        if r is None:
            n_none += 1
            h.update(b"none")
        else:
            r = np.asarray(r)
            h.update(repr((r.shape, r.dtype.str)).encode() + np.ascontiguousarray(r).tobytes())
    return h.hexdigest(), n_none


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--tasks", type=int, default=60)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--against", type=Path)
    a = ap.parse_args()
    grids = load_grids(a.data, a.tasks)
    fns = [(f"{'same' if s else 'other'}:{op.name}", op.fn) for s in (True, False)
           for op in ops.build_ops(ops.every_fact(s))] + [(f"direct:{n}", f) for n, f in direct_calls()]
    result = {name: digest(fn, grids) for name, fn in fns}
    a.out.write_text(json.dumps({"grids": len(grids), "ops": result}, indent=0))
    defined = sum(len(grids) - n for _, n in result.values())
    print(f"| grids | ops | results not None |\n|---|---|---|\n| {len(grids)} | {len(result)} | {defined} |")
    if a.against:
        before = json.loads(a.against.read_text())
        assert before["grids"] == len(grids), "different grids"
        old = before["ops"]
        same = [n for n in result if n in old and old[n][0] == result[n][0]]
        differ = [n for n in result if n in old and old[n][0] != result[n][0]]
        print(f"\n| ops in both | equal | differ | only before | only after |\n|---|---|---|---|---|\n"
              f"| {len(same) + len(differ)} | {len(same)} | {len(differ)} | {len(set(old) - set(result))} | "
              f"{len(set(result) - set(old))} |")
        for n in differ[:20]:
            print("differs:", n)


if __name__ == "__main__":
    main()
