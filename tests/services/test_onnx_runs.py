"""A forest exported to ONNX goes through a whole run like its pickle: every section, the same gates outcome."""
from __future__ import annotations

import numpy as np
import pytest
from skl2onnx import to_onnx

from modelwatch.services import artifacts, runs

CONFIG = {"n_samples": 200, "batch_sizes": [1], "seed": 0, "explain": {"max_samples": 20, "background": 20},
          "drift": {"kinds": ["mean_shift"], "severities": [1.0]}}


def _finished(data: bytes, filename: str, sample: bytes):
    artifact = artifacts.store_upload(data, filename)
    return artifact, runs.get_run(runs.submit_run(artifact, config=CONFIG, sample_csv=sample, target="target").id)


@pytest.mark.usefixtures("sandbox")
def test_an_onnx_forest_runs_every_section_with_the_pickles_outcome(app, forest, forest_bytes, cancer):
    X, y = cancer
    sample = X.set_axis([f"f{i}" for i in range(X.shape[1])], axis=1).assign(target=y).sample(200, random_state=0)
    sample_csv = sample.to_csv(index=False).encode()
    onnx_bytes = to_onnx(forest, X.to_numpy()[:1].astype(np.float32)).SerializeToString()
    _, reference = _finished(forest_bytes, "forest.pkl", sample_csv)
    artifact, exported = _finished(onnx_bytes, "forest.onnx", sample_csv)
    assert artifact.format == "onnx" and artifact.info["onnx"]["producer"] == "skl2onnx"
    assert exported.status == "succeeded", exported.error
    for section in ("performance", "robustness", "quality", "drift", "explainability"):
        assert "skipped" not in exported.result[section], (section, exported.result[section])
    assert exported.result["quality"]["metrics"]["accuracy"] == reference.result["quality"]["metrics"]["accuracy"]
    outcome = [(c["name"], c["passed"]) for c in reference.gates["checks"] if not c["metric"].startswith("perf")]
    assert outcome == [(c["name"], c["passed"]) for c in exported.gates["checks"] if not c["metric"].startswith("perf")]
    assert reference.gates["source"] == exported.gates["source"]
    assert (exported.result.get("verdict") or {}).get("status") == (reference.result.get("verdict") or {}).get("status")
