"""The one configuration object, its sections, and presets loaded from configs/*.toml.

A preset file only lists what differs from the defaults below; `--set section.key=value` on the command line
overrides any field. Defaults are the CPU dry-run configuration (no model needed).
"""
from __future__ import annotations

import dataclasses
import json
try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_PRESET = "cpu"


class ConfigError(ValueError):
    pass


@dataclass
class BudgetConfig:
    total_seconds: float | None = None  # wall clock for the whole run; None = no limit
    safety_seconds: float = 10.0        # kept back from the total for killing late workers and the final writes
    max_task_fraction: float = 4.0      # a task may take at most this many equal shares of what remains
    # A stage's deadline is this many times its task's share. 1: stages fill the time they are given (the
    # neural stage trains for a fraction of it and samples until it), so any grace would simply be spent and
    # taken from the tasks after it. Above 1 only for stages that stop on their own well before a deadline.
    grace_factor: float = 1.0
    # A stage still running this long after its deadline is killed with its worker. Keep it well under
    # safety_seconds: the run's last tasks are killed at (total - safety + kill_grace) at the latest. On a
    # GPU, above the longest generate call: a killed model worker has to load its model again.
    kill_grace_seconds: float = 3.0
    # The cost model the degrade ladder plans with: seconds on this run's hardware for a task of 1000 cells
    # (cost grows with the task's size). `python -m solver tune` fits these from a dry run's journal.
    model_task_seconds: float = 2.0  # fixed cost of a task on a model worker (adapter reset, tokenising)
    ttt_step_seconds: float = 0.5    # one test-time-training optimiser step
    view_seconds: float = 1.0        # one greedy sampling pass over one test input in one view
    dfs_factor: float = 4.0          # a DFS pass costs this many greedy passes
    min_ttt_steps: int = 8           # fewer steps than this are not worth training at all: TTT goes off
    min_dsl_seconds: float = 0.5     # a program search shorter than this finds nothing: the DSL goes off


@dataclass
class BaselineConfig:
    enabled: bool = True


@dataclass
class DslConfig:
    enabled: bool = True
    seconds_per_task: float = 10.0  # CPU seconds a task's program search may use


@dataclass
class ModelConfig:
    path: str = ""  # a local Hugging Face model directory; empty turns the neural stages off


@dataclass
class TTTConfig:
    enabled: bool = True
    steps: int = 0  # optimiser steps per task; the budget may lower it per task


@dataclass
class SampleConfig:
    views: int = 8          # augmented views sampled per test input; the budget may lower it per task
    method: str = "greedy"  # greedy | dfs


@dataclass
class SelectConfig:
    vote: str = "hierarchical"  # hierarchical | flat | weighted
    # Which stage's candidates go first when stages disagree; a program fitting every train pair is strong
    # evidence (BARC), so the DSL leads by default.
    stage_priority: list[str] = field(default_factory=lambda: ["dsl", "neural", "baseline"])


@dataclass
class RunConfig:
    """Where the stages run. Results do not depend on these, so a resumed run may change them."""
    gpu_workers: int = -1  # model worker processes; -1: one per visible GPU, or one CPU process without a GPU
    cpu_workers: int = -1  # processes for the CPU stages (the DSL); -1: the cores the model workers leave
    retries: int = 1       # a task whose worker died or ran out of memory is tried again, lighter, this often
    # Extra stage factories "module:function", each function(cfg, device) -> list[Stage]: stages added without
    # editing the kit (the tests' fault-injecting stages use this).
    extra_stages: list[str] = field(default_factory=list)


@dataclass
class KaggleConfig:
    """Delivery to Kaggle (`python -m solver kaggle ...`); the run itself never reads it."""
    # The ARC-AGI-2 competition of 2026 (2025: arc-prize-2025). Attached to the notebook; `kaggle download` source.
    competition: str = "arc-prize-2026-arc-agi-2"
    user: str = ""  # your Kaggle username; empty = KAGGLE_USERNAME or the username in ~/.kaggle/kaggle.json
    kernel_title: str = "ARC solver kit submission"  # the notebook's id is this title slugified
    kit_dataset: str = "arc-solver-kit"        # dataset slug holding the kit's source
    wheels_dataset: str = "arc-solver-wheels"  # dataset slug holding offline_wheels/ (wheels + kaggle.lock)
    dataset_sources: list[str] = field(default_factory=list)  # more datasets, e.g. weights uploaded as one
    model_sources: list[str] = field(default_factory=list)    # Kaggle Models: owner/model/framework/variation/N
    # 4x L4, the ARC Prize machine. Kaggle does not publish the list of shapes; this is the name public ARC
    # notebooks push with. NvidiaTeslaT4 (2x T4) is the shape open to every notebook.
    machine_shape: str = "NvidiaL4x4"
    private: bool = True


@dataclass
class Config:
    name: str = DEFAULT_PRESET
    seed: int = 0
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    dsl: DslConfig = field(default_factory=DslConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    ttt: TTTConfig = field(default_factory=TTTConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    run: RunConfig = field(default_factory=RunConfig)
    kaggle: KaggleConfig = field(default_factory=KaggleConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _coerce(value: Any, current: Any, where: str) -> Any:
    """Check a preset/override value against the type of the field's current value."""
    if current is None or value is None:
        return value
    if isinstance(current, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(current, (int, float)) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return type(current)(value) if isinstance(current, float) else value
    elif isinstance(current, type(value)):
        return value
    raise ConfigError(f"{where}: expected {type(current).__name__}, got {value!r}")


def _apply(obj: Any, values: dict[str, Any], where: str) -> None:
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            raise ConfigError(f"unknown config key '{path}' (known: {', '.join(sorted(names))})")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"'{path}' is a section; give it as a table of keys")
            _apply(current, value, path)
        else:
            setattr(obj, key, _coerce(value, current, path))


def preset_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    return CONFIG_DIR / f"{name_or_path}.toml"


def available_presets() -> list[str]:
    return sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def parse_override(text: str) -> dict[str, Any]:
    """'dsl.seconds_per_task=5' -> {'dsl': {'seconds_per_task': 5}}; the value is read as TOML, and a bare
    word that is not TOML is taken as a string."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    nested: dict[str, Any] = {}
    node = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return nested


def load_config(name_or_path: str | None = None, overrides: list[str] | dict | None = None) -> Config:
    """Defaults, then the preset file, then the overrides (strings 'a.b=v' or one nested dict)."""
    cfg = Config()
    path = preset_path(name_or_path or DEFAULT_PRESET)
    if not path.exists():
        raise ConfigError(f"no config preset '{name_or_path}' (looked for {path}; "
                          f"presets: {', '.join(available_presets())})")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _apply(cfg, values, "")
    if isinstance(overrides, dict):
        _apply(cfg, overrides, "")
    else:
        for text in overrides or []:
            _apply(cfg, parse_override(text), "")
    return cfg


def config_from_dict(values: dict[str, Any]) -> Config:
    """Rebuild a config from `Config.to_dict()` (worker processes, journals)."""
    cfg = Config()
    _apply(cfg, values, "")
    return cfg
