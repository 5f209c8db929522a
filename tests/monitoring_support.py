"""Shared by the monitoring tests: a registered model with a champion, built without the sandbox (the batch path
never calls the model), and batches cut from sklearn's bundled breast-cancer data."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from modelwatch.services import registry
from tests.factories import stored_artifact

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area", "worst symmetry"]
SHIFTED = ["mean radius", "worst area"]


def cancer_frame() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    frame = data.data[FEATURES].copy()
    frame["label"] = data.target
    return frame


def register_champion(name: str, reference: pd.DataFrame, target: str = "label", data: bytes = b"model") -> None:
    """A model version with this reference sample, chosen as champion by a user (``data``: the model's bytes, only
    read when a batch asks for predictions)."""
    artifact = stored_artifact(name, data, info={"task": "classification"})
    version = registry.register_version(name, artifact, reference_csv=reference.to_csv(index=False).encode(),
                                        target=target)
    registry.set_champion(name, version.number)


def batch_csv(frame: pd.DataFrame, rng: np.random.Generator, rows: int, shift: bool, start_id: int) -> bytes:
    """``rows`` rows resampled from ``frame`` (the shifted features moved by two standard deviations when
    ``shift``), with ids and predictions (the label flipped for 10% of rows)."""
    picked = frame.sample(rows, replace=True, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)
    if shift:
        for name in SHIFTED:
            picked[name] = picked[name] + 2 * frame[name].std()
    flip = rng.random(rows) < 0.1
    out = picked[FEATURES].copy()
    out["prediction"] = np.where(flip, 1 - picked["label"], picked["label"])
    out["id"] = [f"r{start_id + i}" for i in range(rows)]
    buf = io.StringIO()
    out.to_csv(buf, index=False)
    return buf.getvalue().encode()
