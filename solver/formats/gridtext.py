"""A grid as text, in one family's style: rendering, strict parsing, and the prefix grammar for decoding.

Every format the kit runs writes a grid as

    grid_open  row_open c c ... c row_close  row_sep  row_open ... row_close  grid_close

with one digit per cell and `cell_sep` between cells: the kit and the ARChitects close every row with a
newline, NVARC joins rows with one (the last row is not closed), MIT's marc writes numpy's `str()` of the
array (`[[1 2]\\n [3 4]]`) and ends it with '#'. `GridStyle` holds those six strings; the same code renders,
parses and constrains the decoding of every family.

Parsing is strict: a text is a grid only when rendering that grid gives the text back, so nothing
malformed is ever mistaken for a grid, and every rejection says why in a few fixed words (they are counted
by reason in the sampling report).

`TextGrammar` answers, one token at a time, whether an answer prefix can still become a grid; greedy
decoding stops a sequence that cannot and depth-first search never enters it. It reads each token as the
text it stands for, so it serves one-token-per-symbol formats and BPE text alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..tasks import Grid, MAX_SIDE

DIGITS = "0123456789"


@dataclass(frozen=True)
class Parsed:
    grid: Grid | None
    reason: str = ""  # why it was rejected; empty when grid is set


@dataclass(frozen=True)
class GridStyle:
    grid_open: str = ""
    row_open: str = ""
    cell_sep: str = ""
    row_close: str = ""
    row_sep: str = ""
    grid_close: str = ""

    def render(self, grid: Grid) -> str:
        rows = (self.row_open + self.cell_sep.join(DIGITS[c] for c in row) + self.row_close for row in grid.tolist())
        return self.grid_open + self.row_sep.join(rows) + self.grid_close

    @property
    def alphabet(self) -> frozenset[str]:
        """Every character a grid of this style may contain."""
        return frozenset(DIGITS + self.grid_open + self.row_open + self.cell_sep + self.row_close
                         + self.row_sep + self.grid_close)

    @property
    def max_chars(self) -> int:
        """Characters of the longest grid (30x30): a bound on its tokens in any tokenizer."""
        return len(self.render(np.zeros((MAX_SIDE, MAX_SIDE), dtype=np.uint8)))

    def parse(self, text: str) -> Parsed:
        """A rendered grid back to the grid; anything else is rejected with its reason."""
        if not text:
            return Parsed(None, "empty output")
        close = self.row_close + self.grid_close
        if not text.startswith(self.grid_open + self.row_open):
            return Parsed(None, "grid not opened")
        if not text.endswith(close):
            return Parsed(None, "grid not closed" if self.grid_close else "last row not closed")
        body = text[len(self.grid_open + self.row_open):len(text) - len(close)]
        between = self.row_close + self.row_sep + self.row_open
        rows = body.split(between) if between else [body]
        cells = [r.split(self.cell_sep) if self.cell_sep else list(r) for r in rows]
        if any(not r or r == [""] for r in cells):
            return Parsed(None, "empty row")
        if any(len(c) != 1 or c not in DIGITS for r in cells for c in r):
            return Parsed(None, "character outside the grid alphabet" if set(body) - self.alphabet
                          else "malformed grid")
        if len(rows) > MAX_SIDE or any(len(r) > MAX_SIDE for r in cells):
            return Parsed(None, "larger than 30x30")
        if any(len(r) != len(cells[0]) for r in cells):
            return Parsed(None, "ragged rows")
        grid = np.array([[int(c) for c in r] for r in cells], dtype=np.uint8)
        if self.render(grid) != text:  # the last word on strictness: only a canonical rendering is a grid
            return Parsed(None, "malformed grid")
        return Parsed(grid)


# A thread of the grammar's automaton: (literal still to match, what follows it, width of the first row
# or -1, cells in the current row, rows closed). What follows: CELL (a digit), ROW (close the row, then a
# digit), END (close the row, then nothing), DONE (accepting, nothing more may come).
CELL, ROW, END, DONE = range(4)
Thread = tuple[str, int, int, int, int]


class TextGrammar:
    """Which answer prefixes can still become a grid of `style`, token by token (dfs.Grammar).

    A state is a set of threads of a small nondeterministic automaton: after a cell, the text may go on
    with the cell separator, with the end of the row and the start of the next, or with the end of the grid,
    and in some styles two of these read the same (the kit closes a row and ends the grid with the same
    newline), so each is followed until the text tells them apart. Width and height are checked as the rows
    close, as early as the text allows."""

    def __init__(self, style: GridStyle, token_text: Mapping[int, str]):
        self.style = style
        self.token_text = dict(token_text)
        self.start = self._closure(((style.grid_open + style.row_open, CELL, -1, 0, 0),))

    def _closure(self, threads) -> frozenset[Thread] | None:
        """Threads whose literal is matched move on; None when none is left."""
        out: set[Thread] = set()
        todo = list(threads)
        while todo:
            lit, then, width, length, rows = todo.pop()
            if lit or then in (CELL, DONE):
                out.add((lit, then, width, length, rows))
                continue
            if (width >= 0 and length != width) or rows + 1 > MAX_SIDE:  # the row closing here
                continue
            todo.append(("", CELL if then == ROW else DONE, length, 0, rows + 1))
        return frozenset(out) or None

    def step_char(self, state: frozenset[Thread], ch: str) -> frozenset[Thread] | None:
        s = self.style
        moved = []
        for lit, then, width, length, rows in state:
            if lit:
                if lit[0] == ch:
                    moved.append((lit[1:], then, width, length, rows))
            elif then == CELL and ch in DIGITS:
                length += 1
                if length > MAX_SIDE or 0 <= width < length or (length == 1 and rows >= MAX_SIDE):
                    continue
                moved.append((s.cell_sep, CELL, width, length, rows))
                if width < 0 or length == width:  # the row may close here: as the next row, or the grid's last
                    moved += [(s.row_close + s.row_sep + s.row_open, ROW, width, length, rows),
                              (s.row_close + s.grid_close, END, width, length, rows)]
        return self._closure(moved)

    def step(self, state, token: int):
        text = self.token_text.get(token)
        if not text:
            return None
        for ch in text:
            state = self.step_char(state, ch)
            if state is None:
                return None
        return state

    @staticmethod
    def can_end(state) -> bool:
        return any(then == DONE for _, then, *_ in state)
