"""Which format a model directory speaks, read from its files before the model is loaded.

    a kit-made model   says so in arc_format.json (written by `python -m solver make-model`)
    nvarc              ships NVARC's 16-token vocabulary (0-9, newline, user, assistant and the three Qwen
                       chat tokens) and a chat template with <|im_start|>
    architects         ships a vocabulary of single characters (the ARChitects' cut: letters, digits, a few
                       signs, the newline) with a BOS token
    anything else      an error that names model.format: a Llama-3 chat model (marc) looks like every other
                       Llama-3 model, so it has to be named

model.format, when set, always wins. Only the tokenizer's files are read (tokenizer.json,
tokenizer_config.json, chat_template.jinja).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .profiles import PROFILES, FormatError

MARKER = "arc_format.json"
AUTO = "auto"
NVARC_VOCAB = frozenset([*"0123456789", "\u010a", "user", "assistant"])
NVARC_ADDED = frozenset(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
ARCHITECTS_NEEDS = frozenset("0123456789IO+/-=ABCxyz")
MAX_CUT_VOCAB = 256  # a vocabulary of single characters this small was cut; a full one has ~100k tokens


@dataclass(frozen=True)
class Detection:
    format: str
    how: str  # why: the setting, the marker, or what the vocabulary looks like


def write_marker(directory: str | Path, fmt: str) -> Path:
    """Record in a model directory the format its model was trained on."""
    if fmt not in PROFILES:
        raise FormatError(f"unknown format {fmt!r}; formats: {', '.join(PROFILES)}")
    path = Path(directory) / MARKER
    path.write_text(json.dumps({"format": fmt}) + "\n")
    return path


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _tokenizer_facts(directory: Path) -> tuple[set[str], set[str], bool, str]:
    """(vocabulary words, added tokens, has a BOS token, chat template) from the tokenizer's files."""
    tok = _read_json(directory / "tokenizer.json")
    vocab = (tok.get("model") or {}).get("vocab") or {}
    words = set(vocab) if isinstance(vocab, dict) else {w for w, _ in vocab}
    added = {t.get("content") for t in tok.get("added_tokens") or []}
    config = _read_json(directory / "tokenizer_config.json")
    bos = config.get("bos_token")
    template = config.get("chat_template") or ""
    if (directory / "chat_template.jinja").is_file():
        template = (directory / "chat_template.jinja").read_text()
    return words - added, added, bool(bos), template if isinstance(template, str) else json.dumps(template)


def detect_format(directory: str | Path, configured: str = AUTO) -> Detection:
    """The format to run the model in `directory` with; `configured` (model.format) overrides."""
    directory = Path(directory)
    if configured != AUTO:
        if configured not in PROFILES:
            raise FormatError(f"model.format must be one of {AUTO}, {', '.join(PROFILES)}; got {configured!r}")
        return Detection(configured, "model.format")
    marker = _read_json(directory / MARKER).get("format")
    if marker:
        if marker not in PROFILES:
            raise FormatError(f"{directory / MARKER} names format {marker!r}; formats: {', '.join(PROFILES)}")
        return Detection(marker, MARKER)
    words, added, bos, template = _tokenizer_facts(directory)
    if words == NVARC_VOCAB and NVARC_ADDED <= added and "<|im_start|>" in template:
        return Detection("nvarc", "NVARC's 16-token vocabulary and Qwen chat template")
    if (words and len(words) <= MAX_CUT_VOCAB and all(len(w) == 1 for w in words)
            and ARCHITECTS_NEEDS <= words and bos):
        return Detection("architects", f"a cut vocabulary of {len(words)} single characters with a BOS token")
    raise FormatError(f"cannot tell which format the model in {directory} was trained on (no {MARKER}, and "
                      f"its vocabulary is neither NVARC's nor the ARChitects'); set model.format to one of "
                      f"{', '.join(PROFILES)} (--set model.format=NAME)")
