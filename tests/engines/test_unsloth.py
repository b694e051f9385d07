"""unsloth on the CPU (it runs on plain transformers + peft without a GPU), through the kit's loader and
adapter: FastLanguageModel.from_pretrained in 16-bit and 4-bit, get_peft_model, for_training /
for_inference around TTT, greedy decoding, DFS and rescoring (the selfcheck), and the adapter saved."""
import numpy as np
import pytest

from .conftest import assert_selfcheck_passed, engine, selfcheck_config

unsloth = engine("unsloth")

from solver.budget import Deadline  # noqa: E402
from solver.config import ModelConfig, TTTConfig  # noqa: E402
from solver.model import load_model  # noqa: E402
from solver.synth import RULES, make_task  # noqa: E402
from solver.ttt import Adapter, train_on_task  # noqa: E402
from solver.adapters import check_adapter, save_adapter  # noqa: E402

PHASES = ["load", "stage", "ttt", "greedy", "dfs", "rescore"]


def test_unsloth_loads_on_the_cpu_when_asked_and_its_adapter_trains_and_saves(tmp_path, tiny_model_dir):
    loaded = load_model(ModelConfig(path=str(tiny_model_dir), unsloth=True))
    assert loaded.loader == "unsloth" and loaded.device.type == "cpu" and not loaded.quantized
    assert next(loaded.model.parameters()).dtype.is_floating_point
    cfg = TTTConfig(rank=4, alpha=8.0, lr=1e-2, steps=3, batch_size=2, augmentations=2)
    adapter = Adapter(loaded, cfg)
    start = adapter.state()
    rng = np.random.default_rng(0)
    report = train_on_task(adapter, make_task(RULES["identity"], rng, sides=(3, 3)), cfg, loaded.format, 512,
                           Deadline.never(), rng)
    assert report.steps == 3 and all(np.isfinite(report.losses))
    assert any(not (p == start[n]).all() for n, p in adapter.state().items())
    save_adapter(adapter.model, tmp_path / "a")  # as the vLLM backend saves it: the LoRA matrices only
    assert check_adapter(tmp_path / "a") == []
    adapter.reset()
    assert all((p == start[n]).all() for n, p in adapter.state().items())


def test_selfcheck_passes_with_unsloth_in_16_bit_and_4_bit(tmp_path, pretrained_model_dir):
    from solver.selfcheck import run_selfcheck
    for four_bit in ("false", "true"):
        result = run_selfcheck(selfcheck_config(pretrained_model_dir, "model.unsloth=true", f"model.load_in_4bit={four_bit}"),
                               tmp_path / four_bit)
        load = assert_selfcheck_passed(result, PHASES)["load"]["detail"]
        assert load["loader"] == "unsloth" and load["quantized"] == (four_bit == "true")


PLAIN_LOGITS = """
import sys, numpy as np, torch
from solver.config import ModelConfig
from solver.model import load_model
loaded = load_model(ModelConfig(path=sys.argv[1], unsloth=False))
assert "unsloth" not in sys.modules and loaded.loader == "cpu"
with torch.no_grad():
    logits = loaded.model(input_ids=torch.as_tensor(np.load(sys.argv[2]))[None]).logits
torch.save(logits, sys.argv[3])
"""


def plain_transformers_logits(model_dir, ids, tmp_path):
    """The logits of the kit's transformers loader, in a process that never imports unsloth (unsloth patches
    transformers' model classes when it is imported)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import torch
    np.save(tmp_path / "ids.npy", np.asarray(ids, dtype=np.int64))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", PLAIN_LOGITS, str(model_dir), str(tmp_path / "ids.npy"),
                           str(tmp_path / "logits.pt")], capture_output=True, text=True, timeout=300, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr[-2000:]
    return torch.load(tmp_path / "logits.pt")


def test_unsloth_computes_the_logits_and_the_loss_transformers_computes(tiny_model_dir, tmp_path):
    """The same tiny model through unsloth's loader and through the plain transformers loader: the same
    logits (float32 on the CPU: to float rounding), and with an adapter on each, TTT's loss on the
    labelled positions (solver/ttt.py answer_loss) equal to the full-logits loss on unsloth's model."""
    import torch

    from solver.tasks import Example
    from solver.ttt import _batch, answer_loss, task_sequences
    from ..conftest import full_logits_loss
    fast = load_model(ModelConfig(path=str(tiny_model_dir), unsloth=True))
    assert fast.loader == "unsloth"
    task = make_task(RULES["identity"], np.random.default_rng(0), sides=(3, 3))
    ids = fast.format.encode(task.train, Example(task.test[0].input), 512).ids
    with torch.no_grad():
        got = fast.model(input_ids=torch.as_tensor(ids)[None]).logits
    want = plain_transformers_logits(tiny_model_dir, ids, tmp_path)
    assert want.shape == got.shape and want.abs().max() > 0.1
    torch.testing.assert_close(got.float(), want, rtol=1e-4, atol=1e-4)

    cfg = TTTConfig(rank=4, alpha=8.0, augmentations=2)
    adapter = Adapter(fast, cfg)
    adapter.for_training()
    with torch.no_grad():  # away from the zero start, so that every LoRA matrix has a gradient
        for p in adapter.parameters():
            p.add_(0.05 * torch.randn_like(p))
    seqs, _ = task_sequences(task, cfg, fast.format, 512, np.random.default_rng(0))
    batch = _batch(seqs[:2], fast.format.pad, torch.device("cpu"))
    results = []
    for loss_fn in (full_logits_loss, answer_loss):
        adapter.model.zero_grad(set_to_none=True)
        loss = loss_fn(adapter.model, *batch)
        loss.backward()
        results.append((float(loss), [p.grad.clone() for p in adapter.parameters()]))
    adapter.for_inference()
    (full, full_grads), (mine, my_grads) = results
    assert mine == pytest.approx(full, rel=1e-5)
    for a, b in zip(full_grads, my_grads):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
