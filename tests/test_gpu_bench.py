import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gpu  # noqa: E402


@pytest.mark.slow
def test_the_gpu_benchmark_runs_its_cpu_smoke_mode_and_writes_json_and_log(tmp_path, capsys):
    assert gpu.main(["--smoke", "--out-dir", str(tmp_path)]) == 0
    (result,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    (log,) = list(tmp_path.glob("*.log"))
    assert "smoke" in log.read_text() and result["device"] == "cpu (smoke)"
    rows = result["runs"]
    # the Llama shape, and the NVARC one (Qwen3 architecture) at each of its prompt lengths
    assert [(r["shape"], r["prompt"]) for r in rows] == [("smoke", 32), ("smoke-qwen3", 32), ("smoke-qwen3", 64)]
    for row in rows:
        assert row["loader"] == "cpu" and row["vocab"] == 16  # the kit's loader, vocabulary shrunk
        for value in (row["ttt"]["tokens_per_s"], row["ttt"]["mfu"], row["decode"]["tokens_per_s"],
                      row["decode"]["roofline_fraction"], row["dfs"]["forwards_per_s"],
                      row["rescore"]["answer_tokens_per_s"]):
            assert value > 0
        assert row["dfs"]["forwards"] > 1  # the search went past the prompt
        assert row["ttt"]["seq"] == row["prompt"]
        assert row["ttt"]["mfu_rated"] is None  # a CPU has no rated bf16 peak in the table
        assert set(row["peak_bytes"]) == {"load", "ttt", "decode", "dfs", "rescore"}  # None each on the CPU
    assert result["complete"] is True and result["rated_peak_flops"] is None


def test_the_nvarc_shape_is_qwen3_4b_with_a_16_token_vocabulary():
    config = gpu.model_config("nvarc-4b", 16)
    assert type(config).__name__ == "Qwen3Config" and config.tie_word_embeddings
    assert (config.hidden_size, config.intermediate_size, config.num_hidden_layers, config.num_attention_heads,
            config.num_key_value_heads, config.head_dim) == (2560, 9728, 36, 32, 8, 128)
    assert gpu.SHAPES["nvarc-4b"].prompts == (2048, 4096, 8192)


@pytest.mark.parametrize("name, tflops", [
    ("NVIDIA H100 80GB HBM3", 989.5), ("NVIDIA H100 PCIe", 756), ("NVIDIA H100 NVL", 835.5), ("NVIDIA H200", 989.5),
    ("NVIDIA L4", 121), ("NVIDIA A100-SXM4-40GB", 312), ("Tesla T4", 65), ("NVIDIA L40S", None),
    ("NVIDIA GeForce RTX 4090", None)])
def test_the_rated_peak_is_found_by_device_name(name, tflops):
    rated = gpu.rated_peak(name)
    assert (rated / 1e12 if rated else None) == tflops


def test_mfu_against_an_unknown_peak_is_none():
    assert gpu.mfu(500e12, 1000e12) == 0.5 and gpu.mfu(500e12, None) is None


@pytest.mark.slow
def test_the_json_is_saved_after_every_row(tmp_path):
    """A run stopped by its time limit keeps what it measured: the JSON is rewritten after every row."""
    import argparse
    saved = []
    args = argparse.Namespace(smoke=True, sizes="smoke", prompts="32,48", precisions="bf16", model=None)
    gpu.run(args, lambda line: None, lambda out: saved.append((len(out["runs"]), out["complete"])))
    assert saved == [(0, False), (1, False), (2, False), (2, True)]


def test_the_real_mode_refuses_without_cuda(monkeypatch, capsys):
    monkeypatch.setattr(gpu.torch.cuda, "is_available", lambda: False)
    assert gpu.main([]) == 2 and "--smoke" in capsys.readouterr().err


@pytest.mark.slow
def test_the_finetune_throughput_report_reads_what_finetune_recorded(tmp_path, tiny_model_dir, capsys):
    from solver.config import load_config
    from solver.finetune import finetune
    cfg = load_config("cpu", ["finetune.steps=2", "finetune.batch_size=2", "finetune.eval_tasks=0"])
    meta = finetune(tiny_model_dir, "kit", ["synth:identity"], tmp_path / "ft", cfg, progress=False)
    assert meta["tokens_this_session"] > 0 and meta["tokens_per_second"] > 0 and meta["peak_cuda_gib"] is None
    row = gpu.finetune_report(tmp_path / "ft" / "finetune.json", print)
    assert row["tokens"] == meta["tokens_this_session"] and row["method"] == meta["method"] == "full"
    assert row["mfu"] == pytest.approx(meta["tokens_per_second"] * 6 * meta["parameters"] / row["matmul_peak_flops"])
    assert "tok/s, MFU" in capsys.readouterr().out
