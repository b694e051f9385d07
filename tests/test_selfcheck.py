"""python -m solver selfcheck on the transformers backend (the other engines: tests/engines/)."""
import json

import pytest

from solver.__main__ import main
from solver.selfcheck import CheckFailed, Runner, _compare

PHASES = ["load", "stage", "ttt", "greedy", "dfs", "rescore"]


@pytest.mark.slow
def test_selfcheck_runs_every_phase_and_writes_json(tmp_path, tiny_model_dir, capsys):
    assert main(["selfcheck", "--config", "tiny", "--model", str(tiny_model_dir), "--out", str(tmp_path / "s.json")]) == 0
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["ok"] and [p["name"] for p in result["phases"]] == PHASES
    phases = {p["name"]: p for p in result["phases"]}
    assert phases["load"]["detail"]["loader"] == "cpu" and phases["stage"]["detail"]["backend"] == "TransformersBackend"
    assert phases["ttt"]["detail"]["steps"] == 2 and phases["ttt"]["detail"]["adapter_change"] > 0
    assert phases["rescore"]["detail"]["grids"] >= 1
    assert all(p["seconds"] > 0 and p["peak_rss_gib"] > 0 for p in result["phases"])
    assert "selfcheck passed" in capsys.readouterr().out


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
