"""Tokenizers built locally to match the published checkpoints' own, and tiny real models of each family.

No weights can be downloaded here, so the tests and demos of the format profiles (solver/formats/) run on
models built the way each family's checkpoints are shipped:

    nvarc       Qwen3 architecture; NVARC's 16-token word-level vocabulary behind Qwen's pre-tokenizer,
                the ids as published (digits 0-9, newline 10, user 11, assistant 12, <|endoftext|> 13,
                <|im_start|> 14, <|im_end|> 15), no BOS, Qwen's chat template
    architects  Mistral architecture; a single-character vocabulary (letters, digits, !?.:,;*+/-=, the
                newline, BOS and EOS): no merges, no unknown token, BOS added by default
    marc        Llama architecture; a byte-level BPE trained here on grids in marc's text (so tokens are not
                one per cell), Llama-3's special tokens and chat template
    kit         solver.model.make_tiny_model

Facts: ../shared/formats.md. A random model solves nothing; tests pre-train these to copy grids.
"""
from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import torch
import transformers

from .formats import PROFILES
from .model import SIZES, TINY_ROPE_THETA, ModelError, make_tiny_model

FAMILIES = ("kit", "nvarc", "architects", "marc")

# Qwen2/3's pre-tokenizer split (tokenizer.json of the Qwen3 checkpoints, kept by NVARC): one digit per piece.
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
              r"\s*[\r\n]+|\s+(?!\S)|\s+")
# Llama-3's: digits in groups of up to three.
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
NVARC_WORDS = [*"0123456789", "\u010a", "user", "assistant"]  # ids 0-12; 'Ċ' is byte-level's newline
NVARC_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 13-15
NVARC_CHAT = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
              "+ '<|im_end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
LLAMA3_CHAT = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
               "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
               "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
               "{{ content }}{% endfor %}{% if add_generation_prompt %}"
               "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
ARCHITECTS_CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits + "!?.:,;*+/-="


def build_nvarc_tokenizer() -> transformers.PreTrainedTokenizerFast:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(NVARC_WORDS)}, unk_token="<|endoftext|>"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in NVARC_SPECIALS])
    out = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                               bos_token=None, add_bos_token=False, model_max_length=262144)
    out.chat_template = NVARC_CHAT
    return out


def build_architects_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """The vocabulary the ARChitects' keep_single_char_tokens leaves: BOS and EOS, then the kept characters in
    the order of their old ids (bytes first), renumbered from 0; no merges, so text splits into characters."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    chars = sorted(set(ARCHITECTS_CHARS)) + ["\u010a"]
    vocab = {t: i for i, t in enumerate(["<s>", "</s>", *sorted(chars, key=lambda c: (c != "\u010a", c))])}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", vocab["<s>"])])
    from tokenizers import AddedToken
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ("<s>", "</s>")])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>")


def _marc_corpus(seed: int = 0, n: int = 400) -> list[str]:
    """Text in marc's format (instruction, grids as numpy prints them, '#'), for the BPE's merges."""
    style, answer = PROFILES["marc"].style, PROFILES["marc"].answer_style
    rng = np.random.default_rng(seed)
    out = [PROFILES["marc"].instruction]
    for _ in range(n):
        h, w = rng.integers(1, 11, size=2)
        g = rng.integers(0, 10, size=(h, w)).astype(np.uint8)
        out.append(f"{style.render(g)} -> {answer.render(g)}\n")
    return out


def build_marc_tokenizer(vocab_size: int = 400) -> transformers.PreTrainedTokenizerFast:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=LLAMA3_SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_marc_corpus(), trainer)
    out = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>",
                                               eos_token="<|eot_id|>")
    out.chat_template = LLAMA3_CHAT
    return out


ARCHITECTURES = {
    "nvarc": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM, build_nvarc_tokenizer),
    "architects": (transformers.MistralConfig, transformers.MistralForCausalLM, build_architects_tokenizer),
    "marc": (transformers.LlamaConfig, transformers.LlamaForCausalLM, build_marc_tokenizer),
}


def make_family_model(directory: str | Path, family: str = "kit", size: str = "tiny", seed: int = 0,
                      max_positions: int = 8192, rope_theta: float = TINY_ROPE_THETA) -> Path:
    """A randomly initialised model of the family's architecture, with its tokenizer, in `directory`."""
    if family == "kit":
        return make_tiny_model(directory, size, seed, max_positions, rope_theta)
    if family not in ARCHITECTURES:
        raise ModelError(f"unknown model family {family!r}; families: {', '.join(FAMILIES)}")
    if size not in SIZES:
        raise ModelError(f"unknown model size {size!r}; sizes: {', '.join(SIZES)}")
    config_cls, model_cls, build = ARCHITECTURES[family]
    hidden, mlp, layers, heads, kv_heads = SIZES[size]
    tokenizer = build()
    config = config_cls(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=mlp, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, head_dim=hidden // heads,
        max_position_embeddings=max_positions, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
        rope_theta=rope_theta)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_cls(config)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    transformers.logging.disable_progress_bar()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
