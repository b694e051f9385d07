"""bench/gpu_check.sh, the prepared GPU check, run for real in its --dry-run mode (the same steps on the CPU,
tiny shapes) so that the script cannot rot; and bench/plan_check.py, its plan-versus-measured comparison."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import plan_check  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "gpu_check.sh"


def budget_table() -> dict[str, int]:
    """The step -> limit table of the script's header."""
    text = SCRIPT.read_text()
    table = text[text.index("#   step            limit  what"):text.index("#                     ---")]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^#   ([a-z0-9-]+)\s+(\d+)\s", table, re.M)}


def test_the_step_limits_add_up_to_the_total_and_every_step_is_in_the_table():
    table = budget_table()
    total = int(re.search(r"TOTAL=\$\{TOTAL:-(\d+)\}", SCRIPT.read_text()).group(1))
    assert sum(table.values()) <= total <= 480
    steps = set(re.findall(r"^\s*(?:step|skip) ([a-z0-9-]+) ", SCRIPT.read_text(), re.M))
    assert steps == set(table), "every step the script runs or skips has its row in the header's table"


@pytest.mark.slow
def test_the_dry_run_writes_the_summary_and_the_tarball_with_every_step(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)  # a guard against a hang, not a timing assertion
    assert done.returncode == 0, done.stderr[-3000:]
    (tarball,) = out.glob("gpu_check_cpu-dry-run_*.tar.gz")
    assert sorted(p.name for p in out.iterdir()) == sorted([tarball.name, "summary.txt"])
    summary = (out / "summary.txt").read_text()
    lines = {line.split()[0]: line for line in summary.splitlines() if line and not line.startswith("#")}
    for step in budget_table():
        assert step in lines, f"{step} missing from the summary:\n{summary}"
        assert re.search(r"exit +\d+ in|skipped: ", lines[step]), lines[step]
        if "exit" in lines[step]:  # the plan's exit 1 says the preset does not fit: a verdict, not a failure
            ok = r"exit +[01] in" if step == "plan" else r"exit +0 in"
            assert re.search(ok, lines[step]), f"{lines[step]}\n{done.stdout[-3000:]}"
    for engine in ("bitsandbytes", "vllm"):  # the kit's CPU venv has neither: those steps say why they skipped
        if subprocess.run([sys.executable, "-c", f"import {engine}"], capture_output=True).returncode:
            assert f"{engine} is not importable" in summary
    with tarfile.open(tarball) as tar:
        members = {Path(m.name).relative_to(Path(m.name).parts[0]).as_posix(): m for m in tar.getmembers()
                   if len(Path(m.name).parts) > 1}
        for step, line in lines.items():
            if "exit" in line:
                assert f"{step}.log" in members, step
                log = tar.extractfile(members[f"{step}.log"]).read().decode()
                assert log.startswith("commit: ") and "\ncommand: " in log
        assert "summary.txt" in members
        selfcheck = json.load(tar.extractfile(members["selfcheck-bf16.json"]))
        assert selfcheck["ok"] is True
        (bench_name,) = [n for n in members if re.fullmatch(r"bench/gpu_smoke_.*\.json", n)]
        bench = json.load(tar.extractfile(members[bench_name]))
        assert bench["complete"] is True and [r["shape"] for r in bench["runs"]] == ["smoke-qwen3"] * 2
        assert all(set(r["peak_bytes"]) == {"load", "ttt", "decode", "dfs", "rescore"} for r in bench["runs"])
        assert json.load(tar.extractfile(members["finetune.json"]))["steps"] > 0
        plan = json.load(tar.extractfile(members["plan-bf16.json"]))
        assert [p["tokens"]["ttt"] for p in plan["plans"]] == [64]  # the dry run's longest prompt
        # the CPU bench runs fp32 and the plan is a GPU's (bf16): nothing pairs, and the comparison says so
        assert json.load(tar.extractfile(members["plan_check.json"]))["rows"] == []


# ---- plan_check ------------------------------------------------------------------------------------------

GIB = 2 ** 30


def bench_row(prompt: int, precision: str, **peaks: int | None) -> dict:
    return {"shape": "nvarc-4b", "precision": precision, "prompt": prompt, "peak_bytes": peaks}


def test_plan_check_pairs_each_phase_by_token_count_and_precision():
    plan = {"gpu": "H100", "shape": "nvarc-4b", "precision": "bf16", "plans": [
        {"tokens": 2048, "phases": {"load": {"total_bytes": 8 * GIB}, "ttt": {"total_bytes": 12 * GIB},
                                    "greedy": {"total_bytes": 10 * GIB}, "engine": {"total_bytes": GIB}}},
        {"tokens": 8192, "phases": {"ttt": {"total_bytes": 20 * GIB}}}]}
    bench = {"device": "NVIDIA H100 80GB HBM3", "runs": [
        bench_row(2048, "bf16", load=8 * GIB, ttt=15 * GIB, decode=9 * GIB, dfs=9 * GIB),
        bench_row(2048, "4bit", load=3 * GIB, ttt=9 * GIB),   # no 4-bit plan: not compared
        bench_row(4096, "bf16", ttt=13 * GIB),                # no plan at 4096 tokens: not compared
        bench_row(8192, "bf16", ttt=18 * GIB)]}
    rows = plan_check.compare([plan], bench)
    got = {(r["tokens"], r["phase"]): (r["predicted_bytes"], r["measured_bytes"], r["ratio"]) for r in rows}
    assert got == {
        (2048, "load"): (8 * GIB, 8 * GIB, 1.0), (2048, "ttt"): (12 * GIB, 15 * GIB, 1.25),
        (2048, "decode"): (10 * GIB, 9 * GIB, 0.9), (2048, "engine"): (GIB, None, None),
        (2048, "dfs"): (None, 9 * GIB, None), (8192, "ttt"): (20 * GIB, 18 * GIB, 0.9)}
    assert "meas/plan" in plan_check.table(rows) and "1.25" in plan_check.table(rows)


def test_plan_check_reads_a_single_plan_and_the_4bit_flag():
    plan = {"tokens": 2048, "load_in_4bit": True, "phases": {"ttt": {"total_bytes": 10 * GIB}}}
    bench = {"runs": [bench_row(2048, "bf16", ttt=20 * GIB), bench_row(2048, "4bit", ttt=None)]}
    (row,) = plan_check.compare([plan], bench)
    assert (row["precision"], row["predicted_bytes"], row["measured_bytes"], row["ratio"]) == \
        ("4bit", 10 * GIB, None, None)  # on the CPU nothing is measured: no ratio


def test_plan_check_reads_what_solver_plan_writes(tmp_path):
    """The real `python -m solver plan --json` output, paired with a bench row of its token count and dtype."""
    done = subprocess.run([sys.executable, "-m", "solver", "plan", "--config", "kaggle", "--shape", "nvarc-4b",
                           "--gpu", "H100", "--set", "model.load_in_4bit=false", "--json", str(tmp_path / "plan.json")],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr  # 1 is the plan's verdict "does not fit"
    plan = json.loads((tmp_path / "plan.json").read_text())
    bench = {"runs": [bench_row(2048, "bf16", load=9 * GIB, ttt=12 * GIB), bench_row(2048, "4bit", ttt=1 * GIB)]}
    rows = {r["phase"]: r for r in plan_check.compare([plan], bench)}
    assert rows["load"]["measured_bytes"] == 9 * GIB and rows["ttt"]["measured_bytes"] == 12 * GIB
    assert all(r["precision"] == "bf16" and r["tokens"] == 2048 for r in rows.values())
    assert rows["ttt"]["predicted_bytes"] > rows["load"]["predicted_bytes"] > 7 * GIB  # 4B parameters in bf16


def test_plan_check_names_an_unreadable_plan(tmp_path, capsys):
    (tmp_path / "plan.json").write_text("{not json")
    (tmp_path / "bench.json").write_text("{}")
    assert plan_check.main(["--plan", str(tmp_path / "plan.json"), "--bench", str(tmp_path / "bench.json")]) == 2
    assert "cannot compare" in capsys.readouterr().err
