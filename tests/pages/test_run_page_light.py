"""Run page callbacks called directly: a poll tick carries no Result, the finished state carries the verdict and
headline only, each tab renders its own section once, when it is opened."""
from __future__ import annotations

import json
import sys

import plotly.io as pio
import pytest
from dash.exceptions import PreventUpdate

from modelwatch.core.results import verdict as core_verdict
from modelwatch.dashboard.tabs import RUN_TAB_BODY, TABS, tab_id
from modelwatch.extensions import db
from tests.factories import V1, add_run


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
    value, _label, animated, striped, _status, badge, color, _timer, stop, final = tick
    assert value == 100 and not animated and not striped and badge == "succeeded" and stop is True
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
