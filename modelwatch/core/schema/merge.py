"""Merge what the model knows (introspection) with what a sample CSV shows; every conflict becomes a warning.

The model decides which features exist and in which order; the CSV gives their types, ranges, frequencies
and distributions. Conflicts:

- a feature the model needs that the CSV lacks (``missing_in_sample``): it comes from the model alone
  (encoder categories, else a standard normal);
- a CSV column the model does not take and that is not the target (``unused_column``): dropped;
- a category the CSV has and the model's encoder does not (``unknown_category``): dropped from the
  categories (the model would refuse it or ignore it), its weight with it; encoder categories the CSV never
  shows (``unseen_in_sample``) are kept with a small weight so the model's whole input space is exercised;
- a type the CSV suggests that the encoder contradicts (``type_conflict``): the encoder wins;
- a model fitted on an array (no feature names) with as many CSV columns as it has features
  (``matched_by_position``): the CSV's columns are matched in order and renamed to the model's names;
- target classes the model does not know (``unknown_class``).
"""
from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from modelwatch.core.data.copula import fit_copula
from modelwatch.core.schema.from_csv import copula_rows, warning
from modelwatch.core.schema.from_model import encoder_categories, feature_from_encoder, schema_from_model

UNSEEN_WEIGHT = 0.01  # share given to an encoder category the sample never shows


def _merge_categories(name: str, model: dict[str, Any], sample: dict[str, Any],
                      warnings: list[dict[str, Any]]) -> dict[str, Any]:
    """The encoder's categories with the sample's frequencies."""
    merged = copy.deepcopy(model)
    if sample.get("type") != model["type"] and sample["type"] != "categorical":
        warnings.append(warning("type_conflict", f"The sample makes {name!r} {sample['type']}, but the model encodes "
                                f"it as {model['type']} categories; the model's categories are used.", name))
    observed = {str(c): w for c, w in zip(sample.get("categories") or [], sample.get("weights") or [])}
    known = {str(c) for c in model["categories"]}
    unknown = [c for c in observed if c not in known]
    if unknown:
        warnings.append(warning("unknown_category", f"The sample has {len(unknown)} categor(ies) of {name!r} that the "
                                f"model's encoder does not know ({', '.join(unknown[:5])}); they are left out.", name))
    unseen = [c for c in model["categories"] if str(c) not in observed]
    if unseen and observed:
        warnings.append(warning("unseen_in_sample", f"The model knows {len(unseen)} categor(ies) of {name!r} that "
                                f"the sample never shows ({', '.join(map(str, unseen[:5]))}); they get a small weight.",
                                name))
    if observed:
        weights = [observed.get(str(c), UNSEEN_WEIGHT) for c in model["categories"]]
        merged["weights"] = [round(w / sum(weights), 6) for w in weights]
    merged["nullable"] = sample.get("nullable", False)
    merged["missing_rate"] = sample.get("missing_rate", 0.0)
    merged["flags"] = list(sample.get("flags") or [])
    merged["source"] = "sample" if observed else "model"
    return merged


def _by_position(info: dict[str, Any], sample_schema: dict[str, Any],
                 warnings: list[dict[str, Any]]) -> dict[str, str] | None:
    """``{csv column: model name}`` matching an array model's ``f0..fN`` by position, when the counts agree."""
    features = sample_schema["features"]
    names = info["feature_names"]
    if info.get("feature_names_from_model", True) or len(features) != len(names):
        return None
    if any(f["name"] in names for f in features):
        return None
    warnings.append(warning("matched_by_position", f"The model was fitted without column names; the sample's "
                            f"{len(names)} columns are matched to its features in order "
                            f"({features[0]['name']} -> {names[0]}, ...)."))
    return {f["name"]: name for f, name in zip(features, names)}


def merge(info: dict[str, Any] | None, sample_schema: dict[str, Any],
          sample_warnings: list[dict[str, Any]] | None = None,
          sample_frame: pd.DataFrame | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Merge the model's introspection with a schema inferred from a sample.

    Args:
        info: the model's introspection (``core.model.introspect.describe``), or None when there is no model.
        sample_schema: the schema inferred from the CSV (``schema.from_csv.infer_csv``).
        sample_warnings: the inference's warnings, passed through.
        sample_frame: the parsed sample (``schema.from_csv.infer_frame``); the copula is refitted on it for the
            merged categories. Without it the sample's copula is kept for the features whose categories
            the merge left alone.

    Returns:
        ``(schema, warnings)``: features in the model's order, the sample's target and copula kept.
    """
    warnings = list(sample_warnings or [])
    if info is None:
        return copy.deepcopy(sample_schema), warnings
    renamed = _by_position(info, sample_schema, warnings) or {}
    from_sample = {renamed.get(f["name"], f["name"]): {**copy.deepcopy(f), "name": renamed.get(f["name"], f["name"])}
                   for f in sample_schema["features"]}
    encoded = encoder_categories(info)
    model_schema = {f["name"]: f for f in schema_from_model(info)["features"]}
    features = []
    for name in info["feature_names"]:
        sample = from_sample.get(name)
        if sample is None:
            features.append(model_schema[name])
            warnings.append(warning("missing_in_sample", f"The model needs {name!r}, which the sample lacks; it is "
                                    "generated from the model's knowledge alone (check its range).", name))
        elif name in encoded:
            features.append(_merge_categories(name, feature_from_encoder(name, encoded[name]), sample, warnings))
        else:
            features.append(copy.deepcopy(sample))
    target = copy.deepcopy(sample_schema.get("target"))
    for name in from_sample:
        if name not in info["feature_names"] and (target is None or name != target["name"]):
            warnings.append(warning("unused_column", f"The sample's column {name!r} is not a model feature; "
                                    "it is left out.", name))
    if target is not None and info.get("classes") is not None:
        known = {str(c) for c in info["classes"]}
        extra = [c for c in target.get("classes") or [] if str(c) not in known]
        if extra:
            warnings.append(warning("unknown_class", f"The target {target['name']!r} has values the model never "
                                    f"predicts ({', '.join(map(str, extra[:5]))}).", target["name"]))
        target["classes"] = list(info["classes"])
    schema: dict[str, Any] = {"schema_version": sample_schema.get("schema_version", 1), "features": features,
                              "target": target}
    if sample_frame is not None:
        fit_on = copula_rows(sample_frame).rename(columns=renamed)
        copula = fit_copula(schema, fit_on) if len(sample_frame) >= 3 else None
    else:
        copula = sample_schema.get("copula")
        if copula:
            copula = {**copula, "features": [renamed.get(n, n) for n in copula["features"]]}
            keep = [i for i, n in enumerate(copula["features"]) if n in info["feature_names"] and n not in encoded]
            copula = None if len(keep) < 2 else {
                "features": [copula["features"][i] for i in keep],
                "correlation": [[copula["correlation"][i][j] for j in keep] for i in keep]}
    if copula:
        schema["copula"] = copula
    return schema, warnings
