"""Crash safety and resume: the journal's identity, torn lines, and a `kill -9` of a real run midway."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from solver.journal import Journal, JournalMismatch, TaskRecord, read_entries, read_tasks, run_identity
from solver.submission import validate_submission
from solver.tasks import load_challenges

from .conftest import alive, child_pids

ROOT = Path(__file__).resolve().parent.parent


def record(tid, status="ok"):
    g = np.zeros((1, 1), np.uint8)
    return TaskRecord(tid, [(g, g)], status=status)


def header(sha="abc", steps=0, budget=None):
    cfg = {"ttt": {"steps": steps}, "budget": {"total_seconds": budget}}
    return {"identity": run_identity(sha, cfg), "config": cfg}


def test_resume_returns_finished_tasks_but_not_cut_ones(tmp_path):
    j = Journal(tmp_path)
    assert j.open(header()) == {}
    j.record(record("a"))
    j.record(record("b", "cut"))
    j.record(record("c", "error"))
    finished = Journal(tmp_path).open(header())
    assert sorted(finished) == ["a", "c"]
    assert [e["type"] for e in read_entries(tmp_path)].count("resume") == 1


def test_a_new_budget_is_the_same_run(tmp_path):
    Journal(tmp_path).open(header(budget=100))
    Journal(tmp_path).record(record("a"))
    assert list(Journal(tmp_path).open(header(budget=500))) == ["a"]


def test_another_config_or_challenges_file_is_refused_with_the_difference(tmp_path):
    Journal(tmp_path).open(header())
    with pytest.raises(JournalMismatch, match=r"config\.ttt\.steps: 0 -> 8.*--fresh"):
        Journal(tmp_path).open(header(steps=8))
    with pytest.raises(JournalMismatch, match="challenges_sha256: 'abc' -> 'def'"):
        Journal(tmp_path).open(header(sha="def"))


def test_fresh_keeps_the_old_journal_aside(tmp_path):
    j = Journal(tmp_path)
    j.open(header())
    j.record(record("a"))
    assert Journal(tmp_path).open(header(steps=8), fresh=True) == {}
    assert "a" in read_tasks(tmp_path / "journal.1.jsonl") and read_tasks(tmp_path) == {}


def test_a_torn_last_line_is_cut_before_appending(tmp_path):
    j = Journal(tmp_path)
    j.open(header())
    j.record(record("a"))
    with open(j.path, "a") as f:
        f.write('{"type":"task","task_id":"b","stat')  # the crash hit mid-write
    Journal(tmp_path).open(header())
    Journal(tmp_path).record(record("c"))
    entries = list(read_entries(tmp_path))
    assert [e.get("task_id") for e in entries if e["type"] == "task"] == ["a", "c"]
    assert j.path.read_text().count("\n") == len(entries)


# ---- the CLI, killed for real ----

def cli(tmp_path, *args, env=None):
    return [sys.executable, "-m", "solver", "run", "--out", str(tmp_path / "submission.json"),
            "--workdir", str(tmp_path / "work"), "--no-progress", "--set", "run.cpu_workers=1",
            "--set", "dsl.enabled=false", *args]


@pytest.mark.slow
def test_kill_9_midway_then_rerun_loses_nothing(tmp_path, sample_challenges_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FAULTY_DIR": str(tmp_path),
           "FAULTY_SECONDS": "0.4"}
    cmd = cli(tmp_path, "--challenges", str(sample_challenges_path), "--set", "baseline.enabled=false",
              "--set", 'run.extra_stages=["tests.faulty_stages:slow_gpu"]')
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    work = tmp_path / "work"
    stop = time.monotonic() + 120
    while len(read_tasks(work)) < 5 and proc.poll() is None and time.monotonic() < stop:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    workers = child_pids(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop = time.monotonic() + 10
    while any(alive(p) for p in workers) and time.monotonic() < stop:
        time.sleep(0.05)
    assert workers and not any(alive(p) for p in workers), "a worker outlived the killed coordinator"

    # What was journalled before the kill is in the submission on disk, which is complete and valid.
    challenges = load_challenges(sample_challenges_path)
    before = read_tasks(work)
    assert 5 <= len(before) < 16
    sub = json.loads((tmp_path / "submission.json").read_text())
    assert validate_submission(sub, challenges) == []
    for tid in before:
        assert sub[tid][0]["attempt_1"] == np.flipud(challenges.tasks[tid].test[0].input).tolist()

    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({len(before)} from the earlier run)" in rerun.stdout
    sub = json.loads((tmp_path / "submission.json").read_text())
    assert validate_submission(sub, challenges) == []
    for tid, task in challenges.tasks.items():
        assert [e["attempt_1"] for e in sub[tid]] == [np.flipud(ex.input).tolist() for ex in task.test]
    solved = (tmp_path / "calls.log").read_text().split()[1::3]
    assert all(solved.count(tid) == 1 for tid in before), "a task finished before the kill was solved again"
    assert set(solved) == set(challenges.tasks)


@pytest.mark.slow
def test_rerun_with_another_config_is_refused_then_fresh_starts_over(tmp_path, sample_challenges_path):
    base = cli(tmp_path, "--challenges", str(sample_challenges_path))
    assert subprocess.run(base, cwd=ROOT, capture_output=True, timeout=300).returncode == 0
    refused = subprocess.run(base + ["--set", "sample.views=3"], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 2 and "sample.views: 8 -> 3" in refused.stderr and "--fresh" in refused.stderr
    # A new budget is the same run: nothing is left to do, so it finishes without starting a worker.
    same = subprocess.run(base + ["--budget", "50"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert same.returncode == 0 and "(16 from the earlier run)" in same.stdout
    fresh = subprocess.run(base + ["--set", "sample.views=3", "--fresh"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert fresh.returncode == 0 and (tmp_path / "work" / "journal.1.jsonl").exists()
    assert "from the earlier run" not in fresh.stdout
