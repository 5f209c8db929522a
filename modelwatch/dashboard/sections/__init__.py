"""The run page's tabs: one renderer module per Result section (``render(section, run) -> components``)."""
from __future__ import annotations

import importlib
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

# (tab label, key in the Result, renderer module in this package)
TABS = (
    ("Summary", None, "summary"),
    ("Performance", "performance", "performance"),
    ("Robustness", "robustness", "robustness"),
    ("Quality", "quality", "quality"),
    ("Drift", "drift", "drift"),
    ("Explainability", "explainability", "explainability"),
    ("Data", "schema", "data"),
)


def skipped(section: Any) -> list | None:
    """An alert for a section that was not computed, or None when there is something to render."""
    if section is None:
        return [dbc.Alert("Not computed for this run (it needs labelled data: send a sample with its target).",
                          color="secondary")]
    if isinstance(section, dict) and "skipped" in section:
        return [dbc.Alert(f"Skipped: {section['skipped']}", color="warning")]
    return None


def import_renderers() -> None:
    """Import every tab renderer before Dash serves: a renderer may register callbacks, and Dash reads them once."""
    for _label, _key, module_name in TABS:
        importlib.import_module(f"{__name__}.{module_name}")


def render_section(module_name: str, section: Any, run: dict) -> list:
    return importlib.import_module(f"{__name__}.{module_name}").render(section, run)


def render_tabs(run: dict) -> dbc.Tabs:
    """The finished run's result as tabs, one per section."""
    result = run.get("result") or {}
    tabs = []
    for label, key, module_name in TABS:
        section = result.get(key) if key else result
        tabs.append(dbc.Tab(html.Div(render_section(module_name, section, run), className="pt-3"),
                            label=label, tab_id=f"run-tab-{module_name}"))
    return dbc.Tabs(tabs, id="run-result-tabs", active_tab="run-tab-summary")
