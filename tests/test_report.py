"""The HTML report of a run: what it shows must be what the run did."""
from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from solver.config import load_config
from solver.pipeline import run
from solver.report import PALETTE, grid_png, write_report

ROOT = Path(__file__).resolve().parent.parent


def decode(uri: str) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")


def test_grid_png_draws_each_cell_in_its_arc_colour():
    grid = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 9]], dtype=np.uint8)
    img = (decode(grid_png(grid, target=30))[..., :3] * 255).round().astype(np.uint8)
    cell = 10  # 30 // 3
    for i in range(3):
        for j in range(3):
            centre = img[1 + i * (cell + 1) + cell // 2, 1 + j * (cell + 1) + cell // 2]
            assert tuple(centre) == tuple(PALETTE[grid[i, j]])
    assert img.shape[:2] == (3 * (cell + 1) + 1, 3 * (cell + 1) + 1)


def test_report_shows_the_run(tmp_path, sample_challenges_path, sample_solutions_path, monkeypatch):
    monkeypatch.setenv("FAULTY_DIR", str(tmp_path))
    monkeypatch.setenv("FAULTY_TASKS", "007bbfb7")
    cfg = load_config(None, ['run.extra_stages=["tests.faulty_stages:crash_gpu"]', "run.cpu_workers=1",
                             "dsl.enabled=false"])
    result = run(sample_challenges_path, cfg, tmp_path / "s.json", solutions=sample_solutions_path,
                 workdir=tmp_path / "work", progress=False)
    page = write_report(tmp_path / "work").read_text()

    ids = json.loads(Path(sample_challenges_path).read_text())
    assert all(f"id='t-{tid}'" in page for tid in ids)
    # Score and coverage as the run computed them.
    n = result.score.n_outputs
    assert f"<td>selected (score)</td><td>{result.score.n_correct}</td><td>{result.score.score:.4f}</td>" in page
    assert f"<td>generated (coverage)</td><td>{round(result.coverage * n)}</td>" in page
    # The failing stage's error is shown on its task, and candidates are labelled with their stage.
    section = page[page.index("id='t-007bbfb7'"):page.index("</section>", page.index("id='t-007bbfb7'"))]
    assert "crash: RuntimeError: deliberate failure" in section
    assert "baseline×1" in page and "crash×1" in page
    # Every grid is an inline PNG: train pairs, test inputs, two attempts, truths and candidates at least.
    task_grids = sum(2 * len(t["train"]) + 4 * len(t["test"]) for t in ids.values())
    assert len(re.findall(r"src='data:image/png;base64,", page)) > task_grids
    assert "<script" not in page and "http" not in page.split("<body>", 1)[1]  # self-contained


@pytest.mark.slow
def test_report_cli_writes_where_asked(tmp_path, sample_challenges_path):
    cfg = load_config(None, ["run.cpu_workers=1", "dsl.enabled=false"])
    run(sample_challenges_path, cfg, tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    out = subprocess.run([sys.executable, "-m", "solver", "report", str(tmp_path / "work"), "--out",
                          str(tmp_path / "r.html")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "r.html").read_text()
    assert "No solutions known" in page and "attempt 1" in page


@pytest.mark.slow
def test_report_names_the_program_behind_each_dsl_candidate(tmp_path, sample_challenges_path):
    import html
    from solver.journal import read_tasks
    data = json.loads(Path(sample_challenges_path).read_text())
    two = tmp_path / "two.json"
    two.write_text(json.dumps({k: data[k] for k in list(data)[:2]}))
    cfg = load_config("cpu", ["run.cpu_workers=1", "dsl.seconds_per_task=0.5", "dsl.max_depth=1"])
    run(two, cfg, tmp_path / "s.json", workdir=tmp_path / "work", progress=False)
    programs = {c.program for r in read_tasks(tmp_path / "work").values() for c in r.candidates
                if c.stage == "dsl"}
    assert programs
    page = write_report(tmp_path / "work").read_text()
    assert all(html.escape(p) in page for p in programs)  # in full on hover, at least


def test_a_model_stage_is_called_out_when_most_of_its_tasks_got_no_candidate():
    from solver.journal import stage_outputs
    good = {"neural": {"prompts": 4, "decoded": 4, "candidates": 3, "rejects": {"stopped: malformed": 1}}}
    empty = {"neural": {"prompts": 4, "decoded": 4, "candidates": 0, "rejects": {"stopped: malformed": 4}}}
    half = stage_outputs([good, empty, {"dsl": {"programs": 3}}])  # a stage without decoded outputs is not a model's
    assert list(half) == ["neural"] and not half["neural"].mostly_empty  # one of two: not most
    most = stage_outputs([good, empty, empty])["neural"]
    assert most.mostly_empty and (most.tasks, most.candidates, most.empty_tasks) == (3, 3, 2)
    assert most.rejects == {"stopped: malformed": 9} and "9 stopped: malformed" in most.line()
    assert most.warning("neural").startswith("WARNING: the neural stage produced no valid candidate on 2 of 3")
