"""The run Config: every default declared once (core.config), merged under a user's partial document."""
from dataclasses import fields

from modelwatch.core.config import DEFAULT_CONFIG, SECTIONS, DriftConfig, RunConfig, resolve_config


def test_nested_fields_merge_and_defaults_stay_untouched():
    config = resolve_config({"n_samples": 10, "drift": {"severities": [1.0]}, "thresholds": {"a.b": {"max": 1}}})
    assert config["n_samples"] == 10 and config["seed"] == 0
    assert config["drift"]["severities"] == [1.0] and config["drift"]["kinds"] == DEFAULT_CONFIG["drift"]["kinds"]
    assert config["thresholds"] == {"a.b": {"max": 1}}
    assert DEFAULT_CONFIG["drift"]["severities"] == [0.5, 1.0, 2.0] and DEFAULT_CONFIG["thresholds"] == {}


def test_the_resolved_config_holds_every_default_of_every_section():
    config = resolve_config({"quality": {"n_boot": 50}})
    assert set(config) == {f.name for f in fields(RunConfig)}
    assert set(SECTIONS) == {"drift", "explain", "performance", "robustness", "quality"}
    assert config["quality"] == {"n_boot": 50}  # class_names unset: absent
    assert config["drift"]["resamples"] == DriftConfig.resamples
    assert config["explain"] == {"max_samples": 200, "background": 100, "rows": "auto"}
    # a budget left to the time the run has is absent, not null: the stored config can be submitted again
    assert "latency_budget_s" not in config["performance"] and config["robustness"] == {}


def test_resolving_twice_changes_nothing():
    once = resolve_config({"drift": {"kinds": ["scale"]}, "timeout_s": 60})
    assert resolve_config(once) == once
