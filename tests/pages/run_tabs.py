"""Browser tests of the run page's tabs: store a finished run with a given Result, open one of its tabs."""
from __future__ import annotations

import json
import time
from typing import Any

from modelwatch.extensions import db
from modelwatch.models import ModelArtifact, Run, utcnow


def store_run(app, info: dict[str, Any], result: dict[str, Any], name: str, artifact: bytes = b"-",
              fmt: str = "pickle", **columns: Any) -> str:
    """A succeeded run of a stored model (``artifact``'s bytes) holding ``result``; returns its id."""
    import hashlib

    with app.app_context():
        sha = hashlib.sha256(artifact + name.encode()).hexdigest()
        model = ModelArtifact(sha256=sha, name=name, filename=f"{name}.pkl", format=fmt, size=len(artifact),
                              data=artifact, info=info)
        run = Run(artifact=model, name=name, status="succeeded", stage="done", progress=1.0, source="ui",
                  result=json.loads(json.dumps(result)), started_at=utcnow(), finished_at=utcnow(), **columns)
        db.session.add_all([model, run])
        db.session.commit()
        return run.id


def open_tab(browser, label: str, ready: str) -> None:
    """Click the tab named ``label`` until ``ready`` (a CSS selector) shows; the run page's first poll may re-render
    the tabs just after load, so a stale tab is clicked again."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException

    for _ in range(6):
        try:
            browser.wait_for_element("#run-result-tabs")
            tabs = browser.driver.find_elements("css selector", "#run-result-tabs .nav-link")
            next(t for t in tabs if t.text == label).click()
            browser.wait_for_element(ready, timeout=10)
            time.sleep(0.5)  # let a late re-render land before looking again
            browser.wait_for_element(ready, timeout=10)
            return
        except (StaleElementReferenceException, TimeoutException, StopIteration):
            time.sleep(0.5)
    raise AssertionError(f"the {label} tab did not open")


def figure_data(browser, graph_id: str) -> list[dict[str, Any]]:
    """The traces Plotly is drawing in a dcc.Graph right now."""
    return browser.driver.execute_script(
        "const el = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return el ? JSON.parse(JSON.stringify(el.data)) : null;", f"#{graph_id}")
