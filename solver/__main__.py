"""Command line: `python -m solver COMMAND --help`. Thin: parse, load the config, call one function."""
from __future__ import annotations

import time

STARTED = time.monotonic()  # a run's budget counts from here, so the imports below count too

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from .config import ConfigError, DEFAULT_PRESET, available_presets, load_config  # noqa: E402
from .journal import JournalMismatch  # noqa: E402
from .kaggle import KaggleError  # noqa: E402
from .tune import DryRunError  # noqa: E402
from .tasks import ChallengeFileError  # noqa: E402

DEFAULT_OUT = Path("submission") / "submission.json"
DEFAULT_KAGGLE_BUILD = Path("build") / "kaggle"
DEFAULT_KAGGLE_WHEELS = Path("offline_wheels") / "wheels"
DEFAULT_KAGGLE_LOCK = Path("offline_wheels") / "kaggle.lock"


def cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import run, summary_lines
    overrides = list(args.set or [])
    if args.budget is not None:
        overrides.append(f"budget.total_seconds={args.budget}")
    if args.model is not None:
        overrides.append(f"model.path={json.dumps(args.model)}")  # quoted: a path is not always bare TOML
    check = None
    if args.selfcheck:
        from .selfcheck import read_fallback
        check = read_fallback(args.selfcheck)
        check["report"] = args.selfcheck
        overrides += check["switches"]  # last: the paths that failed on this machine stay off
    cfg = load_config(args.config, overrides)
    result = run(args.challenges, cfg, args.out, solutions=args.solutions, workdir=args.workdir,
                 progress=not args.no_progress, fresh=args.fresh, started=STARTED, selfcheck=check)
    print("\n".join(summary_lines(result)))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import summary_lines, sweep
    workdir = args.workdir or str(Path("sweeps") / Path(args.grid).stem)
    result = sweep(args.challenges, args.grid, workdir, solutions=args.solutions, address=args.address,
                   max_concurrent=args.max_concurrent, progress=not args.no_progress)
    print("\n".join(summary_lines(result)))
    return 0


def cmd_make_model(args: argparse.Namespace) -> int:
    from .family_models import make_family_model
    print(make_family_model(args.directory, args.family, args.size, args.seed))
    return 0


def cmd_selfcheck(args: argparse.Namespace) -> int:
    from .selfcheck import check_with_fallback, fallback_lines, run_selfcheck, summary_lines, write_report
    overrides = list(args.set or [])
    if args.model is not None:
        overrides.append(f"model.path={json.dumps(args.model)}")
    if args.fallback:
        load_config(args.config, overrides)  # a bad config or override is an error now, not in every try
        out = Path(args.out)
        result = check_with_fallback(args.config, overrides, out.parent / f"{out.stem}-tries", args.try_seconds)
        print("\n".join(fallback_lines(result)))
    else:
        result = run_selfcheck(load_config(args.config, overrides))
        print("\n".join(summary_lines(result)))
    print(f"report written to {write_report(result, Path(args.out))}")
    return 0 if result["ok"] else 1


def cmd_plan(args: argparse.Namespace) -> int:
    from .memory import plan_command
    return plan_command(load_config(args.config, list(args.set or [])), args.gpu, args.shape, args.model,
                        args.challenges, args.json)


def cmd_finetune(args: argparse.Namespace) -> int:
    from .finetune import finetune
    overrides = list(args.set or [])
    if args.steps is not None:
        overrides.append(f"finetune.steps={args.steps}")
    cfg = load_config(args.preset, overrides)
    meta = finetune(args.base, args.format, args.data, args.out, cfg, progress=not args.no_progress)
    if meta:
        last = meta["validation"][-1] if meta["validation"] else None
        score = (f"; validation at step {last['step']}: pass@2 {last['pass2']}/{last['tasks']}" if last else "")
        print(f"model written to {args.out} ({meta['method']} fine-tune, lr {meta['lr']:g}, {meta['steps']} steps, "
              f"final loss {meta['losses'][-1]:.4f}{score})")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from .metrics import score_submission
    from .submission import validate_submission
    from .tasks import load_challenges, load_solutions
    try:
        submission = json.loads(Path(args.submission).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ChallengeFileError(f"cannot read submission {args.submission}: {exc}") from None
    problems = []
    if args.challenges:
        problems = validate_submission(submission, load_challenges(args.challenges))
    elif not isinstance(submission, dict):
        problems = ["submission must be a JSON object {task_id: [attempts per test input]}"]
    report = score_submission(submission if isinstance(submission, dict) else {}, load_solutions(args.solutions))
    if args.json:
        print(json.dumps({**report.to_json(), "valid": not problems, "problems": problems}))
    else:
        for p in problems[:20]:
            print(f"invalid: {p}")
        if len(problems) > 20:
            print(f"invalid: ... and {len(problems) - 20} more problems")
        print(f"score {report.score:.4f} ({report.n_correct}/{report.n_outputs} test outputs, "
              f"{report.tasks_solved}/{len(report.per_task)} tasks fully solved)")
        if report.missing:
            print(f"missing tasks: {len(report.missing)}")
    return 1 if problems else 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report
    path = write_report(args.workdir, args.out, args.challenges, args.solutions)
    print(f"report written to {path}")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from .tune import tune
    lines, plot, settings = tune(args.workdir, args.gpus, args.hours, args.tasks, args.cpus, args.margin,
                                 args.slowdown, args.cpu_slowdown, args.seed, args.solutions)
    print("\n".join(lines))
    print(f"simulated timeline: {plot}\nsettings: {settings}")
    return 0


def cmd_kaggle(args: argparse.Namespace) -> int:
    from . import kaggle
    if args.action == "validate":
        return kaggle.report(kaggle.validate_build(Path(args.build)))
    cfg = load_config(args.config, list(args.set or [])).kaggle
    if args.action == "download":
        return kaggle.download(cfg.competition, Path(args.dest or Path("data") / cfg.competition), args.dry_run)
    if args.action == "submit":
        return kaggle.submit(cfg, args.kernel_version, args.message, args.dry_run)
    problems = kaggle.prepare(cfg, Path(args.build), Path(args.wheels), Path(args.lock))
    if args.action == "push":
        return kaggle.push(Path(args.build), problems, args.create, args.message, args.dry_run)
    return kaggle.report(problems)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m solver", description="ARC Prize solver kit.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="solve a challenges file and write submission.json",
                       description="Run the pipeline over a Kaggle challenges file. The submission is valid "
                                   "from the first second and rewritten after every task.")
    p.add_argument("--challenges", required=True, help="Kaggle *_challenges.json")
    p.add_argument("--solutions", help="Kaggle *_solutions.json: print score and coverage at the end")
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"submission path (default {DEFAULT_OUT})")
    p.add_argument("--config", default=DEFAULT_PRESET,
                   help=f"preset name ({', '.join(available_presets())}) or a .toml file (default {DEFAULT_PRESET})")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config field")
    p.add_argument("--budget", type=float, help="total wall-clock seconds for the whole run")
    p.add_argument("--model", help="a local Hugging Face model directory: turns the neural stage on "
                                    "(same as --set model.path=DIR)")
    p.add_argument("--workdir", help="journal and work files (default: OUT's folder/work); rerunning with "
                                     "the same one resumes the run, skipping the tasks it finished")
    p.add_argument("--fresh", action="store_true",
                   help="start afresh even if WORKDIR holds another run's journal (kept as journal.N.jsonl)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--selfcheck", metavar="REPORT",
                   help="a `selfcheck --fallback` report: apply its switches (the paths that failed on this "
                        "machine turned off) and record them in the journal")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="run a grid of configs over a challenges file on Ray (local or a cluster)",
                       description="Every point of GRID.toml (a base preset, [set] for all points, [grid] of "
                                   "settings whose every combination is a point, [[point]] hand-picked ones) over "
                                   "the challenges, one Ray task per (point, task): WORKDIR/<point>/journal.jsonl "
                                   "as `run` writes it, and WORKDIR/sweep.md / sweep.html with a row per point. "
                                   "Rerunning with the same WORKDIR skips finished pairs. Needs Ray (setup.sh "
                                   "installs it).")
    p.add_argument("--challenges", required=True, help="Kaggle *_challenges.json")
    p.add_argument("--solutions", help="Kaggle *_solutions.json: scores, coverage and differences in the tables")
    p.add_argument("--grid", required=True, help="the grid file (TOML)")
    p.add_argument("--workdir", help="one folder per point and the tables (default sweeps/<grid file's stem>)")
    p.add_argument("--address", help="a Ray cluster's address (host:port) to join; default: Ray started here, "
                                     "on this machine's cores and GPUs")
    p.add_argument("--max-concurrent", type=int, help="pairs handed to Ray at once (default: all; Ray runs as "
                                                      "many as the cluster's CPUs and GPUs allow)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("make-model", help="write a tiny real model directory (no download)",
                       description="Write a randomly initialised tiny Llama model and a character tokenizer "
                                   "built locally, for tests, demos and dry runs of the neural path.")
    p.add_argument("directory")
    p.add_argument("--size", default="tiny", help="tiny | small (default tiny)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--family", default="kit", choices=("kit", "nvarc", "architects", "marc"),
                   help="the architecture and tokenizer: kit (Llama, character tokenizer), nvarc (Qwen3, NVARC's "
                        "16 tokens), architects (Mistral, single characters), marc (Llama, BPE with the Llama-3 "
                        "chat template); default kit")
    p.set_defaults(func=cmd_make_model)

    p = sub.add_parser("selfcheck", help="run every neural path a config uses once, on this machine",
                       description="Load the model as the config says (precision, loader), train 2 TTT steps, "
                                   "decode greedily, explore depth first, rescore one view, and on vLLM serve "
                                   "the adapter, checking each backend's log-probabilities against the "
                                   "transformers backend. Prints seconds and peak memory per phase, writes "
                                   "JSON, exits 1 if any phase failed. Without a model: a tiny one.")
    p.add_argument("--config", default=DEFAULT_PRESET,
                   help=f"preset name ({', '.join(available_presets())}) or a .toml file (default {DEFAULT_PRESET})")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config field")
    p.add_argument("--model", help="a local Hugging Face model directory (default: model.path, else a tiny model)")
    p.add_argument("--out", default="selfcheck.json", help="JSON report (default %(default)s)")
    p.add_argument("--fallback", action="store_true",
                   help="after a failure, check again with the failing path switched off (vLLM, unsloth, "
                        "4-bit; at last the model) until every phase passes; the report lists the switches "
                        "for `run --selfcheck REPORT`")
    p.add_argument("--try-seconds", type=float, default=900.0,
                   help="with --fallback: a check still running after this long (a hung engine) counts as "
                        "failed (default %(default)s)")
    p.set_defaults(func=cmd_selfcheck)

    p = sub.add_parser("plan", help="predict each neural phase's peak GPU memory for a preset, model and GPU",
                       description="Per phase (load, TTT, greedy or DFS sampling, rescoring, the vLLM engine's "
                                   "share), the predicted peak GPU memory of a preset on a model shape (or a "
                                   "model directory's config.json) for a challenges file's longest task, or for "
                                   "2k/4k/8k tokens: weights, adapter, gradients, optimizer, activations, KV "
                                   "cache, logits, margin. Lowers micro-batch and batch sizes until it fits; exits "
                                   "1 when the preset cannot fit the GPU, naming the setting that would make it.")
    p.add_argument("--config", default=DEFAULT_PRESET,
                   help=f"preset name ({', '.join(available_presets())}) or a .toml file (default {DEFAULT_PRESET})")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--shape", help="a model shape: nvarc-4b, minitron-8b, 1b, 3b, 8b")
    which.add_argument("--model", help="a Hugging Face model directory (its config.json and tokenizer)")
    p.add_argument("--gpu", required=True, help="T4, L4, A100 (80 GB), A100-40, H100 or H200")
    p.add_argument("--challenges", help="plan for this file's longest task (default: 2k, 4k and 8k tokens)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config field")
    p.add_argument("--json", metavar="FILE", help="also write the plan as JSON (phases -> predicted bytes)")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("finetune", help="fine-tune a base model into a model directory `run --model` runs",
                       description="Fine-tune a local base model on Kaggle-format tasks and/or generated ones "
                                   "(synth:RULES), in a format profile, with transformers' Trainer: cut "
                                   "vocabulary, augmented examples, loss on outputs, checkpoints and resume, a "
                                   "validation score at each checkpoint. Multi-GPU: start it with accelerate "
                                   "launch or torchrun. Settings: the [finetune] section (--set finetune.KEY=V).")
    p.add_argument("--base", required=True, help="the base model: a local Hugging Face model directory")
    p.add_argument("--format", default="kit", help="format profile the model is trained in (default kit)")
    p.add_argument("--data", nargs="+", required=True, metavar="FILE|synth:RULES",
                   help="Kaggle *_challenges.json files (a *_solutions.json beside one adds its test outputs) "
                        "and/or generators synth:RULE,RULE or synth:all")
    p.add_argument("--out", required=True, help="output model directory; rerunning resumes from its checkpoints")
    p.add_argument("--steps", type=int, help="optimiser steps (finetune.steps)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="config preset or .toml file (default %(default)s)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a config field")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("score", help="validate and score a submission",
                       description="Score a submission against a solutions file (Kaggle metric: a test "
                                   "output counts if attempt_1 or attempt_2 equals it).")
    p.add_argument("submission")
    p.add_argument("solutions")
    p.add_argument("--challenges", help="also validate the submission against this challenges file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("report", help="write an HTML report of a run from its work directory",
                       description="One self-contained HTML page from a run's journal: score against "
                                   "coverage, time per stage, the workers' timeline, and per task the grids "
                                   "(train pairs, test input, attempts, truth, candidates with their stage).")
    p.add_argument("workdir", help="the run's work directory (holds journal.jsonl)")
    p.add_argument("--out", help="HTML path (default WORKDIR/report.html)")
    p.add_argument("--challenges", help="challenges file (default: the one the run recorded)")
    p.add_argument("--solutions", help="solutions file (default: the one the run recorded, if any)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("tune", help="recommend settings for the real run from a dry run's timings",
                       description="Fit the budget's cost model to a dry run's journal, simulate the Kaggle "
                                   "schedule (one model worker per GPU, a CPU pool for the DSL, the same "
                                   "shares and ladder as a real run), and recommend the TTT steps, views, "
                                   "sampling method and DSL seconds whose whole schedule fits with a margin; "
                                   "with the dry run's solutions, the views follow the fit of its repeated-"
                                   "sampling curve. Writes WORKDIR/tune_timeline.png and WORKDIR/tuned.toml.")
    p.add_argument("workdir", help="the dry run's work directory (holds journal.jsonl)")
    p.add_argument("--gpus", type=int, default=4, help="model workers on Kaggle (default 4)")
    p.add_argument("--hours", type=float, default=12.0, help="the run's budget in hours (default 12)")
    p.add_argument("--tasks", type=int, default=240, help="hidden test tasks to plan for (default 240)")
    p.add_argument("--cpus", type=int, help="CPU workers for the DSL (default: as in the dry run)")
    p.add_argument("--margin", type=float, default=0.1,
                   help="fraction of the budget the recommended schedule leaves free (default 0.1)")
    p.add_argument("--slowdown", type=float, default=1.0,
                   help="Kaggle GPU seconds per dry-run GPU second (default 1)")
    p.add_argument("--cpu-slowdown", type=float, default=1.0,
                   help="Kaggle CPU seconds per dry-run CPU second (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed for drawing the simulated tasks")
    p.add_argument("--solutions", help="the dry run's solutions, for the repeated-sampling curve that guides "
                                       "the views (default: the file the run recorded, if any)")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("kaggle", help="build, check and push the Kaggle notebook and datasets",
                       description="Kaggle delivery. prepare: write the upload folders (notebook + "
                                   "kernel-metadata.json, kit and wheels datasets + dataset-metadata.json) and "
                                   "validate them. validate: check existing folders. push: prepare, then upload "
                                   "with the kaggle CLI. download: fetch the competition data. submit: submit a "
                                   "version of the pushed notebook. Settings: the "
                                   "[kaggle] section of the config (--set kaggle.user=NAME ...).")
    p.add_argument("action", choices=["prepare", "validate", "push", "download", "submit"])
    p.add_argument("--config", default=DEFAULT_PRESET, help="preset name or .toml file with a [kaggle] section")
    p.add_argument("--set", action="append", metavar="kaggle.KEY=VALUE", help="override a config field")
    p.add_argument("--build", default=str(DEFAULT_KAGGLE_BUILD), help="upload folders (default %(default)s)")
    p.add_argument("--wheels", default=str(DEFAULT_KAGGLE_WHEELS), help="wheelhouse (default %(default)s)")
    p.add_argument("--lock", default=str(DEFAULT_KAGGLE_LOCK), help="lock file (default %(default)s)")
    p.add_argument("--create", action="store_true", help="push: create the datasets (first push) instead "
                                                          "of adding versions")
    p.add_argument("--message", default="solver kit update", help="push: dataset version message; submit: "
                                                                   "submission description")
    p.add_argument("--kernel-version", type=int, help="submit: the notebook version to submit")
    p.add_argument("--dest", help="download: folder for the competition data (default data/COMPETITION)")
    p.add_argument("--dry-run", action="store_true", help="print the kaggle commands, run none")
    p.set_defaults(func=cmd_kaggle)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    # ModelError and FinetuneError are ConfigErrors
    except (ChallengeFileError, ConfigError, JournalMismatch, DryRunError, KaggleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
