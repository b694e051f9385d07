"""VllmBackend around a fake engine (tests/fake_vllm.py: vLLM's call surface on the real tiny model). What
is exercised: requests, parsing outputs and prompt_logprobs, LoRA bookkeeping, adapter checks and merging.
The neural stage runs end to end on the stand-in (model.backend = "vllm"): the serving copy of the model,
each task's adapter saved and served. vLLM itself (the engine's own numbers) is tested in
tests/engines/test_vllm.py, in the engine's own environment."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from .fake_vllm import FakeLLM, LoRARequest, Params
from solver.budget import Deadline
from solver.config import ConfigError, TTTConfig
from solver.engine import TransformersBackend
from solver.synth import RULES, make_task
from solver.tasks import Example
from solver.ttt import Adapter
from solver.model import ModelError
from solver.adapters import AdapterError, check_adapter, merged_model, save_adapter
from solver.vllm_backend import VllmBackend, check_quantization, max_lora_rank, serving_model_dir


def prompts_of(fmt, n=3):
    rng = np.random.default_rng(0)
    tasks = [make_task(RULES["identity"], rng, sides=(2, 3)) for _ in range(n)]
    return [fmt.encode(t.train, Example(t.test[0].input), 1000).ids for t in tasks]


@pytest.fixture
def backends(tiny_loaded):
    engine = FakeLLM(tiny_loaded.model)
    vllm = VllmBackend(engine, tiny_loaded.format, make_params=Params, make_lora_request=LoRARequest, chunk=2)
    return vllm, TransformersBackend(tiny_loaded.model, tiny_loaded.format), engine


def test_greedy_outputs_parse_like_the_transformers_backend(backends):
    vllm, hf, engine = backends
    prompts = prompts_of(vllm.format)
    ours = vllm.generate(prompts, 8, Deadline.never())
    theirs = hf.generate(prompts, 8, Deadline.never())
    assert [n for n, _ in engine.calls] == [2, 1]  # chunks of two prompts
    for a, b in zip(ours, theirs):
        # the same greedy tokens (transformers stops a malformed grid early, vLLM runs on)
        assert np.array_equal(a.tokens[:len(b.tokens)], b.tokens)
        assert a.stop in ("end", "length") and (a.stop == "end") == (a.tokens[-1] == vllm.format.end)
    assert [g.logprob for g in ours] == pytest.approx(hf.score(prompts, [g.tokens for g in ours]), abs=1e-4)


@pytest.mark.slow
def test_prompt_logprobs_give_the_teacher_forced_score(backends):
    vllm, hf, _ = backends
    prompts = prompts_of(vllm.format)
    rng = np.random.default_rng(1)
    answers = [rng.choice(vllm.format.answer_ids, size=n) for n in (1, 4, 6)]
    assert vllm.score(prompts, answers) == pytest.approx(hf.score(prompts, answers), abs=1e-4)
    assert vllm.score_shared(prompts[0], answers, 2) == pytest.approx(hf.score_shared(prompts[0], answers, 2), abs=1e-4)


@pytest.mark.slow
def test_sampled_exploration_keeps_distinct_finished_completions_above_the_threshold(backends):
    vllm, hf, _ = backends
    prompt = prompts_of(vllm.format, 1)[0]
    search = vllm.explore(prompt, 3, min_prob=1e-6, max_candidates=12, deadline=Deadline.never())
    keys = [c.tokens.tobytes() for c in search.completions]
    assert len(keys) == len(set(keys)) and search.completions
    assert [c.logprob for c in search.completions] == sorted((c.logprob for c in search.completions), reverse=True)
    for c in search.completions:
        assert c.tokens[-1] == vllm.format.end and c.logprob >= np.log(1e-6)
        assert c.logprob == pytest.approx(hf.score([prompt], [c.tokens])[0], abs=1e-4)
    assert vllm.explore(prompt, 3, 0.1, 12, Deadline.after(0)).stop == "time"


def test_nothing_reaches_the_engine_after_the_deadline(backends):
    vllm, _, engine = backends
    gens = vllm.generate(prompts_of(vllm.format), 8, Deadline.after(0))
    assert engine.calls == [] and [g.stop for g in gens] == ["time"] * 3


def test_each_task_adapter_gets_its_own_lora_id_never_reused(tmp_path, tiny_loaded, backends):
    vllm, _, engine = backends
    adapter = Adapter(tiny_loaded, TTTConfig(rank=4, alpha=8.0))
    adapter.model.save_pretrained(tmp_path / "default")  # the vocabulary was shrunk: peft adds embeddings
    assert check_adapter(tmp_path / "default") == ["embed_tokens", "lm_head"]
    save_adapter(adapter.model, tmp_path / "a")
    assert check_adapter(tmp_path / "a") == []
    vllm.use_adapter("task-1", tmp_path / "a")
    vllm.generate(prompts_of(vllm.format, 1), 2, Deadline.never())
    first = engine.calls[-1][1]
    vllm.use_adapter("task-2", tmp_path / "a")
    vllm.use_adapter("task-1", tmp_path / "a")  # the same task again (a retrained adapter): a new id
    vllm.generate(prompts_of(vllm.format, 1), 2, Deadline.never())
    assert first.lora_int_id == 1 and engine.calls[-1][1].lora_int_id == 3
    assert engine.calls[-1][1].lora_path == str(tmp_path / "a")
    vllm.use_adapter("task-3", None)
    assert vllm.lora is None


def test_adapters_with_full_vocabulary_weights_are_refused_and_can_be_merged(tmp_path, tiny_model_dir, backends):
    from peft import LoraConfig, get_peft_model
    import transformers
    vllm, _, _ = backends
    base = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], modules_to_save=["lm_head"])
    model = get_peft_model(base, lora)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)  # a non-zero update, so that merging has something to fold in
    model.save_pretrained(tmp_path / "full")
    assert check_adapter(tmp_path / "full") == ["lm_head"]
    with pytest.raises(AdapterError, match="task t7: adapter .* trains lm_head in full"):
        vllm.use_adapter("t7", tmp_path / "full")
    ids = torch.tensor([[1, 5, 9, 12, 20]])
    merged = transformers.AutoModelForCausalLM.from_pretrained(merged_model(tiny_model_dir, tmp_path / "full",
                                                                            tmp_path / "merged"))
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, model.eval()(ids).logits, atol=1e-4, rtol=1e-4)
    with pytest.raises(AdapterError, match="no adapter_config.json"):
        check_adapter(tmp_path)


# ------------------------------------------------------------------ the neural stage on the vLLM backend

def stage_config(model_dir, serving_dir, *extra):
    from solver.config import load_config
    return load_config("tiny", [f"model.path={json.dumps(str(model_dir))}",
                                f"model.serving_dir={json.dumps(str(serving_dir))}", *extra])


def fake_serving(cfg, loaded):
    from solver.vllm_backend import VllmServing
    return VllmServing(cfg, loaded.format, loaded.max_length, engine_factory=FakeLLM.from_dir, make_params=Params,
                       make_lora_request=LoRARequest)


def test_the_serving_model_is_the_shrunk_model_written_once(tmp_path, tiny_model_dir, tiny_loaded):
    from solver.config import ModelConfig
    cfg = ModelConfig(path=str(tiny_model_dir), serving_dir=str(tmp_path))
    out = serving_model_dir(cfg)
    assert out.parent == tmp_path and out != tiny_model_dir
    written = (out / "config.json").stat().st_mtime_ns
    assert serving_model_dir(cfg) == out and (out / "config.json").stat().st_mtime_ns == written  # reused
    served = FakeLLM.from_dir(out).model
    ids = torch.tensor([tiny_loaded.format.shrink_ids()])  # every symbol, in the shrunk ids prompts are written in
    assert served.get_input_embeddings().weight.shape[0] == len(tiny_loaded.format.shrink_ids())
    with torch.no_grad():
        torch.testing.assert_close(served(ids).logits, tiny_loaded.model(ids).logits, atol=1e-5, rtol=1e-5)
    assert serving_model_dir(ModelConfig(path=str(tiny_model_dir), shrink_vocab=False)) == tiny_model_dir.resolve()


def _serving_dir_in_child(model_dir: str, serving_dir: str) -> str:
    from solver.config import ModelConfig
    return str(serving_model_dir(ModelConfig(path=model_dir, serving_dir=serving_dir)))


@pytest.mark.slow
def test_workers_asking_for_the_serving_model_at_once_share_one_copy(tmp_path, tiny_model_dir):
    """Model workers start together; one writes the copy, the others wait on the lock and reuse it (a second
    writer would fail to rename its copy onto the first)."""
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        outs = pool.starmap(_serving_dir_in_child, [(str(tiny_model_dir), str(tmp_path))] * 3)
    assert len(set(outs)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([Path(outs[0]).name, Path(outs[0]).name + ".lock"])


def test_4bit_serving_on_a_vllm_without_bitsandbytes_is_a_clear_error():
    check_quantization(None, "0.32.0", ["fp8"])
    check_quantization("bitsandbytes", "0.19.1", ["fp8", "bitsandbytes"])
    with pytest.raises(ModelError, match="vLLM 0.32.0 does not have .*vLLM 0.19.1"):
        check_quantization("bitsandbytes", "0.32.0", ["fp8"])


def test_scoring_can_send_one_request_per_engine_call(tiny_loaded):
    """vLLM's CPU build crashes on prompt_logprobs of several LoRA requests in one step."""
    engine = FakeLLM(tiny_loaded.model)
    vllm = VllmBackend(engine, tiny_loaded.format, make_params=Params, make_lora_request=LoRARequest, score_chunk=1)
    prompts = prompts_of(vllm.format)
    vllm.score(prompts, [p[:2] for p in prompts])
    assert [n for n, _ in engine.calls] == [1, 1, 1]
    vllm.generate(prompts, 2, Deadline.never())
    assert engine.calls[-1][0] == 3  # generation still goes in chunks


def test_lora_ranks_round_up_to_the_ones_vllm_serves():
    assert [max_lora_rank(r) for r in (1, 8, 9, 32, 33, 512)] == [8, 8, 16, 32, 64, 512]
    with pytest.raises(ModelError, match="ttt.rank 1000"):
        max_lora_rank(1000)


@pytest.mark.slow
def test_the_neural_stage_on_vllm_serves_each_task_its_trained_adapter(tmp_path, pretrained_model_dir,
                                                                       single_torch_thread):
    """The same run twice: sampling on the training model, and on the (stand-in) engine serving the saved
    adapter. The candidates must agree, scores included: an adapter lost on the way changes the scores.
    The model is the one pre-trained to copy 4x4 grids, so that there are grids to compare."""
    from solver.model import load_model
    from solver.neural import NeuralStage
    tasks = [make_task(RULES["identity"], np.random.default_rng(s), sides=(4, 4), task_id=f"t{s}") for s in (0, 1)]
    runs = {}
    for backend in ("transformers", "vllm"):
        cfg = stage_config(pretrained_model_dir, tmp_path, f"model.backend={backend}", "ttt.steps=4")
        loaded = load_model(cfg.model)
        stage = NeuralStage(cfg, loaded, fake_serving(cfg, loaded) if backend == "vllm" else None)
        runs[backend] = ([stage.solve(t, stage.cfg, Deadline.never()).candidates for t in tasks], stage)
    (hf, _), (ours, stage) = runs["transformers"], runs["vllm"]
    engine = stage.backend.engine
    assert engine.options["max_lora_rank"] == 8 and engine.options["gpu_memory_utilization"] == 0.45
    assert engine.options["dtype"] == "bfloat16"  # fake_serving's; the stage passes the training model's
    for a, b in zip(hf, ours):
        assert a and [c.grid.tolist() for c in a] == [c.grid.tolist() for c in b]
        assert [c.logprob for c in a] == pytest.approx([c.logprob for c in b], abs=1e-3)
    served = [lora for _, lora in engine.calls]
    assert all(lora is not None for lora in served) and {lora.lora_int_id for lora in served} == {1, 2}
    assert list(stage.serving.adapter_root.iterdir()) == []  # each task's adapter deleted after it

    stage.cfg.ttt.enabled = False  # nothing trained: the engine serves the base model
    untrained = stage.solve(tasks[0], stage.cfg, Deadline.never()).candidates
    assert engine.calls[-1][1] is None
    assert [c.logprob for c in untrained] != pytest.approx([c.logprob for c in ours[0]], abs=1e-3)


def test_a_vllm_backend_that_cannot_start_is_a_clear_error(tmp_path, tiny_model_dir):
    from solver.neural import NeuralStage
    with pytest.raises(ConfigError, match="model.backend must be one of transformers, vllm, got 'tgi'"):
        stage_config(tiny_model_dir, tmp_path, "model.backend=tgi")  # refused when the config loads
    if importlib.util.find_spec("vllm") is None:  # the real engine factory, where vllm is not installed
        with pytest.raises(ModelError, match="needs vllm installed"):
            NeuralStage(stage_config(tiny_model_dir, tmp_path, "model.backend=vllm"))


def test_a_generation_without_its_log_probability_is_an_error_not_certainty(tiny_loaded):
    """A missing cumulative_logprob used to become 0.0 (probability 1), passing every threshold."""
    from types import SimpleNamespace
    vllm = VllmBackend(FakeLLM(tiny_loaded.model), tiny_loaded.format, make_params=Params, make_lora_request=LoRARequest)
    end = tiny_loaded.format.end
    ok = vllm._generation(SimpleNamespace(token_ids=[end], finish_reason="stop", cumulative_logprob=-0.5), 4)
    assert ok.logprob == -0.5
    with pytest.raises(ValueError, match="no cumulative_logprob"):
        vllm._generation(SimpleNamespace(token_ids=[end], finish_reason="stop", cumulative_logprob=None), 4)
