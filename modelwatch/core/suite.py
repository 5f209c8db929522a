"""The test suite run inside the sandbox: generate the data, then compute each Result section in turn."""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from modelwatch.core import performance, quality, robustness
from modelwatch.core.config import resolve_config
from modelwatch.core.csv_infer import read_csv_bytes
from modelwatch.core.drift import section as drift_section
from modelwatch.core.explain import section as explain_section
from modelwatch.core.model_io import to_model_input
from modelwatch.core.schema import assumed_features
from modelwatch.core.synthetic import generate
from modelwatch.errors import ModelError

ProgressFn = Callable[[str, float], None]


@dataclass
class SuiteContext:
    """Everything a section needs; sections read it and return their part of the Result."""

    model: Any
    info: dict[str, Any]
    schema: dict[str, Any]
    config: dict[str, Any]
    data: pd.DataFrame
    sample: pd.DataFrame | None
    current: pd.DataFrame | None
    target: str | None
    model_size_bytes: int
    deadline: float
    progress: ProgressFn
    results: dict[str, Any] = field(default_factory=dict)

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()


# name in the Result -> compute(ctx); run in this order, each given the progress span after its predecessor.
SECTIONS: dict[str, Callable[[SuiteContext], dict[str, Any] | None]] = {
    "performance": performance.compute,
    "robustness": robustness.compute,
    "quality": quality.compute,
    "drift": drift_section.compute,
    "explainability": explain_section.compute,
}


SMOKE_ROWS = 20


def smoke_test(ctx: SuiteContext) -> None:
    """Fail the run when the model cannot predict any of the first generated rows: nothing else would work.

    Raises:
        ModelError: with the exception the model raised on the first row.
    """
    head = ctx.data.head(SMOKE_ROWS)
    try:
        ctx.model.predict(to_model_input(head, ctx.info))
        return
    except Exception as batch_error:
        first = batch_error
    for i in range(len(head)):
        try:
            ctx.model.predict(to_model_input(head.iloc[i:i + 1], ctx.info))
            return  # some rows work: the error rate will say how many fail
        except Exception:
            continue
    raise ModelError(f"The model raised {type(first).__name__} on every generated row: {str(first)[:300]}",
                     {"type": type(first).__name__, "example": head.iloc[0].to_dict()})


def _read_csv(path: Path) -> pd.DataFrame | None:
    return read_csv_bytes(path.read_bytes()) if path.exists() else None


def run_suite(
    model: Any, info: dict[str, Any], payload: dict[str, Any], root: Path, progress: ProgressFn
) -> dict[str, Any]:
    """Run every section on the model and return the Result (sections that fail hold ``{"skipped"}``)."""
    config = resolve_config(payload.get("config"))
    schema = payload["schema"]
    progress("generating data", 0.05)
    sample = _read_csv(root / "sample.csv")
    generator = config["generator"]
    fit_on = sample if generator == "copula" and not schema.get("copula") else None
    data = generate(schema, int(config["n_samples"]), int(config["seed"]), generator=generator, sample=fit_on)
    ctx = SuiteContext(
        model=model, info=info, schema=schema, config=config, data=data,
        sample=sample, current=_read_csv(root / "current.csv"),
        target=payload.get("target"), model_size_bytes=(root / "model.bin").stat().st_size,
        deadline=time.monotonic() + float(config["timeout_s"]) * 0.9, progress=progress,
    )
    progress("smoke test", 0.08)
    smoke_test(ctx)
    for index, (name, compute) in enumerate(SECTIONS.items()):
        progress(name, 0.1 + 0.85 * index / len(SECTIONS))
        try:
            ctx.results[name] = compute(ctx)
        except Exception as exc:  # one broken section must not sink the run
            ctx.results[name] = {"skipped": f"{type(exc).__name__}: {exc}",
                                 "traceback": traceback.format_exc()[-1500:]}
    progress("finishing", 0.98)
    return {
        "schema": schema,
        "data": {"n_samples": len(data), "seed": config["seed"], "generator": config["generator"],
                 "assumed_features": assumed_features(schema)},
        **ctx.results,
        "model": {k: info.get(k) for k in ("type", "task", "n_features", "feature_names", "classes", "intake")},
    }
