"""Fine-tuning: a base model on disk -> a model directory that `python -m solver run --model DIR` runs.

    python -m solver finetune --base DIR --format kit --data FILE... --out DIR [--steps N] [--set finetune.k=v]

Data: Kaggle challenge files (their `*_solutions.json` beside them, when present, adds the test outputs) and
generators (`synth:RULE,RULE` or `synth:all`, the rule families of solver/synth.py, so that a user with no
data can train). Example i of the training set is drawn from its own seed: one source task (the sources are
visited in a shuffled round, so that each is seen equally often), one of its pairs as the query and a random
number of the others as demonstrations in random order, seen under a random view (D8, a colour permutation
that moves colour 0 or not, the demo order), and optionally the MIT input-only / output-only transforms.
Examples are therefore reproducible one by one: a run killed and resumed trains on exactly the batches an
uninterrupted run would have.

Every example goes through ONE function, `encode_example` (task -> input ids and labels with the loss mask),
which is TTT's `ttt.train_sequence`: the format profile (solver/formats, `--format kit|nvarc|architects|marc`)
owns the layout, the demonstration cut and the loss mask; finetune adds the vocabulary cut (profiles that
may be cut) and the format marker that lets `run --model OUT` detect the format.

Training is transformers' `Trainer` (cosine schedule with warm-up, gradient clipping, bf16 and gradient
checkpointing on GPU, checkpoints every `save_steps`, resume from the last complete checkpoint, several GPUs
under `accelerate launch` / `torchrun`; the loss is TTT's, the output head run on the labelled positions
only), on the whole model or a LoRA adapter (peft, rsLoRA; optionally the embeddings and head in full) that
is merged into the weights at the end. At every checkpoint a held-out validation split is solved by the
kit's own sampling and selection (greedy under views, vote, two attempts).

Output directory: the model (weights, config, the tokenizer, cut to the format's symbols when the vocabulary
was cut), the format marker (`arc_format.json`), `finetune.json` (format, base, vocabulary cut, settings,
validation scores, loss curve) and `checkpoints/` (Trainer checkpoints, `eval.jsonl`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .augment import D8, random_view
from .budget import Deadline
from .config import Config, ConfigError, FinetuneConfig, SampleConfig, SelectConfig
from .formats import PROFILES, ContextError, Format, bind, write_marker
from .metrics import same_grid
from .model import shrink_embeddings
from .tasks import Example, Task, attach_solutions, load_challenges, load_solutions
from .ttt import IGNORE, TrainSequence, answer_loss, train_sequence
FORMATS = tuple(PROFILES)  # the format profiles finetune can write: every one the kit runs
META_FILE = "finetune.json"
CHECKPOINTS = "checkpoints"


class FinetuneError(ConfigError):
    """Bad input to a fine-tuning run; the message names the file, task or setting."""


# ------------------------------------------------------------------------------------------------ sources

Source = Callable[[np.random.Generator], Task]  # a task per call: fixed (from a file) or freshly generated


def known_pairs(task: Task) -> list[Example]:
    """Every pair whose output is known: the demonstrations, and the test pairs of a solved file."""
    return [ex for ex in task.train + task.test if ex.output is not None]


def load_task_file(path: str | Path) -> list[Task]:
    """A Kaggle challenges file, with the test outputs of its `*_solutions.json` twin when there is one.
    Invalid tasks are an error here: training on a half-read task would teach the wrong thing quietly."""
    path = Path(path)
    challenges = load_challenges(path)
    if challenges.invalid:
        first = next(iter(challenges.invalid.values()))
        raise FinetuneError(f"{path}: {len(challenges.invalid)} invalid tasks, e.g. {first.id}: {first.problem}")
    twin = path.with_name(path.name.replace("_challenges", "_solutions"))
    if twin != path and twin.is_file():
        challenges = attach_solutions(challenges, load_solutions(twin))
    tasks = [challenges.tasks[i] for i in challenges.order]
    for t in tasks:
        if len(known_pairs(t)) < 2:
            raise FinetuneError(f"{path}: task {t.id} has fewer than 2 pairs with known outputs; nothing to "
                                f"show as a demonstration")
    return tasks


def synth_generators(spec: str) -> list[Source]:
    """'synth:identity,ring', 'synth:recolour' (a family: a new rule per task) or 'synth:all' (every rule of
    solver/synth.py) -> one generator of tasks per rule or family named."""
    from .synth import FAMILIES, RULES, make_task
    names = spec.split(":", 1)[1]
    names = list(RULES) if names in ("", "all") else names.split(",")
    unknown = [n for n in names if n not in RULES and n not in FAMILIES]
    if unknown:
        raise FinetuneError(f"--data {spec}: unknown rule {', '.join(unknown)}; rules: {', '.join(RULES)}; "
                            f"families: {', '.join(FAMILIES)}")

    def generator(name: str) -> Source:
        def draw(rng: np.random.Generator) -> Task:
            rule = FAMILIES[name](rng) if name in FAMILIES else RULES[name]
            # 1 to 3 demonstrations: short sequences are what a small model learns to attend in first
            # (synth.pretrain), and each pair is a query in turn
            return make_task(rule, rng, n_train=int(rng.integers(1, 4)))
        return draw
    return [generator(n) for n in names]


def split_sources(specs: Sequence[str], eval_tasks: int, seed: int) -> tuple[list[Source], list[Task]]:
    """Training sources and validation tasks. From files, `eval_tasks` whole tasks are held out (drawn by
    the seed); from generators, validation tasks are drawn from a generator of their own."""
    if not specs:
        raise FinetuneError("no --data given: name Kaggle challenge files or synth:RULES")
    file_tasks: list[Task] = []
    generators = []
    for spec in specs:
        if spec.startswith("synth:"):
            generators += synth_generators(spec)
        else:
            if not Path(spec).is_file():
                raise FinetuneError(f"--data {spec}: no such file")
            file_tasks += load_task_file(spec)
    rng = np.random.default_rng([seed, 1])
    held = min(eval_tasks, len(file_tasks) // 5) if file_tasks else 0  # never more than a fifth of the data
    order = rng.permutation(len(file_tasks))
    val = [as_validation(file_tasks[i]) for i in order[:held]]
    sources: list[Source] = [lambda _rng, t=file_tasks[i]: t for i in sorted(order[held:])]
    sources += generators
    if generators and len(val) < eval_tasks:
        gen_rng = np.random.default_rng([seed, 2])
        val += [generators[k % len(generators)](gen_rng) for k in range(eval_tasks - len(val))]
    if not sources:
        raise FinetuneError("the data hold no training task once the validation tasks are set aside")
    return sources, val


def as_validation(task: Task) -> Task:
    """A task to score: its test pairs when their outputs are known, else its last demonstration."""
    if task.test and all(ex.output is not None for ex in task.test):
        return task
    return task.with_examples(train=task.train[:-1], test=task.train[-1:])


# ----------------------------------------------------------------------------------------------- examples

def io_transformed(task: Task, rng: np.random.Generator) -> Task:
    """MIT's extra tasks: one symmetry applied to every input only, or to every output only. The result is
    another rule (the old one composed with the symmetry), shown consistently by every pair."""
    g = D8(int(rng.integers(1, 8)))
    on_inputs = bool(rng.integers(2))

    def ex(e: Example) -> Example:
        return Example(g.apply(e.input), e.output) if on_inputs else Example(e.input, g.apply(e.output))
    return task.with_examples(train=[ex(e) for e in task.train], test=[ex(e) for e in task.test])


def draw_example(source_task: Task, cfg: FinetuneConfig, rng: np.random.Generator) -> Task:
    """One training example: a query pair and demonstrations from the task's known pairs, under a view."""
    pairs = known_pairs(source_task)
    q = int(rng.integers(len(pairs)))
    others = [pairs[j] for j in rng.permutation(len(pairs)) if j != q]
    lo = min(max(cfg.min_demos, 0), len(others))
    demos = others[:int(rng.integers(lo, len(others) + 1))]
    task = source_task.with_examples(train=demos, test=[pairs[q]])
    kinds = set(cfg.augment)
    view = random_view(rng, len(demos), geometry="geometry" in kinds, colors="colors" in kinds,
                       keep_background=rng.random() >= cfg.permute_background, demo_order="demo_order" in kinds)
    task = view.apply_task(task)
    if cfg.io_transform > 0 and rng.random() < cfg.io_transform:
        task = io_transformed(task, rng)
    return task


def encode_example(task: Task, fmt: Format, max_len: int, loss_on: str) -> TrainSequence:
    """THE encoding of a training example, the one TTT trains on too: demonstrations then the query with its
    answer, in the bound format `fmt`, cut to `max_len` by the profile's rule, with the loss on the outputs
    `loss_on` names (config.LOSS_ON). Raises ContextError when even the query alone cannot fit."""
    return train_sequence(task, fmt, max_len, loss_on)


class ExampleSet(torch.utils.data.Dataset):
    """`size` examples, example i drawn from the generator seeded by (seed, i): the same on every process
    and after a restart. The source of example i is the (i mod n)-th of a shuffled round over the sources."""

    def __init__(self, sources: Sequence[Source], size: int, cfg: FinetuneConfig, fmt: Format, max_len: int,
                 seed: int):
        self.sources, self.size, self.cfg, self.fmt = list(sources), size, cfg, fmt
        self.max_len, self.seed = max_len, seed
        self._rounds: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.size

    def _source(self, i: int) -> Source:
        n = len(self.sources)
        r = i // n
        if r not in self._rounds:
            self._rounds = {r: np.random.default_rng([self.seed, 3, r]).permutation(n)}
        return self.sources[self._rounds[r][i % n]]

    def example(self, i: int) -> TrainSequence:
        """Example i; one that cannot fit the context is replaced by the next draw of the same generator."""
        rng = np.random.default_rng([self.seed, 4, i])
        for _ in range(20):
            task = draw_example(self._source(i)(rng), self.cfg, rng)
            try:
                return encode_example(task, self.fmt, self.max_len, self.cfg.loss_on)
            except ContextError:
                continue
        raise FinetuneError(f"example {i}: 20 draws in a row do not fit a context of {self.max_len} tokens "
                            f"(e.g. task {task.id}); raise finetune.max_length")

    def __getitem__(self, i: int) -> dict:
        ex = self.example(i)
        return {"input_ids": torch.from_numpy(ex.ids), "labels": torch.from_numpy(ex.labels)}

    def lengths(self) -> list[int]:
        return [len(self.example(i).ids) for i in range(self.size)]


def collate(pad: int):
    """Right padding: labels IGNORE and attention 0 on the pads, so that positions count from 0."""
    def fn(items: list[dict]) -> dict:
        width = max(len(it["input_ids"]) for it in items)
        ids = torch.full((len(items), width), pad, dtype=torch.long)
        labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(items), width), dtype=torch.long)
        for r, it in enumerate(items):
            n = len(it["input_ids"])
            ids[r, :n], labels[r, :n], mask[r, :n] = it["input_ids"], it["labels"], 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}
    return fn


# --------------------------------------------------------------------------------------- vocabulary cut

def cut_tokenizer(tokenizer, keep: Sequence[int]):
    """A tokenizer over the kept tokens only, token `keep[k]` becoming id k: the vocabulary filtered and
    renumbered, the merges dropped (every kept symbol is one token already), special tokens kept when kept.
    The kit binds its format to it (formats.bind) exactly as to the base's."""
    import transformers
    from tokenizers import Tokenizer
    new_id = {int(old): new for new, old in enumerate(keep)}
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec["model"]
    if model.get("type") not in ("BPE", "WordLevel", "WordPiece"):
        raise FinetuneError(f"cannot cut a {model.get('type')} tokenizer's vocabulary (BPE, WordLevel and "
                            f"WordPiece can be cut)")
    model["vocab"] = {tok: new_id[i] for tok, i in model["vocab"].items() if i in new_id}
    if "merges" in model:
        model["merges"] = []
    if model.get("unk_token") is not None and model["unk_token"] not in model["vocab"]:
        model["unk_token"] = None
    spec["added_tokens"] = [{**t, "id": new_id[t["id"]]} for t in spec.get("added_tokens", []) if t["id"] in new_id]
    if spec.get("post_processor") is not None:
        spec["post_processor"] = None  # templates name old ids; the kit builds its sequences itself
    backend = Tokenizer.from_str(json.dumps(spec))
    id_to_token = {i: t for t, i in tokenizer.get_vocab().items()}
    special = {}
    for name in ("bos_token", "eos_token", "pad_token", "unk_token"):
        tid = getattr(tokenizer, f"{name}_id", None)
        if tid is not None and int(tid) in new_id:
            special[name] = id_to_token[int(tid)]
    cut = transformers.PreTrainedTokenizerFast(tokenizer_object=backend, **special)
    if getattr(tokenizer, "chat_template", None):
        cut.chat_template = tokenizer.chat_template
    return cut


def cut_vocabulary(model, tokenizer, fmt: Format):
    """The model's embeddings and head kept for the format's symbols only (rows copied from the base, in
    the order of fmt.shrink_ids()), and the tokenizer cut to match. Returns (tokenizer, the format in the
    new ids, the base ids kept); a format that is never cut (shipped cut, or text: marc) comes back as is,
    with no ids kept (None)."""
    keep = fmt.shrink_ids()
    if keep is None:
        return tokenizer, fmt, None
    mapping = shrink_embeddings(model, keep)
    return cut_tokenizer(tokenizer, keep), fmt.remapped(mapping), keep


# ------------------------------------------------------------------------------------------------- model

def default_lr(n_params: int, method: str) -> float:
    """The learning rate when finetune.lr is 0. A random 'small' base (0.6M parameters, full fine-tune)
    learnt identity tasks at 3e-3 in 400 steps of 16 (bench/results/finetune_identity_cpu.txt); LoRA and
    billion-parameter bases take the published recipes' 1e-4 (MIT, the ARChitects) and 5e-5 (NVARC, full)."""
    if method == "lora":
        return 1e-4
    if n_params < 10_000_000:
        return 3e-3
    if n_params < 200_000_000:
        return 5e-4
    return 5e-5


def choose_method(cfg: FinetuneConfig, n_params: int) -> str:
    if cfg.method != "auto":
        return cfg.method
    return "full" if n_params < 100_000_000 else "lora"


def load_base(base: str | Path, cuda: bool, use_unsloth: bool, max_len: int):
    """(model, tokenizer) from a local directory, offline; float32 on CPU, bfloat16 on GPU."""
    import transformers
    from .kaggle_runtime import go_offline
    from .model import check_model_dir, dtype_kwarg
    path = check_model_dir(base)
    go_offline()
    if use_unsloth:  # not exercised by the CPU tests: unsloth needs a GPU
        from unsloth import FastLanguageModel
        return FastLanguageModel.from_pretrained(model_name=str(path), max_seq_length=max_len, dtype=None,
                                                 load_in_4bit=False, local_files_only=True)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        path, local_files_only=True, **dtype_kwarg(torch.bfloat16 if cuda else torch.float32))
    return model, tokenizer


def attach_lora(model, cfg: FinetuneConfig, use_unsloth: bool, seed: int):
    if use_unsloth:  # not exercised by the CPU tests
        from unsloth import FastLanguageModel
        targets = list(cfg.lora_targets) + (["embed_tokens", "lm_head"] if cfg.lora_embeddings else [])
        return FastLanguageModel.get_peft_model(model, r=cfg.lora_rank, lora_alpha=cfg.lora_alpha,
                                                use_rslora=cfg.lora_rslora, target_modules=targets,
                                                random_state=seed, use_gradient_checkpointing="unsloth")
    from peft import LoraConfig, get_peft_model
    lora = LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, use_rslora=cfg.lora_rslora, lora_dropout=0.0,
                      target_modules=list(cfg.lora_targets), bias="none", task_type="CAUSAL_LM",
                      modules_to_save=["embed_tokens", "lm_head"] if cfg.lora_embeddings else None)
    with warnings.catch_warnings():
        # peft 0.21 reads a property transformers 5 deprecated; the warning is theirs, not ours.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        return get_peft_model(model, lora)


# -------------------------------------------------------------------------------------------- validation

@dataclass
class Score:
    tasks: int
    top1: int
    pass2: int
    coverage: int  # tasks where some candidate was right in every test input

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def evaluate(model, fmt: Format, tasks: Sequence[Task], views: int, augment: Sequence[str], max_len: int,
             seed: int) -> Score:
    """The kit's own neural path on each task: greedy answers under `views` views, inverted, voted
    (select.select_attempts), two attempts. Scores top-1, pass@2 and coverage over whole tasks."""
    from .neural import task_rng
    from .engine import TransformersBackend
    from .sample import sample_task
    from .select import select_attempts
    was_training = model.training
    model.eval()
    backend = TransformersBackend(model, fmt)
    cfg = SampleConfig(views=views, method="greedy", batch_size=views, augment=list(augment))
    select = SelectConfig()
    top1 = pass2 = covered = 0
    try:
        for task in tasks:
            query = task.with_examples(test=[Example(ex.input) for ex in task.test])
            candidates, _ = sample_task(query, backend, fmt, cfg, max_len, Deadline.never(), task_rng(seed, task.id))
            t1 = p2 = cov = True
            for i, ex in enumerate(task.test):
                mine = [c for c in candidates if c.test_index == i]
                if not mine:  # the model's answers only: no fallback grid (the test input) counts
                    t1 = p2 = cov = False
                    continue
                a1, a2 = select_attempts(mine, select, ex.input)
                t1 &= same_grid(a1, ex.output)
                p2 &= same_grid(a1, ex.output) or same_grid(a2, ex.output)
                cov &= any(same_grid(c.grid, ex.output) for c in mine)
            top1, pass2, covered = top1 + t1, pass2 + p2, covered + cov
    finally:
        model.train(was_training)
    return Score(len(tasks), top1, pass2, covered)


# ---------------------------------------------------------------------------------------------- training

def checkpointing_arg() -> str:
    # transformers 5 renamed gradient_checkpointing to activation_checkpointing; the old name warns.
    import transformers
    names = {f.name for f in dataclasses.fields(transformers.TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


def last_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint that was written to the end (the Trainer writes trainer_state.json last)."""
    done = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def _trainer_classes():
    """Trainer subclass and callbacks, built on first use so that importing this module stays light."""
    import transformers
    from tqdm.auto import tqdm

    class FinetuneTrainer(transformers.Trainer):
        """The Trainer with a seeded length-grouped sampler (or the examples in order: they are random
        already), and the tokens it trained on counted for the progress bar."""

        def __init__(self, *a, bucket: bool, seed: int, **kw):
            super().__init__(*a, **kw)
            self.bucket, self.sampler_seed, self.tokens = bucket, seed, 0

        def _get_train_sampler(self, train_dataset=None):
            data = train_dataset if train_dataset is not None else self.train_dataset
            if not self.bucket:
                return torch.utils.data.SequentialSampler(data)
            from transformers.trainer_pt_utils import LengthGroupedSampler
            return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                        lengths=data.lengths(),
                                        generator=torch.Generator().manual_seed(self.sampler_seed))

        def training_step(self, model, inputs, *args, **kwargs):
            self.tokens += int(inputs["attention_mask"].sum())
            return super().training_step(model, inputs, *args, **kwargs)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            """TTT's loss (ttt.answer_loss: the output head on the labelled positions only, not a full
            batch x length x vocabulary float copy of the logits), normalised as the model's own loss is under
            this Trainer: by the labelled tokens of the whole accumulated batch where the Trainer counted them
            (the loss is then already scaled for accumulation), else of this batch."""
            if return_outputs:  # evaluation wanting the logits: the model's own forward
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            labels = inputs["labels"]
            total = answer_loss(model, inputs["input_ids"], labels, inputs["attention_mask"])
            if not (self.model_accepts_loss_kwargs and num_items_in_batch is not None):
                return total / (labels[:, 1:] != IGNORE).sum().clamp(min=1)
            loss = total / num_items_in_batch
            if self.args.average_tokens_across_devices:
                # The count is over every process's batch and DDP averages the gradients: undo that mean, as
                # the Trainer does for the model's own loss (data parallel only: the kit runs no tensor
                # parallelism).
                loss = loss * self.accelerator.num_processes
            return loss

    class Bar(transformers.TrainerCallback):
        """One progress bar: step, loss and tokens per second (the default callback prints every log)."""

        def __init__(self, trainer):
            self.trainer, self.bar, self.start, self.tokens0 = trainer, None, 0.0, 0

        def on_train_begin(self, args, state, control, **kw):
            if state.is_world_process_zero:
                self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="finetune",
                                dynamic_ncols=True, file=sys.stderr)
            self.start, self.tokens0 = time.monotonic(), self.trainer.tokens

        def on_step_end(self, args, state, control, **kw):
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kw):
            if self.bar is not None and logs and "loss" in logs:
                rate = (self.trainer.tokens - self.tokens0) / max(1e-9, time.monotonic() - self.start)
                self.bar.set_postfix(loss=f"{logs['loss']:.4f}", tok_s=f"{rate * args.world_size:.0f}")

        def on_train_end(self, args, state, control, **kw):
            if self.bar is not None:
                self.bar.close()

    class Validate(transformers.TrainerCallback):
        """At every checkpoint (and at the end): the validation split solved as a run would solve it."""

        def __init__(self, run: "Run"):
            self.run = run

        def on_save(self, args, state, control, model=None, **kw):
            if state.is_world_process_zero and self.run.val:
                self.run.validate(model, state.global_step)

    return FinetuneTrainer, Bar, Validate


@dataclass
class Run:
    """What one fine-tuning run is made of, and its validation log."""
    out: Path
    val: list[Task]
    fmt: Format
    max_len: int
    cfg: FinetuneConfig
    seed: int
    def validate(self, model, step: int) -> Score:
        start = time.monotonic()
        score = evaluate(model, self.fmt, self.val, self.cfg.eval_views, self.cfg.eval_augment, self.max_len,
                         self.seed)
        row = {"step": step, **score.to_json(), "seconds": round(time.monotonic() - start, 2)}
        with open(self.out / CHECKPOINTS / "eval.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"\nvalidation at step {step}: top-1 {score.top1}/{score.tasks}, pass@2 {score.pass2}/{score.tasks}, "
              f"coverage {score.coverage}/{score.tasks}", file=sys.stderr, flush=True)
        return score


def settings_record(base: str, fmt: str, data: Sequence[str], cfg: Config) -> dict:
    """What must match for a run to resume from a checkpoint of another."""
    return {"base": str(Path(base).resolve()), "format": fmt, "data": list(data), "seed": cfg.seed,
            "finetune": dataclasses.asdict(cfg.finetune)}


def finetune(base: str | Path, fmt: str, data: Sequence[str], out: str | Path, cfg: Config,
             progress: bool = True) -> dict:
    """Fine-tune `base` on `data` in format `fmt`; write the model to `out`. Resumes from the last complete
    checkpoint in out/checkpoints when one was written with the same settings. Returns the record also
    written to out/finetune.json."""
    import transformers
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    transformers.logging.disable_progress_bar()  # no bar per loaded or written shard
    if fmt not in FORMATS:
        raise FinetuneError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    ft = cfg.finetune
    if ft.steps <= 0 or ft.batch_size <= 0:
        raise FinetuneError(f"finetune.steps and finetune.batch_size must be positive, got {ft.steps}, {ft.batch_size}")
    out = Path(out)
    (out / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    record = settings_record(str(base), fmt, data, cfg)
    settings_file = out / CHECKPOINTS / "settings.json"
    resume = last_checkpoint(out / CHECKPOINTS)
    if resume is not None and settings_file.is_file() and json.loads(settings_file.read_text()) != record:
        raise FinetuneError(f"{out / CHECKPOINTS} holds checkpoints of a run with other settings; "
                            f"give another --out, or delete that folder to start afresh")
    settings_file.write_text(json.dumps(record, indent=1))

    sources, val = split_sources(data, ft.eval_tasks, cfg.seed)
    cuda = torch.cuda.is_available()
    from .model import _installed
    use_unsloth = cuda and ft.unsloth and _installed("unsloth")
    model, tokenizer = load_base(base, cuda, use_unsloth, ft.max_length)
    positions = getattr(model.config, "max_position_embeddings", None) or ft.max_length
    max_len = min(ft.max_length, positions)
    # A format the kit may cut (kit) is cut to its symbols once, here (the kit's loader cuts a base at load
    # time; a cut model re-cut keeps every row in place). Rows are copied from the base.
    tokenizer, bound, kept = cut_vocabulary(model, tokenizer, bind(fmt, tokenizer))
    n_params = sum(p.numel() for p in model.parameters())
    method = choose_method(ft, n_params)
    lr = ft.lr if ft.lr > 0 else default_lr(n_params, method)
    if method == "lora":
        model = attach_lora(model, ft, use_unsloth, cfg.seed)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_device = max(1, ft.batch_size // world)
    micro = ft.micro_batch_size if 0 < ft.micro_batch_size < per_device else per_device
    accumulation = max(1, per_device // micro)
    dataset = ExampleSet(sources, ft.steps * micro * accumulation * world, ft, bound, max_len, cfg.seed)
    args = transformers.TrainingArguments(
        output_dir=str(out / CHECKPOINTS), max_steps=ft.steps, per_device_train_batch_size=micro,
        gradient_accumulation_steps=accumulation, learning_rate=lr, lr_scheduler_type="cosine",
        warmup_steps=ft.warmup_ratio, weight_decay=ft.weight_decay, max_grad_norm=ft.max_grad_norm,
        logging_steps=1, save_strategy="steps", save_steps=ft.save_steps, save_total_limit=ft.keep_checkpoints,
        bf16=cuda and ft.bf16, report_to="none", seed=cfg.seed, data_seed=cfg.seed, remove_unused_columns=False,
        dataloader_num_workers=0, disable_tqdm=not progress, use_cpu=not cuda,
        **({checkpointing_arg(): True} if cuda and ft.gradient_checkpointing else {}))
    FinetuneTrainer, Bar, Validate = _trainer_classes()
    run = Run(out, val, bound, max_len, ft, cfg.seed)
    trainer = FinetuneTrainer(model=model, args=args, train_dataset=dataset, data_collator=collate(bound.pad),
                              bucket=ft.group_by_length, seed=cfg.seed)
    trainer.remove_callback(ProgressCallback)  # replaced by Bar
    trainer.remove_callback(PrinterCallback)   # a line per step otherwise; the losses go to finetune.json
    if progress:
        trainer.add_callback(Bar(trainer))
    trainer.add_callback(Validate(run))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start, cpu_start = time.monotonic(), time.process_time()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    seconds, cpu_seconds = time.monotonic() - start, time.process_time() - cpu_start
    # Throughput of this process (one device under accelerate/torchrun), validations included.
    throughput = {"tokens_this_session": trainer.tokens,
                  "tokens_per_second": round(trainer.tokens / max(seconds, 1e-9), 1),
                  "peak_cuda_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 3) if cuda else None}

    if not trainer.is_world_process_zero():
        return {}
    final = trainer.model
    if method == "lora":
        final = final.merge_and_unload()
    if val and trainer.state.global_step not in {row["step"] for row in validation_log(out)}:
        run.validate(final, trainer.state.global_step)
    final.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_marker(out, fmt)  # run --model OUT reads the format from it, whatever its vocabulary looks like
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    meta = {**record, "method": method, "lr": lr, "parameters": n_params, "max_length": max_len,
            "steps": trainer.state.global_step, "resumed_from": resume.name if resume else None,
            "seconds_this_session": round(seconds, 1), "cpu_seconds_this_session": round(cpu_seconds, 1),
            **throughput,
            "vocab": ({"cut": False, "size": len(tokenizer)} if kept is None
                      else {"cut": True, "base_ids_kept": [int(i) for i in kept], "size": len(kept)}),
            "validation": validation_log(out),
            "losses": losses}
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    return meta


def validation_log(out: Path) -> list[dict]:
    """Every validation score of the run, in step order (a step scored twice, before and after a kill,
    keeps its last score)."""
    path = out / CHECKPOINTS / "eval.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    return sorted({r["step"]: r for r in rows}.values(), key=lambda r: r["step"])
