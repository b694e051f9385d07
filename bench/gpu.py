"""GPU throughput of the neural path on randomly initialised Llama-shaped models (speed does not depend on
the weights): 1B, 3B and 8B shapes (Llama 3.2 1B / 3B, Llama 3.1 8B), in bf16 and 4-bit NF4 (bitsandbytes).

Per model and precision:
    ttt       LoRA training tokens/s (forward + backward + AdamW step on the adapter) and MFU against the
              measured bf16 matmul peak; model FLOPs per token = 4 * params (forward 2N, backward through the
              frozen base 2N: no weight gradients) + attention 6 * layers * seq * hidden (causal)
    decode    greedy tokens/s over a batch, and its fraction of the memory-bandwidth roofline (every step
              reads every weight and the KV cache once; bandwidth measured by a device copy)
    dfs       solver.dfs.explore forward passes per second (one token each, KV cache cropped per branch)
    rescore   answer tokens/s of score_shared (one prompt, many answers after it)
    memory    peak allocated GiB
The vocabulary is the kit's shrunk one (16 symbols), as runs use it (model.shrink_vocab). Writes JSON and
the raw log to bench/results/ (or --out-dir).

    python bench/gpu.py                  # a CUDA machine; refuses without one
    python bench/gpu.py --smoke          # CPU, tiny shapes, seconds: checks the script (tests run it)
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.budget import Deadline  # noqa: E402
from solver.dfs import explore  # noqa: E402
from solver.engine import TransformersBackend  # noqa: E402
from solver.formats import PROFILES, IdFormat  # noqa: E402

# hidden, MLP, layers, heads, kv heads
SHAPES = {"1b": (2048, 8192, 16, 32, 8), "3b": (3072, 8192, 28, 24, 8), "8b": (4096, 14336, 32, 32, 8),
          "smoke": (64, 128, 2, 4, 2)}
FORMAT = IdFormat(PROFILES["kit"], {**{str(c): c for c in range(10)}, "\n": 10, "I": 11, "O": 12, "<eos>": 13},
                  bos=15, pad=14)  # the kit's format in a shrunk vocabulary of 16 ids


def llama(shape: str, device: str, dtype: torch.dtype) -> torch.nn.Module:
    hidden, mlp, layers, heads, kv = SHAPES[shape]
    config = transformers.LlamaConfig(vocab_size=16, hidden_size=hidden, intermediate_size=mlp,
                                      num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                                      max_position_embeddings=16384, tie_word_embeddings=False)
    with torch.device(device):
        return transformers.LlamaForCausalLM(config).to(dtype).eval()


def quantized(model: torch.nn.Module) -> torch.nn.Module:
    """The same shape in NF4 through bitsandbytes: saved once, reloaded quantised (how the kit loads it)."""
    from solver.model import bnb_config
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        return transformers.AutoModelForCausalLM.from_pretrained(tmp, quantization_config=bnb_config(),
                                                                 device_map={"": 0}).eval()


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: str, repeats: int) -> float:
    fn()  # warm-up (kernels, allocator)
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeats


def matmul_peak(device: str, dtype: torch.dtype, n: int) -> float:
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    return 2 * n ** 3 / timed(lambda: a @ b, device, 10)


def copy_bandwidth(device: str, mib: int) -> float:
    src = torch.empty(mib * 2 ** 20, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    return 2 * src.numel() / timed(lambda: dst.copy_(src), device, 10)  # read + write


def n_params(model) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "lora_" not in n)


def weight_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def bench_ttt(model, shape: str, device: str, seq: int, batch: int, steps: int, peak: float) -> dict:
    from peft import LoraConfig, get_peft_model
    peft_model = get_peft_model(model, LoraConfig(r=32, lora_alpha=32, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], task_type="CAUSAL_LM"))
    if device == "cuda":
        peft_model.gradient_checkpointing_enable()
        peft_model.enable_input_require_grads()
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, 16, (batch, seq), device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else torch.autocast("cpu", enabled=False)
    peft_model.train()

    def step():
        with autocast:
            loss = peft_model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds = timed(step, device, steps)
    peft_model.eval()
    hidden, _, layers, _, _ = SHAPES[shape]
    flops_per_token = 4 * n_params(peft_model) + 6 * layers * seq * hidden
    tokens_s = batch * seq / seconds
    result = {"tokens_per_s": tokens_s, "mfu": tokens_s * flops_per_token / peak, "seq": seq, "batch": batch}
    peft_model.unload()  # the base model back, without the adapter, for the next measurements
    return result


@torch.no_grad()
def bench_decode(model, device: str, prompt: int, new: int, batch: int, bandwidth: float) -> dict:
    ids = torch.randint(0, 16, (batch, prompt), device=device)
    config = transformers.GenerationConfig(do_sample=False, max_new_tokens=new, min_new_tokens=new,
                                           pad_token_id=FORMAT.pad, eos_token_id=None)
    seconds = timed(lambda: model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                           generation_config=config), device, 2)
    tokens_s = batch * new / seconds
    cfg = model.config
    kv_bytes = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * (cfg.hidden_size // cfg.num_attention_heads) \
        * (prompt + new / 2) * batch * 2  # bf16 keys and values, mean length over the decode
    roofline = batch * bandwidth / (weight_bytes(model) + kv_bytes)
    return {"tokens_per_s": tokens_s, "roofline_fraction": tokens_s / roofline, "batch": batch,
            "prompt": prompt, "new_tokens": new}


def bench_dfs(model, prompt: int, seconds: float) -> dict:
    ids = np.random.default_rng(0).integers(0, 16, prompt)
    start = time.perf_counter()
    search = explore(model, ids, allowed=FORMAT.answer_ids, end=FORMAT.end, min_prob=1e-300, max_new_tokens=64,
                     max_candidates=10 ** 9, deadline=Deadline.after(seconds))
    elapsed = time.perf_counter() - start
    return {"forwards_per_s": search.forwards / elapsed, "forwards": search.forwards, "prompt": prompt}


def bench_rescore(model, device: str, prompt: int, answers: int, answer_len: int, batch: int) -> dict:
    backend = TransformersBackend(model, FORMAT)
    rng = np.random.default_rng(0)
    p = rng.integers(0, 16, prompt)
    ans = [rng.integers(0, 16, answer_len) for _ in range(answers)]
    seconds = timed(lambda: backend.score_shared(p, ans, batch), device, 2)
    return {"answer_tokens_per_s": answers * answer_len / seconds, "prompt": prompt, "answers": answers,
            "answer_len": answer_len}


def run(args, log) -> dict:
    device = "cpu" if args.smoke else "cuda"
    dtype = torch.float32 if args.smoke else torch.bfloat16
    s = dict(seq=64, batch=2, steps=2, peak_n=256, mib=16, prompt=32, new=8, dfs_s=1.0, answers=4, answer_len=8) \
        if args.smoke else dict(seq=2048, batch=4, steps=5, peak_n=8192, mib=2048, prompt=2048, new=128,
                                dfs_s=10.0, answers=32, answer_len=200)
    out = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu (smoke)",
           "torch": torch.__version__, "transformers": transformers.__version__, "settings": s, "runs": []}
    out["matmul_peak_flops"] = matmul_peak(device, dtype, s["peak_n"])
    out["copy_bandwidth_bytes_s"] = copy_bandwidth(device, s["mib"])
    log(f"{out['device']}: matmul peak {out['matmul_peak_flops'] / 1e12:.1f} TFLOP/s ({dtype}), "
        f"copy bandwidth {out['copy_bandwidth_bytes_s'] / 1e9:.0f} GB/s")
    shapes = ["smoke"] if args.smoke else args.sizes.split(",")
    precisions = ["fp32"] if args.smoke else args.precisions.split(",")
    for shape in shapes:
        for precision in precisions:
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            model = llama(shape, "cpu" if precision == "4bit" else device, dtype)
            if precision == "4bit":
                model = quantized(model)
            row = {"shape": shape, "precision": precision, "params": n_params(model)}
            row["ttt"] = bench_ttt(model, shape, device, s["seq"], s["batch"], s["steps"], out["matmul_peak_flops"])
            row["decode"] = bench_decode(model, device, s["prompt"], s["new"], s["batch"] * 4,
                                         out["copy_bandwidth_bytes_s"])
            row["dfs"] = bench_dfs(model, s["prompt"], s["dfs_s"])
            row["rescore"] = bench_rescore(model, device, s["prompt"], s["answers"], s["answer_len"], 16)
            row["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2 ** 30 if device == "cuda" else None
            out["runs"].append(row)
            log(f"{shape:>5} {precision:>5}: ttt {row['ttt']['tokens_per_s']:.0f} tok/s (MFU {row['ttt']['mfu']:.1%}), "
                f"decode {row['decode']['tokens_per_s']:.0f} tok/s ({row['decode']['roofline_fraction']:.1%} of "
                f"roofline), dfs {row['dfs']['forwards_per_s']:.1f} fwd/s, rescore "
                f"{row['rescore']['answer_tokens_per_s']:.0f} tok/s, peak {row['peak_memory_gib'] or 0:.1f} GiB")
            del model
            gc.collect()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="CPU, tiny shapes: checks the script, measures nothing")
    p.add_argument("--sizes", default="1b,3b,8b")
    p.add_argument("--precisions", default="bf16,4bit")
    p.add_argument("--out-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = p.parse_args(argv)
    if not args.smoke and not torch.cuda.is_available():
        print("bench/gpu.py measures a CUDA GPU and torch sees none; use --smoke for the CPU check",
              file=sys.stderr)
        return 2
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"gpu_{'smoke' if args.smoke else torch.cuda.get_device_name(0).replace(' ', '_')}_{stamp}"
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"command: python {' '.join(sys.argv)}"]

    def log(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    log(lines[0])
    result = run(args, log)
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
    (out_dir / f"{name}.log").write_text("\n".join(lines) + "\n")
    log(f"wrote {out_dir / name}.json and .log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
