"""Memory of rescoring K answers after one long prompt (issue 15): peak resident memory over the call, CPU.

    python bench/rescore_memory.py [--prompt 3000] [--answer 100] [--k 1 4 16] [--out bench/results/x.md]

Each (mode, K) runs in a fresh process on a random Llama model whose KV cache is large enough to see
(8 layers, 4 KV heads of 64: 16 KiB per token in float32), so that the model's own memory and the
allocator's noise do not hide it. A thread samples the process's resident memory (/proc/self/statm)
every half millisecond during `score_shared`; the table gives the peak above the memory just before
the call, next to what one prompt's cache, K answers' caches and K prompts' caches take.

    before   the algorithm this issue replaced: the prompt's cache deep-copied and repeated per batch
             of up to 16 answers (kept here, in this file only, to measure against)
    crop     engine.TransformersBackend with rescore.cache_mb = 0: each answer on the prompt's own cache,
             cropped back after it
    budget   the same with cache_mb = 4 prompt caches: batches of up to 4 answers on copies
glibc's mmap threshold is fixed (MALLOC_MMAP_THRESHOLD_) so that freed tensors leave the resident set.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LAYERS, KV_HEADS, HEAD_DIM = 8, 4, 64
KV_BYTES_PER_TOKEN = LAYERS * KV_HEADS * HEAD_DIM * 2 * 4  # keys and values, float32


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """The highest resident memory seen while the block runs, sampled by a thread."""

    def __enter__(self):
        self.start, self.peak, self.running = rss_mb(), rss_mb(), True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.0005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, rss_mb())


def old_score_shared(backend, prompt, answers, batch_size: int = 16) -> list[float]:
    """The replaced algorithm: the prompt's full logits, and its cache deep-copied and repeated per batch."""
    import numpy as np
    import torch
    with torch.no_grad():
        out = backend.model(input_ids=torch.as_tensor(np.asarray(prompt, dtype=np.int64))[None], use_cache=True)
        first = out.logits[0, -1].float().log_softmax(-1)
        scores = []
        for start in range(0, len(answers), batch_size):
            chunk = [np.asarray(a, dtype=np.int64) for a in answers[start:start + batch_size]]
            cache = copy.deepcopy(out.past_key_values)
            cache.batch_repeat_interleave(len(chunk))
            width = max(len(a) for a in chunk)
            ids = torch.full((len(chunk), width), backend.format.pad, dtype=torch.long)
            for r, a in enumerate(chunk):
                ids[r, :len(a)] = torch.from_numpy(a)
            lp = backend.model(input_ids=ids, past_key_values=cache, use_cache=True).logits.float().log_softmax(-1)
            for r, a in enumerate(chunk):
                scores.append(float(first[ids[r, 0]] + lp[r, :len(a) - 1].gather(-1, ids[r, 1:len(a), None]).sum()))
        return scores


def measure(mode: str, k: int, prompt_len: int, answer_len: int) -> dict:
    import numpy as np
    import torch
    import transformers
    from solver.formats import bind
    from solver.engine import TransformersBackend
    from solver.model import build_tokenizer
    torch.set_num_threads(1)
    tokenizer = build_tokenizer()
    vocab = bind("kit", tokenizer)  # the kit's grid format on the character tokenizer
    config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=KV_HEADS * HEAD_DIM, intermediate_size=512,
                                      num_hidden_layers=LAYERS, num_attention_heads=KV_HEADS,
                                      num_key_value_heads=KV_HEADS, max_position_embeddings=prompt_len + answer_len + 8)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    prompt_cache_mb = prompt_len * KV_BYTES_PER_TOKEN / 2**20
    backend = TransformersBackend(model, vocab, cache_mb=4.01 * prompt_cache_mb if mode == "budget" else 0.0)
    rng = np.random.default_rng(0)
    prompt = rng.choice(vocab.answer_ids, size=prompt_len)
    answers = [rng.choice(vocab.answer_ids, size=answer_len) for _ in range(k)]
    score = (lambda: old_score_shared(backend, prompt, answers)) if mode == "before" else (
        lambda: backend.score_shared(prompt, answers, 16))
    score()  # warm-up: allocator pools and one-off buffers are in place before the measured call
    with PeakRss() as peak:
        scores = score()
    return {"mode": mode, "k": k, "growth_mb": peak.peak - peak.start, "scores": scores,
            "prompt_cache_mb": prompt_cache_mb, "answer_cache_mb": answer_len * KV_BYTES_PER_TOKEN / 2**20}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--prompt", type=int, default=3000)
    p.add_argument("--answer", type=int, default=100)
    p.add_argument("--k", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--modes", nargs="+", default=["before", "crop", "budget"])
    p.add_argument("--out", default=None, help="also write the table (markdown) here")
    p.add_argument("--one", nargs=2, metavar=("MODE", "K"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.prompt, args.answer)))
        return
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    rows, reference = [], {}
    for mode in args.modes:
        for k in args.k:
            out = subprocess.run([sys.executable, __file__, "--one", mode, str(k), "--prompt", str(args.prompt),
                                  "--answer", str(args.answer)], capture_output=True, text=True, env=env, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            reference.setdefault(k, r["scores"])
            r["max_score_diff"] = max(abs(a - b) for a, b in zip(r["scores"], reference[k]))
            rows.append(r)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [f"rescoring memory, commit {commit}: `python bench/rescore_memory.py --prompt {args.prompt} --answer "
             f"{args.answer} --k {' '.join(map(str, args.k))}`", "",
             f"random Llama, {LAYERS} layers x {KV_HEADS} KV heads x {HEAD_DIM}, float32 "
             f"({KV_BYTES_PER_TOKEN // 1024} KiB of KV cache per token); prompt {args.prompt} tokens, answers "
             f"{args.answer} tokens; peak RSS above the RSS before the call", "",
             "| mode | K | peak growth MiB | 1 prompt cache MiB | K x answer cache MiB | K x prompt cache MiB "
             "| max score diff vs before |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['k']} | {r['growth_mb']:.1f} | {r['prompt_cache_mb']:.1f} | "
                     f"{r['k'] * r['answer_cache_mb']:.1f} | {r['k'] * r['prompt_cache_mb']:.1f} | "
                     f"{r['max_score_diff']:.2e} |")
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
