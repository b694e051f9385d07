"""bitsandbytes NF4 on the CPU, through the kit's loader and adapter: 4-bit load, QLoRA TTT, sampling, TTT
again, with the gradients checked against a float model holding the dequantized weights."""
import numpy as np
import pytest
import torch

from .conftest import assert_selfcheck_passed, engine, selfcheck_config

bnb = engine("bitsandbytes")

from solver.budget import Deadline  # noqa: E402
from solver.config import ModelConfig, TTTConfig  # noqa: E402
from solver.model import load_model  # noqa: E402
from solver.engine import TransformersBackend  # noqa: E402
from solver.synth import RULES, make_task  # noqa: E402
from solver.ttt import Adapter, task_sequences, train_on_task, _batch  # noqa: E402

PHASES = ["load", "stage", "ttt", "greedy", "dfs", "rescore"]
TTT = TTTConfig(rank=4, alpha=8.0, lr=1e-2, steps=2, batch_size=2, augmentations=2)


def four_bit_layers(model):
    return {n: m for n, m in model.named_modules() if isinstance(m, bnb.nn.Linear4bit)}


def float_twin(model_dir, quantized):
    """The float model with every 4-bit layer's weight replaced by its dequantized weight, and the same
    adapter: what the 4-bit model computes, in float32."""
    loaded = load_model(ModelConfig(path=str(model_dir)))
    layers = dict(loaded.model.named_modules())
    with torch.no_grad():
        for name, m in four_bit_layers(quantized.model).items():
            weight = bnb.functional.dequantize_4bit(m.weight.data, m.weight.quant_state).float()
            layers[name.replace("base_model.model.", "").replace(".base_layer", "")].weight.copy_(weight)
    return loaded


def lora_gradients(adapter, seqs, pad):
    ids, labels, mask = _batch(seqs, pad, torch.device("cpu"))
    adapter.model.train()
    adapter.model.zero_grad(set_to_none=True)
    logits = adapter.model(input_ids=ids, attention_mask=mask).logits
    torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(),
                                      ignore_index=-100).backward()
    adapter.model.eval()
    return {n: p.grad.clone() for n, p in adapter.model.named_parameters() if p.requires_grad}


def relative_error(a: dict, b: dict) -> float:
    return max(float((a[n] - b[n]).norm() / b[n].norm().clamp_min(1e-12)) for n in b)


def test_qlora_on_the_cpu_trains_samples_and_trains_again_with_exact_gradients(tiny_model_dir):
    loaded = load_model(ModelConfig(path=str(tiny_model_dir), load_in_4bit=True))
    assert loaded.loader == "bnb-4bit" and loaded.quantized and loaded.device.type == "cpu"
    layers = four_bit_layers(loaded.model)
    assert len(layers) == 2 * 7  # every projection of both layers
    assert not any(getattr(m, "support_avx512bf16_for_cpu", False) for m in layers.values())  # the guard
    adapter = Adapter(loaded, TTT)
    rng = np.random.default_rng(0)
    task = make_task(RULES["identity"], rng, sides=(3, 3), task_id="q")
    first = train_on_task(adapter, task, TTT, loaded.format, 512, Deadline.never(), rng)
    assert first.steps == 2 and all(np.isfinite(first.losses))

    # Sampling: eval mode without gradients, where bitsandbytes would repack the layers for inference.
    backend = TransformersBackend(adapter.model, loaded.format)
    seqs, _ = task_sequences(task, TTT, loaded.format, 512, rng)
    prompt = seqs[0].ids[:-5]
    (gen,) = backend.generate([prompt], 8, Deadline.never())
    assert gen.logprob == pytest.approx(backend.score([prompt], [gen.tokens])[0], abs=1e-3)

    twin = Adapter(float_twin(tiny_model_dir, adapter.model), TTT)
    twin.load(adapter.state())
    ours, theirs = lora_gradients(adapter, seqs[:2], loaded.format.pad), lora_gradients(twin, seqs[:2], loaded.format.pad)
    assert set(ours) == set(theirs) and len(ours) == 4 * 7
    assert relative_error(ours, theirs) < 1e-3
    again = train_on_task(adapter, task, TTT, loaded.format, 512, Deadline.never(), rng)
    assert again.steps == 2 and all(np.isfinite(again.losses))


def test_without_the_guard_sampling_breaks_the_gradients_on_avx512_bf16_cpus(tiny_model_dir):
    """What keep_4bit_layers_trainable prevents (only CPUs with AVX512-BF16 repack)."""
    if not bnb.functional.has_avx512bf16():
        pytest.skip("this CPU has no AVX512-BF16: bitsandbytes never repacks here")
    loaded = load_model(ModelConfig(path=str(tiny_model_dir), load_in_4bit=True))
    adapter = Adapter(loaded, TTT)
    with torch.no_grad():
        for name, p in adapter.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    seqs, _ = task_sequences(make_task(RULES["identity"], np.random.default_rng(0), sides=(3, 3)), TTT,
                             loaded.format, 512, np.random.default_rng(0))
    twin = Adapter(float_twin(tiny_model_dir, adapter.model), TTT)
    twin.load(adapter.state())
    reference = lora_gradients(twin, seqs[:2], loaded.format.pad)
    for m in four_bit_layers(adapter.model).values():
        m.support_avx512bf16_for_cpu = True  # as bitsandbytes leaves it
    with torch.no_grad():
        adapter.model(input_ids=torch.as_tensor(seqs[0].ids)[None])
    assert relative_error(lora_gradients(adapter, seqs[:2], loaded.format.pad), reference) > 0.1


def test_selfcheck_passes_in_4bit(tmp_path, pretrained_model_dir):
    from solver.selfcheck import run_selfcheck
    result = run_selfcheck(selfcheck_config(pretrained_model_dir, "model.load_in_4bit=true"), tmp_path)
    phases = assert_selfcheck_passed(result, PHASES)
    assert phases["load"]["detail"]["loader"] == "bnb-4bit" and phases["load"]["detail"]["quantized"]


def test_the_memory_plan_s_nf4_weights_match_the_quantized_tensors(tmp_path):
    """solver/plan.py's NF4 weights (half a byte per linear weight, the double-quantised absmax and scales;
    embeddings, head and norms at 16 bits) against the tensors bitsandbytes allocates for a one-layer model
    of Mistral-NeMo-Minitron-8B's width with the ARChitects' 76-token vocabulary."""
    import sys
    from pathlib import Path
    import transformers
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.plan_cpu import build
    from solver.model import bnb_config, dtype_kwarg
    from solver.plan import Model, shape_from_config
    build("minitron-8b", 1, 76).save_pretrained(tmp_path)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        tmp_path, quantization_config=bnb_config(torch.bfloat16), device_map={"": "cpu"}, **dtype_kwarg(torch.bfloat16))

    def quant_state_bytes(p) -> int:
        s = getattr(p, "quant_state", None)
        if s is None:
            return 0
        parts = [s.absmax, s.code] + ([s.state2.absmax, s.state2.code, s.offset] if s.nested else [])
        return sum(t.numel() * t.element_size() for t in parts if isinstance(t, torch.Tensor))

    measured = sum(p.numel() * p.element_size() + quant_state_bytes(p) for p in model.parameters())
    shape = shape_from_config(model.config.to_dict(), "minitron-1-layer")
    assert shape.quantized and len(four_bit_layers(model)) == 7
    predicted = Model(shape, 76, nf4=True, act=2).weight_bytes()
    assert abs(predicted - measured) <= 0.10 * measured


def test_the_loss_on_labelled_positions_equals_the_full_logits_loss_in_4bit(tiny_model_dir):
    """TTT's loss runs the head on the labelled positions' hidden states only (solver/ttt.py answer_loss):
    through peft's k-bit preparation and the 4-bit layers, the same loss and gradients as cross-entropy on
    every position's logits."""
    from solver.ttt import answer_loss
    from ..conftest import full_logits_loss
    loaded = load_model(ModelConfig(path=str(tiny_model_dir), load_in_4bit=True))
    adapter = Adapter(loaded, TTT)
    with torch.no_grad():  # away from the zero start, so that every LoRA matrix has a gradient
        for p in adapter.parameters():
            p.add_(0.05 * torch.randn_like(p))
    task = make_task(RULES["identity"], np.random.default_rng(0), sides=(3, 3))
    seqs, _ = task_sequences(task, TTT, loaded.format, 512, np.random.default_rng(0))
    ids, labels, mask = _batch(seqs[:2], loaded.format.pad, torch.device("cpu"))
    results = []
    for loss_fn in (full_logits_loss, answer_loss):
        adapter.model.zero_grad(set_to_none=True)
        loss = loss_fn(adapter.model, ids, labels, mask)
        loss.backward()
        results.append((float(loss), [p.grad.clone() for p in adapter.parameters()]))
    (full, full_grads), (mine, my_grads) = results
    assert mine == pytest.approx(full, rel=1e-5)
    for a, b in zip(full_grads, my_grads):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
