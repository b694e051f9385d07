"""GPU throughput of the neural path on randomly initialised models of the shapes the kit runs (speed does not
depend on the weights): the NVARC shape (Qwen3-4B architecture, the ARC Prize 2025 winner's model; prompts of
2k, 4k and 8k tokens, as ARC-AGI-2 tasks have) and Llama 1B, 3B and 8B (Llama 3.2 1B / 3B, Llama 3.1 8B),
in bf16 and 4-bit NF4 (bitsandbytes).

Each model is saved with the kit's character tokenizer and loaded by the kit's own `load_model` (loader
chosen by the config: bf16 or bnb-4bit), its vocabulary shrunk to the 16 ARC symbols as runs do (NVARC
ships a 16-token vocabulary); training goes through the kit's `Adapter` and `ttt.fit`.

Per model, precision and prompt length:
    ttt       LoRA training tokens/s (forward + backward + AdamW step on the adapter; ttt.fit, one sequence
              per forward pass, gradient checkpointing as on Kaggle) and MFU twice: against the bf16 matmul
              peak measured here (`mfu`) and against the GPU's rated dense bf16 peak (`mfu_rated`, RATED_BF16
              below; null for a GPU not in that table); model FLOPs per token = 4 * params (forward 2N, backward through the frozen base
              2N: no weight gradients) + attention 6 * layers * seq * heads * head_dim (causal)
    decode    greedy tokens/s over a batch, and its fraction of the memory-bandwidth roofline (every step
              reads every weight and the KV cache once; bandwidth measured by a device copy)
    dfs       solver.dfs.explore forward passes per second (one token each, KV cache cropped per branch)
    rescore   answer tokens/s of score_shared (one prompt, many answers after it)
    memory    peak allocated GiB of the row, and per phase (`peak_bytes`: load, ttt, decode, dfs, rescore;
              torch.cuda.max_memory_allocated after a reset before each phase), for bench/plan_check.py
Writes JSON and the raw log to bench/results/ (or --out-dir), both rewritten after every row (`"complete":
false` until the end), so that a run stopped by its time limit still leaves what it measured.
`--model DIR` measures a model already written by `--write-model DIR` (bench/gpu_check.sh writes the 7 GB
NVARC-shape model once and reuses it) instead of writing one per shape.

`--finetune-meta OUT/finetune.json` instead reads what `python -m solver finetune` recorded (tokens/s of this
process, peak memory) and gives its MFU against the matmul peak measured here and the rated peak: model FLOPs per token 6N for a
full fine-tune (forward 2N, backward 4N), 4N for LoRA (no weight gradients of the base), attention left out
(so the MFU is a lower bound).

    python bench/gpu.py                  # a CUDA machine; refuses without one
    python bench/gpu.py --sizes nvarc-4b --prompts 2048,8192
    python bench/gpu.py --smoke          # CPU, tiny shapes, seconds: checks the script (tests run it)
    python bench/gpu.py --smoke --sizes smoke-qwen3 --model DIR   # CPU, a model written by --write-model
"""
from __future__ import annotations

import argparse
import gc
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.budget import Deadline  # noqa: E402
from solver.config import ModelConfig, TTTConfig  # noqa: E402
from solver.dfs import explore  # noqa: E402
from solver.formats import write_marker  # noqa: E402
from solver.model import LoadedModel, build_tokenizer, load_model  # noqa: E402
from solver.engine import TransformersBackend  # noqa: E402
from solver.plan import SHAPES  # noqa: E402  the one list of model shapes (solver/plan.py)
from solver.ttt import Adapter, TrainSequence, fit  # noqa: E402


# Rated dense bf16 tensor-core TFLOP/s per GPU (fp16 for the T4, which has no bf16), from NVIDIA's datasheets;
# they print the figures "with sparsity", twice the dense rate used here: H100 SXM 1,979 -> 989.5, H100 PCIe
# 1,513 -> 756, H100 NVL 1,671 -> 835.5 (NVIDIA H100 Tensor Core GPU datasheet, "Shown with sparsity.
# Specifications 1/2 lower without sparsity"); H200 1,979 -> 989.5 (H200 datasheet: the H100 SXM's chip);
# L4 242 -> 121 (NVIDIA L4 datasheet); A100 312 dense (A100 datasheet, 624 with sparsity); T4 65 fp16 mixed
# precision (T4 datasheet). A device name matches the longest key it holds as whole words ("NVIDIA L40S" is
# not an L4).
RATED_BF16 = {
    "H100 PCIe": 756e12, "H100 NVL": 835.5e12, "H100": 989.5e12,  # a bare "H100" (e.g. "H100 80GB HBM3") is SXM
    "H200": 989.5e12, "L4": 121e12, "A100": 312e12, "T4": 65e12,
}


def rated_peak(device_name: str) -> float | None:
    """The rated dense bf16 FLOP/s of a device by its name (torch.cuda.get_device_name), None if unknown."""
    for key in sorted(RATED_BF16, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", device_name, re.IGNORECASE):
            return RATED_BF16[key]
    return None


def mfu(flops_per_s: float, peak: float | None) -> float | None:
    return flops_per_s / peak if peak else None


def model_config(shape: str, vocab_size: int) -> transformers.PretrainedConfig:
    s = SHAPES[shape]
    common = dict(vocab_size=vocab_size, hidden_size=s.hidden, intermediate_size=s.intermediate,
                  num_hidden_layers=s.layers, num_attention_heads=s.heads, num_key_value_heads=s.kv_heads,
                  head_dim=s.head_dim, max_position_embeddings=16384, tie_word_embeddings=s.tied)
    if s.arch == "qwen3":  # Qwen3-4B: tied embeddings, RoPE base 1e6, RMS-normed queries and keys
        return transformers.Qwen3Config(**common, rope_theta=1_000_000.0)
    if s.arch == "mistral":  # Mistral-NeMo-Minitron-8B: RoPE base 1e6, no sliding window
        return transformers.MistralConfig(**common, rope_theta=1_000_000.0, sliding_window=None)
    return transformers.LlamaConfig(**common)


def saved_model(shape: str, device: str, dtype: torch.dtype, directory: Path) -> Path:
    """A random model of `shape` with the kit's tokenizer, saved as a Hugging Face model directory."""
    tokenizer = build_tokenizer()
    config = model_config(shape, len(tokenizer))
    config.bos_token_id, config.eos_token_id, config.pad_token_id = (
        tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config).to(dtype)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_marker(directory, "kit")  # a character tokenizer: without the marker it reads as the ARChitects'
    del model
    return directory


def load(directory: Path, precision: str, device: str) -> LoadedModel:
    """Through the kit's loader, as a run loads a model (vocabulary shrunk to the 16 ARC symbols)."""
    return load_model(ModelConfig(path=str(directory), device=device, load_in_4bit=precision == "4bit",
                                  unsloth=False, max_length=16384))


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
    """The base model's parameters (a 4-bit weight stores two in each byte it counts)."""
    return sum(p.numel() * (2 if getattr(p, "quant_state", None) is not None else 1)
               for n, p in model.named_parameters() if "lora_" not in n)


def weight_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def bench_ttt(loaded: LoadedModel, shape: str, device: str, seq: int, steps: int, peak: float,
              rated: float | None = None) -> dict:
    """ttt.fit on the kit's Adapter: `steps` optimiser steps of one sequence of `seq` tokens each."""
    cfg = TTTConfig(rank=32, alpha=32.0, gradient_checkpointing=True)
    adapter = Adapter(loaded, cfg)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, loaded.model.get_input_embeddings().weight.shape[0], seq)
    sequences = [TrainSequence(ids, ids.copy())]

    def train(n: int) -> None:
        fit(adapter.model, sequences, steps=n, lr=1e-4, batch_size=1, pad=loaded.format.pad, max_len=seq,
            deadline=Deadline.never(), rng=rng)

    train(1)  # warm-up (kernels, allocator)
    sync(device)
    start = time.perf_counter()
    train(steps)
    sync(device)
    seconds = (time.perf_counter() - start) / steps
    s = SHAPES[shape]
    flops_per_token = 4 * n_params(adapter.model) + 6 * s.layers * seq * s.heads * s.head_dim
    tokens_s = seq / seconds
    flops_s = tokens_s * flops_per_token
    result = {"tokens_per_s": tokens_s, "flops_per_s": flops_s, "mfu": mfu(flops_s, peak),
              "mfu_rated": mfu(flops_s, rated), "seq": seq, "batch": 1}
    adapter.model.unload()  # the base model back, without the adapter, for the next measurements
    return result


@torch.no_grad()
def bench_decode(model, device: str, prompt: int, new: int, batch: int, bandwidth: float) -> dict:
    ids = torch.randint(0, 16, (batch, prompt), device=device)
    config = transformers.GenerationConfig(do_sample=False, max_new_tokens=new, min_new_tokens=new,
                                           pad_token_id=0, eos_token_id=None)
    seconds = timed(lambda: model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                           generation_config=config), device, 2)
    tokens_s = batch * new / seconds
    cfg = model.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    kv_bytes = 2 * cfg.num_hidden_layers * cfg.num_key_value_heads * head_dim \
        * (prompt + new / 2) * batch * 2  # bf16 keys and values, mean length over the decode
    roofline = batch * bandwidth / (weight_bytes(model) + kv_bytes)
    return {"tokens_per_s": tokens_s, "roofline_fraction": tokens_s / roofline, "batch": batch,
            "prompt": prompt, "new_tokens": new}


def bench_dfs(loaded: LoadedModel, prompt: int, seconds: float) -> dict:
    ids = np.random.default_rng(0).integers(0, 16, prompt)
    vocab = loaded.format
    start = time.perf_counter()
    search = explore(loaded.model, ids, allowed=vocab.answer_ids, end=vocab.end, min_prob=1e-300, max_new_tokens=64,
                     max_candidates=10 ** 9, deadline=Deadline.after(seconds))
    elapsed = time.perf_counter() - start
    return {"forwards_per_s": search.forwards / elapsed, "forwards": search.forwards, "prompt": prompt}


def bench_rescore(loaded: LoadedModel, device: str, prompt: int, answers: int, answer_len: int, batch: int) -> dict:
    backend = TransformersBackend(loaded.model, loaded.format)
    rng = np.random.default_rng(0)
    p = rng.integers(0, 16, prompt)
    ans = [rng.integers(0, 16, answer_len) for _ in range(answers)]
    seconds = timed(lambda: backend.score_shared(p, ans, batch), device, 2)
    return {"answer_tokens_per_s": answers * answer_len / seconds, "prompt": prompt, "answers": answers,
            "answer_len": answer_len}


def peak_bytes(device: str) -> int | None:
    """Peak allocated GPU bytes since the last reset (None on the CPU, where torch keeps no such count)."""
    return torch.cuda.max_memory_allocated() if device == "cuda" else None


def reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def measure_row(loaded: LoadedModel, shape: str, precision: str, prompt: int, device: str, s: dict,
                out: dict) -> dict:
    """Every measurement of one (shape, precision, prompt), with the peak memory of each phase."""
    row = {"shape": shape, "precision": precision, "prompt": prompt, "loader": loaded.loader,
           "vocab": loaded.model.get_input_embeddings().weight.shape[0], "params": n_params(loaded.model),
           "peak_bytes": {"load": out["load_bytes"].get(precision)}}
    phases = [
        ("ttt", lambda: bench_ttt(loaded, shape, device, prompt, s["steps"], out["matmul_peak_flops"],
                                  out["rated_peak_flops"])),
        ("decode", lambda: bench_decode(loaded.model, device, prompt, s["new"], s["batch"] * 4,
                                        out["copy_bandwidth_bytes_s"])),
        ("dfs", lambda: bench_dfs(loaded, prompt, s["dfs_s"])),
        ("rescore", lambda: bench_rescore(loaded, device, prompt, s["answers"], s["answer_len"], 16)),
    ]
    for name, measure in phases:
        reset_peak(device)
        row[name] = measure()
        row["peak_bytes"][name] = peak_bytes(device)
    known = [b for b in row["peak_bytes"].values() if b is not None]
    row["peak_memory_gib"] = max(known) / 2 ** 30 if known else None
    return row


def run(args, log, save=lambda out: None) -> dict:
    """All measurements; `save(out)` is called after the device figures and after every row, so that the JSON
    on disk always holds what was measured so far."""
    device = "cpu" if args.smoke else "cuda"
    dtype = torch.float32 if args.smoke else torch.bfloat16
    s = dict(steps=2, peak_n=256, mib=16, batch=2, new=8, dfs_s=1.0, answers=4, answer_len=8) \
        if args.smoke else dict(steps=5, peak_n=8192, mib=2048, batch=4, new=128, dfs_s=5.0, answers=32,
                                answer_len=200)
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu (smoke)"
    out = {"device": name, "torch": torch.__version__, "transformers": transformers.__version__, "settings": s,
           "command": "python " + " ".join(sys.argv), "complete": False, "runs": [], "load_bytes": {}}
    out["matmul_peak_flops"] = matmul_peak(device, dtype, s["peak_n"])
    out["rated_peak_flops"] = rated_peak(name) if device == "cuda" else None
    out["copy_bandwidth_bytes_s"] = copy_bandwidth(device, s["mib"])
    rated = f"{out['rated_peak_flops'] / 1e12:.0f} TFLOP/s rated" if out["rated_peak_flops"] else "rated peak unknown"
    log(f"{out['device']}: matmul peak {out['matmul_peak_flops'] / 1e12:.1f} TFLOP/s ({dtype}) measured, {rated}, "
        f"copy bandwidth {out['copy_bandwidth_bytes_s'] / 1e9:.0f} GB/s")
    save(out)
    default_shapes = "smoke,smoke-qwen3" if args.smoke else "nvarc-4b,1b,3b,8b"
    shapes = (args.sizes or default_shapes).split(",")
    precisions = ["fp32"] if args.smoke else args.precisions.split(",")
    for shape in shapes:
        prompts = [int(x) for x in args.prompts.split(",")] if args.prompts else SHAPES[shape].prompts
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(args.model) if args.model else saved_model(shape, device, dtype, Path(tmp))
            for precision in precisions:
                if device == "cuda":
                    torch.cuda.empty_cache()
                reset_peak(device)
                loaded = load(directory, precision, device)
                out["load_bytes"][precision] = peak_bytes(device)
                for prompt in prompts:
                    row = measure_row(loaded, shape, precision, prompt, device, s, out)
                    out["runs"].append(row)
                    save(out)
                    ttt = row["ttt"]
                    rated_mfu = f", {ttt['mfu_rated']:.1%} of rated" if ttt["mfu_rated"] is not None else ""
                    log(f"{shape:>11} {precision:>5} {prompt:>5}: ttt {ttt['tokens_per_s']:.0f} tok/s "
                        f"(MFU {ttt['mfu']:.1%} of measured{rated_mfu}), decode "
                        f"{row['decode']['tokens_per_s']:.0f} tok/s "
                        f"({row['decode']['roofline_fraction']:.1%} of roofline), dfs "
                        f"{row['dfs']['forwards_per_s']:.1f} fwd/s, rescore "
                        f"{row['rescore']['answer_tokens_per_s']:.0f} tok/s, peak {row['peak_memory_gib'] or 0:.1f} GiB")
                del loaded
                gc.collect()
    out["complete"] = True
    save(out)
    return out


def finetune_report(meta_path: Path, log) -> dict:
    """MFU of a `solver finetune` run from its finetune.json, against this device's measured matmul peak."""
    meta = json.loads(Path(meta_path).read_text())
    cuda = torch.cuda.is_available()
    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", torch.float32)
    peak = matmul_peak(device, dtype, 8192 if cuda else 256)
    name = torch.cuda.get_device_name(0) if cuda else "cpu"
    rated = rated_peak(name) if cuda else None
    per_token = (6 if meta["method"] == "full" else 4) * meta["parameters"]
    flops_s = meta["tokens_per_second"] * per_token
    row = {"device": name, "method": meta["method"],
           "parameters": meta["parameters"], "steps": meta["steps"], "seconds": meta["seconds_this_session"],
           "tokens": meta["tokens_this_session"], "tokens_per_s": meta["tokens_per_second"],
           "peak_cuda_gib": meta["peak_cuda_gib"], "matmul_peak_flops": peak, "rated_peak_flops": rated,
           "mfu": mfu(flops_s, peak), "mfu_rated": mfu(flops_s, rated)}
    rated_text = f", {row['mfu_rated']:.1%} of {rated / 1e12:.0f} rated" if rated else ", rated peak unknown"
    log(f"finetune on {row['device']}: {row['method']}, {row['parameters'] / 1e6:.0f}M parameters, {row['steps']} "
        f"steps, {row['tokens']} tokens in {row['seconds']:.0f} s: {row['tokens_per_s']:.0f} tok/s, MFU "
        f"{row['mfu']:.1%} (of {peak / 1e12:.1f} TFLOP/s measured{rated_text}), peak {row['peak_cuda_gib'] or 0:.1f} GiB")
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="CPU, tiny shapes: checks the script, measures nothing")
    p.add_argument("--sizes", help=f"of {', '.join(SHAPES)} (default nvarc-4b,1b,3b,8b; --smoke: smoke,smoke-qwen3)")
    p.add_argument("--prompts", help="prompt lengths in tokens, e.g. 2048,8192 (default: per shape; "
                                     "nvarc-4b 2048,4096,8192)")
    p.add_argument("--precisions", default="bf16,4bit")
    p.add_argument("--out-dir", default=str(Path(__file__).resolve().parent / "results"))
    p.add_argument("--model", metavar="DIR", help="measure this model (written by --write-model with the one "
                   "shape given in --sizes) instead of writing a random one per shape")
    p.add_argument("--write-model", metavar="DIR", help="only write a random model of the first of --sizes "
                   "(bf16, the kit's tokenizer) to DIR, e.g. for `python -m solver selfcheck --model DIR`")
    p.add_argument("--finetune-meta", metavar="FILE", help="only report the throughput and MFU of a `python -m "
                   "solver finetune` run from its finetune.json")
    args = p.parse_args(argv)
    if args.finetune_meta:
        print(json.dumps(finetune_report(Path(args.finetune_meta), print)))
        return 0
    if args.model and (not args.sizes or "," in args.sizes):
        p.error("--model needs exactly one shape in --sizes, the one it was written with")
    if args.write_model:
        shape = (args.sizes or "nvarc-4b").split(",")[0]
        device = "cuda" if torch.cuda.is_available() else "cpu"
        print(saved_model(shape, device, torch.bfloat16, Path(args.write_model)))
        return 0
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
        (out_dir / f"{name}.log").write_text("\n".join(lines) + "\n")

    def save(result: dict) -> None:  # whole-file rewrite through a temporary name: never a half-written JSON
        tmp = out_dir / f".{name}.json.tmp"
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(out_dir / f"{name}.json")

    log(lines[0])
    run(args, log, save)
    log(f"wrote {out_dir / name}.json and .log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
