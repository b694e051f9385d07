"""The memory plan: per phase of the neural stage, the GPU memory a model of a given shape needs, and the
settings lowered until it fits a given GPU. Pure arithmetic on shapes and token counts (no torch).

Phases and what each holds at its peak (bytes; `act` = 2 for bf16 on a GPU, 4 for float32 on the CPU):

    load     weights: every parameter at `act` bytes, or NF4 (half a byte, plus 1/64 byte of absmax per
             parameter and its double-quantised scale) for the linear layers of the blocks when 4-bit;
             embeddings, output head and norms stay 16-bit under bitsandbytes
    ttt      weights; adapter: the LoRA matrices in float32 (peft keeps adapters in float32 beside a bf16
             base) and the copy of their starting values solver/ttt.py's Adapter keeps for `reset`; with
             embed_tokens / lm_head among the targets, peft adds low-rank matrices for them, unsloth full
             float32 copies of the (V, d) matrices; gradients (float32, one per trainable parameter);
             optimizer: AdamW's two float32 moments; activations under gradient checkpointing: every
             layer's input hidden state, plus one layer recomputed with its backward; logits (below).
             An optimizer step's temporaries (one float32 copy of the second moments) come after the
             backward has freed the activations: the phase takes the larger of the two.
    sample   greedy decoding of `sample.batch_size` prompts at once (model.generate): weights, adapter, the
             KV cache of every row (prompt + answer), one layer's prefill activations, and the padding mask
    dfs      one prompt at a time (solver/dfs.py): its KV cache and one layer's prefill activations
    rescore  one prompt's KV cache, `rows` copies of it grown by an answer (torch.cat materialises them),
             and the answers' logits (bf16) with one float32 chunk of 256 positions (engine._token_logprobs)
    engine   model.backend = "vllm": the share of the GPU vLLM takes (model.vllm_memory_fraction of the
             whole card); it needs its own weights and one full-length sequence's KV cache in it. The
             training model's phases then hold it beside them; sampling and rescoring run inside it.

Logits, counted as the kit materialises them: sampling keeps one position per row (generate and the DFS
ask for `logits_to_keep`), rescoring the answers' positions. TTT (solver/ttt.py answer_loss): the head runs
on the labelled positions' hidden states only, so their logits are all there is: bf16 and its gradient, the
float32 copy, log_softmax's output and its gradient. An allocator
margin (fragmentation, cuBLAS workspaces) of MARGIN_FIXED plus MARGIN_SHARE of the phase is added before
comparing with the GPU's usable memory.

`fit_plan` lowers, per phase, the knobs that really set its memory (ttt.micro_batch_size,
sample.batch_size, rescore.batch_size, model.vllm_memory_fraction), halving them down to one; a phase that
cannot fit even then names the one setting that would make every phase fit (model.load_in_4bit, ...), or
says that no single one does. DFS has no batch: it can only be made to fit by the model's own settings.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

from .config import Config

GiB = 2 ** 30
MARGIN_FIXED = GiB // 4  # the allocator's own blocks, cuBLAS/cuDNN workspaces
MARGIN_SHARE = 0.05      # fragmentation: torch's caching allocator rounds and splits blocks
NF4_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit values, 8-bit absmax per 64, fp32 scale per 256 absmax
LOGIT_CHUNK = 256  # positions engine._token_logprobs takes to float32 at once
PHASES = ("load", "ttt", "sample", "dfs", "rescore", "engine")
VOCAB_MODULES = ("embed_tokens", "lm_head")


# ------------------------------------------------------------------------------------------------ shapes

@dataclass(frozen=True)
class Shape:
    """A causal LM's architecture as far as memory goes."""
    name: str
    arch: str           # llama | qwen3 | mistral (qwen3 adds RMS norms on queries and keys)
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int          # rows of the embeddings as the checkpoint ships (cut already for NVARC, the ARChitects)
    tied: bool          # output head shares the embeddings
    format: str = "kit"  # the format profile its family speaks, when the config says "auto"
    prompts: tuple[int, ...] = (2048,)  # bench/gpu.py's default prompt lengths
    quantized: bool = False  # saved as bitsandbytes 4-bit (a model directory's quantization_config)

    def linears(self) -> dict[str, tuple[int, int]]:
        """Each block's projections, (in, out)."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        d, i = self.hidden, self.intermediate
        return {"q_proj": (d, q), "k_proj": (d, kv), "v_proj": (d, kv), "o_proj": (q, d),
                "gate_proj": (d, i), "up_proj": (d, i), "down_proj": (i, d)}

    def linear_params(self) -> int:
        return self.layers * sum(a * b for a, b in self.linears().values())

    def other_params(self, vocab: int) -> int:
        """Embeddings, output head and norms: what stays 16-bit under bitsandbytes."""
        norms = self.layers * (2 * self.hidden + (2 * self.head_dim if self.arch == "qwen3" else 0)) + self.hidden
        return vocab * self.hidden * (1 if self.tied else 2) + norms

    def kv_bytes_per_token(self, act: int) -> int:
        """Keys and values of every layer for one token."""
        return self.layers * self.kv_heads * self.head_dim * 2 * act


# The shapes the kit runs (and bench/gpu.py measures). Vocabulary: as the family's checkpoints ship it.
#   nvarc-4b     Qwen3-4B (NVARC, ARC Prize 2025), 16-token vocabulary shipped cut (../shared/formats.md)
#   minitron-8b  Mistral-NeMo-Minitron-8B (the ARChitects, ARC Prize 2024), config.json of
#                nvidia/Mistral-NeMo-Minitron-8B-Base/-Instruct on Hugging Face (hidden 4096, 40 layers,
#                32 heads, 8 kv heads, head_dim 128, MLP 11520, vocabulary 131072, untied); shipped cut to
#                single characters: 76 tokens with the kit's matching tokenizer (family_models), a few
#                more special tokens in theirs (0.6 MB of embeddings each way: nothing here)
#   1b, 3b, 8b   Llama 3.2 1B / 3B, Llama 3.1 8B (marc's Llama-3-8B has the same shape): full 128256 vocabulary
#   smoke*       bench/gpu.py's CPU check (the kit's character tokenizer)
SHAPES: dict[str, Shape] = {s.name: s for s in (
    Shape("nvarc-4b", "qwen3", 2560, 9728, 36, 32, 8, 128, 16, True, "nvarc", (2048, 4096, 8192)),
    Shape("minitron-8b", "mistral", 4096, 11520, 40, 32, 8, 128, 76, False, "architects", (2048, 8192)),
    Shape("1b", "llama", 2048, 8192, 16, 32, 8, 64, 128256, True),
    Shape("3b", "llama", 3072, 8192, 28, 24, 8, 128, 128256, True),
    Shape("8b", "llama", 4096, 14336, 32, 32, 8, 128, 128256, False),
    Shape("smoke", "llama", 64, 128, 2, 2, 1, 32, 100, False, prompts=(32,)),
    Shape("smoke-qwen3", "qwen3", 64, 128, 2, 2, 1, 32, 100, True, prompts=(32, 64)),
)}
ARCHS = {"LlamaForCausalLM": "llama", "Qwen3ForCausalLM": "qwen3", "MistralForCausalLM": "mistral",
         "Qwen2ForCausalLM": "llama"}


def shape_from_config(config: dict[str, Any], name: str = "model") -> Shape:
    """The shape a Hugging Face config.json describes (a model directory for `--model DIR`, or a loaded
    model's `config.to_dict()`)."""
    missing = [k for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                           "vocab_size") if k not in config]
    if missing:
        raise ValueError(f"{name}: config.json lacks {', '.join(missing)}; not a causal LM the plan knows")
    arch = ARCHS.get((config.get("architectures") or [""])[0], config.get("model_type", "llama"))
    heads = int(config["num_attention_heads"])
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    quant = config.get("quantization_config") or {}
    return Shape(name, "qwen3" if arch == "qwen3" else arch, int(config["hidden_size"]),
                 int(config["intermediate_size"]), int(config["num_hidden_layers"]), heads,
                 int(config.get("num_key_value_heads") or heads), int(head_dim), int(config["vocab_size"]),
                 bool(config.get("tie_word_embeddings", False)),
                 quantized=bool(quant.get("load_in_4bit") or quant.get("_load_in_4bit")))


# -------------------------------------------------------------------------------------------------- GPUs

@dataclass(frozen=True)
class Gpu:
    name: str
    usable_gib: float  # what one process can allocate: the card's memory less the CUDA context
    bf16: bool
    note: str = ""


GPUS: dict[str, Gpu] = {g.name: g for g in (
    Gpu("T4", 14.5, False, "16 GB (15360 MiB); no native bf16 (sm_75): bf16 weights load, matmuls are slow"),
    Gpu("L4", 22.0, True, "24 GB (23034 MiB): about 22 GiB usable; Kaggle's ARC Prize machine has 4"),
    Gpu("A100", 78.5, True, "the 80 GB A100; A100-40 for the 40 GB one"),
    Gpu("A100-40", 38.9, True, "the 40 GB A100"),
    Gpu("H100", 78.0, True, "80 GB (81559 MiB)"),
    Gpu("H200", 139.0, True, "141 GB (143771 MiB)"),
)}


# ------------------------------------------------------------------------------------------------ tokens

@dataclass(frozen=True)
class Tokens:
    """The longest sequences of a task (or of a file: each the longest over its tasks) per phase, as the
    run builds them (solver/memory.py counts them with the format's own encoder)."""
    ttt: int           # tokens of the longest training sequence
    labelled: int      # its positions that carry loss
    prompt: int        # tokens of the longest sampling prompt
    answer: int        # answer tokens the context leaves after it (what greedy and DFS may generate)
    rescore_prompt: int
    rescore_answer: int
    prompts: int = 0   # sampling prompts of the task (views x test inputs); 0: as many as a batch holds


def nominal_tokens(total: int, max_answer: int) -> Tokens:
    """A task of `total` tokens without a file: a largest answer (a 30x30 grid) at its end, and loss on half
    the training sequence (the outputs of a task of same-sized inputs and outputs)."""
    answer = min(max_answer, total // 2)
    return Tokens(total, total // 2, total - answer, answer, total - answer, answer)


# -------------------------------------------------------------------------------------------------- plan

@dataclass(frozen=True)
class Model:
    """What the plan needs of the loaded model beside its shape."""
    shape: Shape
    vocab: int         # rows of the embeddings as run (after the kit's vocabulary cut, if any)
    nf4: bool          # 4-bit weights (bitsandbytes)
    act: int = 2       # bytes of an activation / a 16-bit weight: 2 on a GPU (bf16), 4 on the CPU
    unsloth: bool = False  # unsloth trains embed_tokens / lm_head as full float32 copies

    def weight_bytes(self) -> int:
        s = self.shape
        linear = s.linear_params() * (NF4_BYTES if self.nf4 else self.act)
        return int(linear + s.other_params(self.vocab) * self.act)

    def lora_params(self, rank: int, targets: list[str]) -> int:
        s = self.shape
        n = s.layers * sum(rank * (a + b) for m, (a, b) in s.linears().items() if m in targets)
        for m in VOCAB_MODULES:
            if m in targets:
                n += self.vocab * s.hidden if self.unsloth else rank * (self.vocab + s.hidden)
        return n

    def logit_bytes(self, positions: int) -> int:
        """The logits of `positions` positions as the model returns them (in its activation dtype)."""
        return positions * self.vocab * self.act

    def layer_units(self, rank: int, targets: list[str]) -> int:
        """Activation values one token leaves saved for the backward in one block (counted from the
        operations of a Llama/Qwen3 block; RMS norms compute in float32, counted as two values each)."""
        s = self.shape
        q, kv, d, i = s.heads * s.head_dim, s.kv_heads * s.head_dim, s.hidden, s.intermediate
        qk_norm = s.arch == "qwen3"
        norms = 2 * 5 * d                       # two RMS norms: float32 input and output, bf16 output
        attn = d + q + 2 * kv                   # the normed input; q, k, v
        attn += (4 * q + 4 * kv) if qk_norm else 0
        attn += q + kv + 2 * q + 2 * kv         # rotary q and k; SDPA saves q, k, v and its output
        mlp = d + 4 * i                         # gate, up, silu(gate), their product
        lora = rank * sum(1 for m in s.linears() if m in targets)
        return norms + attn + mlp + lora

    def backward_units(self) -> int:
        """Gradients in flight while one block's backward runs: a few hidden- and MLP-wide tensors."""
        return 2 * self.shape.hidden + 3 * self.shape.intermediate


@dataclass
class Phase:
    name: str
    parts: dict[str, int]  # component -> bytes
    predicted: int = 0     # what torch.cuda.max_memory_allocated should show at most
    margin: int = 0
    fits: bool = True
    note: str = ""

    @property
    def total(self) -> int:
        return self.predicted + self.margin


@dataclass
class Plan:
    model: str
    precision: str         # bf16 | nf4 | fp32
    vocab: int
    gpu: str
    capacity: int          # usable bytes
    tokens: Tokens
    phases: list[Phase]
    lowered: dict[str, Any] = field(default_factory=dict)  # setting -> value it was lowered to
    fits: bool = True
    suggestion: str = ""   # the one setting that would make it fit, when it does not
    notes: list[str] = field(default_factory=list)

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "precision": self.precision, "vocab": self.vocab, "gpu": self.gpu,
                "capacity_bytes": self.capacity, "tokens": asdict(self.tokens), "fits": self.fits, "lowered": self.lowered,
                "suggestion": self.suggestion, "notes": self.notes,
                "phases": {p.name: {"predicted_bytes": p.predicted, "margin_bytes": p.margin,
                                    "total_bytes": p.total, "fits": p.fits, "parts": p.parts, "note": p.note}
                           for p in self.phases}}


def _margin(predicted: int) -> int:
    return int(MARGIN_FIXED + MARGIN_SHARE * predicted)


def ttt_parts(m: Model, cfg: Config, t: Tokens, weights: int) -> dict[str, int]:
    """TTT's peak: see the module docstring."""
    s, c = m.shape, cfg.ttt
    trainable = m.lora_params(c.rank, c.target_modules)
    micro = c.micro_batch_size if c.micro_batch_size > 0 else c.batch_size
    rows = micro * t.ttt
    units = m.layer_units(c.rank, c.target_modules) + m.backward_units()
    if c.gradient_checkpointing and m.act == 2:  # the kit checkpoints on CUDA only (ttt.Adapter)
        activations = rows * m.act * (s.layers * s.hidden + units)  # each block's input, one block recomputed
    else:
        activations = rows * m.act * (s.layers * m.layer_units(c.rank, c.target_modules) + m.backward_units())
    # the labelled positions only (ttt.answer_loss): bf16 logits and their gradient, float32 copy, log_softmax, grad
    logits = micro * t.labelled * m.vocab * (2 * m.act + 3 * 4)
    # The optimizer step comes after the backward freed activations and logits; its temporaries (foreach
    # AdamW: one float32 copy, the square root of the second moments) take their place when larger.
    step = 4 * trainable
    return {"weights": weights, "adapter": 2 * 4 * trainable, "gradients": 4 * trainable,
            "optimizer": 8 * trainable, "activations": max(activations, step - logits), "logits": logits}


def _prefill_units(m: Model) -> int:
    """Values per token alive in one block of a forward without gradients (the MLP's are the largest)."""
    s = m.shape
    return 3 * s.intermediate + 4 * s.hidden + s.heads * s.head_dim + 2 * s.kv_heads * s.head_dim


def sample_parts(m: Model, cfg: Config, t: Tokens, base: dict[str, int]) -> dict[str, int]:
    rows = max(1, min(cfg.sample.batch_size, t.prompts or cfg.sample.batch_size))
    width = t.prompt + t.answer
    mask = rows * t.prompt * width if rows > 1 else 0  # a padded batch's boolean 4-D mask
    return {**base, "kv_cache": rows * width * m.shape.kv_bytes_per_token(m.act),
            "activations": rows * t.prompt * _prefill_units(m) * m.act + mask,
            "logits": rows * m.vocab * 4 * 2}  # one position per row, float32, and its masked copy


def dfs_parts(m: Model, cfg: Config, t: Tokens, base: dict[str, int]) -> dict[str, int]:
    return {**base, "kv_cache": (t.prompt + t.answer) * m.shape.kv_bytes_per_token(m.act),
            "activations": t.prompt * _prefill_units(m) * m.act, "logits": m.vocab * 4 * 2}


def rescore_rows(m: Model, cfg: Config, t: Tokens) -> int:
    """Answers per forward pass as engine.score_shared chooses them: at most rescore.batch_size, and as many
    copies of the prompt's cache as rescore.cache_mb holds."""
    cache = max(1, t.rescore_prompt * m.shape.kv_bytes_per_token(m.act))
    return max(1, min(cfg.rescore.batch_size, int(cfg.rescore.cache_mb * 2 ** 20 // cache)))


def rescore_parts(m: Model, cfg: Config, t: Tokens, base: dict[str, int]) -> dict[str, int]:
    rows, p, a = rescore_rows(m, cfg, t), t.rescore_prompt, t.rescore_answer
    per_token = m.shape.kv_bytes_per_token(m.act)
    kv = (p + a) * per_token if rows == 1 else p * per_token + rows * (p + a) * per_token
    return {**base, "kv_cache": kv,
            "activations": max(p, rows * a) * _prefill_units(m) * m.act + rows * a * (p + a),
            "logits": m.logit_bytes(rows * a) + 2 * min(LOGIT_CHUNK, rows * a) * m.vocab * 4}


def engine_need(m: Model, max_len: int) -> int:
    """What vLLM needs inside its share at least: its copy of the weights (4-bit too where the kit's model
    is), one full-length sequence's KV cache, and a GiB for its activations and CUDA graphs."""
    return m.weight_bytes() + max_len * m.shape.kv_bytes_per_token(2) + GiB


def plan_phases(m: Model, cfg: Config, t: Tokens, capacity: int, max_len: int) -> list[Phase]:
    """Every phase's parts for this model, config and task, without lowering anything."""
    weights = m.weight_bytes()
    ttt = cfg.ttt
    adapter = 2 * 4 * m.lora_params(ttt.rank, ttt.target_modules)
    base = {"weights": weights, "adapter": adapter}
    vllm = cfg.model.backend == "vllm"
    share = int(cfg.model.vllm_memory_fraction * (capacity + 0.5 * GiB)) if vllm else 0  # of the whole card
    out = [Phase("load", {"weights": weights})]
    if ttt.enabled and ttt.steps > 0:
        out.append(Phase("ttt", ttt_parts(m, cfg, t, weights)))
    if vllm:  # sampling and rescoring run in the engine's share
        out.append(Phase("sample" if cfg.sample.method == "greedy" else "dfs", dict(base)))
    elif cfg.sample.method == "greedy":
        out.append(Phase("sample", sample_parts(m, cfg, t, base)))
    else:
        out.append(Phase("dfs", dfs_parts(m, cfg, t, base)))
    if cfg.rescore.enabled and not vllm:
        out.append(Phase("rescore", rescore_parts(m, cfg, t, base)))
    for p in out:
        if vllm:
            p.parts["engine"] = share
        p.predicted = sum(p.parts.values())
        p.margin = _margin(p.predicted)
        p.fits = p.total <= capacity
    if vllm:
        need = engine_need(m, max_len)
        out.append(Phase("engine", {"engine": need}, need, 0, need <= share,
                         f"vLLM's needs within its share of {share / GiB:.1f} GiB"))
    return out


# What a phase that does not fit halves, down to one (each exists in the code that sets the phase's memory).
KNOBS = {"ttt": ("ttt", "micro_batch_size"), "sample": ("sample", "batch_size"), "rescore": ("rescore", "batch_size")}


def _knob(cfg: Config, phase: str) -> int | None:
    if phase not in KNOBS:
        return None
    section, key = KNOBS[phase]
    value = getattr(getattr(cfg, section), key)
    if phase == "ttt" and value <= 0:
        value = cfg.ttt.batch_size
    return value


def lower_to_fit(m: Model, cfg: Config, t: Tokens, capacity: int, max_len: int) -> tuple[Config, list[Phase], dict]:
    """A copy of `cfg` with each phase's knob halved until the phase fits (or is at one), the phases as
    planned with it, and the settings lowered (name -> new value)."""
    cfg = copy.deepcopy(cfg)
    lowered: dict[str, Any] = {}
    while True:
        phases = plan_phases(m, cfg, t, capacity, max_len)
        over = [p for p in phases if not p.fits and (_knob(cfg, p.name) or 0) > 1]
        engine = next((p for p in phases if p.name == "engine"), None)
        if not over:
            break
        for p in over:
            section, key = KNOBS[p.name]
            value = _knob(cfg, p.name) // 2
            setattr(getattr(cfg, section), key, value)
            lowered[f"{section}.{key}"] = value
    if engine is not None and engine.fits:  # the engine's share: what the training model leaves
        model_peak = max(p.total - p.parts.get("engine", 0) for p in phases if p.name != "engine")
        share = max(p.parts.get("engine", 0) for p in phases)
        room = capacity - model_peak
        if share > room and engine.predicted <= room:
            cfg.model.vllm_memory_fraction = round(room / (capacity + 0.5 * GiB) - 0.005, 3)
            lowered["model.vllm_memory_fraction"] = cfg.model.vllm_memory_fraction
            phases = plan_phases(m, cfg, t, capacity, max_len)
    return cfg, phases, lowered


def _alternatives(cfg: Config, m: Model) -> list[tuple[str, Config, Model]]:
    """Single settings that lower memory, in the order the plan suggests them."""
    out = []

    def alt(setting: str, section: str, key: str, value, model: Model = m) -> None:
        c = copy.deepcopy(cfg)
        setattr(getattr(c, section), key, value)
        out.append((setting, c, model))

    if not m.nf4:
        alt("model.load_in_4bit=true", "model", "load_in_4bit", True, Model(m.shape, m.vocab, True, m.act, m.unsloth))
    if not cfg.ttt.gradient_checkpointing:
        alt("ttt.gradient_checkpointing=true", "ttt", "gradient_checkpointing", True)
    if cfg.model.backend == "vllm":
        alt('model.backend="transformers"', "model", "backend", "transformers")
    if cfg.rescore.enabled:
        alt("rescore.enabled=false", "rescore", "enabled", False)
    for rank in (cfg.ttt.rank // 2, cfg.ttt.rank // 4):
        if rank >= 8:
            alt(f"ttt.rank={rank}", "ttt", "rank", rank)
    return out


def fit_plan(m: Model, cfg: Config, t: Tokens, gpu: Gpu | int, max_len: int) -> tuple[Config, Plan]:
    """The config lowered to fit `gpu` (a Gpu, or usable bytes) and its plan. When it cannot fit, the plan
    says so and names the first single setting of `_alternatives` that would make it fit."""
    capacity = int(gpu.usable_gib * GiB) if isinstance(gpu, Gpu) else int(gpu)
    name = gpu.name if isinstance(gpu, Gpu) else f"{capacity / GiB:.1f} GiB"
    lowered_cfg, phases, lowered = lower_to_fit(m, cfg, t, capacity, max_len)
    precision = "nf4" if m.nf4 else "bf16" if m.act == 2 else "fp32"
    plan = Plan(m.shape.name, precision, m.vocab, name, capacity, t, phases, lowered, all(p.fits for p in phases))
    if isinstance(gpu, Gpu) and not gpu.bf16:
        plan.notes.append(f"{gpu.name}: {gpu.note}")
    if not plan.fits:
        plan.suggestion = _suggest(m, cfg, t, capacity, max_len)
    return lowered_cfg, plan


def _suggest(m: Model, cfg: Config, t: Tokens, capacity: int, max_len: int, depth: int = 2) -> str:
    """The first setting of `_alternatives` with which every phase fits; else the first pair of them."""
    def fits(model: Model, c: Config) -> bool:
        return all(p.fits for p in lower_to_fit(model, c, t, capacity, max_len)[1])

    alternatives = _alternatives(cfg, m)
    for setting, c, model in alternatives:
        if fits(model, c):
            return setting
    if depth > 1:
        for setting, c, model in alternatives:
            more = _suggest(model, c, t, capacity, max_len, depth - 1)
            if not more.startswith("no "):
                return f"{setting} and {more}"
    return ("no setting of the preset makes it fit: a smaller model, or a shorter model.max_length (longer "
            "tasks then lose demonstrations)")


# ------------------------------------------------------------------------------------------------ output

COLUMNS = ("weights", "adapter", "gradients", "optimizer", "activations", "kv_cache", "logits", "engine")
HEADS = ("weights", "adapter", "grads", "adamw", "activ.", "kv", "logits", "vllm")


def table(plan: Plan) -> list[str]:
    """The plan as text: GiB per component and phase, the total with the margin, the verdict."""
    g = lambda b: f"{b / GiB:7.2f}" if b else "      -"  # noqa: E731
    t = plan.tokens
    lines = [f"{plan.model} ({plan.precision}, vocabulary {plan.vocab}) on {plan.gpu} ({plan.capacity / GiB:.1f} GiB "
             f"usable); tokens: ttt {t.ttt} "
             f"({t.labelled} labelled), sampling {t.prompt}+{t.answer}, rescoring {t.rescore_prompt}+{t.rescore_answer}",
             f"{'phase':<8}" + "".join(f"{c:>8}" for c in HEADS) + f"{'margin':>8}{'total':>8}  verdict (GiB)"]
    for p in plan.phases:
        cells = "".join(f" {g(p.parts.get(c, 0))}" for c in COLUMNS)
        verdict = "fits" if p.fits else "DOES NOT FIT"
        lines.append(f"{p.name:<8}{cells} {g(p.margin)} {g(p.total)}  {verdict}" + (f" ({p.note})" if p.note else ""))
    if plan.lowered:
        lines.append("lowered to fit: " + ", ".join(f"{k}={v}" for k, v in plan.lowered.items()))
    lines += [f"note: {n}" for n in plan.notes]
    if plan.fits:
        lines.append(f"verdict: fits {plan.gpu}")
    else:
        how = plan.suggestion if plan.suggestion.startswith("no ") else f"it would with {plan.suggestion}"
        lines.append(f"verdict: does NOT fit {plan.gpu}; {how}")
    return lines
