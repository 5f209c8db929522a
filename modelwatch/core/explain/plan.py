"""Pick the explainer for a model: TreeExplainer for tree ensembles, exact linear attribution for linear
models, a model-agnostic explainer otherwise; and how pipelines map back to raw columns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from modelwatch.core.explain.common import dense, model_input, type_name, unwrap
from modelwatch.core.explain.encoding import column_mapping

SKLEARN_TREES = {
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
    "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
}
BOOSTER_TREES = {
    "xgboost": {"XGBClassifier", "XGBRegressor", "XGBRFClassifier", "XGBRFRegressor", "Booster"},
    "lightgbm": {"LGBMClassifier", "LGBMRegressor", "Booster"},
}
LINEAR_MODULES = ("sklearn.linear_model", "sklearn.svm", "sklearn.discriminant_analysis")
RAW = "the model takes the raw features directly"
SUMMED = "encoded columns summed back to raw columns"
WHOLE = "whole pipeline over raw inputs"


@dataclass
class Plan:
    """How to explain one model."""

    kind: str  # "tree" | "linear" | "agnostic"
    why: str
    method: str
    pre: Any | None
    final: Any
    mapping: list[list[int]] | None = None
    encoded_names: list[str] = field(default_factory=list)


def is_tree(est: Any) -> bool:
    module, name = type(est).__module__.split(".")[0], type(est).__name__
    if module == "sklearn":
        return name in SKLEARN_TREES
    return name in BOOSTER_TREES.get(module, set())


def is_linear(est: Any) -> bool:
    module = type(est).__module__
    return module.startswith(LINEAR_MODULES) and hasattr(est, "coef_") and hasattr(est, "intercept_")


def _numeric(frame: pd.DataFrame) -> bool:
    return all(pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame)


def agnostic_plan(model: Any, why: str) -> Plan:
    """The fallback plan: the whole model over its raw inputs."""
    return Plan("agnostic", why, WHOLE, None, model)


def choose(model: Any, info: dict[str, Any], probe: pd.DataFrame) -> Plan:
    """Decide how to explain ``model``, given raw rows ``probe`` that cover the values in use.

    Returns:
        The plan; its ``why`` is shown on the Run.
    """
    pre, final = unwrap(model)
    columns = info["feature_names"]
    if is_tree(final):
        kind, why = "tree", (f"{type_name(final)} is a tree ensemble: TreeExplainer computes exact SHAP values "
                             "from the trees themselves (path-dependent, no background sample needed).")
    elif is_linear(final):
        kind, why = "linear", (f"{type_name(final)} is linear: its exact SHAP values are coef x (x - background "
                               "mean), computed directly without sampling.")
    else:
        return agnostic_plan(model, f"{type_name(final)} is neither a tree ensemble nor a linear model: a "
                                    "model-agnostic PermutationExplainer calls the model with a background sample.")
    if pre is None:
        if not _numeric(probe[columns]):
            return agnostic_plan(model, f"{type_name(final)} takes non-numeric columns without a preprocessing "
                                        "pipeline, so the model-agnostic PermutationExplainer is used.")
        return Plan(kind, why, RAW, None, final, [[j] for j in range(len(columns))], list(columns))

    def transform(frame: pd.DataFrame) -> Any:
        return model_input(frame, info, pre)

    try:
        encoded = transform(probe.iloc[:2])
        names = [str(n) for n in pre.get_feature_names_out()] if hasattr(pre, "get_feature_names_out") else []
    except Exception:  # some transformers cannot name their outputs; positions will do
        names = []
    n_encoded = dense(encoded).shape[1]
    names = names if len(names) == n_encoded else [f"encoded_{i}" for i in range(n_encoded)]
    mapping = column_mapping(transform, probe[columns], columns, n_encoded)
    if mapping is None:
        return agnostic_plan(model, f"{why.split(':')[0]}, but the pipeline's preprocessing mixes raw columns, so "
                                    "encoded attributions cannot be summed back per column: the model-agnostic "
                                    "PermutationExplainer explains the whole pipeline over its raw inputs.")
    return Plan(kind, why, SUMMED, pre, final, mapping, names)
