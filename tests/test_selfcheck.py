"""python -m solver selfcheck on the transformers backend (the other engines: tests/engines/)."""
import json

import numpy as np
import pytest

from solver.__main__ import main
from solver.selfcheck import NO_MODEL, SWITCHES, CheckFailed, Runner, _compare, next_switch, paths_in_use

from .conftest import write_json

PHASES = ["load", "stage", "ttt", "greedy", "dfs", "rescore"]


@pytest.mark.slow
def test_selfcheck_runs_every_phase_and_writes_json(tmp_path, pretrained_model_dir, capsys):
    """On the tiny model pre-trained to copy grids: a model whose outputs can be peaked, as a real checkpoint's
    can (a random 64-wide model's logits cannot: its final norm bounds them to a few units)."""
    assert main(["selfcheck", "--config", "tiny", "--model", str(pretrained_model_dir), "--out", str(tmp_path / "s.json")]) == 0
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["ok"] and [p["name"] for p in result["phases"]] == PHASES
    phases = {p["name"]: p for p in result["phases"]}
    assert phases["load"]["detail"]["loader"] == "cpu" and phases["stage"]["detail"]["backend"] == "TransformersBackend"
    assert phases["ttt"]["detail"]["steps"] == 2 and phases["ttt"]["detail"]["adapter_change"] > 0
    assert phases["rescore"]["detail"]["grids"] >= 1
    dfs = phases["dfs"]["detail"]  # on the planted adapter: the answer was found and compared
    assert dfs["planted_probability"] >= 0.9 and dfs["completions"] >= 1 and dfs["max_logprob_difference"] < 1e-3
    assert all(p["seconds"] > 0 and p["peak_rss_gib"] > 0 for p in result["phases"])
    assert "selfcheck passed" in capsys.readouterr().out


@pytest.mark.slow
def test_the_dfs_check_fails_on_a_search_that_finds_nothing(tmp_path, pretrained_model_dir, monkeypatch):
    """The planted answer is over min_prob, so a depth-first search that returns nothing is caught: the check
    fails on that phase alone, where it used to compare nothing and pass."""
    import solver.selfcheck as selfcheck
    from solver.config import load_config
    from solver.dfs import Search
    from solver.engine import TransformersBackend

    monkeypatch.setattr(TransformersBackend, "explore", lambda self, *args, **kwargs: Search(completions=[], forwards=0, stop="done"))
    cfg = load_config("tiny", [f"model.path={json.dumps(str(pretrained_model_dir))}", "sample.min_prob=0.1"])
    result = selfcheck.run_selfcheck(cfg, tmp_path)
    phases = {p["name"]: p for p in result["phases"]}
    assert not result["ok"] and not phases["dfs"]["ok"]
    assert "DFS found no completion with probability >= 0.1" in phases["dfs"]["error"]
    assert phases["dfs"]["detail"]["completions"] == 0 and phases["dfs"]["detail"]["planted_probability"] >= 0.1
    assert all(p["ok"] for n, p in phases.items() if n != "dfs")  # only that check fails


@pytest.mark.slow
def test_the_dfs_check_says_it_was_not_exercised_where_no_answer_can_be_planted(tmp_path, tiny_model_dir):
    """A random 64-wide model cannot be trained to give a whole answer probability 0.1 (its final norm bounds
    its logits): the search owes nothing there, and the report says the check was not exercised."""
    from solver.config import load_config
    from solver.selfcheck import run_selfcheck, summary_lines
    cfg = load_config("tiny", [f"model.path={json.dumps(str(tiny_model_dir))}", "sample.min_prob=0.1"])
    result = run_selfcheck(cfg, tmp_path)
    dfs = next(p for p in result["phases"] if p["name"] == "dfs")
    assert result["ok"] and dfs["detail"]["exercised"] is False and dfs["detail"]["planted_probability"] < 0.1
    assert any("dfs" in line and "not exercised" in line for line in summary_lines(result))


def test_a_path_that_cannot_load_fails_the_check_and_skips_what_needs_it(tmp_path, tiny_model_dir, monkeypatch, capsys):
    import solver.model
    monkeypatch.setattr(solver.model, "_installed", lambda name: False)  # as where bitsandbytes is missing
    out = tmp_path / "s.json"
    assert main(["selfcheck", "--model", str(tiny_model_dir), "--set", "model.load_in_4bit=true", "--out", str(out)]) == 1
    phases = json.loads(out.read_text())["phases"]
    assert not phases[0]["ok"] and "needs bitsandbytes installed" in phases[0]["error"]
    assert all(p["error"].startswith("not run:") for p in phases[1:])
    assert "FAIL load" in capsys.readouterr().out


def test_one_failing_phase_never_hides_the_others():
    runner = Runner()

    def broken(detail):
        detail["seen"] = True
        raise RuntimeError("kernel missing")

    assert not runner.run("a", broken)
    assert runner.run("b", lambda d: d.update(x=1))
    assert not runner.run("c", lambda d: None, needs=["a"])
    a, b, c = runner.phases
    assert a.error == "RuntimeError: kernel missing" and a.detail["seen"] and "Traceback" in a.detail["traceback"]
    assert b.ok and b.detail == {"x": 1} and c.error == "not run: a failed"


def test_backends_must_agree_within_the_tolerance():
    assert _compare([-1.0, -2.0], [-1.0005, -2.0], [5, 5], exact=True, what="x") == pytest.approx(5e-4)
    with pytest.raises(CheckFailed, match="x: -1.10000 against the transformers backend's -1.00000"):
        _compare([-1.1], [-1.0], [5], exact=True, what="x")
    _compare([-1.1], [-1.0], [5], exact=False, what="x")  # bf16: looser


# ---- the fallback: which path a failed check switches off ------------------------------------------------

def checked(backend="transformers", loader="cpu", load_in_4bit=False, failed=None) -> dict:
    """A check's report as run_selfcheck writes it, failing at phase `failed` (None: passed)."""
    names = ["load", "stage", "ttt", "greedy", "dfs", "rescore"] + (["vllm-adapter"] if backend == "vllm" else [])
    phases = [{"name": n, "ok": failed is None or names.index(n) < names.index(failed),
               "detail": {"loader": loader} if n == "load" else {}, "error": None} for n in names]
    return {"ok": failed is None, "backend": backend, "load_in_4bit": load_in_4bit, "phases": phases}


@pytest.mark.parametrize("report, switch", [
    (checked(), None),
    (checked("vllm", "unsloth", True, failed="vllm-adapter"), SWITCHES["vllm"]),
    (checked("vllm", "unsloth", True, failed="stage"), SWITCHES["vllm"]),
    (checked("vllm", "unsloth", True, failed="load"), SWITCHES["unsloth"]),
    (checked("vllm", "unsloth", True, failed="ttt"), SWITCHES["unsloth"]),
    (checked("vllm", "bnb-4bit", True, failed="ttt"), SWITCHES["4bit"]),
    (checked("vllm", "bf16", False, failed="ttt"), SWITCHES["vllm"]),
    (checked("transformers", "unsloth", False, failed="greedy"), SWITCHES["unsloth"]),
    (checked("transformers", "bnb-4bit", True, failed="rescore"), SWITCHES["4bit"]),
    (checked("transformers", "bf16", False, failed="load"), NO_MODEL),
])
def test_a_failed_check_switches_off_the_path_it_points_at(report, switch):
    assert next_switch(report) == switch


def test_a_load_that_failed_before_naming_its_loader_still_drops_4bit():
    report = checked("transformers", None, True, failed="load")
    assert paths_in_use(report) == ["4bit"] and next_switch(report) == SWITCHES["4bit"]


@pytest.mark.slow
def test_fallback_switches_off_what_fails_here_and_the_run_applies_and_journals_it(
        tmp_path, pretrained_model_dir, sample_challenges_path, capsys):
    """The kit's .venv has neither bitsandbytes nor vLLM: asked for both, the real check fails on 4-bit at
    load, then on vLLM at the stage, then passes on transformers in float32; the run applies the switches."""
    report = tmp_path / "check.json"
    assert main(["selfcheck", "--fallback", "--config", "tiny", "--model", str(pretrained_model_dir), "--out", str(report),
                 "--set", "model.load_in_4bit=true", "--set", 'model.backend="vllm"']) == 1
    check = json.loads(report.read_text())
    assert check["switches"] == [SWITCHES["4bit"], SWITCHES["vllm"]] and not check["passed"] and check["usable"]
    failed = [[p["name"] for p in t["result"]["phases"] if not p["ok"]][:1] for t in check["tries"]]
    assert failed == [["load"], ["stage"], []]
    assert "needs bitsandbytes" in check["tries"][0]["result"]["phases"][0]["error"]
    assert "the run switches: model.load_in_4bit=false, model.backend" in capsys.readouterr().out

    challenges = write_json(tmp_path / "c.json", dict(list(json.loads(sample_challenges_path.read_text()).items())[:1]))
    assert main(["run", "--challenges", str(challenges), "--out", str(tmp_path / "out" / "submission.json"),
                 "--config", "tiny", "--model", str(pretrained_model_dir), "--no-progress", "--set", "ttt.steps=1",
                 "--set", "model.load_in_4bit=true", "--set", 'model.backend="vllm"', "--selfcheck", str(report)]) == 0
    entries = [json.loads(line) for line in (tmp_path / "out" / "work" / "journal.jsonl").read_text().splitlines()]
    header = entries[0]["config"]["model"]
    assert header["backend"] == "transformers" and header["load_in_4bit"] is False
    journaled = next(e for e in entries if e["type"] == "selfcheck")
    assert journaled["switches"] == check["switches"] and list(journaled["tries"][1]["failed"]) == ["stage", "ttt",
                                                                                                    "greedy", "dfs",
                                                                                                    "rescore",
                                                                                                    "vllm-adapter"]
    task = next(e for e in entries if e["type"] == "task")
    assert task["seconds"].get("neural", 0) > 0  # the model ran, on the paths that passed
    assert "selfcheck failed on this machine as configured; switched: model.load_in_4bit=false" in capsys.readouterr().out
    from solver.report import write_report
    page = write_report(tmp_path / "out" / "work").read_text()
    assert "the run switched <b>model.load_in_4bit=false, model.backend=&quot;transformers&quot;</b>" in page
    assert "<li>model.load_in_4bit=false: failed in stage (ModelError: model.backend = " in page


def test_run_refuses_a_report_that_is_not_a_fallback_report(tmp_path, sample_challenges_path, capsys):
    bad = write_json(tmp_path / "plain.json", {"ok": True, "phases": []})
    run = ["run", "--challenges", str(sample_challenges_path), "--out", str(tmp_path / "s.json"), "--selfcheck"]
    assert main([*run, str(bad)]) == 2
    assert "not written by `selfcheck --fallback`" in capsys.readouterr().err
    assert main([*run, str(tmp_path / "missing.json")]) == 2
    assert "cannot be read" in capsys.readouterr().err
