"""Grids as token ids: the format the model reads and writes.

A task is one sequence, each pair an input block then an output block:

    [bos] I \n 0 1 2 \n 3 4 5 \n O \n 0 1 \n 2 3 \n <end>   I \n ... O \n ... <end>   I \n <test input rows> O \n

One token per cell (the digits 0-9), every row closed by a row separator '\n', 'I' and 'O' open the input
and the output and are followed by a separator too (as in the MIT format), so that the first row of a grid
starts after a separator like every other row; the tokenizer's end-of-sequence token closes an output.
Each symbol is looked up on its own in the model's tokenizer, so a tokenizer that would merge "00" or " 0"
never sees a merged form: the ids are built here, never by tokenizing text.

Parsing a generated output back is strict: anything but complete, rectangular rows of cells closed by the
end token is rejected with a reason, so a malformed output is counted, never mistaken for a grid.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .tasks import Example, Grid, MAX_SIDE, N_COLORS

CELL_CHARS = "0123456789"
ROW_CHAR = "\n"
INPUT_CHAR = "I"
OUTPUT_CHAR = "O"
MAX_OUTPUT_TOKENS = MAX_SIDE * (MAX_SIDE + 1) + 1  # a 30x30 grid with its row separators and end token


class CodecError(ValueError):
    """A tokenizer that cannot represent the format, or a task that cannot fit the context."""


@dataclass(frozen=True)
class Vocab:
    """Token ids of the ARC symbols in one model's vocabulary."""
    cells: tuple[int, ...]  # id of colour c at index c
    row: int
    input: int
    output: int
    end: int
    pad: int
    bos: int | None = None

    @property
    def ids(self) -> list[int]:
        """Every id the format uses, without repeats, in a fixed order."""
        seen: dict[int, None] = {}
        for i in (*self.cells, self.row, self.input, self.output, self.end, self.pad, self.bos):
            if i is not None:
                seen.setdefault(i, None)
        return list(seen)

    @property
    def answer_ids(self) -> list[int]:
        """The ids an output may consist of: cells, row separators and the end token."""
        return [*self.cells, self.row, self.end]

    def remapped(self, mapping: dict[int, int]) -> "Vocab":
        return Vocab(tuple(mapping[c] for c in self.cells), mapping[self.row], mapping[self.input],
                     mapping[self.output], mapping[self.end], mapping[self.pad],
                     None if self.bos is None else mapping[self.bos])


def _single_token_id(tokenizer, char: str) -> int:
    """The id of a one-character symbol. Tokenizers spell some characters their own way (byte-level BPE
    writes '\\n' as 'Ċ', sentencepiece byte fallback as '<0x0A>'), so each spelling is tried in turn."""
    ids = tokenizer.encode(char, add_special_tokens=False)
    if len(ids) == 1 and tokenizer.decode(ids) == char:
        return int(ids[0])
    vocab = tokenizer.get_vocab()
    byte = ord(char) if len(char.encode()) == 1 else None
    spellings = [char, "\u2581" + char]  # sentencepiece marks a word start with U+2581
    if byte is not None:
        spellings.append(f"<0x{byte:02X}>")
        if char == "\n":
            spellings.append("\u010a")  # GPT-2 byte-to-unicode form of '\n'
    for s in spellings:
        if s in vocab:
            return int(vocab[s])
    raise CodecError(f"the tokenizer has no single token for {char!r} (encodes as {ids}); "
                     f"the grid format needs one token per symbol")


def vocab_from_tokenizer(tokenizer) -> Vocab:
    if tokenizer.eos_token_id is None:
        raise CodecError("the tokenizer has no end-of-sequence token; the format closes outputs with it")
    cells = tuple(_single_token_id(tokenizer, c) for c in CELL_CHARS)
    row, inp, out = (_single_token_id(tokenizer, c) for c in (ROW_CHAR, INPUT_CHAR, OUTPUT_CHAR))
    end = int(tokenizer.eos_token_id)
    ids = [*cells, row, inp, out, end]
    if len(set(ids)) != len(ids):
        raise CodecError(f"the tokenizer maps two ARC symbols to one id: {ids}")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end
    return Vocab(cells, row, inp, out, end, int(pad), tokenizer.bos_token_id)


# ---------------------------------------------------------------------------------------------- encoding

def encode_grid(grid: Grid, vocab: Vocab) -> np.ndarray:
    """Rows of cell ids, each followed by the row separator."""
    cells = np.asarray(vocab.cells, dtype=np.int64)[grid]
    rows = np.concatenate([cells, np.full((grid.shape[0], 1), vocab.row, dtype=np.int64)], axis=1)
    return rows.ravel()


def answer_length(grid: Grid) -> int:
    """Tokens of an output answer (after 'O' and its separator): rows, separators and the end token."""
    return grid.shape[0] * (grid.shape[1] + 1) + 1


def _pair_ids(inp: Grid, out: Grid | None, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """One pair (or a query when out is None) and, per token, whether it belongs to the output answer."""
    head = np.concatenate([[vocab.input, vocab.row], encode_grid(inp, vocab), [vocab.output, vocab.row]])
    if out is None:
        return head, np.zeros(len(head), dtype=bool)
    answer = np.concatenate([encode_grid(out, vocab), [vocab.end]])
    return (np.concatenate([head, answer]),
            np.concatenate([np.zeros(len(head), dtype=bool), np.ones(len(answer), dtype=bool)]))


@dataclass(frozen=True)
class Encoded:
    """A token sequence with, per token, the index of the pair it belongs to (-1 for bos) and whether it
    is part of an output answer. `kept` lists the demonstrations that fit, in their order in the task."""
    ids: np.ndarray
    pair: np.ndarray
    is_answer: np.ndarray
    kept: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.ids)


def _pair_length(ex: Example) -> int:
    n = 4 + ex.input.shape[0] * (ex.input.shape[1] + 1)
    return n + (0 if ex.output is None else answer_length(ex.output))


def fit_demos(demos: Sequence[Example], query: Example, vocab: Vocab, max_len: int, reserve: int = 0,
              task_id: str = "?") -> tuple[int, ...]:
    """Indices of the demonstrations to keep so that the sequence plus `reserve` answer tokens fits in
    `max_len`: the longest demonstrations go first, the query (the test input) never does."""
    fixed = (vocab.bos is not None) + _pair_length(query) + reserve
    if fixed > max_len:
        raise CodecError(f"task {task_id}: the test input alone needs {fixed} tokens with its answer; "
                         f"the context holds {max_len}")
    lengths = [_pair_length(d) for d in demos]
    kept = list(range(len(demos)))
    total = fixed + sum(lengths)
    for i in sorted(kept, key=lambda i: (-lengths[i], -i)):
        if total <= max_len:
            break
        kept.remove(i)
        total -= lengths[i]
    return tuple(kept)


def encode(demos: Sequence[Example], query: Example, vocab: Vocab, max_len: int, reserve: int = 0,
           task_id: str = "?") -> Encoded:
    """The demonstrations that fit, then the query: with its output (a training sequence) or ending after the
    'O' marker and its separator (a prompt, with `reserve` tokens left free for the answer)."""
    kept = fit_demos(demos, query, vocab, max_len, reserve, task_id)
    parts, answer, pair = [], [], []
    if vocab.bos is not None:
        parts.append(np.array([vocab.bos], dtype=np.int64))
        answer.append(np.zeros(1, dtype=bool))
        pair.append(np.full(1, -1))
    for n, ex in enumerate([demos[i] for i in kept] + [query]):
        ids, is_answer = _pair_ids(ex.input, ex.output, vocab)
        parts.append(ids)
        answer.append(is_answer)
        pair.append(np.full(len(ids), n))
    return Encoded(np.concatenate(parts).astype(np.int64), np.concatenate(pair), np.concatenate(answer), kept)


def answer_reserve(demos: Sequence[Example], query_input: Grid) -> int:
    """Answer tokens to keep free after a prompt: the largest demonstration output, or the test input's size
    if larger, since many tasks answer with a grid the size of their input."""
    sizes = [answer_length(d.output) for d in demos if d.output is not None] + [answer_length(query_input)]
    return min(MAX_OUTPUT_TOKENS, max(sizes))


# ---------------------------------------------------------------------------------------------- decoding

@dataclass(frozen=True)
class Parsed:
    grid: Grid | None
    reason: str = ""  # why it was rejected; empty when grid is set


def parse_answer(ids: Sequence[int], vocab: Vocab) -> Parsed:
    """Generated tokens (after the prompt's 'O' and separator) back to a grid, strictly."""
    ids = [int(i) for i in ids]
    if vocab.end not in ids:
        return Parsed(None, "no end token")
    body = ids[:ids.index(vocab.end)]
    if not body:
        return Parsed(None, "empty output")
    if body[-1] != vocab.row:
        return Parsed(None, "last row not closed")
    colour = {t: c for c, t in enumerate(vocab.cells)}
    rows: list[list[int]] = [[]]
    for t in body[:-1]:
        if t == vocab.row:
            rows.append([])
        elif t in colour:
            rows[-1].append(colour[t])
        else:
            return Parsed(None, "token outside the grid alphabet")
    width = len(rows[0])
    if width == 0 or any(len(r) == 0 for r in rows):
        return Parsed(None, "empty row")
    if any(len(r) != width for r in rows):
        return Parsed(None, "ragged rows")
    if len(rows) > MAX_SIDE or width > MAX_SIDE:
        return Parsed(None, "larger than 30x30")
    grid = np.array(rows, dtype=np.uint8)
    assert grid.max() < N_COLORS
    return Parsed(grid)


class GridGrammar:
    """Which answer prefixes can still become a grid, one token at a time (cells and row separators).

    The state is (width of the first row, or -1 before it is closed; cells in the current row; rows closed).
    `step` returns None as soon as a prefix cannot parse: a row longer or shorter than the first, an empty
    row, more than 30 rows or columns. Greedy decoding stops such a sequence early; depth-first search
    never enters it."""
    start = (-1, 0, 0)

    def __init__(self, vocab: Vocab):
        self.cells = frozenset(vocab.cells)
        self.row = vocab.row

    def step(self, state: tuple[int, int, int], token: int) -> tuple[int, int, int] | None:
        width, length, rows = state
        if token in self.cells:
            length += 1
            return None if length > MAX_SIDE or 0 <= width < length else (width, length, rows)
        if token != self.row or length == 0 or (width >= 0 and length != width) or rows >= MAX_SIDE:
            return None
        return (length, 0, rows + 1)

    @staticmethod
    def can_end(state: tuple[int, int, int]) -> bool:
        """Whether the end token may follow: at least one row, the last one closed."""
        return state[2] > 0 and state[1] == 0
