"""`python -m solver finetune` on tiny real models: the vocabulary cut, the examples and their loss mask,
kill and resume, and the produced directory running through `run --model` and `selfcheck`."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import transformers

from solver.config import FinetuneConfig, ModelConfig, load_config
from solver.formats import bind
from solver.finetune import (IGNORE, ExampleSet, FinetuneError, _trainer_classes, attach_lora, collate,
                             cut_vocabulary, draw_example, encode_example, finetune, io_transformed, split_sources)
from solver.model import load_model
from solver.synth import RULES, make_task, to_kaggle
from solver.tasks import Example, Task

ROOT = Path(__file__).resolve().parent.parent


def write_tasks(path: Path, tasks: list[Task]) -> Path:
    """Kaggle challenges (and, beside it, solutions) for `tasks`."""
    challenges, solutions = to_kaggle(tasks)
    path.write_text(json.dumps(challenges))
    path.with_name(path.name.replace("_challenges", "_solutions")).write_text(json.dumps(solutions))
    return path


def identity_tasks(n: int, seed: int, prefix: str = "id") -> list[Task]:
    rng = np.random.default_rng(seed)
    return [make_task(RULES["identity"], rng, n_train=3, sides=(3, 3), task_id=f"{prefix}{k:03d}") for k in range(n)]


def base_model(path):
    return transformers.AutoModelForCausalLM.from_pretrained(path, local_files_only=True)


# ------------------------------------------------------------------------------------------- vocabulary

def test_the_cut_keeps_the_base_rows_and_reloads_as_the_same_model(tiny_model_dir, tmp_path):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    base, model = base_model(tiny_model_dir), base_model(tiny_model_dir)
    fmt = bind("kit", tokenizer)
    cut_tok, cut_fmt, kept = cut_vocabulary(model, tokenizer, fmt)
    assert kept == fmt.shrink_ids() and len(kept) < base.config.vocab_size
    rows = base.get_input_embeddings().weight[torch.tensor(kept)]
    assert torch.equal(model.get_input_embeddings().weight, rows)  # every kept row is the base's row
    assert model.get_input_embeddings().weight.shape[0] == len(kept) == model.config.vocab_size
    assert cut_fmt.shrink_ids() == list(range(len(kept)))
    # The cut model computes, over the kept symbols, exactly the base's logits.
    task = make_task(RULES["ring"], np.random.default_rng(0))
    ids = fmt.encode(task.train, task.test[0], 1000).ids
    new_ids = cut_fmt.encode(task.train, task.test[0], 1000).ids
    assert [kept[i] for i in new_ids] == list(ids)
    with torch.no_grad():
        full = base(torch.from_numpy(ids)[None]).logits[0][:, torch.tensor(kept)]
        small = model(torch.from_numpy(new_ids)[None]).logits[0]
    torch.testing.assert_close(small, full)
    # Saved with its cut tokenizer, the kit's loader binds the same symbols and cuts nothing more.
    model.save_pretrained(tmp_path)
    cut_tok.save_pretrained(tmp_path)
    rebound = bind("kit", transformers.AutoTokenizer.from_pretrained(tmp_path))
    assert np.array_equal(rebound.encode(task.train, task.test[0], 1000).ids, new_ids)
    loaded = load_model(ModelConfig(path=str(tmp_path), format="kit"))
    assert np.array_equal(loaded.format.encode(task.train, task.test[0], 1000).ids, new_ids)
    assert loaded.model.get_input_embeddings().weight.shape[0] == len(kept)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(torch.from_numpy(new_ids)[None]).logits[0], small)


# --------------------------------------------------------------------------------------------- examples

def small_task() -> Task:
    g = lambda v: np.full((2, 2), v, np.uint8)  # noqa: E731
    return Task("t", (Example(g(1), g(2)), Example(g(3), g(4))), (Example(g(5), g(6)),))


@pytest.mark.parametrize("loss_on", ["outputs", "outputs-but-first", "test"])
def test_loss_is_on_the_chosen_outputs_token_by_token(tiny_loaded, loss_on):
    fmt, task = tiny_loaded.format, small_task()
    ex = encode_example(task, fmt, 1000, loss_on)
    enc = fmt.encode(task.train, task.test[0], 1000)
    assert np.array_equal(ex.ids, enc.ids)
    chosen = {"outputs": {0, 1, 2}, "outputs-but-first": {1, 2}, "test": {2}}[loss_on]
    for pos, (tok, label) in enumerate(zip(ex.ids, ex.labels)):
        carries = bool(enc.is_answer[pos]) and int(enc.pair[pos]) in chosen
        assert label == (tok if carries else IGNORE), (pos, tok, label)
    # Each output block is its 2x2 cells, 2 row separators and the end token: 7 tokens per chosen output.
    assert (ex.labels != IGNORE).sum() == 7 * len(chosen)
    # The loss the Trainer takes (the model's own, from these labels) is the mean over exactly those tokens.
    ids, labels = torch.from_numpy(ex.ids)[None], torch.from_numpy(ex.labels)[None]
    with torch.no_grad():
        out = tiny_loaded.model(input_ids=ids, labels=labels)
        logp = out.logits[0, :-1].log_softmax(-1)
    at = [p - 1 for p in range(1, len(ex.ids)) if ex.labels[p] != IGNORE]
    manual = -torch.stack([logp[p, int(ex.ids[p + 1])] for p in at]).mean()
    torch.testing.assert_close(out.loss, manual)
    assert not torch.isclose(out.loss, F.cross_entropy(out.logits[0, :-1], ids[0, 1:]))  # not every token



@pytest.mark.parametrize("method", ["full", "lora"])
def test_the_trainer_runs_the_head_on_labelled_positions_only_for_the_full_logits_loss_and_gradients(
        tiny_loaded, tmp_path, method):
    """The Trainer's loss is TTT's (ttt.answer_loss): the same loss and gradients as the Trainer's default (the
    model's own loss over every position's logits), with the tokens counted over the accumulated batch (the
    Trainer's count) or over this batch (no count), while the head sees only the labelled positions."""
    model = tiny_loaded.model
    if method == "lora":  # LoRA on the projections, the head and embeddings trained in full beside it
        model = attach_lora(model, FinetuneConfig(lora_rank=4, lora_alpha=4.0, lora_embeddings=True), False, 0)
    torch.manual_seed(0)
    trainable = [p for p in model.parameters() if p.requires_grad]
    with torch.no_grad():  # away from LoRA's zero start, so that every trained matrix has a gradient
        for p in trainable:
            p.add_(0.05 * torch.randn_like(p))
    fmt = tiny_loaded.format
    tasks = [small_task(), make_task(RULES["invert"], np.random.default_rng(0), n_train=2, sides=(3, 3))]
    items = [{"input_ids": torch.from_numpy(e.ids), "labels": torch.from_numpy(e.labels)}
             for e in (encode_example(t, fmt, 1000, "outputs") for t in tasks)]
    inputs = collate(fmt.pad)(items)  # two rows, one right padded
    assert len(items[0]["input_ids"]) != len(items[1]["input_ids"])
    FinetuneTrainer, _, _ = _trainer_classes()
    args = transformers.TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none",
                                          per_device_train_batch_size=2)
    trainer = FinetuneTrainer(model=model, args=args, bucket=False, seed=0)
    assert trainer.model_accepts_loss_kwargs  # the Trainer counts the tokens of the accumulated batch
    labelled = int((inputs["labels"][:, 1:] != IGNORE).sum())
    head = (model.get_base_model() if method == "lora" else model).get_output_embeddings()
    rows: list[int] = []
    hook = head.register_forward_hook(lambda _m, args, _out: rows.append(args[0].shape[:-1].numel()))
    try:
        for count in (torch.tensor(3 * labelled), None):  # as if this were one of three accumulated batches
            results = []
            for compute in (transformers.Trainer.compute_loss, FinetuneTrainer.compute_loss):
                model.zero_grad(set_to_none=True)
                rows.clear()
                loss = compute(trainer, model, dict(inputs), num_items_in_batch=count)
                loss.backward()
                results.append((float(loss.detach()), [p.grad.clone() for p in trainable], list(rows)))
            (full, full_grads, full_rows), (mine, my_grads, my_rows) = results
            assert full > 0 and mine == pytest.approx(full, rel=1e-5)
            for a, b in zip(full_grads, my_grads):
                torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6)
            assert sum(float(g.abs().sum()) for g in my_grads) > 0
            assert full_rows == [inputs["input_ids"].numel()] and my_rows == [labelled]
    finally:
        hook.remove()


def test_the_loss_follows_the_profile_unless_set(tiny_loaded, tmp_path):
    from solver.family_models import build_nvarc_tokenizer
    task = small_task()
    nvarc = bind("nvarc", build_nvarc_tokenizer())
    kit = tiny_loaded.format
    for fmt, first_trained in ((nvarc, True), (kit, False)):  # NVARC trained the first output, the kit does not
        enc = fmt.encode(task.train, task.test[0], 1000)
        auto = encode_example(task, fmt, 1000, "auto")
        assert np.array_equal(auto.ids, enc.ids)  # the profile's layout, token for token
        first = enc.is_answer & (enc.pair == 0)
        assert (auto.labels[first] != IGNORE).all() == first_trained and first.any()
        but_first = encode_example(task, fmt, 1000, "outputs-but-first")
        assert (but_first.labels[first] == IGNORE).all() and (but_first.labels[enc.pair == 2] != IGNORE).any()
        every = encode_example(task, fmt, 1000, "outputs")
        assert np.array_equal(every.labels != IGNORE, enc.is_answer)


@pytest.mark.parametrize("family", ["nvarc", "marc"])
def test_a_vocabulary_that_ships_cut_or_a_text_format_is_not_cut(family, tmp_path):
    from solver.family_models import make_family_model
    path = make_family_model(tmp_path / family, family, "tiny", seed=0)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = base_model(path)
    fmt = bind(family, tokenizer)
    size = model.get_input_embeddings().weight.shape[0]
    same_tok, same_fmt, kept = cut_vocabulary(model, tokenizer, fmt)
    assert kept is None and same_tok is tokenizer and same_fmt is fmt
    assert model.get_input_embeddings().weight.shape[0] == size == len(tokenizer)

def test_examples_are_drawn_reproducibly_and_every_view_keeps_the_rule(tiny_loaded):
    cfg = FinetuneConfig(permute_background=0.5)
    source = make_task(RULES["dilate_cross"], np.random.default_rng(0), n_train=4)
    data = ExampleSet([lambda _r: source], 40, cfg, tiny_loaded.format, 2000, seed=3)
    assert all(np.array_equal(data.example(i).ids, data.example(i).ids) for i in range(5))
    assert len({data.example(i).ids.tobytes() for i in range(40)}) > 30  # augmented: almost all differ
    moved_background = 0
    for i in range(40):
        t = draw_example(source, cfg, np.random.default_rng(i))
        assert 1 <= len(t.train) <= 4 and len(t.test) == 1
        for e in t.train + t.test:  # a view of a task of this rule is a task of the same rule, ...
            background = int(np.bincount(e.input.ravel()).argmax())
            if background == 0:
                assert np.array_equal(RULES["dilate_cross"].fn(e.input), e.output)
            else:  # ... up to the colour the view gave the background
                moved_background += 1
                break
    assert 0 < moved_background < 40  # colour 0 moves in some views, not in all


def test_input_only_and_output_only_transforms_make_a_consistent_new_rule():
    task = make_task(RULES["identity"], np.random.default_rng(0), sides=(3, 4))
    seen = set()
    for s in range(20):
        t = io_transformed(task, np.random.default_rng(s))
        pairs = t.train + t.test
        same_inputs = all(np.array_equal(a.input, b.input) for a, b in zip(pairs, task.train + task.test))
        seen.add(same_inputs)
        # every pair shows one map between input and output: identity composed with one symmetry
        from solver.augment import D8
        fits = [k for k in range(8) if all(np.array_equal(D8(k).apply(e.input), e.output) for e in pairs)]
        assert len(fits) >= 1 and 0 not in fits
    assert seen == {True, False}  # inputs only, and outputs only


def test_sources_hold_out_validation_tasks_and_read_solutions(tmp_path):
    path = write_tasks(tmp_path / "a_challenges.json", identity_tasks(20, 0))
    sources, val = split_sources([str(path), "synth:ring,crop", "synth:recolour"], eval_tasks=4, seed=0)
    train_ids = {s(np.random.default_rng(0)).id for s in sources[:-3]}
    assert len(train_ids) == 16 and len(val) == 4 and not train_ids & {t.id for t in val}
    assert all(ex.output is not None for t in val for ex in t.test)  # the solutions file was read
    assert {sources[-2](np.random.default_rng(k)).id.split("-")[0] for k in range(3)} == {"crop"}
    # A family draws a new rule per task: two draws map the same colour differently.
    maps = [{int(a): int(b) for e in t.train for a, b in zip(e.input.ravel(), e.output.ravel())}
            for t in (sources[-1](np.random.default_rng(k)) for k in range(2))]
    assert any(maps[0][c] != maps[1][c] for c in set(maps[0]) & set(maps[1]) - {0})
    _, copies = split_sources(["synth:copy4"], eval_tasks=3, seed=0)  # a copying rule draws its tasks
    assert len(copies) == 3 and all(np.array_equal(e.input, e.output) for t in copies for e in t.train + t.test)
    (paint,), _ = split_sources(["synth:paint"], eval_tasks=0, seed=0)
    for k in range(10):  # one training colour per task, every coloured cell painted with it
        t = paint(np.random.default_rng(k))
        (colour,) = set(np.unique(np.concatenate([e.output.ravel() for e in t.train + t.test]))) - {0}
        assert colour in range(1, 7) and all(np.array_equal(e.output > 0, e.input > 0) for e in t.train)
    with pytest.raises(FinetuneError, match="unknown rule nope"):
        split_sources(["synth:nope"], 0, 0)
    with pytest.raises(FinetuneError, match="no such file"):
        split_sources([str(tmp_path / "missing.json")], 0, 0)
    only_demo = tmp_path / "b_challenges.json"
    only_demo.write_text(json.dumps({"x": {"train": [{"input": [[1]], "output": [[1]]}], "test": [{"input": [[2]]}]}}))
    with pytest.raises(FinetuneError, match="task x has fewer than 2 pairs"):
        split_sources([str(only_demo)], 0, 0)


# ------------------------------------------------------------------------------------------- end to end

def finetune_cmd(base, data, out, steps, *extra):
    return [sys.executable, "-m", "solver", "finetune", "--base", str(base), "--data", str(data), "--out", str(out),
            "--steps", str(steps), "--no-progress", "--set", "finetune.batch_size=4", "--set", "finetune.save_steps=3",
            "--set", "finetune.eval_tasks=0", *extra]


def losses(out: Path) -> list[float]:
    return json.loads((out / "finetune.json").read_text())["losses"]


def run_model(tmp_path: Path, n_tasks: int, views: int) -> str:
    """`python -m solver run --model tmp_path/model` on `n_tasks` new identity tasks, the neural stage only;
    asserts every task went through without errors and is in the submission. Returns the run's stderr."""
    new = write_tasks(tmp_path / "new_challenges.json", identity_tasks(n_tasks, 9, "new"))
    r = subprocess.run([sys.executable, "-m", "solver", "run", "--challenges", str(new), "--model",
                        str(tmp_path / "model"), "--config", "tiny", "--out", str(tmp_path / "sub.json"),
                        "--set", "baseline.enabled=false", "--set", "dsl.enabled=false", "--set", "ttt.enabled=false",
                        "--set", f"sample.views={views}", "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    journal = [json.loads(line) for line in (tmp_path / "work" / "journal.jsonl").read_text().splitlines()]
    tasks = [row for row in journal if row.get("task_id", "").startswith("new")]
    ids = {f"new{k:03d}" for k in range(n_tasks)}
    assert len(tasks) == n_tasks and not any(row.get("errors") for row in tasks), tasks
    assert set(json.loads((tmp_path / "sub.json").read_text())) == ids
    return r.stderr


@pytest.mark.slow
def test_a_killed_run_resumes_with_no_lost_step(tiny_model_dir, tmp_path):
    data = write_tasks(tmp_path / "d_challenges.json", identity_tasks(12, 0))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = subprocess.run(finetune_cmd(tiny_model_dir, data, tmp_path / "whole", 12), cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr[-2000:]
    out = tmp_path / "killed"
    child = subprocess.Popen(finetune_cmd(tiny_model_dir, data, out, 12), cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (out / "checkpoints" / "checkpoint-3" / "trainer_state.json").exists():
        assert child.poll() is None and time.monotonic() < deadline, "the run ended before its first checkpoint"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (out / "finetune.json").exists()  # killed before the end
    done = sorted(int(p.name.split("-")[1]) for p in (out / "checkpoints").glob("checkpoint-*"))
    assert done and done[-1] < 12
    again = subprocess.run(finetune_cmd(tiny_model_dir, data, out, 12), cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    meta = json.loads((out / "finetune.json").read_text())
    assert meta["resumed_from"].startswith("checkpoint-") and meta["steps"] == 12
    assert len(losses(out)) == 12
    np.testing.assert_allclose(losses(out), losses(tmp_path / "whole"), rtol=1e-4)
    # Other settings in the same folder are refused, not silently mixed.
    other = subprocess.run(finetune_cmd(tiny_model_dir, data, out, 12, "--set", "finetune.lr=0.1"), cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=300)
    assert other.returncode == 2 and "other settings" in other.stderr


@pytest.mark.slow
def test_the_produced_directory_runs_through_run_model(tiny_model_dir, tmp_path, single_torch_thread):
    data = write_tasks(tmp_path / "d_challenges.json", identity_tasks(20, 0))
    cfg = load_config("cpu", ["finetune.steps=6", "finetune.batch_size=4", "finetune.save_steps=3",
                              "finetune.eval_tasks=4", "finetune.eval_views=2", "finetune.method=lora",
                              "finetune.lora_rank=4"])
    meta = finetune(tiny_model_dir, "kit", [str(data)], tmp_path / "model", cfg, progress=False)
    assert meta["method"] == "lora" and meta["steps"] == 6 and len(meta["losses"]) == 6
    assert [row["step"] for row in meta["validation"]] == [3, 6] and meta["validation"][0]["tasks"] == 4
    assert meta["vocab"]["cut"] and meta["vocab"]["size"] == len(meta["vocab"]["base_ids_kept"])
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["vocab_size"] == meta["vocab"]["size"]  # the LoRA update is merged into a plain model
    assert not (tmp_path / "model" / "adapter_config.json").exists()
    assert "in format kit (" in run_model(tmp_path, 3, views=2)
    # And through `selfcheck --model` on the CPU: every phase (load, stage, TTT, greedy, DFS, rescoring) passes
    # on the fine-tuned directory, each checked against the transformers backend.
    check = subprocess.run([sys.executable, "-m", "solver", "selfcheck", "--config", "cpu", "--model",
                            str(tmp_path / "model"), "--out", str(tmp_path / "selfcheck.json")], cwd=ROOT,
                           capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    report = json.loads((tmp_path / "selfcheck.json").read_text())
    assert check.returncode == 0 and report["ok"], check.stdout + check.stderr[-2000:]
    assert report["model"] == str(tmp_path / "model")
    assert [p["name"] for p in report["phases"] if p["ok"]] == ["load", "stage", "ttt", "greedy", "dfs", "rescore"]
    assert report["phases"][0]["detail"]["parameters"] > 0 and "selfcheck passed (cpu" in check.stdout


def test_the_command_refuses_an_unknown_format_and_bad_data(tiny_model_dir, tmp_path, capsys):
    from solver.__main__ import main
    base = ["finetune", "--base", str(tiny_model_dir), "--out", str(tmp_path / "m"), "--steps", "2"]
    assert main([*base, "--format", "nope", "--data", "synth:identity"]) == 2
    assert "unknown format 'nope'; formats: kit, nvarc, architects, marc" in capsys.readouterr().err
    assert main([*base, "--format", "kit", "--data", "synth:nope"]) == 2
    assert "unknown rule nope" in capsys.readouterr().err
    assert main([*base, "--format", "kit", "--data", "synth:identity", "--set", "finetune.loss_on=inputs"]) == 2
    assert "finetune.loss_on must be one of" in capsys.readouterr().err


@pytest.mark.slow
def test_finetuning_a_random_base_on_identity_tasks_makes_it_copy(tmp_path, single_torch_thread):
    # The acceptance run, shortened (bench/finetune_identity.py runs it whole, 400 steps): at the
    # default learning rate for a tiny base, 150 steps were enough for 11 of 12 held-out tasks at step 100
    # in bench/results/finetune_identity_cpu.txt. Scored on the model's own answers (no fallback grid).
    from solver.finetune import evaluate
    from solver.model import make_tiny_model
    base = make_tiny_model(tmp_path / "base", "small", seed=0)
    data = write_tasks(tmp_path / "d_challenges.json", identity_tasks(40, 0))
    cfg = load_config("cpu", ["finetune.steps=150", "finetune.save_steps=150", "finetune.eval_tasks=0"])
    meta = finetune(base, "kit", [str(data)], tmp_path / "model", cfg, progress=False)
    assert meta["method"] == "full" and meta["lr"] == pytest.approx(3e-3)
    loaded = load_model(ModelConfig(path=str(tmp_path / "model")))
    new = identity_tasks(8, 5, "new")
    score = evaluate(loaded.model, loaded.format, new, 2, ["geometry", "colors"], loaded.max_length, seed=0)
    assert score.top1 >= 6, score
    untrained = load_model(ModelConfig(path=str(base)))
    assert evaluate(untrained.model, untrained.format, new, 2, ["geometry"], 2048, seed=0).coverage == 0



@pytest.mark.slow
def test_an_nvarc_model_finetuned_in_its_format_runs_with_its_format_detected(tmp_path, single_torch_thread):
    # The profile path end to end: a tiny Qwen3 with NVARC's tokenizer, fine-tuned in NVARC's format (no cut:
    # its vocabulary ships cut), written with its marker, loaded by `run --model` as nvarc.
    from solver.family_models import make_family_model
    base = make_family_model(tmp_path / "base", "nvarc", "tiny", seed=0)
    data = write_tasks(tmp_path / "d_challenges.json", identity_tasks(10, 0))
    cfg = load_config("cpu", ["finetune.steps=3", "finetune.batch_size=4", "finetune.save_steps=3",
                              "finetune.eval_tasks=2", "finetune.eval_views=1"])
    meta = finetune(base, "nvarc", [str(data)], tmp_path / "model", cfg, progress=False)
    assert meta["format"] == "nvarc" and meta["steps"] == 3 and not meta["vocab"]["cut"]
    assert meta["vocab"]["size"] == 16 and meta["validation"][-1]["tasks"] == 2
    assert json.loads((tmp_path / "model" / "arc_format.json").read_text()) == {"format": "nvarc"}
    loaded = load_model(ModelConfig(path=str(tmp_path / "model")))
    assert loaded.format.name == "nvarc" and loaded.model.get_input_embeddings().weight.shape[0] == 16
    assert "in format nvarc (" in run_model(tmp_path, 2, views=1)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["architects", "marc"])
def test_models_finetuned_in_the_other_profiles_run_with_their_format_detected(family, tmp_path,
                                                                              single_torch_thread):
    # As above for the ARChitects' profile (a tiny Mistral with the single-character vocabulary their
    # checkpoints ship already cut: not cut again) and MIT's (a tiny Llama with a BPE tokenizer and the
    # Llama-3 chat template: a text format, never cut). Both keep every row of the base.
    from solver.family_models import make_family_model
    base = make_family_model(tmp_path / "base", family, "tiny", seed=0)
    base_rows = load_model(ModelConfig(path=str(base), format=family, shrink_vocab=False)).model.get_input_embeddings().weight.shape[0]
    data = write_tasks(tmp_path / "d_challenges.json", identity_tasks(10, 0))
    cfg = load_config("cpu", ["finetune.steps=3", "finetune.batch_size=4", "finetune.save_steps=3",
                              "finetune.eval_tasks=2", "finetune.eval_views=1"])
    meta = finetune(base, family, [str(data)], tmp_path / "model", cfg, progress=False)
    assert meta["format"] == family and meta["steps"] == 3 and meta["validation"][-1]["tasks"] == 2
    assert not meta["vocab"]["cut"] and meta["vocab"]["size"] == base_rows
    assert json.loads((tmp_path / "model" / "arc_format.json").read_text()) == {"format": family}
    loaded = load_model(ModelConfig(path=str(tmp_path / "model")))
    rows = loaded.model.get_input_embeddings().weight.shape[0]
    assert loaded.format.name == family and rows == base_rows
    assert f"in format {family} (" in run_model(tmp_path, 2, views=1)
