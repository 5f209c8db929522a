"""The edge-case set of a Schema: per feature, the awkward values production data sends sooner or later.

Used by the robustness checks (each value is put into otherwise ordinary rows) and shown on the schema page.

Ranges: a feature's range is its ``min``/``max``; when one is missing it comes from the distribution
(uniform bounds, normal mean ± 3 std, lognormal exp(mu ± 3 sigma)), else ``[-1, 1]``. "10x beyond the
range" means ten spans past each end: ``max + 10 * (max - min)`` and ``min - 10 * (max - min)`` (a span of
0 counts as 1), so it is far outside whatever the sign or size of the bounds.
"""
from __future__ import annotations

import math
from typing import Any

# Kinds in the order they are listed; ``valid`` says whether a well-behaved model should accept the value.
KINDS: dict[str, str] = {
    "nan": "missing value (NaN)",
    "+inf": "positive infinity",
    "-inf": "negative infinity",
    "above_range": "10x the range above the maximum",
    "below_range": "10x the range below the minimum",
    "min": "boundary: the minimum",
    "max": "boundary: the maximum",
    "unseen_category": "a category the model never saw",
    "string_in_numeric": "a string in a numeric column",
}
UNSEEN_CATEGORY = "__modelwatch_unseen__"
NUMERIC_STRING = "not-a-number"
NUMERIC_TYPES = ("float", "int")


def feature_range(feature: dict[str, Any]) -> tuple[float, float]:
    """The ``(low, high)`` range of a numeric feature, from its bounds or else its distribution."""
    dist = feature.get("distribution") or {}
    kind = dist.get("kind")
    if kind == "uniform":
        low, high = dist.get("low"), dist.get("high")
    elif kind == "lognormal":
        mu, sigma = float(dist.get("mu", dist.get("mean", 0.0))), float(dist.get("sigma", dist.get("std", 1.0)))
        low, high = math.exp(mu - 3 * sigma), math.exp(mu + 3 * sigma)
    elif kind == "constant":
        low = high = dist.get("value")
    elif kind in (None, "normal"):
        mean, std = float(dist.get("mean", 0.0)), float(dist.get("std", 1.0))
        low, high = mean - 3 * std, mean + 3 * std
    else:
        low = high = None
    low = feature.get("min") if feature.get("min") is not None else low
    high = feature.get("max") if feature.get("max") is not None else high
    low = float(low) if low is not None else -1.0
    high = float(high) if high is not None else 1.0
    return (min(low, high), max(low, high))


def _case(feature: dict[str, Any], kind: str, value: Any, valid: bool) -> dict[str, Any]:
    label = value if isinstance(value, str) else format(value, ".6g") if isinstance(value, float) else repr(value)
    return {"name": f"{kind}:{feature['name']}", "feature": feature["name"], "kind": kind,
            "description": KINDS[kind], "value": value, "label": label, "valid": valid}


def feature_edge_cases(feature: dict[str, Any]) -> list[dict[str, Any]]:
    """The edge cases of one schema feature.

    Args:
        feature: a Schema feature (``name``, ``type``, ``min``, ``max``, ``categories``, ``nullable``...).

    Returns:
        Dicts with ``name`` (``"<kind>:<feature>"``), ``feature``, ``kind`` (a key of ``KINDS``),
        ``description``, ``value`` (a Python value; may be NaN or infinite), ``label`` (printable) and
        ``valid`` (True when the schema allows the value: boundaries, and NaN for a nullable feature).
    """
    nullable = bool(feature.get("nullable")) or float(feature.get("missing_rate") or 0.0) > 0
    cases = [_case(feature, "nan", math.nan, nullable)]
    ftype = feature.get("type", "float")
    if ftype in NUMERIC_TYPES:
        low, high = feature_range(feature)
        span = (high - low) or 1.0
        as_type = round if ftype == "int" else float
        cases += [
            _case(feature, "+inf", math.inf, False),
            _case(feature, "-inf", -math.inf, False),
            _case(feature, "above_range", float(as_type(high + 10 * span)), False),
            _case(feature, "below_range", float(as_type(low - 10 * span)), False),
            _case(feature, "min", float(as_type(low)), True),
            _case(feature, "max", float(as_type(high)), True),
            _case(feature, "string_in_numeric", NUMERIC_STRING, False),
        ]
    elif ftype == "categorical":
        cats = list(feature.get("categories") or [])
        unseen: Any = UNSEEN_CATEGORY
        if cats and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cats):
            unseen = max(cats) + 1000  # numeric codes: an unseen code of the same type
        cases.append(_case(feature, "unseen_category", unseen, False))
    elif ftype == "bool":
        cases.append(_case(feature, "string_in_numeric", NUMERIC_STRING, False))
    return cases


def edge_cases(schema: dict[str, Any], kinds: list[str] | None = None) -> list[dict[str, Any]]:
    """The edge-case set of a whole schema, feature by feature.

    Args:
        schema: a Schema document.
        kinds: keep only these kinds (keys of ``KINDS``); all when None.

    Returns:
        The cases of every feature, in schema order (see ``feature_edge_cases``).
    """
    cases = [case for feature in schema.get("features", []) for case in feature_edge_cases(feature)]
    return [c for c in cases if kinds is None or c["kind"] in kinds]
