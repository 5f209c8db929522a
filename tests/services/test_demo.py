"""Try an example: demo models built from scikit-learn's datasets in a subprocess, stored and run like uploads."""
from __future__ import annotations

import pytest

from modelwatch.errors import BadRequest
from modelwatch.models import ModelArtifact, Run


@pytest.mark.usefixtures("sandbox")
def test_flask_demo_seeds_an_example_and_runs_it(app, runner):
    result = runner.invoke(args=["demo", "--only", "churn_pipeline", "--samples", "60"])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.output and "demo: churn pipeline" in result.output
    run = Run.query.one()
    assert run.status == "succeeded" and run.target == "churned" and run.sample_csv and run.current_csv
    assert run.result["quality"]["metrics"]["accuracy"] > 0.5  # measured on the example's labelled sample
    assert run.result["quality"]["class_names"] == {"0": "stays", "1": "churns"}  # named on the Quality tab
    assert run.result["drift"]["current"]["columns"]  # its "current" data is compared with the sample
    features = {f["name"]: f for f in run.schema["features"]}
    assert features["plan"]["type"] == "categorical" and set(features["plan"]["categories"]) == {"basic", "plus",
                                                                                                 "pro"}
    assert ModelArtifact.query.one().info["type"].endswith("Pipeline")


def test_unknown_examples_are_refused(app):
    from modelwatch.services.demo import run_examples

    with pytest.raises(BadRequest):
        run_examples(["nope"])
