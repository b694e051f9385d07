import pytest

from solver.config import Config, ConfigError, available_presets, config_from_dict, load_config


def test_default_preset_is_the_cpu_configuration():
    cfg = load_config()
    assert cfg.name == "cpu" and cfg.model.path == "" and cfg.dsl.enabled
    assert "cpu" in available_presets()


def test_overrides_are_typed_and_nested():
    cfg = load_config("cpu", ["dsl.seconds_per_task=2.5", "budget.total_seconds=60", "baseline.enabled=false",
                              "select.stage_priority=['baseline', 'dsl']", "model.path=/models/x"])
    assert cfg.dsl.seconds_per_task == 2.5
    assert cfg.budget.total_seconds == 60
    assert cfg.baseline.enabled is False
    assert cfg.select.stage_priority == ["baseline", "dsl"]
    assert cfg.model.path == "/models/x"  # a bare word that is not TOML is taken as a string


def test_int_is_accepted_for_a_float_field():
    assert load_config(None, ["dsl.seconds_per_task=3"]).dsl.seconds_per_task == 3.0


@pytest.mark.parametrize("override, message", [
    ("dsl.nope=1", "unknown config key 'dsl.nope'"),
    ("dsl.seconds_per_task='fast'", "dsl.seconds_per_task: expected float"),
    ("baseline.enabled=1", "baseline.enabled: expected bool"),
    ("dsl=3", "'dsl' is a section"),
    ("no_equals_sign", "section.key=value"),
    ("model.backend=tgi", "model.backend must be one of transformers, vllm, got 'tgi'"),
    ("select.vote=flaat", "select.vote must be one of hierarchical, flat, weighted, got 'flaat'"),
    ("select.merge=neural-first", "select.merge must be one of fitting-first, priority, score"),
    ("sample.method=beam", "sample.method must be one of greedy, dfs, got 'beam'"),
    ("ttt.scope=global", "ttt.scope must be one of task, shared"),
    ("model.device=tpu", "model.device must be one of auto, cuda, cpu"),
    ("ttt.augment=['geometry','colours']", "ttt.augment: unknown 'colours'; known: geometry, colors, demo_order"),
])
def test_bad_overrides_are_clear_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_preset_files_and_missing_presets(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[dsl]\nseconds_per_task = 1\n')
    cfg = load_config(str(path))
    assert cfg.name == "mine" and cfg.dsl.seconds_per_task == 1
    with pytest.raises(ConfigError, match="no config preset 'nope'"):
        load_config("nope")
    path.write_text("name = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(path))


def test_a_folder_named_like_a_preset_does_not_hide_it(tmp_path, monkeypatch):
    (tmp_path / "tiny").mkdir()  # e.g. a model made with `make-model tiny`
    monkeypatch.chdir(tmp_path)
    assert load_config("tiny").name == "tiny"


def test_every_bundled_preset_loads():
    for name in available_presets():
        assert isinstance(load_config(name), Config)


def test_round_trip_through_a_dict():
    cfg = load_config(None, ["dsl.seconds_per_task=4"])
    assert config_from_dict(cfg.to_dict()) == cfg
