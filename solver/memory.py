"""Where the memory plan (solver/plan.py) meets tasks, models and the device.

    task_tokens   a task's longest sequences per phase, built with the functions the run builds them with
                  (ttt.train_sequence on the training tasks, the format's encoder on the prompts)
    plan_command  `python -m solver plan`: a preset on a model shape (or a model directory) and a GPU, for a
                  challenges file's longest task or for 2k / 4k / 8k tokens
    TaskMemory    the run's side: per task, the plan from the loaded model and the task's tokens on this
                  device, the knobs it lowered set in the task's config, and per phase the predicted peak
                  beside the measured one (torch.cuda.max_memory_allocated, reset per phase; None on the CPU)

torch is imported only where a loaded model or the device is asked about.
"""
from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .config import Config, ConfigError
from .formats import ContextError, Format
from .plan import GPUS, SHAPES, GiB, Model, Plan, Shape, Tokens, fit_plan, nominal_tokens, shape_from_config, table
from .tasks import Example, Task

NOMINAL = (2048, 4096, 8192)  # token counts planned for without a challenges file


# ------------------------------------------------------------------------------------------------ tokens

def task_tokens(task: Task, cfg: Config, fmt: Format, max_len: int) -> Tokens:
    """The task's longest sequences per phase, as the run encodes them. Of the views, only the geometry
    changes a length (a transposed grid of h x w is w x h: one row separator per row), so each sequence is
    encoded as given and transposed; colours and demonstration order change no count."""
    from .augment import D8
    from .ttt import demo_tasks, leave_out_tasks, loss_setting, train_sequence
    views = (D8(0), D8(4))
    c = cfg.ttt
    base = demo_tasks(task) if c.data == "all-demos" else leave_out_tasks(task, c.min_leave_out, np.random.default_rng(0))
    loss_on = loss_setting(c.loss_skip_first, c.loss_test_only)
    ttt, labelled = 0, 0
    for b in base:
        for v in views:
            try:
                seq = train_sequence(v.apply_task(b), fmt, max_len, loss_on)
            except ContextError:
                continue
            if len(seq) > ttt:
                ttt, labelled = len(seq), int((seq.labels[1:] >= 0).sum())
    prompt = answer = r_prompt = r_answer = 0
    for v in views:
        seen = v.apply_task(task)
        for ex in seen.test:
            reserve = fmt.reserve(seen.train, ex.input)
            try:
                enc = fmt.encode(seen.train, Example(ex.input), max_len, reserve, task.id)
            except ContextError:
                continue
            room = min(fmt.max_answer_tokens, max_len - len(enc))
            if len(enc) + room > prompt + answer:
                prompt, answer = len(enc), room
            # rescoring reserves the longest candidate; the task's own reserve stands in for it
            if len(enc) + reserve > r_prompt + r_answer:
                r_prompt, r_answer = len(enc), reserve
    return Tokens(ttt, labelled, prompt, answer, r_prompt, r_answer, cfg.sample.views * len(task.test))


def longest(tokens: Sequence[Tokens]) -> Tokens:
    """Each phase's longest over many tasks (each phase's worst task, which may differ)."""
    ttt = max(tokens, key=lambda t: (t.ttt, t.labelled))
    samp = max(tokens, key=lambda t: t.prompt + t.answer)
    res = max(tokens, key=lambda t: t.rescore_prompt + t.rescore_answer)
    return Tokens(ttt.ttt, ttt.labelled, samp.prompt, samp.answer, res.rescore_prompt, res.rescore_answer,
                  max(t.prompts for t in tokens))


# ------------------------------------------------------------------------------------- shape and format

def format_name(cfg: Config, shape: Shape, model_dir: str | None) -> str:
    if cfg.model.format != "auto":
        return cfg.model.format
    if model_dir:
        from .formats import detect_format
        return detect_format(model_dir, "auto").format
    return shape.format


def family_tokenizer(fmt: str):
    """The tokenizer a family's checkpoints ship, as the kit builds it to match (solver/family_models.py)."""
    from .family_models import build_architects_tokenizer, build_marc_tokenizer, build_nvarc_tokenizer
    from .model import build_tokenizer
    return {"kit": build_tokenizer, "nvarc": build_nvarc_tokenizer, "architects": build_architects_tokenizer,
            "marc": build_marc_tokenizer}[fmt]()


def bound_format(cfg: Config, shape: Shape, model_dir: str | None) -> Format:
    from .formats import bind
    name = format_name(cfg, shape, model_dir)
    if model_dir:
        import transformers
        tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    else:
        tokenizer = family_tokenizer(name)
    return bind(name, tokenizer)


def run_vocab(shape: Shape, fmt: Format, cfg: Config) -> int:
    """Rows of the embeddings as the run has them: the format's symbols when the kit cuts the vocabulary."""
    keep = fmt.shrink_ids() if cfg.model.shrink_vocab else None
    return len(keep) if keep is not None else shape.vocab


def load_shape(model_dir: str) -> Shape:
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ConfigError(f"--model {model_dir}: no config.json there; expected a Hugging Face model directory")
    return shape_from_config(json.loads(path.read_text()), Path(model_dir).name)


# ------------------------------------------------------------------------------------------- the command

def plan_for(cfg: Config, shape: Shape, gpu: str, model_dir: str | None = None,
             challenges: str | None = None) -> list[tuple[Config, Plan]]:
    """The plans `python -m solver plan` prints: one for the file's longest task, or one per NOMINAL length."""
    fmt = bound_format(cfg, shape, model_dir)
    max_len = cfg.model.max_length
    model = Model(shape, run_vocab(shape, fmt, cfg), cfg.model.load_in_4bit or shape.quantized, 2, cfg.model.unsloth)
    if challenges:
        from .tasks import load_challenges
        tasks = list(load_challenges(challenges).tasks.values())
        if not tasks:
            raise ConfigError(f"{challenges}: no valid task to plan for")
        counts = [task_tokens(t, cfg, fmt, max_len) for t in tasks]
        token_sets = [longest(counts)]
    else:
        token_sets = [nominal_tokens(n, fmt.max_answer_tokens) for n in NOMINAL if n <= max_len] or \
            [nominal_tokens(max_len, fmt.max_answer_tokens)]
    return [fit_plan(model, cfg, t, GPUS[gpu], max_len) for t in token_sets]


def plan_command(cfg: Config, gpu: str, shape_name: str | None = None, model_dir: str | None = None,
                 challenges: str | None = None, json_out: str | None = None) -> int:
    """Print the plan; write it as JSON; 0 when every plan fits, 1 when one does not."""
    if gpu not in GPUS:
        raise ConfigError(f"unknown GPU {gpu!r}; known: {', '.join(GPUS)}")
    if model_dir:
        shape = load_shape(model_dir)
    elif shape_name in SHAPES:
        shape = SHAPES[shape_name]
    else:
        raise ConfigError(f"unknown shape {shape_name!r}; shapes: {', '.join(SHAPES)} (or --model DIR)")
    plans = plan_for(cfg, shape, gpu, model_dir, challenges)
    what = f"the longest task of {challenges}" if challenges else "nominal task lengths"
    print(f"config {cfg.name}, {what}; GPU {gpu}: {GPUS[gpu].note}")
    for _, p in plans:
        print()
        print("\n".join(table(p)))
    if json_out:
        Path(json_out).write_text(json.dumps({"config": cfg.name, "shape": asdict(shape), "gpu": gpu,
                                              "challenges": challenges, "plans": [p.to_json() for _, p in plans]},
                                             indent=1))
    return 0 if all(p.fits for _, p in plans) else 1


# ------------------------------------------------------------------------------------------------ the run

CUDA_CONTEXT = GiB // 2  # what the CUDA context and the libraries' handles take outside torch's allocator


class PhasePeaks:
    """One task's plan as the journal records it (the neural stage's stats["memory"]), and the measured peak
    of each phase beside the predicted one."""

    def __init__(self, record: dict[str, Any], cuda: bool):
        self.record = record
        self.cuda = cuda

    @contextlib.contextmanager
    def measure(self, phase: str, keep: bool = False) -> Iterator[None]:
        """torch.cuda.max_memory_allocated over the block, reset at its start; None on the CPU. `keep`: the
        block continues the phase (sampling set up, then decoded), so the larger of the two peaks stays."""
        torch = sys.modules.get("torch") if self.cuda else None
        if torch is not None:
            torch.cuda.reset_peak_memory_stats()
        try:
            yield
        finally:
            entry = self.record.setdefault("phases", {}).setdefault(phase, {"predicted_bytes": None})
            measured = int(torch.cuda.max_memory_allocated()) if torch is not None else None
            if keep and measured is not None and entry.get("measured_bytes") is not None:
                measured = max(measured, entry["measured_bytes"])
            entry["measured_bytes"] = measured


class TaskMemory:
    """The memory plan of each task on the loaded model and this device (solver/plan.py)."""

    def __init__(self, model: Model, fmt: Format, max_len: int, capacity: int | None, loaded: int | None = None):
        self.model = model
        self.format = fmt
        self.max_len = max_len
        self.capacity = capacity  # usable bytes of the GPU; None on the CPU: predicted only, nothing lowered
        self.loaded = loaded      # bytes allocated once the model was loaded (the load phase's measure)

    @classmethod
    def of(cls, loaded, cfg: Config) -> "TaskMemory":
        """From a solver.model.LoadedModel: its config (shrunk vocabulary included), precision and device."""
        import torch
        config = loaded.model.config.to_dict()
        shape = shape_from_config(config, Path(cfg.model.path).name or "model")
        cuda = loaded.device.type == "cuda"
        capacity = (torch.cuda.get_device_properties(loaded.device).total_memory - CUDA_CONTEXT) if cuda else None
        model = Model(shape, shape.vocab, loaded.quantized, 2 if cuda else 4, loaded.loader == "unsloth")
        return cls(model, loaded.format, loaded.max_length, capacity,
                   int(torch.cuda.memory_allocated(loaded.device)) if cuda else None)

    def plan(self, task: Task, cfg: Config) -> tuple[Config, PhasePeaks]:
        """The task's config with the knobs its plan lowered on this GPU, and the record the phases fill in.
        A plan that fails (a bug, a task the encoder refuses) is recorded and changes nothing."""
        from .plan import plan_phases
        record: dict[str, Any] = {"capacity_bytes": self.capacity}
        try:
            tokens = task_tokens(task, cfg, self.format, self.max_len)
            record["tokens"] = asdict(tokens)
            if self.capacity is not None:
                cfg, plan = fit_plan(self.model, cfg, tokens, self.capacity, self.max_len)
                record.update(lowered=plan.lowered, fits=plan.fits, suggestion=plan.suggestion or None)
                phases = plan.phases
            else:
                phases = plan_phases(self.model, cfg, tokens, 2 ** 62, self.max_len)
            record["phases"] = {p.name: {"predicted_bytes": p.predicted, "measured_bytes": None} for p in phases}
            record["phases"]["load"]["measured_bytes"] = self.loaded
        except Exception as exc:  # noqa: BLE001 - the plan informs the task; it must never cost it
            record["error"] = f"{type(exc).__name__}: {exc}"
        return cfg, PhasePeaks(record, self.capacity is not None)
