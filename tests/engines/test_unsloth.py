"""unsloth on the CPU (it runs on plain transformers + peft without a GPU), through the kit's loader and
adapter: FastLanguageModel.from_pretrained in 16-bit and 4-bit, get_peft_model, for_training /
for_inference around TTT, greedy decoding, DFS and rescoring (the selfcheck), and the adapter saved."""
import numpy as np

from .conftest import assert_selfcheck_passed, engine, selfcheck_config

unsloth = engine("unsloth")

from solver.budget import Deadline  # noqa: E402
from solver.config import ModelConfig, TTTConfig  # noqa: E402
from solver.model import load_model  # noqa: E402
from solver.synth import RULES, make_task  # noqa: E402
from solver.ttt import Adapter, train_on_task  # noqa: E402
from solver.ttt import check_adapter, save_adapter  # noqa: E402

PHASES = ["load", "stage", "ttt", "greedy", "dfs", "rescore"]


def test_unsloth_loads_on_the_cpu_when_asked_and_its_adapter_trains_and_saves(tmp_path, tiny_model_dir):
    loaded = load_model(ModelConfig(path=str(tiny_model_dir), unsloth=True))
    assert loaded.loader == "unsloth" and loaded.device.type == "cpu" and not loaded.quantized
    assert next(loaded.model.parameters()).dtype.is_floating_point
    cfg = TTTConfig(rank=4, alpha=8.0, lr=1e-2, steps=3, batch_size=2, augmentations=2)
    adapter = Adapter(loaded, cfg)
    start = adapter.state()
    rng = np.random.default_rng(0)
    report = train_on_task(adapter, make_task(RULES["identity"], rng, sides=(3, 3)), cfg, loaded.format, 512,
                           Deadline.never(), rng)
    assert report.steps == 3 and all(np.isfinite(report.losses))
    assert any(not (p == start[n]).all() for n, p in adapter.state().items())
    save_adapter(adapter.model, tmp_path / "a")  # as the vLLM backend saves it: the LoRA matrices only
    assert check_adapter(tmp_path / "a") == []
    adapter.reset()
    assert all((p == start[n]).all() for n, p in adapter.state().items())


def test_selfcheck_passes_with_unsloth_in_16_bit_and_4_bit(tmp_path, tiny_model_dir):
    from solver.selfcheck import run_selfcheck
    for four_bit in ("false", "true"):
        result = run_selfcheck(selfcheck_config(tiny_model_dir, "model.unsloth=true", f"model.load_in_4bit={four_bit}"),
                               tmp_path / four_bit)
        load = assert_selfcheck_passed(result, PHASES)["load"]["detail"]
        assert load["loader"] == "unsloth" and load["quantized"] == (four_bit == "true")
