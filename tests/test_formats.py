"""Format profiles against the published layouts (../shared/formats.md), on tokenizers built here to match
the published ones; round trips, strict parsing, the decoding grammar, detection from a model directory."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from .conftest import grid
from solver.config import FORMATS, RESCORE_RULES
from solver.family_models import (build_architects_tokenizer, build_marc_tokenizer, build_nvarc_tokenizer,
                                  make_family_model)
from solver.formats import AUTO, MARKER, PROFILES, ContextError, FormatError, bind, detect_format, write_marker
from solver.model import build_tokenizer
from solver.tasks import Example

# The golden task: one train pair [[1,2],[3,4]] -> [[4,3],[2,1]], test input [[5,6],[7,8]], answer [[8,7],[6,5]].
DEMO = Example(grid([[1, 2], [3, 4]]), grid([[4, 3], [2, 1]]))
QUERY = Example(grid([[5, 6], [7, 8]]))
ANSWER = grid([[8, 7], [6, 5]])
BUILDERS = {"kit": build_tokenizer, "nvarc": build_nvarc_tokenizer, "architects": build_architects_tokenizer,
            "marc": build_marc_tokenizer}


@pytest.fixture(scope="module")
def tokenizers():
    return {name: build() for name, build in BUILDERS.items()}


@pytest.fixture(scope="module")
def formats(tokenizers):
    return {name: bind(name, tok) for name, tok in tokenizers.items()}


# ------------------------------------------------------------------------------------------------ golden

def test_nvarc_golden_ids(formats, tokenizers):
    f = formats["nvarc"]
    prompt = f.encode([DEMO], QUERY, max_len=8192)
    assert list(prompt.ids) == [14, 11, 10, 1, 2, 10, 3, 4, 15, 14, 12, 10, 4, 3, 10, 2, 1, 15,
                                14, 11, 10, 5, 6, 10, 7, 8, 15, 14, 12, 10]
    assert list(f.answer(ANSWER)) == [8, 7, 10, 6, 5, 15]
    # The same ids as the published chat template rendered and tokenized.
    tok = tokenizers["nvarc"]
    text = tok.apply_chat_template([{"role": "user", "content": "12\n34"}, {"role": "assistant", "content": "43\n21"},
                                    {"role": "user", "content": "56\n78"}], tokenize=False, add_generation_prompt=True)
    assert tok.encode(text, add_special_tokens=False) == list(prompt.ids)
    assert f.bos is None and f.stops == (15,) and sorted(f.answer_ids) == list(range(11)) + [15]


def test_nvarc_tokenizer_refuses_words_outside_its_vocabulary(tokenizers):
    with pytest.raises(Exception, match="(?i)unk"):
        tokenizers["nvarc"].encode("I", add_special_tokens=False)


def test_architects_golden_text(formats, tokenizers):
    f, tok = formats["architects"], tokenizers["architects"]
    prompt = f.encode([DEMO], QUERY, max_len=8192)
    assert prompt.ids[0] == tok.bos_token_id
    golden = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjklmnpqrstuvwxyzI12\n34\n+/-=O43\n21\n</s>I56\n78\n+/-=O"
    assert tok.decode(prompt.ids[1:]) == golden
    assert tok.decode(f.answer(ANSWER)) == "87\n65\n</s>"
    # one token per character: the shipped tokenizer encodes the text to the same ids
    before, after = golden.split("</s>")
    assert list(prompt.ids) == tok(before).input_ids + [tok.eos_token_id] + tok.encode(after, add_special_tokens=False)


def test_marc_golden_text(formats, tokenizers):
    f, tok = formats["marc"], tokenizers["marc"]
    prompt = f.encode([DEMO], QUERY, max_len=8192)
    golden = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + PROFILES["marc"].instruction
              + "[[1 2]\n [3 4]] -> [[4 3]\n [2 1]]#<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
              "[[5 6]\n [7 8]] -><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    assert tok.decode(prompt.ids) == golden
    assert list(prompt.ids) == tok.encode(golden, add_special_tokens=False)
    assert tok.decode(f.answer(ANSWER)) == "[[8 7]\n [6 5]]#<|eot_id|>"
    assert len(f.answer(ANSWER)) < len("[[8 7]\n [6 5]]#")  # BPE text: not one token per character
    # A training sequence is the prompt followed by the answer, token for token.
    full = f.encode([DEMO], Example(QUERY.input, ANSWER), max_len=8192)
    assert list(full.ids) == list(prompt.ids) + list(f.answer(ANSWER))


def test_marc_grids_are_numpy_prints():
    rng = np.random.default_rng(0)
    for h, w in [(1, 1), (3, 7), (30, 30)]:
        g = rng.integers(0, 10, (h, w)).astype(np.uint8)
        assert PROFILES["marc"].style.render(g) == str(g)


def test_kit_golden_ids(formats, tokenizers):
    f, tok = formats["kit"], tokenizers["kit"]
    prompt = f.encode([DEMO], QUERY, max_len=8192)
    assert tok.decode(prompt.ids) == "<s>I\n12\n34\nO\n43\n21\n</s>I\n56\n78\nO\n"
    assert list(prompt.ids) == [tok.bos_token_id, *tok.encode("I\n12\n34\nO\n43\n21\n", add_special_tokens=False),
                                tok.eos_token_id, *tok.encode("I\n56\n78\nO\n", add_special_tokens=False)]
    assert tok.decode(f.answer(ANSWER)) == "87\n65\n</s>"
    assert list(prompt.pair) == [-1] + [0] * 17 + [1] * 10
    assert [tok.decode([i]) for i, a in zip(prompt.ids, prompt.is_answer) if a] == list("43\n21\n") + ["</s>"]
    assert f.bos == tok.bos_token_id and f.pad == tok.pad_token_id and f.end == tok.eos_token_id


def test_a_tokenizer_without_an_end_token_is_refused():
    tok = build_tokenizer()
    tok.eos_token = None
    with pytest.raises(FormatError, match="format kit: the tokenizer has no end-of-sequence token"):
        bind("kit", tok)


def test_a_shrunk_model_gives_the_same_logits_for_the_format_s_symbols(family_dirs):
    import torch
    import transformers
    from solver.model import shrink_embeddings
    directory = family_dirs["kit"]
    model = transformers.AutoModelForCausalLM.from_pretrained(directory, local_files_only=True)
    full = bind("kit", transformers.AutoTokenizer.from_pretrained(directory))
    enc = full.encode([DEMO], QUERY, max_len=100)
    keep = full.shrink_ids()
    with torch.no_grad():
        before = model(torch.from_numpy(enc.ids)[None]).logits[0][:, keep]
        mapping = shrink_embeddings(model, keep)
        small = full.remapped(mapping)
        after = model(torch.from_numpy(small.encode([DEMO], QUERY, max_len=100).ids)[None]).logits[0]
    assert model.get_input_embeddings().weight.shape[0] == len(keep) == after.shape[-1] == 16
    assert sorted(small.shrink_ids()) == list(range(16)) and model.config.eos_token_id == small.end
    torch.testing.assert_close(after, before)


# ------------------------------------------------------------------------------- round trip and parsing

@st.composite
def grids(draw, max_side=30):
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    return draw(arrays(np.uint8, (h, w), elements=st.integers(0, 9)))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_profile_parses_its_own_answers(formats, name):
    f = formats[name]
    grammar = f.grammar()

    @settings(max_examples=60, deadline=None)
    @given(grids())
    def check(g):
        ids = f.answer(g)
        assert len(ids) <= f.max_answer_tokens
        parsed = f.parse(ids)
        assert parsed.reason == "" and parsed.grid.dtype == np.uint8 and np.array_equal(parsed.grid, g)
        state = grammar.start
        for t in ids[:-1]:
            state = grammar.step(state, int(t))
            assert state is not None
        assert grammar.can_end(state) and int(ids[-1]) in f.stops

    check()


def _ids(f, tok, text: str, end: bool = True) -> list[int]:
    ids = tok.encode(text, add_special_tokens=False) if text else []
    return ids + ([f.end] if end else [])


@pytest.mark.parametrize("name, text, end, reason", [
    ("kit", "12\n", False, "no end token"),
    ("kit", "", True, "empty output"),
    ("kit", "12\n34", True, "last row not closed"),
    ("kit", "12\n3\n", True, "ragged rows"),
    ("kit", "12\n\n", True, "empty row"),
    ("kit", "1I\n", True, "token outside the grid alphabet"),
    ("kit", "1" * 31 + "\n", True, "larger than 30x30"),
    ("kit", "1\n" * 31, True, "larger than 30x30"),
    ("nvarc", "12\n34\n", True, "empty row"),
    ("nvarc", "12\n3", True, "ragged rows"),
    ("nvarc", "12\n34", False, "no end token"),
    ("architects", "12\n34", True, "last row not closed"),
    ("architects", "12\n+\n", True, "token outside the grid alphabet"),
    ("marc", "[[1 2]\n [3 4]]", True, "grid not closed"),
    ("marc", "[[1 2]\n [3]]#", True, "ragged rows"),
    ("marc", "[[1  2]]#", True, "malformed grid"),
    ("marc", "[[1 2] [3 4]]#", True, "malformed grid"),
    ("marc", "[[]]#", True, "empty row"),
    ("marc", "[[1 x]]#", True, "token outside the grid alphabet"),
    ("marc", "[[8 7]\n [6 5]]#", False, "no end token"),
])
def test_malformed_answers_are_rejected_with_their_reason(formats, tokenizers, name, text, end, reason):
    f = formats[name]
    parsed = f.parse(_ids(f, tokenizers[name], text, end))
    assert parsed.grid is None and parsed.reason == reason


def test_marc_answers_are_cleaned_of_surrounding_whitespace(formats, tokenizers):
    f = formats["marc"]
    assert np.array_equal(f.parse(_ids(f, tokenizers["marc"], " [[8 7]\n [6 5]]# ")).grid, ANSWER)


@pytest.mark.parametrize("name, text", [("kit", "12\n3\n"), ("kit", "\n"), ("nvarc", "12\n\n"),
                                        ("architects", "1\n23"), ("marc", "[[1 2]\n [3]"), ("marc", "[1")])
def test_the_grammar_refuses_prefixes_that_cannot_become_a_grid(formats, tokenizers, name, text):
    f = formats[name]
    g, state = f.grammar(), f.grammar().start
    ids = tokenizers[name].encode(text, add_special_tokens=False) if name == "marc" else [f.ids[c] for c in text]
    for t in ids:
        state = g.step(state, t) if state is not None else None
    assert state is None


def test_over_long_tasks_lose_demonstrations_as_their_family_does(formats):
    small, big = Example(grid([[1]]), grid([[1]])), Example(np.ones((5, 5), np.uint8), np.ones((5, 5), np.uint8))
    demos = [small, big, small]
    for name, kept in [("kit", (0, 2)), ("nvarc", (1, 2)), ("architects", (1, 2))]:
        f = formats[name]
        full = f.encode(demos, QUERY, 10_000)
        assert f.encode(demos, QUERY, len(full) - 1).kept == kept, name
    f = formats["marc"]
    full = f.encode(demos, QUERY, 10_000)
    assert full.kept == (0, 1, 2) and f.encode(demos, QUERY, len(full) - 1).kept == (1, 2)
    with pytest.raises(ContextError, match="task t1: the test input alone"):
        formats["nvarc"].encode(demos, QUERY, 10, task_id="t1")


def test_loss_masks_follow_the_profile(formats):
    demos = [DEMO, Example(grid([[2]]), grid([[3]]))]
    query = Example(QUERY.input, ANSWER)
    for name, first_masked in [("kit", True), ("nvarc", False), ("architects", True), ("marc", True)]:
        f = formats[name]
        enc = f.encode(demos, query, 10_000)
        loss = f.loss_mask(enc)
        assert loss[enc.pair == 0].any() != first_masked, name
        assert loss[enc.pair == 2].any() and not loss[:5].any(), name
        assert (loss <= enc.is_answer).all()
        assert list(enc.ids[enc.is_answer & (enc.pair == 2)]) == list(f.answer(ANSWER)), name
        assert not f.loss_mask(enc, mask_first=True)[enc.pair == 0].any()


def test_a_tokenizer_without_the_format_s_symbols_is_refused_by_name(tokenizers):
    with pytest.raises(FormatError, match="format kit: the tokenizer has no single token for 'I'"):
        bind("kit", tokenizers["nvarc"])
    with pytest.raises(FormatError, match="format nvarc"):
        bind("nvarc", tokenizers["architects"])
    with pytest.raises(FormatError, match="unknown format 'qwen'"):
        bind("qwen", tokenizers["kit"])


def test_cut_and_text_formats_are_never_cut_again(formats):
    assert formats["nvarc"].shrink_ids() is None and formats["architects"].shrink_ids() is None
    assert formats["marc"].shrink_ids() is None
    keep = formats["kit"].shrink_ids()
    assert len(keep) == 16 and set(formats["kit"].answer_ids) <= set(keep)


# ------------------------------------------------------------------------------------------- detection

@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory):
    return {name: make_family_model(tmp_path_factory.mktemp(name), name) for name in BUILDERS}


def test_detection_from_the_model_directory(family_dirs):
    assert detect_format(family_dirs["kit"]).format == "kit"
    assert detect_format(family_dirs["nvarc"]).format == "nvarc"
    assert detect_format(family_dirs["architects"]).format == "architects"
    with pytest.raises(FormatError, match="set model.format to one of kit, nvarc, architects, marc"):
        detect_format(family_dirs["marc"])
    assert detect_format(family_dirs["marc"], "marc").format == "marc"


def test_model_format_overrides_detection(family_dirs, tmp_path):
    assert detect_format(family_dirs["nvarc"], "kit").format == "kit"
    with pytest.raises(FormatError, match="model.format must be one of"):
        detect_format(family_dirs["nvarc"], "nvarc2")
    write_marker(tmp_path, "architects")
    assert json.loads((tmp_path / MARKER).read_text()) == {"format": "architects"}
    assert detect_format(tmp_path).format == "architects"


def test_the_config_names_every_format_and_rule():
    from solver.rules import RULES
    assert FORMATS == (AUTO, *PROFILES) and RESCORE_RULES == tuple(RULES)


def test_make_model_writes_each_family_s_architecture(tmp_path):
    from solver.__main__ import main
    assert main(["make-model", str(tmp_path / "n"), "--family", "nvarc"]) == 0
    config = json.loads((tmp_path / "n" / "config.json").read_text())
    assert config["architectures"] == ["Qwen3ForCausalLM"] and config["vocab_size"] == 16
    assert detect_format(tmp_path / "n").format == "nvarc"
    assert main(["make-model", str(tmp_path / "a"), "--family", "architects"]) == 0
    assert json.loads((tmp_path / "a" / "config.json").read_text())["architectures"] == ["MistralForCausalLM"]
    assert detect_format(tmp_path / "a").format == "architects"
