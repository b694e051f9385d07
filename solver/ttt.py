"""Test-time training: a LoRA adapter fitted to one task's demonstrations, used for that task, discarded.

Data (Akyurek et al. 2024, "The surprising effectiveness of test-time training for abstract reasoning"):
each demonstration in turn is held out as the query of a smaller task made of the others (leave-one-out);
tasks with few demonstrations are topped up with leave-two-out tasks. Every such task is then seen under
several random invertible views (D8 symmetry, colour permutation, demonstration order). NVARC and the
ARChitects train on the demonstrations themselves instead (ttt.data = "all-demos"), many views of one task.
The loss covers output tokens only, as the model's format says (solver/formats/): without the first
demonstration's output, which no context could predict, except for NVARC's models.

Sequences are never cut: one that cannot fit the context even after dropping demonstrations is left out
and counted, and `fit` refuses a sequence longer than the context instead of letting a trainer truncate it.
"""
from __future__ import annotations

import itertools
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .augment import views_of_kinds
from .budget import Deadline
from .formats import ContextError, Format
from .adapters import VOCAB_MODULES
from .config import TTTConfig
from .model import LoadedModel
from .tasks import Task

IGNORE = -100  # label of a token that carries no loss (the convention of torch's cross_entropy)


# -------------------------------------------------------------------------------------------------- data

def leave_out_tasks(task: Task, min_tasks: int, rng: np.random.Generator) -> list[Task]:
    """Training tasks made from the demonstrations alone; the test inputs have no known outputs."""
    demos = task.train
    n = len(demos)
    if n == 1:  # nothing to hold out against: the single pair is learnt without context
        return [task.with_examples(train=[], test=[demos[0]])]
    out = [task.with_examples(train=[d for j, d in enumerate(demos) if j != i], test=[demos[i]])
           for i in range(n)]
    if len(out) < min_tasks and n >= 3:
        pairs = [(i, j) for i, j in itertools.permutations(range(n), 2)]  # drop i, hold out j
        for k in rng.permutation(len(pairs))[:min_tasks - len(out)]:
            i, j = pairs[k]
            out.append(task.with_examples(train=[d for m, d in enumerate(demos) if m not in (i, j)],
                                          test=[demos[j]]))
    return out


def augmented_tasks(tasks: Sequence[Task], n_views: int, kinds: Sequence[str],
                    rng: np.random.Generator) -> list[Task]:
    """Each task under `n_views` views, the first the task as given."""
    return [view.apply_task(t) for t in tasks for view in views_of_kinds(t, n_views, kinds, rng, "ttt.augment")]


@dataclass(frozen=True)
class TrainSequence:
    ids: np.ndarray     # int64 token ids
    labels: np.ndarray  # the id where the token carries loss, IGNORE elsewhere

    def __len__(self) -> int:
        return len(self.ids)


def train_sequence(task: Task, fmt: Format, max_len: int, loss_on: str = "auto") -> TrainSequence:
    """THE training sequence of a task, for TTT and finetune alike: its demonstrations (those that fit, by
    the format's rule) then its query with the answer; loss on the outputs `loss_on` names (config.LOSS_ON):
    auto: as the format's family trained; every one; every one but the first; or the query's only. Raises
    ContextError when the query alone cannot fit."""
    enc = fmt.encode(task.train, task.test[0], max_len, task_id=task.id)
    if loss_on == "test":
        loss = enc.is_answer & (enc.pair == enc.pair.max())
    else:
        loss = fmt.loss_mask(enc, None if loss_on == "auto" else loss_on == "outputs-but-first")
    return TrainSequence(enc.ids, np.where(loss, enc.ids, IGNORE))


def loss_setting(skip_first: bool | None, test_only: bool = False) -> str:
    """TTT's two loss settings as one config.LOSS_ON value."""
    if test_only:
        return "test"
    return "auto" if skip_first is None else "outputs-but-first" if skip_first else "outputs"


def training_sequences(tasks: Sequence[Task], fmt: Format, max_len: int, skip_first: bool | None = None,
                       test_only: bool = False) -> tuple[list[TrainSequence], int]:
    """One sequence per task, and how many tasks did not fit the context even with every demonstration
    dropped. The loss covers the outputs the format says (`skip_first`: without the first one's, or with it;
    None: as the format's family trained), or only the query's (`test_only`)."""
    loss_on = loss_setting(skip_first, test_only)
    out, too_long = [], 0
    for t in tasks:
        try:
            out.append(train_sequence(t, fmt, max_len, loss_on))
        except ContextError:
            too_long += 1
    return out, too_long


def demo_tasks(task: Task) -> list[Task]:
    """The demonstrations as one training task (NVARC, the ARChitects): every output is a target."""
    return [task.with_examples(train=list(task.train[:-1]), test=[task.train[-1]])]


def task_sequences(task: Task, cfg: TTTConfig, fmt: Format, max_len: int,
                   rng: np.random.Generator) -> tuple[list[TrainSequence], int]:
    """The task's training sequences, each at most `max_len` tokens (and ttt.max_length when set), and how
    many training tasks could not fit."""
    max_len = min(max_len, cfg.max_length) if cfg.max_length > 0 else max_len
    base = demo_tasks(task) if cfg.data == "all-demos" else leave_out_tasks(task, cfg.min_leave_out, rng)
    tasks = augmented_tasks(base, cfg.augmentations, cfg.augment, rng)
    return training_sequences(tasks, fmt, max_len, cfg.loss_skip_first, cfg.loss_test_only)


# ----------------------------------------------------------------------------------------------- fitting

@dataclass
class FitReport:
    steps: int = 0
    losses: list[float] = field(default_factory=list)  # mean loss per answer token, per step
    seconds: float = 0.0
    stopped: str = "steps"  # steps | deadline | no data
    sequences: int = 0
    too_long: int = 0  # tasks left out because they could not fit the context
    longest: int = 0   # tokens of the longest sequence trained on (never more than the context)
    grad_norms: list[float] = field(default_factory=list)  # per step, before clipping (when clipping is on)


def _batch(seqs: Sequence[TrainSequence], pad: int, device: torch.device):
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    labels = torch.full((len(seqs), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for r, s in enumerate(seqs):  # right padding: positions of real tokens start at 0 without position ids
        ids[r, :len(s)] = torch.from_numpy(s.ids)
        labels[r, :len(s)] = torch.from_numpy(s.labels)
        mask[r, :len(s)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def _schedule(step: int, steps: int) -> float:
    """Linear warm-up over the first 10% of the steps (at most 10), then linear decay to zero."""
    warm = max(1, min(10, steps // 10))
    return min(1.0, (step + 1) / warm) * max(0.0, 1.0 - step / steps)


def _param_groups(model: torch.nn.Module, lr: float, embedding_lr: float) -> list[dict]:
    """The trainable parameters, those of the embeddings and the output head at `embedding_lr` when it is set
    (the ARChitects train them ten times slower than the rest)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    vocab = [p for n, p in named if any(f".{m}." in f".{n}." for m in VOCAB_MODULES)] if embedding_lr > 0 else []
    rest = [p for _, p in named if not any(p is v for v in vocab)]
    return [g for g in ({"params": rest, "lr": lr}, {"params": vocab, "lr": embedding_lr}) if g["params"]]


def _decoder_and_head(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module] | None:
    """The causal LM's decoder (tokens -> last hidden states) and its output head, through peft's wrapping
    (LoRA layers and modules_to_save copies sit inside both, in place); None where the logits are more than
    head(hidden state) (a soft cap, a logit scale), which only the model's own forward computes."""
    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(causal, "config", None)
    if getattr(config, "final_logit_softcapping", None) or getattr(config, "logit_scale", None) not in (None, 1.0):
        return None
    try:
        decoder, head = causal.get_decoder(), causal.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    if decoder is None or decoder is causal or head is None:
        return None
    return decoder, head


def answer_loss(model: torch.nn.Module, ids: torch.Tensor, labels: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
    """The summed cross-entropy of the labelled tokens, each predicted from the position before it.

    The output head runs on the hidden states of those positions only, and only their logits are upcast to
    float32: a full (batch x length x vocabulary) float copy would take 4 GB for one 8k-token sequence with a
    128k vocabulary (and its log-softmax and gradient as much again), while ARC's answers are a fraction of
    the tokens. The same numbers as cross-entropy over the full logits with the other positions ignored."""
    targets = labels[:, 1:]
    keep = targets != IGNORE
    parts = _decoder_and_head(model)
    if parts is None:
        logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, :-1][keep]
    else:
        decoder, head = parts
        hidden = decoder(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        logits = head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum")


def fit(model: torch.nn.Module, sequences: Sequence[TrainSequence], *, steps: int, lr: float,
        batch_size: int, pad: int, max_len: int, deadline: Deadline, rng: np.random.Generator,
        micro_batch_size: int = 0, embedding_lr: float = 0.0, max_grad_norm: float = 0.0) -> FitReport:
    """Train the parameters that require grad for `steps` optimiser steps, or until the next step would
    overrun `deadline`. Batches are drawn epoch by epoch from a shuffled order. Each step's gradient is
    clipped to `max_grad_norm` (0: not clipped), so that one batch the adapter finds very surprising
    cannot throw it far off."""
    report = FitReport(sequences=len(sequences))
    if not sequences or steps <= 0:
        report.stopped = "no data" if not sequences else "steps"
        return report
    report.longest = max(len(s) for s in sequences)
    if report.longest > max_len:
        raise ValueError(f"a training sequence has {report.longest} tokens, more than the context of "
                         f"{max_len}; refusing to truncate it")
    groups = _param_groups(model, lr, embedding_lr)
    if not groups:
        raise ValueError("the model has no trainable parameters")
    trainable = [p for g in groups for p in g["params"]]
    device = trainable[0].device
    optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _schedule(s, steps))
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext())
    micro = micro_batch_size if micro_batch_size > 0 else batch_size
    order: list[int] = []
    start = time.monotonic()
    model.train()
    try:
        for step in range(steps):
            elapsed = time.monotonic() - start
            # Stop when one more step, at the mean pace so far, would cross the deadline.
            if deadline.expired() or (step and deadline.remaining() < 1.5 * elapsed / step):
                report.stopped = "deadline"
                break
            while len(order) < batch_size:
                order += list(rng.permutation(len(sequences)))
            batch, order = [sequences[i] for i in order[:batch_size]], order[batch_size:]
            n_tokens = sum(int((s.labels[1:] != IGNORE).sum()) for s in batch)
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            for m in range(0, len(batch), micro):
                ids, labels, mask = _batch(batch[m:m + micro], pad, device)
                with autocast:
                    loss = answer_loss(model, ids, labels, mask) / max(1, n_tokens)
                loss.backward()
                total += loss.item()
            if max_grad_norm > 0:
                report.grad_norms.append(float(torch.nn.utils.clip_grad_norm_(trainable, max_grad_norm)))
            optimizer.step()
            scheduler.step()
            report.losses.append(total)
            report.steps += 1
    finally:
        model.eval()
        optimizer.zero_grad(set_to_none=True)
        report.seconds = time.monotonic() - start
    return report


# ----------------------------------------------------------------------------------------------- adapter

class Adapter:
    """One LoRA adapter on the loaded model, attached once. `reset` returns it to its starting weights
    (a fresh adapter, a no-op since its B matrices are zero, or the shared adapter), which is how a task's
    adapter is discarded: no re-wrapping, no memory churn between tasks."""

    def __init__(self, loaded: LoadedModel, cfg: TTTConfig, seed: int = 0):
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
        cuda = loaded.device.type == "cuda"
        checkpointing = cfg.gradient_checkpointing and cuda
        with torch.random.fork_rng(devices=[loaded.device] if cuda else []):
            torch.manual_seed(seed)  # the adapter's A matrices; seeded so that runs repeat
            if loaded.loader == "unsloth":
                model = _unsloth_peft(loaded.model, cfg, seed, checkpointing)
            else:
                model = loaded.model
                if loaded.quantized:  # QLoRA: norms in float32, inputs that require grad for checkpointing
                    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=checkpointing)
                elif checkpointing:
                    model.gradient_checkpointing_enable()
                    model.enable_input_require_grads()
                lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                                  use_rslora=cfg.rslora, target_modules=list(cfg.target_modules), bias="none",
                                  task_type="CAUSAL_LM")
                with warnings.catch_warnings():
                    # peft 0.21 reads a property transformers 5 deprecated; the warning is theirs, not ours.
                    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
                    model = get_peft_model(model, lora)
        model.eval()
        self.model = model
        self.loader = loaded.loader
        # The weights `reset` returns to, kept on the CPU: the accelerator's memory holds only the live adapter
        # (with the embeddings and head trained in full, a copy on it would be as large as they are).
        self._start = self.state("cpu")

    def parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def state(self, device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
        """A copy of the trainable weights, on `device` (None: where they are)."""
        return {n: p.detach().to(device or p.device, copy=True)
                for n, p in self.model.named_parameters() if p.requires_grad}

    def load(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for n, p in self.model.named_parameters():
                if n in state:
                    p.copy_(state[n])

    def reset(self) -> None:
        self.load(self._start)

    def keep_as_start(self) -> None:
        """Make the current weights the ones every later `reset` returns to (the shared adapter)."""
        self._start = self.state("cpu")

    def for_inference(self) -> None:
        if self.loader == "unsloth":
            from unsloth import FastLanguageModel
            FastLanguageModel.for_inference(self.model)

    def for_training(self) -> None:
        if self.loader == "unsloth":
            from unsloth import FastLanguageModel
            FastLanguageModel.for_training(self.model)


def _unsloth_peft(model, cfg: TTTConfig, seed: int, checkpointing: bool):
    # Not exercised by the CPU test suite (unsloth needs a GPU).
    from unsloth import FastLanguageModel
    return FastLanguageModel.get_peft_model(
        model, r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, use_rslora=cfg.rslora,
        target_modules=list(cfg.target_modules), bias="none", random_state=seed,
        use_gradient_checkpointing="unsloth" if checkpointing else False)


def train(adapter: Adapter, sequences: Sequence[TrainSequence], cfg: TTTConfig, steps: int, pad: int,
          max_len: int, deadline: Deadline, rng: np.random.Generator) -> FitReport:
    adapter.for_training()
    try:
        return fit(adapter.model, sequences, steps=steps, lr=cfg.lr, batch_size=cfg.batch_size, pad=pad,
                   max_len=max_len, deadline=deadline, rng=rng, micro_batch_size=cfg.micro_batch_size,
                   embedding_lr=cfg.embedding_lr, max_grad_norm=cfg.max_grad_norm)
    finally:
        adapter.for_inference()


def train_on_task(adapter: Adapter, task: Task, cfg: TTTConfig, fmt: Format, max_len: int,
                    deadline: Deadline, rng: np.random.Generator) -> FitReport:
    """Fit the adapter (from its starting weights) to one task, for cfg.steps steps or until `deadline`."""
    sequences, too_long = task_sequences(task, cfg, fmt, max_len, rng)
    report = train(adapter, sequences, cfg, cfg.steps, fmt.pad, max_len, deadline, rng)
    report.too_long = too_long
    return report


def train_shared(adapter: Adapter, tasks: Sequence[Task], cfg: TTTConfig, fmt: Format, max_len: int,
                 deadline: Deadline, rng: np.random.Generator) -> FitReport:
    """Fit one adapter to every task's leave-out data together, and keep it as the start of every task."""
    sequences, too_long = [], 0
    for task in tasks:
        s, n = task_sequences(task, cfg, fmt, max_len, rng)
        sequences += s
        too_long += n
    report = train(adapter, sequences, cfg, cfg.shared_steps, fmt.pad, max_len, deadline, rng)
    report.too_long = too_long
    adapter.keep_as_start()
    return report
