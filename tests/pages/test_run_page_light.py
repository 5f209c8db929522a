"""Run page callbacks called directly: a poll tick carries no Result, the finished state carries the verdict and
headline only, each tab renders its own section once, when it is opened."""
from __future__ import annotations

import json
import sys

import plotly.io as pio
import pytest
from dash.exceptions import PreventUpdate

from modelwatch.core.results import verdict as core_verdict
from modelwatch.dashboard import headlines
from modelwatch.dashboard.sections.summary import time_spent
from modelwatch.dashboard.tabs import RUN_TAB_BODY, TABS, tab_id
from modelwatch.extensions import db
from modelwatch.models import utcnow
from tests.factories import V1, add_run, stored_artifact, stored_run


@pytest.fixture
def run_page(live_server):
    app, _ = live_server
    assert app.test_client().get("/upload").status_code == 200
    with app.test_request_context():
        yield next(module for name, module in sys.modules.items() if name.endswith("pages.run"))


def _size(value) -> int:
    return len(pio.json.to_json_plotly(value))


@pytest.fixture
def finished_run(run_page):
    sections = {**V1, "drift": {"skipped": "not in this test"}, "explainability": {"skipped": "not in this test"}}
    result = {**sections, "verdict": core_verdict.evaluate(sections)}
    run = add_run("light page", result)
    yield run.id
    db.session.delete(run)
    db.session.commit()


def test_a_poll_tick_is_small_and_stops_at_the_end(run_page, finished_run):
    tick = run_page.poll(3, finished_run)
    assert _size(tick) < 1024
    value, _label, animated, striped, _status, filling, badge, color, _timer, stop, final = tick
    assert value == 100 and not animated and not striped and badge == "succeeded" and stop is True
    assert filling == []  # the verdict and the Summary take the headlines' place
    assert final == "succeeded"  # hands over to the callback that loads the finished state once
    with pytest.raises(PreventUpdate):
        run_page.poll(1, "no-such-run")


def test_the_finished_state_carries_the_verdict_and_empty_tabs(run_page, finished_run):
    header, _actions, body, timer_off = run_page.show_finished("succeeded", finished_run)
    text = json.dumps(pio.json.to_json_plotly(body))
    assert timer_off is True and "run-fit-badge" in pio.json.to_json_plotly(header)
    assert "run-lights-row" in text and "beats the baseline" in text and "run-params-table" in text
    assert "run-latency-graph" not in text  # the Performance tab is not rendered yet


def test_each_tab_renders_its_section_once_when_opened(run_page, finished_run):
    ids = [{"type": RUN_TAB_BODY, "index": tab.index} for tab in TABS]
    opened: list[str] = []
    for tab in TABS:
        if tab.key is None:
            continue
        bodies, opened = run_page.open_tab(tab_id(tab.index), ids, opened, finished_run)
        rendered = [i for i, body in enumerate(bodies) if body is not run_page.no_update]
        assert [ids[i]["index"] for i in rendered] == [tab.index]
    assert "run-latency-graph" in pio.json.to_json_plotly(run_page.open_tab(tab_id("performance"), ids, [],
                                                                           finished_run)[0])
    with pytest.raises(PreventUpdate):  # already there: nothing travels again
        run_page.open_tab(tab_id("drift"), ids, opened, finished_run)


QUALITY = {"n_rows": 569, "evaluated_on": "sample", "metrics": {"accuracy": 0.965, "roc_auc": 0.991}}
PERFORMANCE = {"batch_size": 1, "p50_ms": 1.52, "p95_ms": 2.61, "precision": 0.048, "error_rate": 0.0,
               "peak_memory_mb": 300.0}


def _text(components) -> str:
    """Every string the components show, one per line."""
    if isinstance(components, str):
        return components
    if isinstance(components, (list, tuple)):
        return "\n".join(_text(c) for c in components)
    return _text(getattr(components, "children", None) or [])


def test_a_running_run_fills_in_each_section_as_its_headline_lands(run_page):
    run = stored_run(stored_artifact("filling"), "filling in", "queued", stage="queued", progress=0.0)
    assert run_page.poll(1, run.id)[5] == []  # nothing computes yet: no cards
    run.status, run.stage, run.progress, run.started_at = "running", "performance: latency", 0.15, utcnow()
    run.headlines = {"quality": QUALITY}
    db.session.commit()
    filling = _text(run_page.poll(1, run.id)[5])
    assert "Accuracy 96.5% · ROC AUC 0.991 on 569 rows (sample)" in filling
    assert filling.count(headlines.PENDING) == 4  # performance, robustness, drift, explainability
    assert "Accuracy 96.5%" in _text(run_page.layout(run.id))  # a page opened mid-run shows them too

    run.headlines = {"quality": QUALITY, "performance": PERFORMANCE}
    db.session.commit()
    filling = _text(run_page.poll(2, run.id)[5])
    assert "p50 1.52 ms · p95 2.61 ms (±4.8%) for 1 row(s) · error rate 0%" in filling
    assert filling.count(headlines.PENDING) == 3

    run.status, run.finished_at = "failed", utcnow()
    db.session.commit()
    filling = _text(run_page.poll(3, run.id)[5])  # a failed run keeps what it measured
    assert "Accuracy 96.5%" in filling and filling.count(headlines.NOT_REACHED) == 3
    assert headlines.PENDING not in filling
    db.session.delete(run)
    db.session.commit()


def test_each_card_says_what_its_section_found():
    assert headlines.text("quality", {}) == "not computed (quality needs labelled data)"
    assert headlines.text("drift", {"skipped": "no time left"}) == "skipped: no time left"
    assert headlines.text("robustness", {"passed": 230, "total": 244, "handled_rate": 0.97}) == \
        "97% of 244 cases handled"
    assert headlines.text("drift", {"scenarios": 279, "detected": 120, "dataset_drift": True,
                                    "share_drifted": 0.3}) == \
        "120 of 279 simulated drifts detected · current data: drifted (30% of features)"
    assert headlines.text("explainability", {"explainer": "TreeExplainer", "top_features": [
        {"feature": "worst radius", "mean_abs_shap": 0.1}, {"feature": "mean texture", "mean_abs_shap": 0.05}]}) == \
        "TreeExplainer: most important worst radius, mean texture"
    assert headlines.cards({}, failed=True) == []  # a run that failed before any section: nothing to show


def test_the_summary_says_where_the_time_went():
    timing = {"total_s": 5.62, "sections": {
        "quality": {"start_s": 0.1, "seconds": 0.12}, "performance": {"start_s": 0.22, "seconds": 3.81},
        "drift": {"start_s": 4.03, "seconds": 1.1}, "robustness": {"start_s": 4.03, "seconds": 0.25},
        "explainability": {"start_s": 4.04, "seconds": 1.2}}}
    assert _text(time_spent({"timing": timing})) == (
        "The tests took 5.62 s once the model was loaded: quality 0.12 s and performance 3.81 s alone (latency is "
        "timed with nothing else running), then drift 1.1 s, robustness 0.25 s and explainability 1.2 s side by side.")
    assert time_spent({}) == []  # a Result from before the clock was kept
