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


RUN_RESULT_TABS = "run-result-tabs"
RUN_TAB_BODY = "run-tab-body"  # dict id {"type": RUN_TAB_BODY, "index": <renderer module>}


def tab_id(module_name: str) -> str:
    return f"run-tab-{module_name}"


def lazy_tabs(summary: list) -> dbc.Tabs:
    """The finished run's tabs: the Summary filled in, every other tab empty until it is first opened."""
    tabs = [dbc.Tab(html.Div(summary if key is None else [], id={"type": RUN_TAB_BODY, "index": module_name},
                             className="pt-3"), label=label, tab_id=tab_id(module_name))
            for label, key, module_name in TABS]
    return dbc.Tabs(tabs, id=RUN_RESULT_TABS, active_tab=tab_id("summary"))


def section_of_tab(active_tab: str | None) -> tuple[str, str] | None:
    """(renderer module, Result key) of a tab that loads its section when opened; None for the Summary."""
    for _label, key, module_name in TABS:
        if key is not None and tab_id(module_name) == active_tab:
            return module_name, key
    return None
