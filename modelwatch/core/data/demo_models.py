"""Demo models from scikit-learn's bundled datasets, each with a labelled sample (and recent data for drift).

Run as ``python -m modelwatch.core.data.demo_models <dir>`` (``services.demo`` does, in a plain subprocess, so that
no training happens in a web process): writes ``<key>.pkl``, ``<key>.sample.csv``, ``<key>.current.csv``
(when there is one) and ``manifest.json``. Nothing is downloaded: the datasets ship with scikit-learn.
"""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SEED = 0


def cancer_forest() -> dict[str, Any]:
    """A random forest on breast cancer; its "current" data has larger tumours (drift on two features)."""
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target.rename("diagnosis")
    model = RandomForestClassifier(n_estimators=60, max_depth=6, random_state=SEED).fit(X, y)
    rng = np.random.default_rng(SEED)
    current = X.sample(200, random_state=1).assign(diagnosis=y)
    current["mean radius"] = current["mean radius"] * 1.25
    current["worst area"] = current["worst area"] * rng.uniform(1.1, 1.6, len(current))
    return {"name": "demo: breast-cancer forest", "model": model, "target": "diagnosis",
            "sample": X.sample(300, random_state=0).assign(diagnosis=y), "current": current,
            "class_names": {str(k): str(name) for k, name in enumerate(data.target_names)}}


def diabetes_regressor() -> dict[str, Any]:
    """Gradient boosting on the diabetes progression data."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = GradientBoostingRegressor(n_estimators=80, max_depth=3, random_state=SEED).fit(X, y)
    return {"name": "demo: diabetes regressor", "model": model, "target": "progression",
            "sample": X.sample(250, random_state=0).assign(progression=y)}


def churn_frame(n: int = 600, seed: int = SEED) -> pd.DataFrame:
    """A churn-like table: string categories, numbers, and a label that depends on both."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "tenure_months": rng.integers(1, 72, n).astype(float),
        "monthly_fee": rng.normal(50, 15, n).round(2),
        "support_calls": rng.poisson(1.5, n).astype(float),
    })
    logit = (0.04 * (frame["monthly_fee"] - 50) - 0.05 * (frame["tenure_months"] - 36)
             + 0.5 * (frame["support_calls"] - 1.5) + (frame["plan"] == "basic") * 0.8)
    frame["churned"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def churn_pipeline() -> dict[str, Any]:
    """One-hot categories and scaled numbers into a logistic regression, as a scikit-learn Pipeline."""
    frame = churn_frame()
    X, y = frame.drop(columns="churned"), frame["churned"]
    encode = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"])],
                               remainder=StandardScaler())
    model = make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(X, y)
    return {"name": "demo: churn pipeline", "model": model, "target": "churned", "sample": frame.head(300),
            "current": churn_frame(200, seed=1).assign(monthly_fee=lambda f: f["monthly_fee"] + 15),
            "class_names": {"0": "stays", "1": "churns"}}


BUILDERS = {"cancer_forest": cancer_forest, "diabetes_regressor": diabetes_regressor,
            "churn_pipeline": churn_pipeline}


def write_demos(folder: Path, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """Build the demos and write their files into ``folder``; returns the manifest entries."""
    manifest = []
    for key in keys or list(BUILDERS):
        demo = BUILDERS[key]()
        (folder / f"{key}.pkl").write_bytes(pickle.dumps(demo["model"], protocol=pickle.HIGHEST_PROTOCOL))
        demo["sample"].to_csv(folder / f"{key}.sample.csv", index=False)
        entry = {"key": key, "name": demo["name"], "target": demo["target"], "model": f"{key}.pkl",
                 "sample": f"{key}.sample.csv", "current": None, "class_names": demo.get("class_names")}
        if demo.get("current") is not None:
            demo["current"].to_csv(folder / f"{key}.current.csv", index=False)
            entry["current"] = f"{key}.current.csv"
        manifest.append(entry)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


if __name__ == "__main__":
    write_demos(Path(sys.argv[1]), sys.argv[2:] or None)
