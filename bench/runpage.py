"""The run page's weight: bytes and server time of its first paint and of one poll tick, today's path against the
light one, for a 30-feature forest run, measured in the same process on the same stored run.

Today's path (reconstructed here from the same renderers): every 1 s poll re-reads the whole Run with its Result and,
once the run has finished, sends every tab rendered at once; the first paint of a finished run is the same. The light
path (``pages/run.py``): a poll tick reads status, stage and progress only; the first paint carries the verdict, the
headline figures and the settings, every other tab loads when opened. Goals: poll tick <= 1 KB, first paint <= 150 KB.

Run: ``.venv/bin/python bench/runpage.py`` (one run of the suite, about a minute on 2 shared cores).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import dash_bootstrap_components as dbc
from dash import html
from plotly.io.json import to_json_plotly
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelwatch.app import create_app  # noqa: E402
from modelwatch.dashboard.tabs import TABS  # noqa: E402
from modelwatch.extensions import db  # noqa: E402
from modelwatch.services import artifacts, runs  # noqa: E402
from modelwatch.services.presenters import run_dict  # noqa: E402
from modelwatch.settings import TestSettings  # noqa: E402
from tests.support import dumps  # noqa: E402

CONFIG = {"n_samples": 1000, "batch_sizes": [1, 10, 100], "drift": {"max_seconds": 20}}
POLL_GOAL, PAINT_GOAL = 1024, 150 * 1024
ROUNDS = 5


def _bytes(value) -> int:
    return len(to_json_plotly(value).encode())


def timed(fn, rounds: int = ROUNDS) -> tuple[object, float]:
    """The value and the median seconds of ``rounds`` calls (serialisation included)."""
    times, value = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        value = fn()
        _bytes(value)
        times.append(time.perf_counter() - started)
    return value, sorted(times)[len(times) // 2]


def todays_tick(page, run_id: str) -> tuple:
    """What the poll callback of today's path returned on the tick that saw the run finished."""
    run = run_dict(runs.get_run(run_id))
    result = run.get("result") or {}
    tabs = dbc.Tabs([dbc.Tab(html.Div(tab.render(result.get(tab.key) if tab.key else result, run)), label=tab.label)
                     for tab in TABS])
    value, label, status = page.progress(run)
    return (page.header(run), value, label, False, status, [tabs], True, page.actions(run), page.timer(run), True)


def main() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    with tempfile.TemporaryDirectory() as tmp:
        config = type("Bench", (TestSettings,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                                               "DASHBOARD": True})
        app = create_app(config)
        with app.app_context():
            db.create_all()
            assert app.test_client().get("/").status_code == 200  # Dash imports the pages on the first request
            page = next(m for name, m in sys.modules.items() if name.endswith("pages.run"))
            started = time.perf_counter()
            artifact = artifacts.store_upload(dumps(forest), "forest30.pkl", "forest30")
            run = runs.submit_run(artifact, config=CONFIG, source="api")
            print(f"suite run: {time.perf_counter() - started:.0f} s, status {runs.get_run(run.id).status}")
            result_bytes = _bytes(runs.get_run(run.id).result)
            with app.test_request_context():
                old_tick, old_tick_s = timed(lambda: todays_tick(page, run.id))
                new_tick, new_tick_s = timed(lambda: page.poll(1, run.id))
                new_paint, new_paint_s = timed(lambda: page.layout(run_id=run.id))
                old = _bytes(old_tick)  # today's first paint of a finished run carries the same tabs
                rows = [("poll tick", old, old_tick_s, _bytes(new_tick), new_tick_s, POLL_GOAL),
                        ("first paint", old, old_tick_s, _bytes(new_paint), new_paint_s, PAINT_GOAL)]
    print(f"30-feature forest (100 trees), Result {result_bytes / 1024:,.0f} KB")
    print(f"{'':<12} {'today KB':>10} {'today ms':>9} {'light KB':>10} {'light ms':>9} {'ratio':>7}  goal")
    for name, old_b, old_s, new_b, new_s, goal in rows:
        verdict = "ok" if new_b <= goal else "MISSED"
        print(f"{name:<12} {old_b / 1024:>10.1f} {old_s * 1000:>9.0f} {new_b / 1024:>10.2f} {new_s * 1000:>9.0f} "
              f"{old_b / new_b:>6.0f}x  <= {goal / 1024:g} KB {verdict}")


if __name__ == "__main__":
    main()
