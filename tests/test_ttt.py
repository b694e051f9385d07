import numpy as np
import pytest
import torch

from solver.budget import Deadline
from solver.config import ModelConfig, TTTConfig
from solver.model import load_model
from solver.synth import RULES, make_task
from solver.tasks import Example, Task
from solver.ttt import (IGNORE, Adapter, TrainSequence, augmented_tasks, fit, leave_out_tasks, train_on_task,
                        training_sequences)

from .conftest import full_logits_loss


def demo(v: int, side: int = 2) -> Example:
    return Example(np.full((side, side), v, np.uint8), np.full((side, side), (v + 1) % 10, np.uint8))


def task_of(n: int) -> Task:
    return Task("t", tuple(demo(i) for i in range(n)), (Example(np.zeros((2, 2), np.uint8)),))


def test_leave_one_out_holds_out_each_demonstration():
    task = task_of(4)
    tasks = leave_out_tasks(task, min_tasks=2, rng=np.random.default_rng(0))
    assert len(tasks) == 4
    for i, t in enumerate(tasks):
        assert t.test == (task.train[i],)
        assert t.train == tuple(d for j, d in enumerate(task.train) if j != i)


def test_few_demonstrations_are_topped_up_with_leave_two_out():
    tasks = leave_out_tasks(task_of(3), min_tasks=6, rng=np.random.default_rng(0))
    assert [len(t.train) for t in tasks] == [2, 2, 2, 1, 1, 1]
    held = {(int(t.train[0].input[0, 0]), int(t.test[0].input[0, 0])) for t in tasks[3:]}
    assert len(held) == 3  # three different (kept, held out) pairs
    assert len(leave_out_tasks(task_of(2), 6, np.random.default_rng(0))) == 2  # nothing left to drop
    one = task_of(1)
    single = leave_out_tasks(one, 6, np.random.default_rng(0))
    assert len(single) == 1 and single[0].train == () and single[0].test == one.train


def test_augmented_tasks_are_tasks_of_the_same_rule():
    task = make_task(RULES["dilate_cross"], np.random.default_rng(0))
    rng = np.random.default_rng(1)
    views = augmented_tasks(leave_out_tasks(task, 6, rng), 5, ["geometry", "colors", "demo_order"], rng)
    assert len(views) == 6 * 5  # 3 leave-one-out + 3 leave-two-out tasks, 5 views each
    first = leave_out_tasks(task, 6, np.random.default_rng(1))[0]
    assert all(np.array_equal(a.input, b.input) for a, b in zip(views[0].train, first.train))  # as given
    changed = 0
    for t in views:  # the rule commutes with every view, so each augmented pair still follows it
        for ex in t.train + t.test:
            assert np.array_equal(RULES["dilate_cross"].fn(ex.input), ex.output)
        changed += not np.array_equal(t.test[0].input, views[0].test[0].input)
    assert changed > 0
    with pytest.raises(ValueError, match="unknown augmentation"):
        augmented_tasks([task], 2, ["rotate"], rng)


def test_loss_covers_outputs_only_and_skips_the_first_demo(tiny_loaded):
    fmt = tiny_loaded.format
    task = Task("t", (demo(1), demo(2)), (demo(3),))
    enc = fmt.encode(task.train, task.test[0], 1000)
    (skip,), _ = training_sequences([task], fmt, 1000, skip_first=True)
    (keep,), _ = training_sequences([task], fmt, 1000, skip_first=False)
    assert np.array_equal(skip.ids, enc.ids) and np.array_equal(keep.ids, enc.ids)
    assert list(np.flatnonzero(keep.labels != IGNORE)) == list(np.flatnonzero(enc.is_answer))
    assert list(np.flatnonzero(skip.labels != IGNORE)) == list(np.flatnonzero(enc.is_answer & (enc.pair > 0)))
    assert np.array_equal(skip.labels[skip.labels != IGNORE], skip.ids[skip.labels != IGNORE])
    # A lone pair keeps its loss: there is no other output to learn from.
    (lone,), _ = training_sequences([Task("t", (), (demo(1),))], fmt, 1000, skip_first=True)
    assert (lone.labels != IGNORE).sum() == 2 * 3 + 1


def test_sequences_that_cannot_fit_are_counted_never_cut(tiny_loaded):
    fmt = tiny_loaded.format
    big = Example(np.ones((10, 10), np.uint8), np.ones((10, 10), np.uint8))
    fits = Task("a", (demo(1),), (demo(2),))
    too_long = Task("b", (demo(1),), (big,))
    seqs, n_too_long = training_sequences([fits, too_long], fmt, 100, skip_first=True)
    assert n_too_long == 1 and len(seqs) == 1 and len(seqs[0]) == len(fmt.encode(fits.train, fits.test[0], 100))
    long_seq = TrainSequence(np.zeros(120, np.int64), np.zeros(120, np.int64))
    with pytest.raises(ValueError, match="refusing to truncate"):
        fit(tiny_loaded.model, [long_seq], steps=1, lr=1e-3, batch_size=1, pad=0, max_len=100,
            deadline=Deadline.never(), rng=np.random.default_rng(0))


def logits(model, ids) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.from_numpy(ids)[None]).logits[0]


@pytest.mark.slow
def test_ttt_lowers_the_loss_changes_predictions_and_reset_discards_it(tiny_model_dir):
    loaded = load_model(ModelConfig(path=str(tiny_model_dir)))
    cfg = TTTConfig(steps=24, lr=1e-2, rank=8, alpha=16, batch_size=4, augmentations=2)
    adapter = Adapter(loaded, cfg)
    task = make_task(RULES["invert"], np.random.default_rng(0), sides=(3, 3))
    probe = loaded.format.encode(task.train, Example(task.test[0].input), 1000).ids
    before = logits(adapter.model, probe)
    report = train_on_task(adapter, task, cfg, loaded.format, 1000, Deadline.never(), np.random.default_rng(0))
    assert report.steps == 24 and report.stopped == "steps" and report.too_long == 0
    assert report.sequences == 6 * 2 and report.longest <= 1000  # (3 leave-one-out + 3 leave-two-out) x 2 views
    assert np.mean(report.losses[-4:]) < 0.9 * np.mean(report.losses[:4])
    after = logits(adapter.model, probe)
    assert not torch.allclose(after, before, atol=1e-3)
    assert not torch.equal(after.argmax(-1), before.argmax(-1))  # the adapter changes what is predicted
    adapter.reset()
    torch.testing.assert_close(logits(adapter.model, probe), before)


def test_training_stops_at_the_deadline(tiny_loaded):
    adapter = Adapter(tiny_loaded, TTTConfig(rank=4))
    task = make_task(RULES["identity"], np.random.default_rng(0), sides=(3, 3))
    rng = np.random.default_rng(0)
    expired = train_on_task(adapter, task, TTTConfig(steps=50), tiny_loaded.format, 1000, Deadline.after(0), rng)
    assert expired.steps == 0 and expired.stopped == "deadline"
    short = train_on_task(adapter, task, TTTConfig(steps=100_000), tiny_loaded.format, 1000, Deadline.after(0.5), rng)
    # stopped by the 0.5 s deadline, not by the steps; the seconds bound is loose (a loaded 2-core machine
    # can stretch one step to seconds): it only rules out training on to the step count
    assert 0 < short.steps < 100_000 and short.stopped == "deadline" and short.seconds < 30


def test_a_4bit_base_goes_through_the_qlora_preparation(tiny_loaded):
    # bitsandbytes cannot run here; the model is the real tiny one, marked as transformers marks a 4-bit
    # load, so that the QLoRA path (peft's k-bit preparation, then the adapter) runs and trains.
    tiny_loaded.model.is_loaded_in_4bit = True
    assert tiny_loaded.quantized
    cfg = TTTConfig(steps=2, rank=4, batch_size=2, augmentations=1)
    adapter = Adapter(tiny_loaded, cfg)
    assert all("lora_" in n for n, p in adapter.model.named_parameters() if p.requires_grad)
    task = make_task(RULES["identity"], np.random.default_rng(0), sides=(3, 3))
    report = train_on_task(adapter, task, cfg, tiny_loaded.format, 1000, Deadline.never(), np.random.default_rng(0))
    assert report.steps == 2


def _peft_model(loaded, variant: str):
    """The tiny model wrapped as TTT wraps it: LoRA on the projections and on the embeddings and head, or
    LoRA beside a full trained copy of the head (peft's modules_to_save)."""
    from peft import LoraConfig, get_peft_model
    if variant == "lora":
        return Adapter(loaded, TTTConfig(rank=4, target_modules=["q_proj", "v_proj", "embed_tokens", "lm_head"])).model
    return get_peft_model(loaded.model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                                   modules_to_save=["lm_head"], task_type="CAUSAL_LM"))


@pytest.mark.parametrize("variant", ["lora", "modules_to_save"])
def test_the_loss_on_labelled_positions_equals_the_full_logits_loss_and_its_gradients(tiny_model_dir, variant):
    from solver.ttt import _batch, answer_loss
    loaded = load_model(ModelConfig(path=str(tiny_model_dir)))
    model = _peft_model(loaded, variant)
    torch.manual_seed(0)
    trainable = [p for p in model.parameters() if p.requires_grad]
    with torch.no_grad():  # away from the zero start, so that every trained matrix has a gradient
        for p in trainable:
            p.add_(0.05 * torch.randn_like(p))
    fmt = loaded.format
    task = make_task(RULES["invert"], np.random.default_rng(0), sides=(3, 3))
    tasks = leave_out_tasks(task, 6, np.random.default_rng(0))
    seqs, _ = training_sequences([tasks[0], tasks[-1]], fmt, 1000)  # a leave-one-out and a leave-two-out task
    ids, labels, mask = _batch(seqs, fmt.pad, torch.device("cpu"))  # two rows, one right padded
    assert len(seqs[0]) != len(seqs[1])
    grads = []
    for loss_fn in (full_logits_loss, answer_loss):
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model, ids, labels, mask)
        loss.backward()
        grads.append((float(loss), [p.grad.clone() for p in trainable]))
    (full, full_grads), (mine, my_grads) = grads
    assert full > 0 and mine == pytest.approx(full, rel=1e-5)
    for a, b in zip(full_grads, my_grads):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
    assert sum(float(g.abs().sum()) for g in my_grads) > 0


def test_gradients_are_clipped_to_max_grad_norm(tiny_loaded):
    """Noise as answers gives gradients far above a small limit; each step's gradient reaching the optimiser
    is clipped to the norm the config names."""
    cfg = TTTConfig(rank=4, lr=1e-2, steps=3, batch_size=2, augmentations=1, max_grad_norm=0.01)
    adapter = Adapter(tiny_loaded, cfg)
    rng = np.random.default_rng(0)
    n = 300
    ids = rng.integers(0, tiny_loaded.format.pad, n)  # noise: every answer token a surprise
    seqs = [TrainSequence(ids, np.where(np.arange(n) > 10, ids, IGNORE))] * 2
    seen: list[float] = []

    def at_step(optimizer, args, kwargs):
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        seen.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))))

    from torch.optim.optimizer import register_optimizer_step_pre_hook
    hook = register_optimizer_step_pre_hook(at_step)
    try:
        report = fit(adapter.model, seqs, steps=3, lr=cfg.lr, batch_size=2, pad=tiny_loaded.format.pad,
                     max_len=1000, deadline=Deadline.never(), rng=rng, max_grad_norm=cfg.max_grad_norm)
    finally:
        hook.remove()
    assert report.steps == 3 and len(seen) == 3
    assert max(report.grad_norms) > 10 * cfg.max_grad_norm  # the gradients were large before clipping
    assert all(s <= cfg.max_grad_norm * (1 + 1e-4) for s in seen)
    unclipped = fit(Adapter(tiny_loaded, cfg).model, seqs, steps=1, lr=0.0, batch_size=2, pad=tiny_loaded.format.pad,
                    max_len=1000, deadline=Deadline.never(), rng=rng, max_grad_norm=0.0)
    assert unclipped.grad_norms == []


PEAK_SCRIPT = """
import re, sys
import numpy as np, torch, transformers
import solver.ttt as ttt
from solver.budget import Deadline
vocab, length, answer = {vocab}, {length}, {answer}
torch.manual_seed(0)
model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
    vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2,
    num_key_value_heads=2, max_position_embeddings=length))
if sys.argv[1] == "full":  # the loss as it was: every position's logits, then the cross-entropy
    ttt.answer_loss = lambda m, ids, labels, mask: torch.nn.functional.cross_entropy(
        m(input_ids=ids, attention_mask=mask).logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
        ignore_index=ttt.IGNORE, reduction="sum")
ids = np.random.default_rng(0).integers(0, vocab, length)
seq = ttt.TrainSequence(ids, np.where(np.arange(length) >= length - answer, ids, ttt.IGNORE))
def high_water():  # this process's peak RSS in bytes. Not ru_maxrss: Linux carries that over from the parent
    # across fork and exec, so a child of a large pytest process would start at the parent's peak.
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
before = high_water()
report = ttt.fit(model, [seq], steps=1, lr=1e-4, batch_size=1, pad=0, max_len=length, deadline=Deadline.never(),
                 rng=np.random.default_rng(0))
assert report.steps == 1
print(high_water() - before)
"""


def _training_peak_bytes(mode: str, vocab: int, length: int, answer: int) -> int:
    """How far one TTT step raises the peak memory of a fresh process (VmHWM, its high-water mark)."""
    import subprocess
    import sys
    from pathlib import Path
    script = PEAK_SCRIPT.format(vocab=vocab, length=length, answer=answer)
    out = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parent.parent,
                         env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.split()[-1])


def test_the_loss_no_longer_costs_the_memory_of_every_positions_logits():
    """A 4k-token sequence with a 32k vocabulary and a 256-token answer: the full logits are 4k x 32k floats
    (512 MiB), the answer's 256 x 32k (32 MiB). Measured on one training step in a fresh process each."""
    vocab, length, answer = 32768, 4096, 256
    logits = length * vocab * 4
    full = _training_peak_bytes("full", vocab, length, answer)
    mine = _training_peak_bytes("answer", vocab, length, answer)
    print(f"peak rise of one step: full logits {full / 2**20:.0f} MiB, answer positions {mine / 2**20:.0f} MiB; "
          f"one float copy of the logits {logits / 2**20:.0f} MiB")
    assert full >= logits  # the old step held at least one float copy of every position's logits
    assert full - mine >= logits  # ... and the new one saves at least that
    assert mine < 0.5 * logits
