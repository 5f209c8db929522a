"""Config defaults and merging."""
from modelwatch.core.config import DEFAULT_CONFIG, resolve_config


def test_nested_fields_merge_and_defaults_stay_untouched():
    config = resolve_config({"n_samples": 10, "drift": {"severities": [1.0]}, "thresholds": {"a.b": {"max": 1}}})
    assert config["n_samples"] == 10 and config["seed"] == 0
    assert config["drift"]["severities"] == [1.0] and config["drift"]["kinds"] == DEFAULT_CONFIG["drift"]["kinds"]
    assert config["thresholds"] == {"a.b": {"max": 1}}
    assert DEFAULT_CONFIG["drift"]["severities"] == [0.5, 1.0, 2.0] and DEFAULT_CONFIG["thresholds"] == {}
