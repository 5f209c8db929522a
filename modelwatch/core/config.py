"""The Config document: its defaults and how a user's partial config is merged onto them."""
from __future__ import annotations

import copy
from typing import Any

DEFAULT_CONFIG: dict[str, Any] = {
    "n_samples": 1000,
    "seed": 0,
    "generator": "independent",
    "batch_sizes": [1, 10, 100, 1000],
    "drift": {
        "features": "all",
        "kinds": ["mean_shift", "scale", "category_shift", "missing"],
        "severities": [0.5, 1.0, 2.0],
    },
    "explain": {"max_samples": 200, "background": 100},
    "timeout_s": 300,
    "thresholds": {},
}


def resolve_config(user: dict[str, Any] | None) -> dict[str, Any]:
    """Return the defaults overlaid with the user's fields (nested dicts are merged, not replaced)."""
    merged = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in (user or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "thresholds":
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged
