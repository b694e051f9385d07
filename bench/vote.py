"""Voting throughput: numba grid hashing against a plain Python dict of tuple-of-tuples, same grids, one run.

    python bench/vote.py [--n 1000000] [--distinct 5000] [--seed 0]

Candidates are drawn from a pool of distinct ARC-sized grids with a Zipf-like skew (a few answers dominate, as
in real sampling). Both methods count every distinct grid; the counts are checked equal before timing is
reported. "numba (end to end)" starts from the same list of numpy grids as the Python baseline, so packing is
included; "numba (kernels only)" starts from an already packed batch.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from solver.vote import group_packed, pack, tally  # noqa: E402


def make_candidates(n: int, n_distinct: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sides = rng.integers(1, 31, size=(n_distinct, 2))
    sides = np.minimum(sides, rng.integers(3, 16, size=(n_distinct, 1)))  # most ARC grids are 3..15 a side
    pool = [rng.integers(0, 10, size=(h, w)).astype(np.uint8) for h, w in sides]
    weights = 1.0 / np.arange(1, n_distinct + 1) ** 1.1
    picks = rng.choice(n_distinct, size=n, p=weights / weights.sum())
    return [pool[i].copy() for i in picks]  # separate arrays, as a sampler would return them


def python_counts(grids: list[np.ndarray]) -> dict:
    counts: dict = {}
    for g in grids:
        key = tuple(map(tuple, g.tolist()))
        counts[key] = counts.get(key, 0) + 1
    return counts


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--distinct", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    grids = make_candidates(args.n, args.distinct, args.seed)
    cells = sum(g.size for g in grids)
    tally(grids[:50_000])  # compile (or load cached) numba kernels, serial and parallel, outside the timing
    tally(grids[:10])

    py, t_py = timed(python_counts, grids)
    nb, t_nb = timed(tally, grids)
    packed = pack(grids)
    (_, first), t_kernel = timed(group_packed, packed)

    got = {tuple(map(tuple, g.tolist())): int(c) for g, c in zip(nb.grids, nb.counts)}
    if got != py or len(first) != len(py):
        raise SystemExit("MISMATCH: numba counts differ from the Python baseline")

    print(f"candidates {args.n:,}  distinct {len(py):,}  mean cells {cells / args.n:.1f}  seed {args.seed}")
    print(f"{'method':<24}{'seconds':>10}{'grids/s':>14}{'vs python':>11}")
    for name, t in [("python dict of tuples", t_py), ("numba (end to end)", t_nb), ("numba (kernels only)", t_kernel)]:
        print(f"{name:<24}{t:>10.3f}{args.n / t:>14,.0f}{t_py / t:>10.1f}x")
    print(f"speedup {t_py / t_nb:.1f}x")


if __name__ == "__main__":
    main()
