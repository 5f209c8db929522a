"""Synthetic data from a Schema: independent marginals or a Gaussian copula; the same seed gives the same frame.

Column dtypes of the generated frame:

- ``float``: float64 (NaN where missing);
- ``int``: int64, or float64 with NaN when the feature has missing values (what ``read_csv`` gives, and what
  models trained on CSVs expect);
- ``bool``: numpy bool, or pandas ``boolean`` when it has missing values;
- ``categorical``: a pandas ``Categorical`` over the schema's categories (1 byte per row; cast with
  ``.astype(object)`` before writing a category the schema does not list).

Each feature draws from its own random stream, seeded from ``(seed, name)``, so that editing one feature
leaves the others' values unchanged.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.data.copula import draw_copula, fit_copula
from modelwatch.core.data.marginals import draw_raw, feature_rng, finish
from modelwatch.errors import BadRequest

GENERATORS = ("independent", "copula")
def _check_args(schema: dict[str, Any], n_samples: int, generator: str) -> None:
    if generator not in GENERATORS:
        raise BadRequest(f"Unknown generator {generator!r}; use one of {', '.join(GENERATORS)}.",
                         {"generator": [f"must be one of {list(GENERATORS)}"]})
    if int(n_samples) < 0:
        raise BadRequest("n_samples must be zero or more.", {"n_samples": ["must be >= 0"]})
    if not schema.get("features"):
        raise BadRequest("The schema has no features to generate.", {"features": ["at least one feature is required"]})


def generate(schema: dict[str, Any], n_samples: int, seed: int = 0, generator: str = "independent",
             sample: pd.DataFrame | None = None, categorical_dtype: str = "category") -> pd.DataFrame:
    """Generate a frame with one column per schema feature, in schema order.

    Args:
        schema: a Schema document (see ``schema.document``); assumed valid.
        n_samples: the number of rows.
        seed: the same seed (with the same schema) gives an identical frame.
        generator: ``"independent"`` draws each feature from its own marginal; ``"copula"`` joins the
            marginals with a Gaussian copula, fitted on ``sample`` when given, else read from the schema's
            ``copula`` block (written by CSV inference).
        sample: real rows to fit the copula on (copula generator only).
        categorical_dtype: ``"category"`` (default, fast) or ``"object"``: plain values (pandas 3 stores text
            as its ``str`` dtype).

    Returns:
        The generated frame.

    Raises:
        BadRequest: an unknown generator, a negative size, an empty schema, or a copula with nothing to fit.
    """
    _check_args(schema, n_samples, generator)
    n = int(n_samples)
    features = schema["features"]
    raws: dict[str, np.ndarray] = {}
    if generator == "copula":
        copula = fit_copula(schema, sample) if sample is not None else schema.get("copula")
        if not copula:
            raise BadRequest("The copula generator needs a sample to fit, or a schema inferred from one.",
                             {"generator": ["copula needs a sample or a schema with a 'copula' block"]})
        raws = draw_copula(schema, copula, n, seed)
    columns = {}
    for feature in features:
        rng = feature_rng(seed, feature["name"])
        raw = raws.pop(feature["name"], None)
        if raw is None:
            raw = draw_raw(feature, n, rng)
        columns[feature["name"]] = finish(feature, raw, rng, categorical_dtype)
    # copy=False keeps one block per column: no consolidation copy, so peak memory stays near the frame's size
    return pd.DataFrame(columns, copy=False)
