"""The Schema document (``schema_version: 1``) as a marshmallow schema: validation whose errors name field and reason.

The document (see CONTRACT.md)::

    {"schema_version": 1,
     "features": [{"name", "type": "float|int|bool|categorical", "min", "max", "categories", "weights",
                   "nullable", "missing_rate", "distribution": {"kind", ...params}, "flags"}],
     "target": null | {"name", "type", "classes"},
     "copula": null | {"features": [names], "correlation": [[...]]}}

Distribution parameters, by ``kind``:

- ``normal``: ``mean``, ``std`` (> 0);
- ``uniform``: ``low``, ``high`` (``low <= high``; default to the feature's ``min`` / ``max``);
- ``lognormal``: ``mean``, ``sigma`` (> 0), of the logarithm: the value is ``exp(N(mean, sigma))``;
- ``constant``: ``value`` (a category for categorical and bool features);
- ``empirical``: ``quantiles``, a non-decreasing list of at least two values at evenly spaced
  probabilities 0..1 (the generator interpolates the inverse CDF between them);
- ``categorical``: no parameters; draws from the feature's ``categories`` with ``weights`` (any
  non-negative numbers, normalised; equal when omitted). Works for numeric features too (e.g. an int
  taking the values 0, 1, 2).

Bool and categorical features take ``categorical`` or ``constant``; float and int take any kind. A missing
``distribution`` means categorical for bool/categorical features, uniform over ``min..max`` when both are
given, else a standard normal. ``missing_rate`` above 0 needs ``nullable: true``. Optional extensions:
``flags`` on a feature (set by inference: ``id_like``, ``constant``, ``empty``, ``high_cardinality``) and the
top-level ``copula`` block (the Gaussian copula's correlation, written by inference from a sample).
Every feature says where its distribution came from in ``source``: ``sample`` (inferred from a CSV),
``model`` (the model's own knowledge: encoder categories, scaler statistics, ranges, split thresholds),
``assumed`` (nothing known: a standard normal) or ``user`` (the default for a document written by hand).
"""
from __future__ import annotations

import math
from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from modelwatch.errors import BadRequest

SCHEMA_VERSION = 1
TYPES = ("float", "int", "bool", "categorical")
KINDS = ("normal", "uniform", "lognormal", "categorical", "constant", "empirical")
PARAMS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "std"), "uniform": ("low", "high"), "lognormal": ("mean", "sigma"),
    "constant": ("value",), "empirical": ("quantiles",), "categorical": (),
}
KINDS_FOR_TYPE: dict[str, tuple[str, ...]] = {
    "float": KINDS, "int": KINDS, "bool": ("categorical", "constant"), "categorical": ("categorical", "constant"),
}
FLAGS = ("id_like", "constant", "empty", "high_cardinality")
SOURCES = ("sample", "model", "assumed", "user")


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value == value and abs(value) != float("inf")


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, bool)) or _number(value)


class DistributionSchema(Schema):
    """``{"kind", ...params}``; parameters are checked against the kind (see the module docstring)."""

    class Meta:
        unknown = INCLUDE

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    mean = fields.Float(allow_nan=False, metadata={"description": "normal: the mean; lognormal: the log's mean"})
    std = fields.Float(allow_nan=False, metadata={"description": "normal: the standard deviation (> 0)"})
    low = fields.Float(allow_nan=False, metadata={"description": "uniform: the lower bound"})
    high = fields.Float(allow_nan=False, metadata={"description": "uniform: the upper bound"})
    sigma = fields.Float(allow_nan=False, metadata={"description": "lognormal: the log's standard deviation (> 0)"})
    value = fields.Raw(metadata={"description": "constant: the value (a number, text or bool)"})
    quantiles = fields.List(fields.Float(allow_nan=False),
                            metadata={"description": "empirical: non-decreasing values at probabilities 0..1"})

    @validates_schema
    def _params(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("kind")
        if kind not in PARAMS:
            return
        errors: dict[str, list[str]] = {}
        allowed = PARAMS[kind]
        for key in data:
            if key != "kind" and key not in allowed:
                errors.setdefault(key, []).append(
                    f"not a parameter of {kind}; expected {', '.join(allowed) or 'none (uses categories/weights)'}")
        for key in ("mean", "std", "low", "high", "sigma"):
            if key in data and key in allowed and not _number(data[key]):
                errors.setdefault(key, []).append("must be a finite number")
        if kind == "normal" and _number(data.get("std")) and data["std"] <= 0:
            errors.setdefault("std", []).append("must be greater than 0")
        if kind == "lognormal" and _number(data.get("sigma")) and data["sigma"] <= 0:
            errors.setdefault("sigma", []).append("must be greater than 0")
        if kind == "uniform" and _number(data.get("low")) and _number(data.get("high")) and data["low"] > data["high"]:
            errors.setdefault("low", []).append("must be less than or equal to high")
        if kind == "constant" and ("value" not in data or not (_scalar(data["value"]))):
            errors.setdefault("value", []).append("required: the constant (a number, text or bool)")
        if kind == "empirical":
            q = data.get("quantiles")
            if not isinstance(q, list) or len(q) < 2 or not all(_number(v) for v in q):
                errors.setdefault("quantiles", []).append("required: a list of at least two finite numbers")
            elif any(b < a for a, b in zip(q, q[1:])):
                errors.setdefault("quantiles", []).append("must be non-decreasing")
        if errors:
            raise ValidationError(errors)


class FeatureSchema(Schema):
    """One input column of the model."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    min = fields.Float(allow_none=True, load_default=None, allow_nan=False)
    max = fields.Float(allow_none=True, load_default=None, allow_nan=False)
    categories = fields.List(fields.Raw(), allow_none=True, load_default=None)
    weights = fields.List(fields.Float(validate=validate.Range(min=0), allow_nan=False), allow_none=True,
                          load_default=None)
    nullable = fields.Boolean(load_default=False)
    missing_rate = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=1), allow_nan=False)
    distribution = fields.Nested(DistributionSchema, allow_none=True, load_default=None)
    flags = fields.List(fields.String(validate=validate.OneOf(FLAGS)), load_default=list)
    description = fields.String(allow_none=True)
    source = fields.String(load_default="user", validate=validate.OneOf(SOURCES), metadata={
        "description": "where the distribution came from: sample, model, assumed (nothing known) or user"})

    @validates_schema(skip_on_field_errors=False)
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[str]] = {}
        ftype, cats, weights = data.get("type"), data.get("categories"), data.get("weights")
        dist = data.get("distribution") or {}
        kind = dist.get("kind")
        low, high = data.get("min"), data.get("max")
        if low is not None and high is not None and low > high:
            errors.setdefault("min", []).append(f"must be less than or equal to max ({high})")
        elif ftype == "int" and low is not None and high is not None and math.ceil(low) > math.floor(high):
            errors.setdefault("min", []).append(f"no whole number lies between min and max ({low}..{high})")
        if cats is not None:
            if not all(_scalar(c) for c in cats):
                errors.setdefault("categories", []).append("each category must be a number, text or bool")
            elif len({(type(c).__name__, c) for c in cats}) != len(cats):
                errors.setdefault("categories", []).append("must not repeat a value")
            if ftype == "bool" and not all(isinstance(c, bool) for c in cats):
                errors.setdefault("categories", []).append("a bool feature's categories must be true/false")
            if ftype in ("float", "int") and kind == "categorical" and not all(_number(c) for c in cats):
                errors.setdefault("categories", []).append(f"an {ftype} feature's categories must be numbers")
            elif ftype in ("float", "int") and kind == "categorical" and any(
                    (low is not None and c < low) or (high is not None and c > high) for c in cats):
                errors.setdefault("categories", []).append(f"must lie within min..max ({low}..{high})")
        needs_categories = ftype == "categorical" and kind != "constant" or (kind == "categorical" and ftype != "bool")
        if needs_categories and not cats:
            errors.setdefault("categories", []).append("required: at least one category")
        if weights is not None:
            if cats is None and ftype != "bool":
                errors.setdefault("weights", []).append("needs categories to weigh")
            elif len(weights) != len(cats if cats is not None else [False, True]):
                errors.setdefault("weights", []).append(
                    f"must have one weight per category ({len(cats or [False, True])}), not {len(weights)}")
            elif not sum(weights) > 0:
                errors.setdefault("weights", []).append("must not all be 0")
        if data.get("missing_rate", 0) > 0 and not data.get("nullable"):
            errors.setdefault("missing_rate", []).append("above 0 needs nullable: true")
        if kind and ftype in KINDS_FOR_TYPE and kind not in KINDS_FOR_TYPE[ftype]:
            errors.setdefault("distribution", []).append(
                f"kind {kind} does not fit a {ftype} feature; use {' or '.join(KINDS_FOR_TYPE[ftype])}")
        if kind == "constant" and ftype in ("categorical", "bool") and cats and dist.get("value") not in cats:
            errors.setdefault("distribution", []).append("the constant value must be one of the categories")
        if kind == "constant" and ftype in ("float", "int") and "value" in dist and not _number(dist["value"]):
            errors.setdefault("distribution", []).append("the constant value of a numeric feature must be a number")
        if errors:
            raise ValidationError(errors)


class TargetSchema(Schema):
    """The label column, when there is one."""

    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(TYPES))
    classes = fields.List(fields.Raw(), allow_none=True, load_default=None)


class CopulaSchema(Schema):
    """The Gaussian copula's correlation over some features (inference writes it; the copula generator reads it)."""

    class Meta:
        unknown = RAISE

    features = fields.List(fields.String(), required=True, validate=validate.Length(min=2))
    correlation = fields.List(fields.List(fields.Float(allow_nan=False, validate=validate.Range(min=-1, max=1))),
                              required=True)

    @validates_schema
    def _square(self, data: dict[str, Any], **_: Any) -> None:
        d = len(data.get("features", []))
        corr = data.get("correlation", [])
        if len(corr) != d or any(len(row) != d for row in corr):
            raise ValidationError({"correlation": [f"must be a {d} x {d} matrix, one row and column per feature"]})
        if any(abs(corr[i][i] - 1.0) > 1e-6 for i in range(d)):
            raise ValidationError({"correlation": ["the diagonal must be 1"]})


class SchemaDocument(Schema):
    """The whole Schema document."""

    class Meta:
        unknown = RAISE

    schema_version = fields.Integer(load_default=SCHEMA_VERSION, validate=validate.Equal(SCHEMA_VERSION))
    features = fields.List(fields.Nested(FeatureSchema), required=True, validate=validate.Length(min=1))
    target = fields.Nested(TargetSchema, allow_none=True, load_default=None)
    copula = fields.Nested(CopulaSchema, allow_none=True, load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def _names(self, data: dict[str, Any], **_: Any) -> None:
        names = [f.get("name") for f in data.get("features") or []]
        errors: dict[str, list[str]] = {}
        repeated = sorted({str(n) for n in names if n and names.count(n) > 1})
        if repeated:
            errors["features"] = [f"feature names must be unique; repeated: {', '.join(repeated)}"]
        target = data.get("target")
        if target and target.get("name") in names:
            errors["target"] = [f"the target {target['name']!r} is also listed as a feature"]
        copula = data.get("copula")
        if copula:
            unknown = [n for n in copula.get("features", []) if n not in names]
            if unknown:
                errors["copula"] = [f"names features the schema lacks: {', '.join(unknown)}"]
        if errors:
            raise ValidationError(errors)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"features[0].distribution.std": ["must be greater than 0"]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "schema"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for sub, reasons in flatten_errors(value, path).items():
                flat.setdefault(sub, []).extend(reasons)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "schema"] = list(messages)
    elif isinstance(messages, list):
        for item in messages:
            for sub, reasons in flatten_errors(item, prefix).items():
                flat.setdefault(sub, []).extend(reasons)
    else:
        flat[prefix or "schema"] = [str(messages)]
    return flat


def schema_errors(doc: Any) -> dict[str, list[str]]:
    """The document's problems as ``{field path: [reasons]}``; empty when it is valid."""
    if not isinstance(doc, dict):
        return {"schema": ["must be a JSON object"]}
    try:
        SchemaDocument().load(doc)
    except ValidationError as exc:
        return flatten_errors(exc.messages)
    return {}


def validate_schema(doc: Any) -> dict[str, Any]:
    """Validate a Schema document and return it with defaults filled in.

    Args:
        doc: the parsed JSON document.

    Returns:
        The document, normalised (``schema_version``, ``nullable``, ``missing_rate``, ``flags`` filled in).

    Raises:
        BadRequest: with ``details`` ``{field path: [reasons]}``, e.g. ``{"features[2].max": [...]}``.
    """
    if not isinstance(doc, dict):
        raise BadRequest("The schema must be a JSON object.", {"schema": ["must be a JSON object"]})
    try:
        return SchemaDocument().load(doc)
    except ValidationError as exc:
        details = flatten_errors(exc.messages)
        first = next(iter(details.items()))
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        raise BadRequest(f"The schema is invalid: {first[0]}: {first[1][0].rstrip('.')}{more}.", details) from None
