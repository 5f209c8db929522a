"""Build a SuiteContext in process for section tests (tests are trusted code: the model is loaded here)."""
from __future__ import annotations

import time
from typing import Any

import pandas as pd

from modelwatch.core.checks.context import SuiteContext
from modelwatch.core.config import resolve_config
from modelwatch.core.model.introspect import describe


def schema_from_frame(frame: pd.DataFrame) -> dict[str, Any]:
    """A plain schema of a numeric frame: observed range, normal distribution with its mean and std."""
    features = []
    for name in frame.columns:
        col = frame[name]
        features.append({"name": str(name), "type": "float", "min": float(col.min()), "max": float(col.max()),
                         "nullable": False, "missing_rate": 0.0,
                         "distribution": {"kind": "normal", "mean": float(col.mean()), "std": float(col.std())}})
    return {"schema_version": 1, "features": features, "target": None}


def make_context(model: Any, data: pd.DataFrame, schema: dict[str, Any] | None = None,
                 sample: pd.DataFrame | None = None, current: pd.DataFrame | None = None,
                 target: str | None = None, info: dict[str, Any] | None = None, **config: Any) -> SuiteContext:
    """A context with small time budgets; ``config`` overrides the defaults."""
    info = info or describe(model)
    if not info.get("feature_names_from_model"):
        data = data.set_axis(info["feature_names"], axis=1) if len(data.columns) == info["n_features"] else data
    config = resolve_config({"batch_sizes": [1, 10, 100], "performance": {"latency_budget_s": 0.3,
                                                                           "error_budget_s": 20}, **config})
    return SuiteContext(model=model, info=info, schema=schema or schema_from_frame(data), config=config, data=data,
                        sample=sample, current=current, target=target, model_size_bytes=1234,
                        deadline=time.monotonic() + 120, progress=lambda stage, fraction, **extra: None)


def untimed_drift(drift: dict[str, Any]) -> dict[str, Any]:
    """The drift section without what depends on the clock (its seconds, its time budget) or on which process
    computed which scenario group (``groups_helped``)."""
    budget = {k: v for k, v in drift["budget"].items()
              if k not in ("max_seconds", "scenarios_seconds", "groups_helped")}
    return {**{k: v for k, v in drift.items() if k != "seconds"}, "budget": budget}
