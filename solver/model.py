"""Loading a causal language model from a local directory, strictly offline; model surgery (shrinking the
vocabulary to the ARC symbols); building tiny real models.

Loaders, chosen by `choose_loader` from the config and the machine:
    cpu       float32 through transformers (no GPU, or model.device = "cpu")
    bf16      bfloat16 on the GPU through transformers
    bnb-4bit  NF4 4-bit weights through bitsandbytes (model.load_in_4bit); TTT then trains QLoRA adapters
    unsloth   unsloth's FastLanguageModel (model.unsloth and unsloth installed), 4-bit or not
bitsandbytes and unsloth are imported only when chosen: neither is needed, or useful, without a GPU.

`make_tiny_model` writes a real model directory (Llama config with random weights + a character tokenizer
built locally), so that tests, demos and the README run with no download.
"""
from __future__ import annotations

import importlib.util
import string
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers

from .config import ConfigError, ModelConfig
from .formats import Format, bind, detect_format, write_marker
# The kit's one offline switch (Hub, telemetry and trackers off); `local_files_only=True` on every load below
# is what guarantees no download, the variables cover what the libraries load on their own.
from .kaggle_runtime import go_offline

LOADERS = ("cpu", "bf16", "bnb-4bit", "unsloth")


class ModelError(ConfigError):
    """A model that cannot be loaded as configured; the message names the path or the setting."""


@dataclass
class LoadedModel:
    model: torch.nn.Module
    format: Format  # the model's format (solver/formats/), in the ids of the loaded (maybe shrunk) vocabulary
    device: torch.device
    loader: str
    max_length: int  # tokens of prompt + answer: model.max_length, capped by the model's positions

    @property
    def quantized(self) -> bool:
        return bool(getattr(self.model, "is_loaded_in_4bit", False))


def choose_loader(cfg: ModelConfig, cuda_available: bool, unsloth_installed: bool) -> str:
    if cfg.device == "cuda" and not cuda_available:
        raise ModelError("model.device is 'cuda' but torch sees no CUDA device")
    if cfg.device == "cpu" or not cuda_available:
        return "cpu"
    if cfg.unsloth and unsloth_installed:
        return "unsloth"
    return "bnb-4bit" if cfg.load_in_4bit else "bf16"


def bnb_config() -> transformers.BitsAndBytesConfig:
    """NF4 with double quantisation and bf16 compute: the QLoRA recipe (Dettmers et al. 2023)."""
    return transformers.BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                           bnb_4bit_use_double_quant=True,
                                           bnb_4bit_compute_dtype=torch.bfloat16)


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def check_model_dir(path: str | Path) -> Path:
    if not str(path):
        raise ModelError("no model directory given (model.path is empty)")
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist")
    if not (path / "config.json").is_file():
        raise ModelError(f"model directory {path} has no config.json; expected a Hugging Face model "
                         f"directory (config.json, weights, tokenizer files)")
    return path


def dtype_kwarg(dtype: torch.dtype | str) -> dict:
    # transformers renamed `torch_dtype` to `dtype` in 4.56; the old name warns from then on.
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def load_model(cfg: ModelConfig) -> LoadedModel:
    path = check_model_dir(cfg.path)
    go_offline()
    transformers.logging.disable_progress_bar()  # a bar per loaded shard would flood the run's log
    loader = choose_loader(cfg, torch.cuda.is_available(), _installed("unsloth"))
    if loader == "bnb-4bit" and not _installed("bitsandbytes"):
        raise ModelError("model.load_in_4bit needs bitsandbytes installed (pip install bitsandbytes)")
    try:
        if loader == "unsloth":
            model, tokenizer = _load_unsloth(path, cfg)
        else:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = _load_transformers(path, loader)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the model in {path}: {exc}") from exc
    model.eval()
    fmt = model_format(path, cfg, tokenizer)
    keep = fmt.shrink_ids() if cfg.shrink_vocab else None  # None: cut already, or a text format
    if keep is not None:
        fmt = fmt.remapped(shrink_embeddings(model, keep))
    positions = getattr(model.config, "max_position_embeddings", None) or cfg.max_length
    device = next(model.parameters()).device
    return LoadedModel(model, fmt, device, loader, min(cfg.max_length, positions))


def model_format(path: Path, cfg: ModelConfig, tokenizer) -> Format:
    """The format the model in `path` speaks (model.format, or detected), bound to its tokenizer."""
    return bind(detect_format(path, cfg.format).format, tokenizer)


def _load_transformers(path: Path, loader: str) -> torch.nn.Module:
    kwargs: dict = {"local_files_only": True}
    if loader == "cpu":
        kwargs.update(dtype_kwarg(torch.float32))
    else:
        kwargs.update(dtype_kwarg(torch.bfloat16), device_map={"": torch.cuda.current_device()})
        if loader == "bnb-4bit":
            kwargs["quantization_config"] = bnb_config()
    return transformers.AutoModelForCausalLM.from_pretrained(path, **kwargs)


def _load_unsloth(path: Path, cfg: ModelConfig):
    # Not exercised by the CPU test suite (unsloth needs a GPU). unsloth patches transformers when it is
    # imported, so it is imported here, only when chosen.
    from unsloth import FastLanguageModel
    return FastLanguageModel.from_pretrained(model_name=str(path), max_seq_length=cfg.max_length,
                                             dtype=None, load_in_4bit=cfg.load_in_4bit,
                                             local_files_only=True)


# ---------------------------------------------------------------------------------- vocabulary shrinking

def shrink_embeddings(model, keep: list[int]) -> dict[int, int]:
    """Keep only the embedding and output-head rows of the ids `keep` (a format's symbols); returns the
    mapping from old ids to new ones (new id = position in `keep`).

    The model then computes logits over a dozen symbols instead of its whole vocabulary, and its
    embeddings shrink from (V, d) to (16, d). The symbols keep their trained vectors, so the shrunk model
    gives exactly the logits the full one gives for those tokens."""
    mapping = {old: new for new, old in enumerate(keep)}
    inp = model.get_input_embeddings()
    out = model.get_output_embeddings()
    tied = out is not None and out.weight is inp.weight
    with torch.no_grad():
        index = torch.tensor(keep, device=inp.weight.device)
        new_inp = inp.weight.index_select(0, index).clone()
        new_out = None if out is None or tied else out.weight.index_select(0, index.to(out.weight.device)).clone()
        new_bias = (None if out is None or tied or getattr(out, "bias", None) is None
                    else out.bias.index_select(0, index.to(out.bias.device)).clone())
        # mean_resizing only matters when growing; shrinking skips its costly covariance step.
        model.resize_token_embeddings(len(keep), mean_resizing=False)
        model.get_input_embeddings().weight.copy_(new_inp)
        if new_out is not None:
            model.get_output_embeddings().weight.copy_(new_out)
        if new_bias is not None:
            model.get_output_embeddings().bias.copy_(new_bias)
    for config in (model.config, getattr(model, "generation_config", None)):
        if config is None:
            continue
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
            old = getattr(config, key, None)
            if isinstance(old, list):
                setattr(config, key, [mapping[t] for t in old if t in mapping] or None)
            elif old is not None:
                setattr(config, key, mapping.get(old))
    return mapping


# ------------------------------------------------------------------------------------------ tiny models

# hidden size, MLP size, layers, attention heads, key/value heads (fewer than heads: grouped-query
# attention, as in the real models the kit runs)
SIZES = {
    "tiny": (64, 128, 2, 4, 2),
    "small": (128, 256, 2, 4, 2),
}
# Tiny models live on short synthetic tasks. A low RoPE base spreads the rotary frequencies over a few
# hundred positions: in the ttt_mini runs a small model learnt to copy 4x4 grids within ~70 steps with base
# 100, and stalled on the colour marginals for 300 steps with base 10000 (Llama's default).
TINY_ROPE_THETA = 100.0


def build_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """A character-level tokenizer over printable ASCII and '\\n' (about 100 tokens), so that vocabulary
    shrinking has something to shrink."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    chars = ["\n"] + [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]
    vocab = {t: i for i, t in enumerate(specials + chars)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.decoder = decoders.Fuse()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                                pad_token="<pad>", unk_token="<unk>")


def make_tiny_model(directory: str | Path, size: str = "tiny", seed: int = 0, max_positions: int = 8192,
                    rope_theta: float = TINY_ROPE_THETA) -> Path:
    """Write a randomly initialised Llama-architecture model and its tokenizer to `directory`."""
    if size not in SIZES:
        raise ModelError(f"unknown model size {size!r}; sizes: {', '.join(SIZES)}")
    hidden, mlp, layers, heads, kv_heads = SIZES[size]
    tokenizer = build_tokenizer()
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=mlp, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True, rope_theta=rope_theta)
    with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's generator
        torch.manual_seed(seed)
        model = transformers.LlamaForCausalLM(config)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    transformers.logging.disable_progress_bar()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_marker(directory, "kit")  # its tokenizer is one of single characters: without this, it reads as the ARChitects'
    return directory
