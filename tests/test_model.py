import json
import os

import pytest
import torch

from solver.__main__ import main
from solver.config import ConfigError, ModelConfig, load_config
from solver.model import ModelError, bnb_config, choose_loader, load_model, make_tiny_model


def test_tiny_model_directory_loads_offline_on_cpu(tiny_model_dir, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert (tiny_model_dir / "config.json").is_file() and (tiny_model_dir / "tokenizer.json").is_file()
    loaded = load_model(ModelConfig(path=str(tiny_model_dir), max_length=100_000))
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert loaded.loader == "cpu" and loaded.device.type == "cpu"
    assert next(loaded.model.parameters()).dtype == torch.float32
    assert loaded.max_length == 8192  # capped by the model's position embeddings
    # Vocabulary shrinking: only the 16 ARC symbols are left, in ids 0..15.
    assert loaded.model.get_input_embeddings().weight.shape[0] == 16
    assert sorted(loaded.format.shrink_ids()) == list(range(16))


def test_vocab_shrinking_can_be_turned_off(tiny_model_dir):
    loaded = load_model(ModelConfig(path=str(tiny_model_dir), shrink_vocab=False))
    size = json.loads((tiny_model_dir / "config.json").read_text())["vocab_size"]
    assert loaded.model.get_input_embeddings().weight.shape[0] == size > 90


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match=f"model directory {tmp_path / 'nope'} does not exist"):
        load_model(ModelConfig(path=str(tmp_path / "nope")))
    with pytest.raises(ModelError, match=f"model directory {tmp_path} has no config.json"):
        load_model(ModelConfig(path=str(tmp_path)))
    with pytest.raises(ModelError, match="model.path is empty"):
        load_model(ModelConfig(path=""))


@pytest.mark.parametrize("device, cuda, unsloth_cfg, unsloth_installed, four_bit, expected", [
    ("auto", False, True, True, True, "cpu"),         # no GPU: float32 on CPU, whatever else is asked
    ("cpu", True, True, True, True, "cpu"),
    ("auto", True, True, True, False, "unsloth"),
    ("auto", True, True, False, True, "bnb-4bit"),    # unsloth wanted but not installed
    ("cuda", True, False, True, True, "bnb-4bit"),    # unsloth installed but turned off
    ("auto", True, False, False, False, "bf16"),
])
def test_loader_choice(device, cuda, unsloth_cfg, unsloth_installed, four_bit, expected):
    cfg = ModelConfig(path="x", device=device, unsloth=unsloth_cfg, load_in_4bit=four_bit)
    assert choose_loader(cfg, cuda, unsloth_installed) == expected


def test_loader_choice_refuses_impossible_devices():
    with pytest.raises(ModelError, match="no CUDA device"):
        choose_loader(ModelConfig(device="cuda"), False, False)
    with pytest.raises(ConfigError, match="model.device must be"):  # refused when the config loads
        load_config(overrides=["model.device=tpu"])


def test_4bit_config_is_the_qlora_recipe():
    c = bnb_config()
    assert c.load_in_4bit and not c.load_in_8bit
    assert c.bnb_4bit_quant_type == "nf4" and c.bnb_4bit_use_double_quant
    assert c.bnb_4bit_compute_dtype == torch.bfloat16


def test_make_model_command_writes_a_loadable_model(tmp_path, capsys):
    assert main(["make-model", str(tmp_path / "m"), "--size", "tiny", "--seed", "3"]) == 0
    assert str(tmp_path / "m") in capsys.readouterr().out
    assert load_model(ModelConfig(path=str(tmp_path / "m"))).loader == "cpu"


def test_make_model_refuses_unknown_sizes(tmp_path):
    with pytest.raises(ModelError, match="unknown model size 'huge'"):
        make_tiny_model(tmp_path, "huge")


def test_tiny_models_are_reproducible(tmp_path):
    a = load_model(ModelConfig(path=str(make_tiny_model(tmp_path / "a", seed=1)))).model
    b = load_model(ModelConfig(path=str(make_tiny_model(tmp_path / "b", seed=1)))).model
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
