"""The memory plan (solver/plan.py, solver/memory.py): its device-independent parts against the tensors a
real-width model allocates, its verdicts, the command, and the per-task plan a run journals."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/

from solver.__main__ import main  # noqa: E402
from solver.config import load_config  # noqa: E402
from solver.plan import GPUS, SHAPES, GiB, Model, Tokens, fit_plan, plan_phases  # noqa: E402


@pytest.mark.slow
def test_the_device_independent_parts_match_the_tensors_of_a_real_width_model():
    """Qwen3-4B's width, heads and full vocabulary (151936) with 2 layers, bf16, random weights, on the CPU;
    the nvarc preset's adapter (rank 256, rsLoRA, every projection plus embed_tokens and lm_head) through the
    kit's own Adapter, one AdamW step as ttt.fit takes it (bench/plan_cpu.py). Counted: the tensors' bytes."""
    from bench.plan_cpu import measure
    parts = measure("nvarc-4b", 2, 151936, "nvarc")
    assert len(parts) == 7
    for name, (predicted, measured) in parts.items():
        assert measured > 0 and abs(predicted - measured) <= 0.10 * measured, (name, predicted, measured)


def test_the_nvarc_preset_on_qwen3_4b_fits_an_l4_at_8k_tokens(capsys):
    assert main(["plan", "--config", "nvarc", "--shape", "nvarc-4b", "--gpu", "L4"]) == 0
    out = capsys.readouterr().out
    assert "ttt 8192" in out and "verdict: fits L4" in out and "DOES NOT FIT" not in out


def test_an_8b_bf16_model_with_a_rescoring_batch_of_64_is_refused_with_the_setting_named(tmp_path, capsys):
    path = tmp_path / "plan.json"
    code = main(["plan", "--config", "marc", "--shape", "8b", "--gpu", "L4", "--set", "model.load_in_4bit=false",
                 "--set", "rescore.enabled=true", "--set", "rescore.batch_size=64", "--json", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "DOES NOT FIT" in out and "does NOT fit L4" in out and "model.load_in_4bit=true" in out
    plans = json.loads(path.read_text())["plans"]
    assert [p["tokens"]["ttt"] for p in plans] == [2048, 4096, 8192] and not any(p["fits"] for p in plans)
    plan = plans[0]  # 2k tokens: 4-bit weights alone make it fit
    assert plan["suggestion"] == "model.load_in_4bit=true" and "rescore.batch_size" in plan["lowered"]
    # the interface bench/gpu_check.sh reads: phases -> predicted bytes
    assert plan["phases"]["ttt"]["predicted_bytes"] > 16 * GiB and plan["phases"]["load"]["predicted_bytes"] > 14 * GiB


def test_the_plan_lowers_the_knobs_that_set_a_phase_s_memory_and_names_them():
    cfg = load_config("kaggle", ["rescore.batch_size=64", "rescore.cache_mb=1e9", "sample.batch_size=64"])
    m = Model(SHAPES["8b"], 16, nf4=True)
    t = Tokens(8000, 3000, 7000, 931, 7000, 931)
    lowered, plan = fit_plan(m, cfg, t, GPUS["L4"], 8192)
    assert plan.fits and {"sample.batch_size", "rescore.batch_size"} <= set(plan.lowered)
    assert lowered.sample.batch_size == plan.lowered["sample.batch_size"] < 64
    assert lowered.rescore.batch_size == plan.lowered["rescore.batch_size"] < 64
    # each lowered phase fits, and doubling its knob again would not
    for phase, section in (("sample", "sample"), ("rescore", "rescore")):
        assert plan.phase(phase).fits
        again = load_config("kaggle", ["rescore.cache_mb=1e9"])
        getattr(again, section).batch_size = getattr(lowered, section).batch_size * 2
        over = {p.name: p for p in plan_phases(m, again, t, plan.capacity, 8192)}
        assert not over[phase].fits
    assert cfg.sample.batch_size == 64  # the config given is left as it was


def test_a_vllm_engine_s_share_counts_in_every_phase_of_the_training_model():
    cfg = load_config("kaggle", ['model.backend="vllm"', "model.vllm_memory_fraction=0.45"])
    m = Model(SHAPES["nvarc-4b"], 16, nf4=False)
    t = Tokens(4096, 2000, 3000, 931, 3000, 931)
    phases = {p.name: p for p in plan_phases(m, cfg, t, int(22 * GiB), 8192)}
    assert set(phases) == {"load", "ttt", "sample", "engine"}  # rescoring runs inside the engine
    share = phases["load"].parts["engine"]
    assert share == phases["ttt"].parts["engine"] == phases["sample"].parts["engine"] > 9 * GiB
    # an engine asking for 90% of the card is lowered to what the training model leaves, where it still fits
    greedy = load_config("kaggle", ['model.backend="vllm"', "model.vllm_memory_fraction=0.9"])
    lowered, plan = fit_plan(Model(SHAPES["8b"], 16, nf4=True), greedy, t, GPUS["L4"], 8192)
    assert plan.fits and 0.3 < plan.lowered["model.vllm_memory_fraction"] == lowered.model.vllm_memory_fraction < 0.9


def test_a_model_directory_s_config_gives_the_shape(tmp_path, tiny_model_dir, capsys):
    assert main(["plan", "--config", "tiny", "--model", str(tiny_model_dir), "--gpu", "T4",
                 "--json", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert "no native bf16" in out  # the T4's note
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["shape"]["hidden"] == 64 and data["shape"]["layers"] == 2
    assert [p["tokens"]["ttt"] for p in data["plans"]] == [2048]  # tiny's context is 2048 tokens
    assert data["plans"][0]["vocab"] < data["shape"]["vocab"]  # the kit cuts the vocabulary to its symbols


def test_unknown_shapes_and_gpus_are_errors(capsys):
    assert main(["plan", "--shape", "70b", "--gpu", "L4"]) == 2
    assert "unknown shape" in capsys.readouterr().err
    assert main(["plan", "--shape", "8b", "--gpu", "V100"]) == 2
    assert "unknown GPU" in capsys.readouterr().err


def test_the_file_s_longest_task_is_counted_as_the_run_encodes_it(sample_challenges_path):
    """The plan's token counts are those of the sequences TTT and sampling build (ttt.task_sequences, the
    format's encoder), whatever views the run draws."""
    from solver.formats import bind
    from solver.memory import family_tokenizer, task_tokens
    from solver.tasks import load_challenges
    from solver.ttt import task_sequences
    cfg = load_config("nvarc")
    fmt = bind("nvarc", family_tokenizer("nvarc"))
    for task in list(load_challenges(sample_challenges_path).tasks.values())[:4]:
        t = task_tokens(task, cfg, fmt, 8192)
        seqs, _ = task_sequences(task, cfg.ttt, fmt, 8192, np.random.default_rng(1))
        assert max(len(s) for s in seqs) == t.ttt
        longest = max(seqs, key=len)
        assert t.labelled >= int((longest.labels[1:] >= 0).sum()) > 0
        assert t.prompt + t.answer <= 8192 and t.prompts == cfg.sample.views * len(task.test)


@pytest.mark.slow
def test_the_run_journals_each_task_s_plan_predicted_on_the_cpu(tmp_path, tiny_model_dir, sample_challenges_path):
    from solver.journal import read_tasks
    from solver.pipeline import run
    challenges = json.loads(sample_challenges_path.read_text())
    path = tmp_path / "c.json"
    path.write_text(json.dumps({k: challenges[k] for k in list(challenges)[:2]}))
    cfg = load_config("tiny", [f"model.path={json.dumps(str(tiny_model_dir))}", "ttt.steps=1", "sample.views=1"])
    run(path, cfg, tmp_path / "out" / "submission.json", progress=False)
    records = read_tasks(tmp_path / "out" / "work")
    assert len(records) == 2
    for r in records.values():
        memory = r.stats["neural"]["memory"]
        assert "error" not in memory and memory["capacity_bytes"] is None  # the CPU: nothing to fit
        assert memory["tokens"]["ttt"] > 0
        assert set(memory["phases"]) == {"load", "ttt", "sample"}
        for name in ("ttt", "sample"):
            assert memory["phases"][name]["predicted_bytes"] > 0 and memory["phases"][name]["measured_bytes"] is None
