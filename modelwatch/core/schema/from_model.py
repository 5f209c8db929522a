"""Schema documents (``schema_version: 1``): built from what the model knows, and checked against it."""
from __future__ import annotations

from typing import Any

from modelwatch.core.schema.document import SCHEMA_VERSION, validate_schema
from modelwatch.errors import SchemaMismatch

__all__ = ["SCHEMA_VERSION", "assumed_features", "check_against_model", "encoder_categories", "schema_from_model",
           "validate_for_model"]


def encoder_categories(info: dict[str, Any]) -> dict[str, list[Any]]:
    """The categories each raw column's encoder knows (OneHotEncoder / OrdinalEncoder inside the model)."""
    return {col: list(cats) for enc in info.get("encoders", []) for col, cats in enc["categories"].items()}


def _is_text(values: list[Any]) -> bool:
    return any(isinstance(v, str) for v in values)


def feature_from_encoder(name: str, cats: list[Any]) -> dict[str, Any]:
    """A feature for a column the model encodes: its type follows the encoder's category values."""
    cats = [c for c in cats if c is not None and c == c]  # an encoder may list NaN as a category
    if cats and all(isinstance(c, bool) for c in cats):
        ftype = "bool"
    elif _is_text(cats) or not cats:
        ftype = "categorical"
        cats = [str(c) for c in cats]
    else:
        ftype = "int" if all(float(c).is_integer() for c in cats) else "float"
        cats = [int(c) if ftype == "int" else float(c) for c in cats]
    feature: dict[str, Any] = {"name": name, "type": ftype, "categories": cats, "distribution": {"kind": "categorical"},
                               "nullable": False, "missing_rate": 0.0}
    if ftype in ("int", "float"):
        feature.update(min=min(cats), max=max(cats))
    return feature


def feature_from_prior(name: str, prior: dict[str, Any]) -> dict[str, Any]:
    """A numeric feature from what the model knows of it (``core.model.priors``): its distribution and range."""
    feature: dict[str, Any] = {"name": name, "type": "float", "distribution": dict(prior["distribution"]),
                               "nullable": False, "missing_rate": 0.0, "source": "model",
                               "description": f"from the model: {prior.get('from', 'its fitted state')}"}
    feature.update({key: prior[key] for key in ("min", "max") if prior.get(key) is not None})
    return feature


def schema_from_model(info: dict[str, Any]) -> dict[str, Any]:
    """A schema from introspection alone: encoder categories become categoricals, features the model describes
    (scaler statistics, ranges, tree thresholds: ``info["priors"]``) take that distribution, and the rest are
    standard normals marked ``source: "assumed"`` (``assumed_features`` lists them for the Result)."""
    categories = encoder_categories(info)
    priors = info.get("priors") or {}
    features = []
    for name in info["feature_names"]:
        if name in categories:
            features.append({**feature_from_encoder(name, categories[name]), "source": "model"})
        elif name in priors:
            features.append(feature_from_prior(name, priors[name]))
        else:
            features.append({"name": name, "type": "float", "distribution": {"kind": "normal", "mean": 0.0, "std": 1.0},
                             "nullable": False, "missing_rate": 0.0, "source": "assumed"})
    return {"schema_version": SCHEMA_VERSION, "features": features, "target": None}


def assumed_features(schema: dict[str, Any]) -> list[str]:
    """Features whose data nothing backs: marked ``assumed``, or numeric with no distribution, range or categories
    (the generator's standard-normal default). The Result's ``data.assumed_features``; the verdict reads it."""
    def assumed(feature: dict[str, Any]) -> bool:
        if feature.get("source") == "assumed":
            return True
        bare = not feature.get("distribution") and not feature.get("categories")
        return bare and feature.get("type") in ("float", "int") and (feature.get("min") is None
                                                                     or feature.get("max") is None)
    return [f["name"] for f in schema.get("features", []) if assumed(f)]


def type_problems(schema: dict[str, Any], info: dict[str, Any]) -> dict[str, str]:
    """Features whose type cannot work with the model: ``{name: why}``."""
    problems: dict[str, str] = {}
    encoded = encoder_categories(info)
    takes_frame = bool(info.get("feature_names_from_model"))
    for feature in schema.get("features", []):
        name, ftype = feature.get("name"), feature.get("type")
        cats = feature.get("categories") or []
        if name in encoded and _is_text(encoded[name]) and ftype in ("float", "int"):
            problems[name] = (f"the model encodes {name!r} as text categories "
                              f"({', '.join(map(str, encoded[name][:5]))}), but the schema makes it {ftype}")
        elif not takes_frame and ftype == "categorical" and _is_text(cats):
            problems[name] = (f"the model was fitted on a numeric array, so it cannot take the text categories of "
                              f"{name!r}; give numbers (float or int) instead")
    return problems


def check_against_model(schema: dict[str, Any], info: dict[str, Any]) -> None:
    """Refuse a schema that lacks a feature the model needs, has one it does not take, or a type it cannot use.

    Raises:
        SchemaMismatch: with ``details.missing`` and ``details.unexpected`` (and ``details.types``,
            ``{feature: why}``, when a feature's type cannot work).
    """
    names = [f["name"] for f in schema["features"]]
    needed = info["feature_names"]
    missing = [n for n in needed if n not in names]
    unexpected = [n for n in names if n not in needed]
    types = type_problems(schema, info)
    if missing or unexpected or types:
        parts = []
        if missing:
            parts.append(f"{len(missing)} feature(s) the model needs are missing ({', '.join(missing[:5])})")
        if unexpected:
            parts.append(f"{len(unexpected)} feature(s) the model does not take ({', '.join(unexpected[:5])})")
        if types:
            parts.append(next(iter(types.values())) + (f" (and {len(types) - 1} more type problem(s))"
                                                       if len(types) > 1 else ""))
        details: dict[str, Any] = {"missing": missing, "unexpected": unexpected}
        if types:
            details["types"] = types
        raise SchemaMismatch("The schema does not fit the model: " + "; ".join(parts) + ".", details)


def validate_for_model(doc: Any, info: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a Schema document, then (when the model is known) check it against the model.

    Raises:
        BadRequest: the document is malformed (``details``: ``{field: [reasons]}``).
        SchemaMismatch: it does not fit the model.
    """
    schema = validate_schema(doc)
    if info is not None:
        check_against_model(schema, info)
    return schema
