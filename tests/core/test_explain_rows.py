"""Which rows the Explainability section explains (real ones first), the what-if row checks, and the tab's
dependence pickers and probability view, on a real fitted model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelwatch.core.explain.section import compute
from modelwatch.core.explain.what_if import coerce_row, explain_row, feature_specs
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.dashboard.sections import explainability as tab
from modelwatch.figures.explain import to_probability
from tests.core.suite_context import make_context


@pytest.fixture(scope="module")
def model_and_frames():
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "income", "score"])
    model = LogisticRegression().fit(X, (X["age"] + 0.5 * X["income"] > 0).astype(int))
    synthetic = pd.DataFrame(rng.normal(size=(50, 3)), columns=X.columns)
    return model, X.iloc[:40].assign(label=1), X.iloc[40:70], synthetic


def _explained(ctx) -> pd.DataFrame:
    section = compute(ctx)
    return section, pd.DataFrame([s["row"] for s in section["samples"]])


@pytest.mark.parametrize("given, rows, expected", [
    ({"sample": True, "current": True}, "auto", "current"),
    ({"sample": True}, "auto", "sample"),
    ({}, "auto", "synthetic"),
    ({"sample": True, "current": True}, "synthetic", "synthetic"),
    ({"current": True}, "sample", "synthetic"),  # asked for a sample the run does not have
])
def test_real_rows_are_explained_first(model_and_frames, given, rows, expected):
    model, sample, current, synthetic = model_and_frames
    ctx = make_context(model, synthetic, sample=sample if given.get("sample") else None,
                       current=current if given.get("current") else None, explain={"max_samples": 20, "rows": rows})
    section, explained = _explained(ctx)
    assert section["rows_source"]["name"] == expected
    source = {"current": current, "sample": sample, "synthetic": synthetic}[expected]
    merged = explained.merge(source[["age", "income", "score"]], how="left", indicator=True)
    assert (merged["_merge"] == "both").all()  # every explained row is a row of the chosen source
    assert [f["name"] for f in section["features"]] == ["age", "income", "score"]
    assert ("does not cover" in (section["sampled"] or "")) == (rows not in ("auto", expected))


def test_coerce_row_checks_types_categories_and_missing():
    specs = feature_specs({"features": [
        {"name": "age", "type": "int", "min": 18, "max": 90},
        {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]},
        {"name": "vip", "type": "bool", "missing_rate": 0.1},
        {"name": "spend", "type": "float"}]}, ["age", "plan", "vip", "spend", "extra"])
    row, problems, notes = coerce_row(specs, {"age": "120", "plan": "pro", "vip": None, "spend": 3, "extra": 1.5})
    assert problems == {} and row == {"age": 120, "plan": "pro", "vip": None, "spend": 3.0, "extra": 1.5}
    assert notes == ["age = 120 is outside the schema's range [18, 90]"]
    _, problems, _ = coerce_row(specs, {"age": 20.5, "plan": "gold", "vip": "maybe", "spend": float("inf"),
                                        "colour": "red"})
    assert problems == {"age": "must be a whole number", "plan": "must be one of basic, pro",
                        "vip": "must be true or false", "spend": "must be a finite number",
                        "extra": "is missing", "colour": "is not a feature of the model"}
    assert coerce_row(specs, ["not", "a", "row"])[1] == {"row": "must be an object of feature -> value"}


def test_explain_row_is_additive_and_matches_the_model(model_and_frames):
    model, sample, _, _ = model_and_frames
    specs = feature_specs(None, ["age", "income", "score"])
    out = explain_row(model, {"feature_names": ["age", "income", "score"], "task": "classification",
                              "classes": [0, 1], "has_predict_proba": True, "n_features": 3},
                      {"age": 2.0, "income": -1.0, "score": 0.3}, specs, sample.drop(columns="label"))
    proba = model.predict_proba(pd.DataFrame([[2.0, -1.0, 0.3]], columns=["age", "income", "score"]))[0]
    assert out["prediction"] == 1 and out["probabilities"] == pytest.approx({"0": proba[0], "1": proba[1]})
    explanation = out["explanation"]
    assert explanation["output"] == "log-odds" and explanation["class"] == 1
    assert explanation["base_value"] + sum(explanation["contributions"].values()) == pytest.approx(
        explanation["prediction"])
    probability = to_probability(explanation)
    assert probability["prediction"] == pytest.approx(proba[1])
    assert probability["base_value"] + sum(probability["contributions"].values()) == pytest.approx(proba[1])


def test_the_tab_offers_pickers_and_the_probability_view(model_and_frames):
    model, sample, _, synthetic = model_and_frames
    section = to_jsonable(compute(make_context(model, synthetic, sample=sample, explain={"max_samples": 12})))
    text = str(tab.render(section, {"id": "r1"}))
    for component in (tab.DEPENDENCE_FEATURE, tab.DEPENDENCE_COLOUR, tab.SPACE_RADIO, tab.WHATIF_BUTTON):
        assert component in text
    assert "real rows" in text and "log-odds (exact SHAP values)" in text
    samples = [{**s, "index": i} for i, s in enumerate(section["samples"])]
    figure = tab.show_dependence("income", "score", samples, "log-odds")
    assert figure.layout.title.text == "Dependence of income (colour: score)"
    assert list(figure.data[0].y) == pytest.approx([s["contributions"]["income"] for s in samples])
    exact, _ = tab.show_sample({"rowId": "3"}, "shap", "log-odds", samples)
    scaled, _ = tab.show_sample({"rowId": "3"}, "shap", "probability", samples)
    assert "(log-odds)" in exact.layout.title.text and "(probability, scaled)" in scaled.layout.title.text
    assert 0 <= scaled.data[0].x[-1] <= 1
    assert tab.load_what_if_row({"rowId": "3"}, [{"index": "score"}, {"index": "age"}], samples) == [
        samples[3]["row"]["score"], samples[3]["row"]["age"]]
