"""The memory plan's device-independent parts (solver/plan.py) against the tensors a model of a real width
actually allocates, on the CPU: a model of a shape's width, heads and vocabulary with 1-2 layers, bf16, random
weights; the preset's adapter through the kit's own `Adapter`; one AdamW step as `ttt.fit` takes it; a KV
cache; the logits. Counted: the bytes of the tensors themselves (not the process's memory).

    python bench/plan_cpu.py                      # nvarc-4b (Qwen3-4B width, its full 151936 vocabulary), 2 layers
    python bench/plan_cpu.py --shape 8b --layers 1 --config marc --vocab 128256

Prints one row per part: predicted, measured, ratio; tests/test_plan.py asserts each within 10%.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.config import load_config  # noqa: E402
from solver.plan import SHAPES, Model, Tokens, shape_from_config, ttt_parts  # noqa: E402

SEQ = 64  # tokens of the training sequence (half of them labelled)


def _bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def build(shape_name: str, layers: int, vocab: int):
    """A bf16 model of the shape's width with `layers` layers and `vocab` rows, random weights, on the CPU."""
    import torch
    import transformers
    s = SHAPES[shape_name]
    common = dict(vocab_size=vocab, hidden_size=s.hidden, intermediate_size=s.intermediate, num_hidden_layers=layers,
                  num_attention_heads=s.heads, num_key_value_heads=s.kv_heads, head_dim=s.head_dim,
                  tie_word_embeddings=s.tied)
    config = {"qwen3": transformers.Qwen3Config, "mistral": transformers.MistralConfig}.get(
        s.arch, transformers.LlamaConfig)(**common)
    torch.manual_seed(0)
    return transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()


def measure(shape_name: str = "nvarc-4b", layers: int = 2, vocab: int = 151936, preset: str = "nvarc") -> dict:
    """{part: (predicted bytes, measured bytes)}."""
    import torch
    from solver.engine import cache_bytes
    from solver.model import LoadedModel
    from solver.ttt import IGNORE, Adapter, _param_groups

    cfg = load_config(preset)
    model = build(shape_name, layers, vocab)
    shape = shape_from_config(model.config.to_dict(), f"{shape_name} x{layers} layers")
    assert replace(shape, name="", format="", prompts=()) == replace(
        SHAPES[shape_name], name="", format="", prompts=(), layers=layers, vocab=vocab), "config.json round trip"
    m = Model(shape, vocab, nf4=False, act=2)
    parts = ttt_parts(m, cfg, Tokens(SEQ, SEQ // 2, SEQ, 0, SEQ, 0), m.weight_bytes())
    out = {"weights": (m.weight_bytes(), _bytes(model.parameters()))}

    adapter = Adapter(LoadedModel(model, None, torch.device("cpu"), "cpu", 4096), cfg.ttt, seed=0)
    trainable = adapter.parameters()
    out["adapter (LoRA + start copy)"] = (parts["adapter"], _bytes(trainable) + _bytes(adapter._start.values()))
    ids = torch.randint(0, vocab, (1, SEQ))
    labels = ids.clone()
    labels[:, :SEQ // 2] = IGNORE
    optimizer = torch.optim.AdamW(_param_groups(adapter.model, cfg.ttt.lr, cfg.ttt.embedding_lr), weight_decay=0.0)
    adapter.model.train()
    logits = adapter.model(input_ids=ids).logits
    out[f"logits ({SEQ} positions)"] = (m.logit_bytes(SEQ), _bytes([logits]))
    loss = torch.nn.functional.cross_entropy(logits[0, :-1].float(), labels[0, 1:], ignore_index=IGNORE)
    loss.backward()
    out["gradients"] = (parts["gradients"], _bytes(p.grad for p in trainable))
    optimizer.step()
    moments = [v for state in optimizer.state.values() for k, v in state.items() if k != "step"]
    out["optimizer (AdamW moments)"] = (parts["optimizer"], _bytes(moments))
    adapter.model.eval()
    with torch.no_grad():
        cache = adapter.model(input_ids=ids[:, :40], use_cache=True).past_key_values
        last = adapter.model(input_ids=ids[:, :40], logits_to_keep=1).logits
    out["KV cache (40 tokens)"] = (shape.kv_bytes_per_token(2) * 40, cache_bytes(cache))
    out["logits (last position)"] = (m.logit_bytes(1), _bytes([last]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="nvarc-4b")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--vocab", type=int, default=151936, help="rows of the embeddings (default: Qwen3's full vocabulary)")
    p.add_argument("--config", default="nvarc", help="the preset whose adapter is built (rank, targets)")
    args = p.parse_args(argv)
    rows = measure(args.shape, args.layers, args.vocab, args.config)
    print(f"{args.shape} width, {args.layers} layers, vocabulary {args.vocab}, bf16, {args.config} adapter")
    print(f"{'part':<30}{'predicted MiB':>15}{'measured MiB':>15}{'ratio':>8}")
    for name, (pred, real) in rows.items():
        print(f"{name:<30}{pred / 2**20:15.3f}{real / 2**20:15.3f}{pred / real:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
