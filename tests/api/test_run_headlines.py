"""Each finished section's headline reaches the Run while it executes: child line -> sandbox -> row -> API."""
from __future__ import annotations

import pytest

from modelwatch.core import suite
from modelwatch.execution.queue import worker_id
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.services import artifacts, runs
from tests.api.fast import fast_config, submit


@pytest.mark.usefixtures("sandbox")
def test_a_finished_run_carries_every_sections_headline(client, forest_bytes):
    run = submit(client, forest_bytes, config=fast_config()).get_json()["run"]
    assert run["status"] == "succeeded", run["error"]
    result, headlines = run["result"], run["headlines"]
    assert set(headlines) == set(suite.SECTIONS)
    robust = result["robustness"]
    assert headlines["robustness"] == {"passed": robust["passed"], "total": robust["total"],
                                       "handled_rate": pytest.approx(robust["handled_rate"], abs=1e-3),
                                       "outcomes": robust["outcomes"]}
    assert headlines["performance"]["error_rate"] == result["performance"]["error_rate"]
    assert headlines["drift"]["scenarios"] == len(result["drift"]["scenarios"])
    assert headlines["quality"] == {}  # no labelled sample: nothing to say
    assert client.get(f"/api/runs/{run['id']}").get_json()["run"]["headlines"] == headlines
    # where the time went, as the sandbox's suite clocked it: every section, within the suite's seconds
    timing = result["timing"]
    assert set(timing["sections"]) == set(suite.SECTIONS)
    ends = {name: t["start_s"] + t["seconds"] for name, t in timing["sections"].items()}
    assert all(t["start_s"] >= 0 for t in timing["sections"].values())
    assert max(ends.values()) <= timing["total_s"] + 2e-3, (ends, timing)  # each figure is rounded to 1 ms


@pytest.mark.usefixtures("sandbox")
def test_a_running_run_shows_the_headlines_landed_so_far(app, client, forest_bytes):
    artifact = artifacts.store_upload(forest_bytes, "forest.pkl")
    run = Run(artifact=artifact, name="running", schema={}, config=runs.resolve_config({}), status="running",
              stage="quality", worker=worker_id())
    db.session.add(run)
    db.session.commit()
    write = runs._ProgressWriter(run.id)
    write("quality done", 0.27, {"section": "quality", "headline": {"metrics": {"accuracy": 0.97}}})
    write("performance", 0.27)
    shown = client.get(f"/api/runs/{run.id}").get_json()["run"]
    assert shown["status"] == "running" and shown["stage"] == "performance"
    assert shown["headlines"] == {"quality": {"metrics": {"accuracy": 0.97}}}
    write("performance done", 0.44, {"section": "performance", "headline": {"p95_ms": 3.2}})
    shown = client.get(f"/api/runs/{run.id}").get_json()["run"]
    assert shown["headlines"] == {"quality": {"metrics": {"accuracy": 0.97}}, "performance": {"p95_ms": 3.2}}
    assert shown["result"] is None
