"""The section registry: a toy section declared once, in this module, and bound by each layer (its compute, figures
and tab), reaches every layer that iterates sections (the suite, the Result schema, gates, metric rows, the HTML
report, the run page's tabs); a registry or a layer's binding that misses a piece fails loudly instead of skipping
the section."""
from __future__ import annotations

import json
import re
from typing import Any

import plotly.graph_objects as go
import pytest
from dash import html
from marshmallow import fields
from plotly.io.json import to_json_plotly
from sklearn.linear_model import LogisticRegression

from modelwatch.api.result_schemas import ResultSchema, result_schema
from modelwatch.core import suite
from modelwatch.core.results import gates, report
from modelwatch.core.sections import SECTIONS, Registry, RegistryError, Section
from modelwatch.core.sections.result_schemas import SectionSchema
from modelwatch.dashboard.tabs import RENDERERS, lazy_tabs, render_section, run_tabs, section_of_tab, tab_id
from modelwatch.errors import BadRequest
from modelwatch.figures import html_report
from modelwatch.figures.sections import SECTION_FIGURES
from tests.core.suite_context import make_context

# ---- the toy section: everything a section is, in one place ------------------------------------------------------


def toy_compute(ctx) -> dict[str, Any]:
    """The share of generated rows the model predicts as the positive class."""
    predictions = ctx.model.predict(ctx.data.head(50))
    return {"positive_share": float((predictions == 1).mean()), "rows": 50}


class ToySchema(SectionSchema):
    positive_share = fields.Float()
    rows = fields.Integer()


def toy_figures(section: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    return [("share", go.Figure(go.Bar(x=["positive"], y=[section["positive_share"]])))]


def toy_render(section: Any, run: dict[str, Any]) -> list:
    return [html.P(f"positive share {section['positive_share']:.2f}", id="run-toy-share")]


def toy_share(section: dict[str, Any]) -> dict[str, float]:
    return {"positive_share": section["positive_share"]}


TOY = Section("toy", "Toy", ToySchema, headline=toy_share, metric_paths=("positive_share", "rows"),
              start=5, needs=("performance",), key_metrics=toy_share)
WITH_TOY = SECTIONS.extended(TOY)


@pytest.fixture(scope="module")
def toy_ctx(cancer):
    X, y = cancer
    X = X.iloc[:, :5]
    model = LogisticRegression(max_iter=500).fit(X, y)
    events = []
    ctx = make_context(model, X.head(200), quality={"n_boot": 20}, explain={"max_samples": 10, "background": 10},
                       drift={"severities": [1.0], "kinds": ["mean_shift"], "resamples": 5})
    ctx.progress = lambda stage, fraction, **extra: events.append((stage, extra))
    compute = WITH_TOY.bind("compute functions", {**suite.COMPUTE, "toy": toy_compute})
    suite.run_sections(ctx, workers=2, sections=WITH_TOY, compute=compute)
    return ctx, events


def test_the_suite_runs_the_toy_section_after_what_it_needs(toy_ctx):
    ctx, events = toy_ctx
    assert set(ctx.results) == set(WITH_TOY) and 0.0 <= ctx.results["toy"]["positive_share"] <= 1.0
    stages = [stage for stage, _ in events]
    assert stages.index("toy") > stages.index("performance done")
    streamed = {extra["section"]: extra["headline"] for _, extra in events if extra}
    assert streamed["toy"] == {"positive_share": ctx.results["toy"]["positive_share"]}


def test_the_result_schema_describes_the_toy_section(toy_ctx):
    ctx, _ = toy_ctx
    schema = result_schema(WITH_TOY)()
    assert schema.validate({"toy": ctx.results["toy"]}) == {}
    assert schema.validate({"toy": {"skipped": "ValueError: no rows"}}) == {}
    assert set(schema.validate({"toy": {"positive_share": "most"}})["toy"]) == {"positive_share"}
    assert "toy" not in ResultSchema._declared_fields  # the app's own Result is untouched


def test_gates_address_the_toy_metric_paths(toy_ctx):
    ctx, _ = toy_ctx
    config = {"batch_sizes": [1, 10], "thresholds": {"toy.positive_share": {"min": 0.0}, "toy.rows": {"max": 10}}}
    assert {"toy.positive_share", "toy.rows"} <= set(gates.valid_paths(config, WITH_TOY))
    gates.validate_thresholds(config["thresholds"], config, WITH_TOY)
    with pytest.raises(BadRequest):  # the app's registry has no toy
        gates.validate_thresholds(config["thresholds"], config)
    checks = {c["metric"]: c for c in gates.evaluate(ctx.results, config)["checks"]}
    assert checks["toy.positive_share"]["passed"] and checks["toy.positive_share"]["value"] is not None
    assert not checks["toy.rows"]["passed"] and checks["toy.rows"]["value"] == 50


def test_metric_rows_and_the_html_report_show_the_toy_section(toy_ctx):
    ctx, _ = toy_ctx
    result = {**ctx.results, "schema": ctx.schema}
    share = ctx.results["toy"]["positive_share"]
    assert ("toy", "positive_share", share) in report.metric_rows(result, WITH_TOY)
    assert report.headline_metrics(result, WITH_TOY)["toy.positive_share"] == share
    run = {"id": "r1", "name": "toy <run>", "status": "succeeded", "source": "api",
           "created_at": "2026-01-01T00:00:00Z", "duration_s": 1.5, "error": None, "gates": None, "result": result,
           "model": {"type": "LogisticRegression", "task": "classification", "n_features": 5, "sha256": "ab" * 32}}
    builders = WITH_TOY.bind("figure builders", {**SECTION_FIGURES, "toy": toy_figures})
    page = html_report.render(run, ctx.schema, WITH_TOY, builders)
    assert 'id="section-toy"' in page and '<a href="#section-toy">Toy</a>' in page
    assert 'id="fig-toy-0" data-name="share"' in page and "<h1>toy &lt;run&gt;</h1>" in page
    assert "<td>toy: positive share</td>" in page  # in the Summary's headline table
    figures = json.loads(re.search(r'id="figures-json">(.*?)</script>', page, re.S).group(1))
    assert figures["fig-toy-0"]["data"][0]["type"] == "bar"
    assert 'id="section-toy"' not in html_report.render(run, ctx.schema)  # the app's registry: no toy


def test_the_run_page_has_a_tab_for_the_toy_section(toy_ctx):
    ctx, _ = toy_ctx
    tabs = run_tabs(WITH_TOY, WITH_TOY.bind("tab renderers", {**RENDERERS, "toy": toy_render}))
    assert [tab.label for tab in tabs] == ["Summary", *(s.title for s in WITH_TOY.values()), "Data"]
    assert tab_id("toy") in to_json_plotly(lazy_tabs([], tabs))
    assert section_of_tab(tab_id("toy"), tabs) == ("toy", "toy")
    assert "run-toy-share" in to_json_plotly(render_section("toy", ctx.results["toy"], {"id": "r1"}, tabs))


# ---- a missing piece fails loudly --------------------------------------------------------------------------------


def test_the_apps_bindings_cover_every_registered_section():
    assert list(suite.COMPUTE) == list(SECTION_FIGURES) == list(RENDERERS) == list(SECTIONS)
    assert set(SECTIONS) <= set(ResultSchema._declared_fields)
    assert all(section.title and section.metric_paths for section in SECTIONS.values())


def test_a_layer_that_misses_a_section_fails_when_it_binds():
    with pytest.raises(RegistryError, match="compute functions .* missing for \\['toy'\\]"):
        WITH_TOY.bind("compute functions", suite.COMPUTE)
    with pytest.raises(RegistryError, match="missing for \\['toy'\\]"):
        WITH_TOY.bind("figure builders", SECTION_FIGURES)
    with pytest.raises(RegistryError, match="unknown \\['toy'\\]"):
        SECTIONS.bind("tab renderers", {**RENDERERS, "toy": toy_render})


def test_an_incomplete_or_inconsistent_declaration_fails_when_declared():
    with pytest.raises(TypeError):  # no headline
        Section("toy", "Toy", ToySchema)  # type: ignore[call-arg]
    with pytest.raises(RegistryError, match="marshmallow"):
        Section("toy", "Toy", dict, TOY.headline)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="callables"):
        Section("toy", "Toy", ToySchema, TOY.headline, key_metrics=None)  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="not one of"):
        Section("data", "Data", ToySchema, TOY.headline)
    with pytest.raises(RegistryError, match="declared twice"):
        SECTIONS.extended(TOY, TOY)
    with pytest.raises(RegistryError, match="unknown section"):
        Registry([Section("toy", "Toy", ToySchema, TOY.headline, needs=("nothing",))])
    a = Section("a", "A", ToySchema, TOY.headline, needs=("b",))
    b = Section("b", "B", ToySchema, TOY.headline, needs=("a",))
    with pytest.raises(RegistryError, match="wait for each other"):
        Registry([a, b])
    early = Section("early", "Early", ToySchema, TOY.headline, start=1)
    with pytest.raises(RegistryError, match="starts earlier"):  # a lone worker would wait for its own queue
        Registry([early, Section("late", "Late", ToySchema, TOY.headline, start=1, awaits=("early",))])
    Registry([early, Section("late", "Late", ToySchema, TOY.headline, start=2, awaits=("early",))])
