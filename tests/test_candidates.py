"""Typed candidate evidence, end to end: what stages record is what selection ranks by, what the journal
keeps across a resume, and what the report shows; and the module layout that keeps the stage protocol free
of import circles."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from solver.config import SelectConfig
from solver.journal import FORMAT, Journal, JournalMismatch, TaskRecord, read_tasks
from solver.report import write_report
from solver.select import calibrated, rank_family, ranked_grids
from solver.tasks import Candidate


def g(v: int) -> np.ndarray:
    return np.full((2, 2), v, dtype=np.uint8)


def firsts(grids) -> list[int]:
    return [int(x[0, 0]) for x in grids]


def test_rescored_grids_rank_by_mean_nll_with_their_votes():
    # grid 1: two votes, mean NLL 2.0 -> -2.0 + log 2 = -1.31; grid 2: one vote, NLL 1.0 -> -1.0
    pool = [Candidate(0, g(1), "neural-greedy", logprob=-0.1, rescore_nll=(1.5, 2.5)),
            Candidate(0, g(1), "neural-greedy", view="rot90", logprob=-0.1, rescore_nll=(1.5, 2.5)),
            Candidate(0, g(2), "neural-greedy", logprob=-3.0, rescore_nll=(1.0, 1.0))]
    assert firsts(rank_family(pool, "hierarchical", vote_weight=1.0)) == [2, 1]
    # a heavier weight on votes turns it round: -2.0 + 3 log 2 = 0.08 > -1.0
    assert firsts(rank_family(pool, "hierarchical", vote_weight=3.0)) == [1, 2]
    # without rescoring the same family is ranked by its vote
    plain = [Candidate(c.test_index, c.grid, c.stage, c.view, logprob=c.logprob) for c in pool]
    assert firsts(rank_family(plain, "flat")) == [1, 2]


def test_weighted_vote_sums_probabilities_not_log_probabilities():
    # two unlikely predictions of grid 1 (p 0.1 each) against one sure one of grid 2 (p 0.9): summed
    # probability prefers 2; a summed log-probability (the old overloaded score) would have said -4.6 < -0.1
    pool = [Candidate(0, g(1), "neural-greedy", logprob=math.log(0.1)),
            Candidate(0, g(1), "neural-greedy", logprob=math.log(0.1)),
            Candidate(0, g(2), "neural-greedy", logprob=math.log(0.9))]
    assert firsts(rank_family(pool, "weighted")) == [2, 1]
    assert firsts(rank_family(pool, "flat")) == [1, 2]


def test_flat_vote_counts_the_votes_a_candidate_stands_for():
    pool = [Candidate(0, g(1), "neural-dfs"), Candidate(0, g(1), "neural-dfs"),
            Candidate(0, g(2), "neural-dfs", votes=3)]
    assert firsts(rank_family(pool, "flat")) == [2, 1]


def test_the_score_merge_never_lets_a_rescored_grid_outrank_a_fitting_program_by_its_votes():
    fitting = Candidate(0, g(1), "dsl", program="p", fits_train=True, cost=2.0)
    # mean NLL 0.05 with eight votes: the old score (mean log-likelihood + log votes) was +2.0, clipped to
    # probability 1; its probability is exp(-0.05) = 0.95, which does not beat a 0.97-precise program
    many = [Candidate(0, g(2), "neural-greedy", logprob=-0.5, rescore_nll=(0.05,)) for _ in range(8)]
    assert calibrated(many[0], SelectConfig()) == pytest.approx(math.exp(-0.05))
    assert firsts(ranked_grids(many + [fitting], SelectConfig(merge="score", fitting_precision=0.97))) == [1, 2]
    assert firsts(ranked_grids(many + [fitting], SelectConfig(merge="score", fitting_precision=0.9))) == [2, 1]


def test_fitting_first_reads_the_fits_train_flag_not_a_score():
    fitting = Candidate(0, g(1), "dsl", program="a", fits_train=True, cost=5.0)
    partial = Candidate(0, g(2), "dsl", program="partial: b", fits_train=False, train_accuracy=0.99)
    model = Candidate(0, g(3), "neural-greedy", logprob=-0.01)
    assert firsts(ranked_grids([partial, model, fitting], SelectConfig())) == [1, 3, 2]
    # two fitting programs: the cheaper one first, whatever the order they came in
    cheap = Candidate(0, g(4), "dsl", program="c", fits_train=True, cost=0.5)
    assert firsts(ranked_grids([fitting, cheap], SelectConfig())) == [4, 1]


def typed_record() -> TaskRecord:
    cands = [Candidate(0, g(1), "dsl", program="flip", fits_train=True, cost=1.25),
             Candidate(0, g(2), "dsl", program="partial: x", fits_train=False, train_accuracy=0.75),
             Candidate(0, g(3), "neural-greedy", "rot90", logprob=-0.5, rescore_nll=(0.25, 0.75)),
             Candidate(0, g(3), "neural-greedy", "rot90", logprob=-0.75, rescore_nll=(0.25, 0.75)),
             Candidate(1, g(4), "neural-dfs", logprob=-2.0, votes=3),
             Candidate(1, g(5), "baseline", program="identity", fits_train=False)]
    return TaskRecord("t1", [(g(1), g(3)), (g(4), g(5))], cands, {"dsl": 1.0}, [], "ok", 8)


def key(c: Candidate) -> tuple:
    return (c.test_index, c.grid.tobytes(), c.stage, c.view, c.program, c.fits_train, c.train_accuracy,
            c.cost, c.logprob, c.votes, c.rescore_nll)


def test_the_journal_keeps_every_typed_field_across_a_round_trip(tmp_path):
    record = typed_record()
    line = record.to_json()
    # identical predictions become one entry with a count and each one's log-probability
    entries = [c for c in line["candidates"] if c["stage"] == "neural-greedy"]
    assert len(entries) == 1 and entries[0]["count"] == 2 and entries[0]["logprobs"] == [-0.5, -0.75]
    assert all("score" not in c for c in line["candidates"])  # no overloaded score field any more
    back = TaskRecord.from_json(json.loads(json.dumps(line)))
    assert sorted(map(key, back.candidates)) == sorted(map(key, record.candidates))
    # and a resumed run reads them back from disk the same way
    journal = Journal(tmp_path)
    journal.start({"identity": {"x": 1}})
    journal.record(record)
    (again,) = read_tasks(tmp_path).values()
    assert sorted(map(key, again.candidates)) == sorted(map(key, record.candidates))
    assert SelectConfig() and firsts(ranked_grids([c for c in again.candidates if c.test_index == 0],
                                                  SelectConfig())) == [1, 3, 2]


OLD_LINE = {"type": "task", "task_id": "old", "status": "ok", "attempts": [[[[1]], [[2]]]],
            "candidates": [{"test_index": 0, "grid": [[1]], "stage": "dsl", "view": "identity", "score": 1.5,
                            "program": "flip", "count": 1},
                           {"test_index": 0, "grid": [[3]], "stage": "dsl", "view": "identity", "score": 0.4,
                            "program": "partial: y", "count": 1},
                           {"test_index": 0, "grid": [[2]], "stage": "neural-greedy", "view": "identity",
                            "score": -1.0, "program": None, "count": 2}]}


def test_a_format_1_journal_is_read_for_reports_but_refused_for_resume(tmp_path):
    (tmp_path / "journal.jsonl").write_text(json.dumps({"type": "run", "identity": {"x": 1}}) + "\n"
                                            + json.dumps(OLD_LINE) + "\n")
    (old,) = read_tasks(tmp_path).values()
    fit, partial, *model = old.candidates
    assert fit.fits_train and fit.cost == pytest.approx(1.0)  # score 1 + 1/(1 + cost) = 1.5
    assert partial.fits_train is False and partial.train_accuracy == pytest.approx(0.8)
    assert len(model) == 2 and all(c.logprob is None and c.fits_train is None for c in model)
    with pytest.raises(JournalMismatch, match="earlier version of the kit .*journal format 1.*--fresh"):
        Journal(tmp_path).open({"identity": {"x": 1}})
    assert Journal(tmp_path).open({"identity": {"x": 1}}, fresh=True) == {}
    assert json.loads((tmp_path / "journal.jsonl").read_text().splitlines()[0])["format"] == FORMAT


def test_the_report_shows_each_grid_s_evidence(tmp_path, sample_challenges_path):
    journal = Journal(tmp_path)
    journal.start({"identity": {}, "challenges": str(sample_challenges_path), "config": {}})
    journal.record(typed_record())
    html = write_report(tmp_path).read_text()
    assert "fits train" in html and "train cells 75%" in html
    assert "p 0.61" in html  # exp(-0.5), the best generation of grid 3
    assert "NLL 0.50/2 views" in html and "neural-greedy×2" in html and "neural-dfs×3" in html


def test_the_worker_side_never_imports_the_pipeline_or_the_coordinator():
    code = ("import sys, solver.workers, solver.stages; "
            "print(sorted(m for m in sys.modules if m in ('solver.pipeline', 'solver.coordinator')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
