"""Format profiles: what turns a task into one checkpoint family's tokens, and its answer back into a grid.

A fine-tuned model works only on the exact sequence it was fine-tuned on, so each family the kit runs has a
profile (facts and sources: ../shared/formats.md):

    kit         the kit's own format: [bos] I \\n rows O \\n rows <eos> ..., every row closed by \\n
    nvarc       NVARC (Qwen3, 16-token vocabulary): Qwen chat turns, <|im_start|>user\\n rows <|im_end|>
                <|im_start|>assistant\\n rows <|im_end|>, rows joined by \\n (the last one not closed)
    architects  the ARChitects (Mistral/Llama, single-character vocabulary): <s> + 48 letters, then per
                pair I rows +/-=O rows <eos>, every row closed by \\n
    marc        MIT's TTT models (Llama-3 Instruct): text through the tokenizer's chat template, grids as
                numpy prints them, demonstrations in the system message, the answer closed by '#'

A profile is declarative. `bind(profile, tokenizer)` makes the `Format` the rest of the kit calls: token
ids per symbol looked up one by one in the vocabulary (mode "ids": a tokenizer that would merge "00" never
sees a merged form), or the text rendered through the model's chat template and tokenized (mode "chat":
tokens are then not one per cell, and the answer's tokens are read back as text).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..config import ConfigError
from ..tasks import Example, Grid
from .gridtext import GridStyle, Parsed, TextGrammar

BOS, EOS = "<bos>", "<eos>"  # atoms standing for the tokenizer's own begin / end-of-sequence tokens
MODES = ("ids", "chat")
CUTS = ("longest", "front")  # which demonstrations an over-long task loses first

MARC_INSTRUCTION = ("Figure out the underlying transformation in the following examples and apply it to the "
                    "test case. Here are some examples from this transformation, your answer must follow the "
                    "format.\nThe input-output grids are provided as python arrays:\n")


class FormatError(ConfigError):
    """A tokenizer that cannot write a profile's format, or a format that is not known."""


class ContextError(ValueError):
    """A task whose test input cannot fit the context even without demonstrations."""


@dataclass(frozen=True)
class Profile:
    name: str
    mode: str                          # ids | chat
    style: GridStyle                   # how a grid is written
    answer_suffix: str = ""            # text after an output grid, before the end token (marc: '#')
    bos: bool = True                   # ids: start with the tokenizer's BOS, when it has one
    preamble: tuple[str, ...] = ()     # ids: atoms before the first pair
    input_open: tuple[str, ...] = ()   # ids: atoms before an input grid
    input_close: tuple[str, ...] = ()  # ids: atoms between an input grid and its output grid
    end: str = EOS                     # the atom that closes an answer
    mask_first_output: bool = True     # no loss on the first pair's output (nothing before it to learn from)
    cut: str = "longest"               # longest: drop the longest demonstrations first; front: the first ones
    vocab_cut: bool = False            # its checkpoints ship a vocabulary already cut to the format
    instruction: str = ""              # chat: the system message's text before the demonstrations
    io_sep: str = ""                   # chat: between an input grid and its output
    cleanup: bool = False              # chat: surrounding whitespace of a decoded answer is dropped
    summary: str = ""

    @property
    def cuttable(self) -> bool:
        """Whether the vocabulary may be cut to the format's symbols: not when it ships cut already, nor for
        a text format, which needs the whole vocabulary."""
        return self.mode == "ids" and not self.vocab_cut

    @property
    def answer_style(self) -> GridStyle:
        return replace(self.style, grid_close=self.style.grid_close + self.answer_suffix)


ROWS_CLOSED = GridStyle(row_close="\n")
PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("kit", "ids", ROWS_CLOSED, input_open=("I", "\n"), input_close=("O", "\n"),
            summary="the kit's own models (python -m solver make-model)"),
    Profile("nvarc", "ids", GridStyle(row_sep="\n"), bos=False,
            input_open=("<|im_start|>", "user", "\n"), input_close=("<|im_end|>", "<|im_start|>", "assistant", "\n"),
            end="<|im_end|>", mask_first_output=False, cut="front", vocab_cut=True,
            summary="NVARC's Qwen3 4B/2B (ARC Prize 2025), 16-token vocabulary"),
    Profile("architects", "ids", ROWS_CLOSED, preamble=tuple("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjklmnpqrstuvwxyz"),
            input_open=("I",), input_close=tuple("+/-=O"), cut="front", vocab_cut=True,
            summary="the ARChitects' Mistral-NeMo-Minitron 8B / Llama-3.2 3B (ARC Prize 2024)"),
    Profile("marc", "chat", GridStyle("[", "[", " ", "]", "\n ", "]"),
            answer_suffix="#", instruction=MARC_INSTRUCTION, io_sep=" -> ", cut="front", cleanup=True,
            summary="MIT TTT's Llama-3 8B (marc), text through the Llama-3 chat template"),
)}


@dataclass(frozen=True)
class Encoded:
    """A token sequence with, per token, the index of the pair it belongs to (-1 before the first pair)
    and whether it is part of an output answer. `kept` lists the demonstrations that fit, in task order."""
    ids: np.ndarray
    pair: np.ndarray
    is_answer: np.ndarray
    kept: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)


def fit_demos(lengths: Sequence[int], fixed: int, max_len: int, cut: str, task_id: str) -> tuple[int, ...]:
    """Indices of the demonstrations (token counts `lengths`) to keep so that they and `fixed` tokens fit
    in `max_len`; the query is in `fixed` and is never dropped."""
    if fixed > max_len:
        raise ContextError(f"task {task_id}: the test input alone needs {fixed} tokens with its answer; "
                          f"the context holds {max_len}")
    kept = list(range(len(lengths)))
    total = fixed + sum(lengths)
    order = kept[:] if cut == "front" else sorted(kept, key=lambda i: (-lengths[i], -i))
    for i in order:
        if total <= max_len:
            break
        kept.remove(i)
        total -= lengths[i]
    return tuple(kept)


class Format:
    """A profile bound to one tokenizer: everything the kit's model path asks of a format."""
    profile: Profile
    pad: int
    bos: int | None
    end: int                 # the token closing an answer (the last token of `answer`)
    stops: tuple[int, ...]   # tokens that end a generated answer
    answer_ids: list[int]    # tokens an answer may use, the end tokens included
    token_text: dict[int, str]  # the text of each answer token but the end tokens

    @property
    def name(self) -> str:
        return self.profile.name

    def grammar(self) -> TextGrammar:
        return TextGrammar(self.profile.answer_style, self.token_text)

    def answer_length(self, grid: Grid) -> int:
        return len(self.answer(grid))

    @property
    def max_answer_tokens(self) -> int:
        """Tokens of the longest answer: at most one per character, and the end token."""
        return self.profile.answer_style.max_chars + 1

    def reserve(self, demos: Sequence[Example], query_input: Grid) -> int:
        """Answer tokens to keep free after a prompt: the largest demonstration output, or the test input's
        size if larger, since many tasks answer with a grid the size of their input."""
        sizes = [self.answer_length(d.output) for d in demos if d.output is not None]
        return min(self.max_answer_tokens, max(sizes + [self.answer_length(query_input)]))

    def loss_mask(self, enc: Encoded, mask_first: bool | None = None) -> np.ndarray:
        """The tokens that carry loss in training: the outputs, without the first pair's unless the
        profile (or `mask_first`) says otherwise; a single pair keeps its output, there is nothing else."""
        first = self.profile.mask_first_output if mask_first is None else mask_first
        loss = enc.is_answer.copy()
        if first and enc.pair.max() > 0:
            loss &= enc.pair != 0
        return loss

    def parse(self, ids: Sequence[int]) -> Parsed:
        ids = [int(i) for i in ids]
        stop = next((n for n, t in enumerate(ids) if t in self.stops), None)
        if stop is None:
            return Parsed(None, "no end token")
        body = ids[:stop]
        if not body:
            return Parsed(None, "empty output")
        if any(t not in self.token_text for t in body):
            return Parsed(None, "token outside the grid alphabet")
        text = "".join(self.token_text[t] for t in body)
        return self.profile.answer_style.parse(text.strip() if self.profile.cleanup else text)

    # implemented per mode
    def encode(self, demos: Sequence[Example], query: Example, max_len: int, reserve: int = 0,
               task_id: str = "?") -> Encoded:
        raise NotImplementedError

    def answer(self, grid: Grid) -> np.ndarray:
        raise NotImplementedError

    def shrink_ids(self) -> list[int] | None:
        """The ids to keep when the vocabulary is cut to the format; None: this format is never cut."""
        raise NotImplementedError

    def remapped(self, mapping: dict[int, int]) -> "Format":
        raise NotImplementedError


# ------------------------------------------------------------------------------------ one token per symbol

def _spellings(atom: str) -> list[str]:
    """The ways vocabularies write a one-character symbol: as is, byte-level BPE ('\\n' is 'Ċ', ' ' is 'Ġ'),
    sentencepiece (a word start marked with U+2581, bytes as <0x0A>)."""
    out = [atom]
    if len(atom) == 1:
        out.append("\u2581" + atom)
        if len(atom.encode()) == 1:
            out.append(f"<0x{ord(atom):02X}>")
            if ord(atom) <= 32:  # GPT-2's byte-to-unicode map moves the control bytes and space up by 256
                out.append(chr(256 + ord(atom)))
    return out


def token_id(tokenizer, atom: str, profile: str) -> int:
    """The one token of `atom` in the tokenizer: its BOS/EOS, a special token, a word of the vocabulary."""
    if atom in (BOS, EOS):
        found = tokenizer.bos_token_id if atom == BOS else tokenizer.eos_token_id
        if found is None:
            raise FormatError(f"format {profile}: the tokenizer has no {'BOS' if atom == BOS else 'end-of-sequence'} token")
        return int(found)
    vocab = tokenizer.get_vocab()
    try:
        ids = tokenizer.encode(atom, add_special_tokens=False)
    except Exception:  # a word-level vocabulary without an unknown token raises on anything else
        ids = []
    if len(ids) == 1 and tokenizer.decode(ids) == atom:
        return int(ids[0])
    for s in _spellings(atom):
        if s in vocab:
            return int(vocab[s])
    raise FormatError(f"format {profile}: the tokenizer has no single token for {atom!r} (it encodes as {ids}); "
                      f"this format needs one token per symbol. Is model.format right for this model?")


class IdFormat(Format):
    """Ids built symbol by symbol (kit, nvarc, architects)."""

    def __init__(self, profile: Profile, ids: dict[str, int], bos: int | None, pad: int):
        self.profile = profile
        self.ids = ids
        self.bos = bos
        self.pad = pad
        self.end = ids[profile.end]
        self.stops = (self.end,)
        chars = sorted(profile.answer_style.alphabet)
        self.token_text = {ids[c]: c for c in chars}
        self.answer_ids = [*self.token_text, self.end]
        if len(set(self.answer_ids)) != len(chars) + 1:
            raise FormatError(f"format {profile.name}: the tokenizer maps two answer symbols to one id: "
                              f"{ {c: ids[c] for c in chars} } end {self.end}")
        self._head = ([bos] if bos is not None else []) + [ids[a] for a in profile.preamble]
        self._open = [ids[a] for a in profile.input_open]
        self._close = [ids[a] for a in profile.input_close]

    @classmethod
    def bind(cls, profile: Profile, tokenizer) -> "IdFormat":
        atoms = {*profile.preamble, *profile.input_open, *profile.input_close, profile.end,
                 *profile.style.alphabet, *profile.answer_style.alphabet}
        ids = {a: token_id(tokenizer, a, profile.name) for a in sorted(atoms)}
        bos = tokenizer.bos_token_id if profile.bos else None
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else ids[profile.end]
        return cls(profile, ids, None if bos is None else int(bos), int(pad))

    def _grid(self, grid: Grid, style: GridStyle) -> list[int]:
        return [self.ids[c] for c in style.render(grid)]

    def answer(self, grid: Grid) -> np.ndarray:
        return np.array(self._grid(grid, self.profile.answer_style) + [self.end], dtype=np.int64)

    def _pair(self, ex: Example) -> tuple[list[int], list[bool]]:
        head = self._open + self._grid(ex.input, self.profile.style) + self._close
        answer = [] if ex.output is None else list(self.answer(ex.output))
        return head + answer, [False] * len(head) + [True] * len(answer)

    def encode(self, demos, query, max_len, reserve=0, task_id="?") -> Encoded:
        pairs = [self._pair(d) for d in demos]
        last = self._pair(query)
        kept = fit_demos([len(p[0]) for p in pairs], len(self._head) + len(last[0]) + reserve, max_len,
                         self.profile.cut, task_id)
        ids, answer, pair = list(self._head), [False] * len(self._head), [-1] * len(self._head)
        for n, (p, a) in enumerate([pairs[i] for i in kept] + [last]):
            ids += p
            answer += a
            pair += [n] * len(p)
        return Encoded(np.array(ids, dtype=np.int64), np.array(pair), np.array(answer, dtype=bool), kept)

    def shrink_ids(self) -> list[int] | None:
        if not self.profile.cuttable:
            return None
        seen: dict[int, None] = {}
        for i in [*self._head, *self._open, *self._close, *self.ids.values(), self.pad]:
            seen.setdefault(i, None)
        return list(seen)

    def remapped(self, mapping: dict[int, int]) -> "IdFormat":
        return IdFormat(self.profile, {a: mapping[i] for a, i in self.ids.items()},
                        None if self.bos is None else mapping[self.bos], mapping[self.pad])


# --------------------------------------------------------------------------- text through a chat template

_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")


def answer_token_texts(tokenizer, alphabet: frozenset[str]) -> dict[int, str]:
    """Every token whose text is made only of `alphabet`'s characters, with its text. Raw token strings are
    screened first (byte-level BPE writes ' ' as 'Ġ' and '\\n' as 'Ċ'), so only a few are decoded."""
    raw_ok = set(alphabet) | {"\u0120", "\u010a", "\u2581"}
    out = {}
    special = set(tokenizer.all_special_ids)
    for i, raw in enumerate(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))):
        if raw is None or i in special or not (set(raw) <= raw_ok or _BYTE_TOKEN.fullmatch(raw)):
            continue
        text = tokenizer.decode([i])
        if text and set(text) <= alphabet:
            out[i] = text
    return out


class ChatFormat(Format):
    """The task as a conversation rendered through the tokenizer's chat template (marc): the instruction
    and the demonstrations in the system message, the test input as the user's, the answer as the
    assistant's. Tokens come from tokenizing the rendered text; answers are read back as text."""

    def __init__(self, profile: Profile, tokenizer):
        if not getattr(tokenizer, "chat_template", None):
            raise FormatError(f"format {profile.name}: the tokenizer has no chat template")
        self.profile = profile
        self.tokenizer = tokenizer
        self.bos = tokenizer.bos_token_id
        ends = {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|eot_id|>")}
        ends.discard(None)
        ends.discard(tokenizer.unk_token_id)
        eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
        self.end = int(eot if eot in ends else tokenizer.eos_token_id)  # what closes an assistant turn
        self.stops = tuple(sorted(int(e) for e in ends))
        self.pad = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.end)
        self.token_text = answer_token_texts(tokenizer, profile.answer_style.alphabet)
        self.answer_ids = [*self.token_text, *self.stops]

    @classmethod
    def bind(cls, profile: Profile, tokenizer) -> "ChatFormat":
        return cls(profile, tokenizer)

    def _texts(self, ex: Example) -> tuple[str, str | None]:
        p = self.profile
        out = None if ex.output is None else p.answer_style.render(ex.output)
        return p.style.render(ex.input), out

    def answer(self, grid: Grid) -> np.ndarray:
        text = self.profile.answer_style.render(grid)
        return np.array(self.tokenizer.encode(text, add_special_tokens=False) + [self.end], dtype=np.int64)

    def render(self, demos: Sequence[Example], query: Example) -> tuple[str, list[tuple[int, int, int, bool]]]:
        """The conversation's text and its spans (start, end, pair index, is an output)."""
        p = self.profile
        demo_texts = [self._texts(d) for d in demos]
        q_in, q_out = self._texts(query)
        system = p.instruction + "".join(f"{i}{p.io_sep}{o}\n" for i, o in demo_texts)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"{q_in}{p.io_sep}"}]
        if q_out is not None:
            messages.append({"role": "assistant", "content": q_out})
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=q_out is None)
        spans, pos = [], 0
        for n, (i, o) in enumerate(demo_texts):
            at = text.index(f"{i}{p.io_sep}{o}", pos)
            out_at = at + len(i) + len(p.io_sep)
            spans += [(at, out_at, n, False), (out_at, out_at + len(o), n, True)]
            pos = out_at + len(o)
        at = text.index(f"{q_in}{p.io_sep}".strip(), pos)
        pos = at + len(f"{q_in}{p.io_sep}".strip())
        spans.append((at, pos, len(demos), False))
        if q_out is not None:  # the answer and everything after it (the end-of-turn token) carry loss
            out_at = text.index(q_out, pos)
            spans.append((out_at, len(text), len(demos), True))
        return text, spans

    def _tokens(self, demos, query) -> Encoded:
        text, spans = self.render(demos, query)
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = np.array(enc["input_ids"], dtype=np.int64)
        pair = np.full(len(ids), -1)
        answer = np.zeros(len(ids), dtype=bool)
        for k, (a, b) in enumerate(enc["offset_mapping"]):
            for s, e, n, is_out in spans:
                if s <= a:  # a token belongs to the last pair that started before it
                    pair[k] = max(pair[k], n)
                if is_out and a < e and b > s:  # an output's tokens, the one it starts inside included
                    answer[k] = True
        return Encoded(ids, pair, answer, ())

    def encode(self, demos, query, max_len, reserve=0, task_id="?") -> Encoded:
        kept = list(range(len(demos)))
        while True:
            enc = self._tokens([demos[i] for i in kept], query)
            if len(enc) + reserve <= max_len:
                return Encoded(enc.ids, enc.pair, enc.is_answer, tuple(kept))
            if not kept:
                raise ContextError(f"task {task_id}: the test input alone needs {len(enc) + reserve} tokens "
                                  f"with its answer; the context holds {max_len}")
            kept.remove(kept[0] if self.profile.cut == "front"
                        else max(kept, key=lambda i: (demos[i].input.size + demos[i].output.size, i)))

    def shrink_ids(self) -> None:
        return None  # the text needs the whole vocabulary

    def remapped(self, mapping):
        raise FormatError(f"format {self.name} reads text through the whole vocabulary; it cannot be cut")


def bind(profile: Profile | str, tokenizer) -> Format:
    """The format the kit encodes and decodes with, for this profile and this model's tokenizer."""
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise FormatError(f"unknown format {profile!r}; formats: {', '.join(PROFILES)}")
        profile = PROFILES[profile]
    return (IdFormat if profile.mode == "ids" else ChatFormat).bind(profile, tokenizer)
