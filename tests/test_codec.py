import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from .conftest import grid
from solver.codec import (CodecError, MAX_OUTPUT_TOKENS, Vocab, answer_length, encode, encode_grid, fit_demos,
                          parse_answer, vocab_from_tokenizer)
from solver.model import build_tokenizer, shrink_embeddings
from solver.tasks import Example

VOCAB = Vocab(cells=tuple(range(10)), row=10, input=11, output=12, end=13, pad=14, bos=15)


def answer_ids(g) -> list[int]:
    return [*encode_grid(g, VOCAB), VOCAB.end]


@st.composite
def grids(draw, max_side=30):
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    return draw(arrays(np.uint8, (h, w), elements=st.integers(0, 9)))


@settings(max_examples=200, deadline=None)
@given(grids())
def test_grid_round_trip(g):
    ids = answer_ids(g)
    assert len(ids) == answer_length(g) <= MAX_OUTPUT_TOKENS
    parsed = parse_answer(ids, VOCAB)
    assert parsed.reason == ""
    assert parsed.grid.dtype == np.uint8 and np.array_equal(parsed.grid, g)


def test_encode_grid_layout():
    assert list(encode_grid(grid([[1, 2], [3, 4]]), VOCAB)) == [1, 2, 10, 3, 4, 10]


@pytest.mark.parametrize("ids, reason", [
    ([1, 2, 10], "no end token"),
    ([13], "empty output"),
    ([1, 2, 10, 3, 4, 13], "last row not closed"),
    ([1, 2, 10, 3, 10, 13], "ragged rows"),
    ([1, 2, 10, 10, 13], "empty row"),
    ([10, 13], "empty row"),
    ([1, 11, 10, 13], "token outside the grid alphabet"),
    ([1] * 31 + [10, 13], "larger than 30x30"),
    ([1, 10] * 31 + [13], "larger than 30x30"),
])
def test_parse_rejects_malformed_outputs(ids, reason):
    parsed = parse_answer(ids, VOCAB)
    assert parsed.grid is None and parsed.reason == reason


def test_parse_stops_at_the_first_end_token():
    assert np.array_equal(parse_answer([5, 10, 13, 7, 7], VOCAB).grid, grid([[5]]))


def test_encode_marks_answers_and_pairs():
    demo = Example(grid([[1]]), grid([[2, 3]]))
    query = Example(grid([[4]]), grid([[5]]))
    enc = encode([demo], query, VOCAB, max_len=100)
    #                       bos I  \n 1  \n O   \n 2  3  \n end I  \n 4  \n O  \n 5  \n end
    assert list(enc.ids) == [15, 11, 10, 1, 10, 12, 10, 2, 3, 10, 13, 11, 10, 4, 10, 12, 10, 5, 10, 13]
    assert list(enc.pair) == [-1] + [0] * 10 + [1] * 9
    answers = [int(i) for i, a in zip(enc.ids, enc.is_answer) if a]
    assert answers == [2, 3, 10, 13, 5, 10, 13]
    prompt = encode([demo], Example(query.input), VOCAB, max_len=100)
    assert list(prompt.ids) == list(enc.ids[:17]) and list(prompt.ids[-2:]) == [VOCAB.output, VOCAB.row]


def test_long_tasks_drop_the_longest_demonstrations_never_the_test_input():
    small, big = Example(grid([[1]]), grid([[1]])), Example(np.ones((5, 5), np.uint8), np.ones((5, 5), np.uint8))
    query = Example(np.ones((4, 4), np.uint8))
    full = encode([small, big, small], query, VOCAB, max_len=10_000)
    assert full.kept == (0, 1, 2)
    tight = encode([small, big, small], query, VOCAB, max_len=len(full) - 1)
    assert tight.kept == (0, 2) and len(tight) <= len(full) - 1
    assert list(tight.ids[-24:]) == list(full.ids[-24:])  # the test input is intact
    reserve = 7
    with_room = encode([small, big, small], query, VOCAB, max_len=len(full) - 1, reserve=reserve)
    assert len(with_room) + reserve <= len(full) - 1
    assert fit_demos([small], query, VOCAB, max_len=25) == ()
    with pytest.raises(CodecError, match="task t1: the test input alone needs"):
        encode([small], query, VOCAB, max_len=24, task_id="t1")


def test_vocab_from_a_real_tokenizer_uses_single_character_tokens():
    tok = build_tokenizer()
    vocab = vocab_from_tokenizer(tok)
    assert [tok.decode([i]) for i in vocab.cells] == list("0123456789")
    assert tok.decode([vocab.row]) == "\n" and tok.decode([vocab.input]) == "I"
    assert vocab.end == tok.eos_token_id and vocab.bos == tok.bos_token_id and vocab.pad == tok.pad_token_id
    assert len(vocab.ids) == 16


def test_vocab_refuses_a_tokenizer_without_end_token():
    tok = build_tokenizer()
    tok.eos_token = None
    with pytest.raises(CodecError, match="end-of-sequence"):
        vocab_from_tokenizer(tok)


def test_shrunk_model_gives_the_same_logits_for_the_arc_symbols(tiny_model_dir):
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir, local_files_only=True)
    full_vocab = vocab_from_tokenizer(transformers.AutoTokenizer.from_pretrained(tiny_model_dir))
    demo = Example(grid([[1, 2], [3, 0]]), grid([[0, 3], [2, 1]]))
    enc = encode([demo], Example(grid([[4, 5]])), full_vocab, max_len=100)
    with torch.no_grad():
        before = model(torch.from_numpy(enc.ids)[None]).logits[0][:, full_vocab.ids]
        small = shrink_embeddings(model, full_vocab)
        ids = [full_vocab.ids.index(i) for i in enc.ids]  # the same sequence in the new ids
        after = model(torch.tensor([ids])).logits[0]
    assert model.get_input_embeddings().weight.shape[0] == len(full_vocab.ids) == after.shape[-1]
    assert small.ids == list(range(16)) and model.config.eos_token_id == small.end
    torch.testing.assert_close(after, before)
