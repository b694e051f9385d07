"""The memory plan against the GPU: predicted peak bytes per phase (`python -m solver plan --json`) beside the
peaks bench/gpu.py measured (`peak_bytes` of each row: torch.cuda.max_memory_allocated after a reset before
the phase), as a table of predicted, measured and measured/predicted.

    python bench/plan_check.py --plan plan-bf16.json [--plan plan-4bit.json] --bench gpu_*.json [--json OUT]

The plan JSON this reads is what `python -m solver plan --json` writes (solver/memory.py, Plan.to_json):

    {"config": "kaggle", "gpu": "H100", "shape": {...},
     "plans": [{"precision": "bf16" | "nf4", "tokens": {"ttt": 2048, "labelled": ..., "prompt": ..., ...},
                "phases": {"load": {"total_bytes": N, ...}, "ttt": {...}, "greedy" | "dfs": {...},
                           "rescore": {...}, "vllm": {...}}}, ...]}

A file with "tokens" and "phases" at its top level is read as one plan; "tokens" may be a plain number, and
"precision" may instead be given as "load_in_4bit": true/false (without either, the plan is compared with every
precision measured). A plan phase
is matched to a measured one by PHASES below; phases on one side only are listed with the other side empty.
A bench row is compared with the plan of the same token count (its prompt length), else not at all.

The settings differ where bench/gpu.py measures its own workload (decode: 16 sequences of 128 new tokens;
rescore: 32 answers of 200 tokens, 16 at a time) rather than the preset's: read a ratio far from 1 in a
sampling or rescoring phase with that in mind. TTT (rank 32, one sequence per forward pass, gradient
checkpointing) and the load match the kaggle preset.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# plan phase -> bench/gpu.py phase (its `peak_bytes` keys)
PHASES = {"load": "load", "weights": "load", "ttt": "ttt", "greedy": "decode", "sampling": "decode",
          "decode": "decode", "dfs": "dfs", "rescore": "rescore", "rescoring": "rescore"}


def plan_precision(plan: dict) -> str | None:
    if "precision" in plan:  # the kit writes the weights' dtype: "bf16", "nf4" (bench/gpu.py says "4bit"), "fp32"
        return {"nf4": "4bit"}.get(str(plan["precision"]), str(plan["precision"]))
    if "load_in_4bit" in plan:
        return "4bit" if plan["load_in_4bit"] else "bf16"
    return None


def plans_of(doc: dict) -> list[dict]:
    """The per-token-count plans of a plan JSON, each with the file's precision."""
    items = doc["plans"] if "plans" in doc else [doc]
    precision = plan_precision(doc)
    return [{**item, "precision": plan_precision(item) or precision} for item in items]


def plan_tokens(plan: dict) -> int:
    """The token count a plan is for: a number, or the kit's per-phase counts, of which the TTT sequence is the
    one bench/gpu.py's prompt length stands for (it trains, decodes and rescores on prompts of that length)."""
    tokens = plan.get("tokens", -1)
    return int(tokens["ttt"] if isinstance(tokens, dict) else tokens)


def phase_bytes(phase: dict | int | float) -> int | None:
    """A phase's predicted total: {"total_bytes": N} (or a bare number)."""
    if isinstance(phase, (int, float)):
        return int(phase)
    value = phase.get("total_bytes")
    return int(value) if value is not None else None


def compare(plan_docs: list[dict], bench: dict) -> list[dict]:
    """One row per (measured row, phase): predicted and measured bytes and their ratio (None where a side is
    missing, or on the CPU where nothing is measured)."""
    rows = []
    plans = [p for doc in plan_docs for p in plans_of(doc)]
    for run in bench.get("runs", []):
        for plan in plans:
            if plan_tokens(plan) != run["prompt"]:
                continue
            if plan["precision"] is not None and plan["precision"] != run["precision"]:
                continue
            predicted: dict[str, int | None] = {}
            for name, phase in plan.get("phases", {}).items():
                key = PHASES.get(name, name)
                value = phase_bytes(phase)
                if value is not None:
                    predicted[key] = max(value, predicted.get(key) or 0)
            measured = run.get("peak_bytes") or {}
            for key in list(dict.fromkeys([*predicted, *measured])):
                p, m = predicted.get(key), measured.get(key)
                rows.append({"shape": run["shape"], "precision": run["precision"], "tokens": run["prompt"],
                             "phase": key, "predicted_bytes": p, "measured_bytes": m,
                             "ratio": m / p if p and m is not None else None})
    return rows


def table(rows: list[dict]) -> str:
    def gib(value: int | None) -> str:
        return f"{value / 2 ** 30:9.2f}" if value is not None else f"{'-':>9}"

    lines = [f"{'shape':>11} {'prec':>5} {'tokens':>6} {'phase':>8} {'plan GiB':>9} {'meas GiB':>9} {'meas/plan':>9}"]
    for r in rows:
        ratio = f"{r['ratio']:9.2f}" if r["ratio"] is not None else f"{'-':>9}"
        lines.append(f"{r['shape']:>11} {r['precision']:>5} {r['tokens']:>6} {r['phase']:>8} "
                     f"{gib(r['predicted_bytes'])} {gib(r['measured_bytes'])} {ratio}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plan", action="append", required=True, type=Path, help="a `solver plan --json` file")
    p.add_argument("--bench", required=True, type=Path, help="a bench/gpu.py JSON")
    p.add_argument("--json", type=Path, help="write the rows here")
    args = p.parse_args(argv)
    try:
        plan_docs = [json.loads(path.read_text()) for path in args.plan]
        bench = json.loads(args.bench.read_text())
        rows = compare(plan_docs, bench)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"plan_check: cannot compare {', '.join(map(str, args.plan))} with {args.bench}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"plan vs measured on {bench.get('device', '?')} ({len(bench.get('runs', []))} measured rows):")
    print(table(rows) if rows else "no measured row has the token count and precision of a plan")
    if args.json:
        args.json.write_text(json.dumps({"device": bench.get("device"), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
