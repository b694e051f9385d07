import copy
import json

import numpy as np
import pytest
import torch

from .conftest import write_json
from solver.__main__ import main
from solver.budget import Deadline
from solver.config import ConfigError, load_config
from solver.neural import NeuralStage
from solver.pipeline import run
from solver.stages import build_stages
from solver.submission import validate_submission
from solver.synth import RULES, make_task
from solver.tasks import load_challenges


def tiny_config(model_dir, *extra):
    return load_config("tiny", [f"model.path={json.dumps(str(model_dir))}", *extra])


@pytest.fixture
def stage(tiny_model_dir):
    return NeuralStage(tiny_config(tiny_model_dir))


def same_state(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_the_stage_reads_its_knobs_on_every_call(stage):
    task = make_task(RULES["identity"], np.random.default_rng(0), n_test=2)
    start = stage.adapter.state()
    low = copy.deepcopy(stage.cfg)
    low.ttt.steps, low.sample.views = 2, 3
    stage.solve(task, low, Deadline.never())
    assert stage.reports[task.id].ttt.steps == 2 and stage.reports[task.id].sample.prompts == 3 * 2
    stage.cfg.ttt.enabled = False  # the way a budget coordinator may degrade a task: through the config
    stage.cfg.sample.views = 1
    stage.solve(task, stage.cfg, Deadline.never())
    assert stage.reports[task.id].ttt is None and stage.reports[task.id].sample.prompts == 2
    assert same_state(stage.adapter.state(), start)  # each task's adapter was discarded


def test_the_stage_honours_its_deadline(stage):
    task = make_task(RULES["identity"], np.random.default_rng(1))
    stage.cfg.ttt.steps = 100_000
    assert stage.solve(task, stage.cfg, Deadline.after(0)).candidates == []
    report = stage.reports[task.id]
    assert report.ttt.steps == 0 and report.sample.generated == 0 and report.sample.skipped == report.sample.prompts
    stage.solve(task, stage.cfg, Deadline.after(1.5))
    report = stage.reports[task.id]
    assert 0 < report.ttt.steps < 100_000 and report.ttt.stopped == "deadline"


def test_unknown_sampling_methods_are_refused():
    # refused when the config loads, before any model is loaded or any training time is spent
    with pytest.raises(ConfigError, match="sample.method must be one of greedy, dfs, got 'beam'"):
        load_config(overrides=["sample.method=beam"])


@pytest.mark.slow
def test_a_shared_adapter_becomes_every_task_s_start(tiny_model_dir):
    stage = NeuralStage(tiny_config(tiny_model_dir, "ttt.scope=shared", "ttt.shared_steps=3", "ttt.lr=1e-2"))
    fresh = stage.adapter.state()
    tasks = [make_task(RULES[r], np.random.default_rng(0)) for r in ("identity", "invert")]
    stage.prepare(tasks, Deadline.never())
    assert stage.shared.steps == 3 and stage.shared.sequences > 0
    shared = stage.adapter.state()
    assert not same_state(shared, fresh)
    stage.solve(tasks[0], stage.cfg, Deadline.never())
    assert same_state(stage.adapter.state(), shared)


def test_build_stages_adds_the_neural_stage_only_with_a_model(tiny_model_dir):
    assert build_stages(load_config("tiny"), "gpu") == []
    stages = build_stages(tiny_config(tiny_model_dir), "gpu")  # the model loads here, in the model worker
    assert [s.name for s in stages] == ["neural"] and stages[0].prepare is not None
    assert build_stages(tiny_config(tiny_model_dir), "inline")[0].name == "baseline"


@pytest.fixture
def three_tasks(tmp_path, sample_challenges_path, sample_solutions_path):
    challenges = json.loads(sample_challenges_path.read_text())
    solutions = json.loads(sample_solutions_path.read_text())
    keep = list(challenges)[:3]
    return (write_json(tmp_path / "c.json", {k: challenges[k] for k in keep}),
            write_json(tmp_path / "s.json", {k: solutions[k] for k in keep}))


@pytest.mark.slow
def test_a_run_with_the_model_leaves_a_valid_submission(tmp_path, tiny_model_dir, three_tasks):
    challenges, solutions = three_tasks
    cfg = tiny_config(tiny_model_dir, "ttt.steps=2", "sample.views=2")
    result = run(challenges, cfg, tmp_path / "out" / "submission.json", solutions=solutions, progress=False)
    submission = json.loads((tmp_path / "out" / "submission.json").read_text())
    assert validate_submission(submission, load_challenges(challenges)) == []
    assert len(result.records) == 3 and all("neural" in r.seconds for r in result.records.values())
    assert all(not r.errors for r in result.records.values())


@pytest.mark.slow
def test_a_model_whose_answers_are_all_malformed_is_reported_loudly(tmp_path, tiny_model_dir, three_tasks):
    """The random tiny model writes no grid: the run still succeeds on the other stages, but the journal
    counts every rejected output with its reason, and the summary and the report warn."""
    from solver.journal import read_tasks
    from solver.pipeline import summary_lines
    from solver.report import write_report
    challenges, solutions = three_tasks
    cfg = tiny_config(tiny_model_dir, "ttt.steps=1", "sample.views=2")
    result = run(challenges, cfg, tmp_path / "out" / "submission.json", solutions=solutions, progress=False)
    records = read_tasks(tmp_path / "out" / "work")
    for r in records.values():
        stats = r.stats["neural"]
        n_test = len(r.attempts)
        assert stats["prompts"] == 2 * n_test and stats["candidates"] == 0
        assert sum(stats["rejects"].values()) == stats["prompts"]  # every prompt: decoded and rejected, or too long
        assert set(r.phases["neural"]) == {"ttt", "sample"}
    lines = summary_lines(result)
    assert any(line.startswith("  model neural") and "no candidate on 3 tasks" in line for line in lines)
    assert lines[-1].startswith("WARNING: the neural stage produced no valid candidate on 3 of 3 tasks")
    assert "format mismatch" in lines[-1]
    page = write_report(tmp_path / "out" / "work").read_text()
    assert "WARNING: the neural stage produced no valid candidate on 3 of 3 tasks" in page


@pytest.mark.slow
def test_run_command_takes_a_model_directory(tmp_path, tiny_model_dir, three_tasks, capsys):
    challenges, _ = three_tasks
    out = tmp_path / "sub.json"
    code = main(["run", "--challenges", str(challenges), "--out", str(out), "--config", "tiny",
                 "--model", str(tiny_model_dir), "--set", "ttt.steps=1", "--set", "sample.views=1",
                 "--no-progress"])
    assert code == 0 and "stage neural" in capsys.readouterr().out
    missing = tmp_path / "no-model"
    assert main(["run", "--challenges", str(challenges), "--out", str(out), "--model", str(missing)]) == 2
    assert f"model directory {missing} does not exist" in capsys.readouterr().err


def _imports(module: str) -> set[str]:
    """The solver modules `module` imports, relative imports at any depth (lazy ones inside functions too)."""
    import ast
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / module.replace(".", "/")
    if path.is_dir():  # a package: its __init__.py, relative imports from the package itself
        path, package = path / "__init__.py", module.split(".")
    else:
        path, package = path.with_suffix(".py"), module.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            out |= {".".join(base + [node.module])} if node.module else {".".join(base + [a.name]) for a in node.names}
    return out


def test_the_neural_stage_and_the_stage_protocol_import_no_circle():
    """stages.py builds the neural stage (a lazy import); nothing the neural stage imports, at any depth,
    imports stages.py back: the result types live in solver/phases.py."""
    seen, todo = set(), ["solver.neural"]
    while todo:
        module = todo.pop()
        if module in seen or module.startswith("solver.dsl"):
            continue
        seen.add(module)
        todo += [m for m in _imports(module) if m.startswith("solver.")]
    assert "solver.neural" in _imports("solver.stages")
    assert "solver.stages" not in seen and "solver.phases" in seen
    assert {"solver.adapters", "solver.ttt"} <= seen
    assert "solver.ttt" not in _imports("solver.adapters")  # adapter files: one module, which imports no trainer
