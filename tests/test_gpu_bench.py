import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gpu  # noqa: E402


@pytest.mark.slow
def test_the_gpu_benchmark_runs_its_cpu_smoke_mode_and_writes_json_and_log(tmp_path, capsys):
    assert gpu.main(["--smoke", "--out-dir", str(tmp_path)]) == 0
    (result,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    (log,) = list(tmp_path.glob("*.log"))
    assert "smoke" in log.read_text() and result["device"] == "cpu (smoke)"
    (row,) = result["runs"]
    for value in (row["ttt"]["tokens_per_s"], row["ttt"]["mfu"], row["decode"]["tokens_per_s"],
                  row["decode"]["roofline_fraction"], row["dfs"]["forwards_per_s"], row["rescore"]["answer_tokens_per_s"]):
        assert value > 0
    assert row["dfs"]["forwards"] > 1  # the search went past the prompt


def test_the_real_mode_refuses_without_cuda(monkeypatch, capsys):
    monkeypatch.setattr(gpu.torch.cuda, "is_available", lambda: False)
    assert gpu.main([]) == 2 and "--smoke" in capsys.readouterr().err
