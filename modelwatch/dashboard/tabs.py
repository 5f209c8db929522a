"""The run page's tabs: the Summary, one per registered Result section, then the Data.

Each section's tab renderer (``render(section, run) -> components``, in ``dashboard/sections/``) is bound to the
section registry here: a registered section without a renderer fails this module's import. Importing it also
imports every renderer, so that the callbacks a renderer registers exist before Dash reads them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import dash_bootstrap_components as dbc
from dash import html

from modelwatch.core.sections import SECTIONS, Registry
from modelwatch.dashboard.sections import data, drift, explainability, performance, quality, robustness, summary

Renderer = Callable[[Any, dict[str, Any]], list]

RENDERERS: dict[str, Renderer] = SECTIONS.bind("tab renderers", {
    "performance": performance.render,
    "robustness": robustness.render,
    "quality": quality.render,
    "drift": drift.render,
    "explainability": explainability.render,
})


class Tab(NamedTuple):
    """One tab: its label, the Result key it renders (None: the whole Result), its id suffix and renderer."""

    label: str
    key: str | None
    index: str
    render: Renderer


def run_tabs(sections: Registry = SECTIONS, renderers: dict[str, Renderer] = RENDERERS) -> tuple[Tab, ...]:
    """The tabs of a finished run, in order: Summary, the sections of ``sections``, Data."""
    return (Tab("Summary", None, "summary", summary.render),
            *(Tab(section.title, name, name, renderers[name]) for name, section in sections.items()),
            Tab("Data", "schema", "data", data.render))


TABS = run_tabs()
RUN_RESULT_TABS = "run-result-tabs"
RUN_TAB_BODY = "run-tab-body"  # dict id {"type": RUN_TAB_BODY, "index": Tab.index}


def tab_id(index: str) -> str:
    return f"run-tab-{index}"


def lazy_tabs(summary_body: list, tabs: tuple[Tab, ...] = TABS) -> dbc.Tabs:
    """The finished run's tabs: the Summary filled in, every other tab empty until it is first opened."""
    items = [dbc.Tab(html.Div(summary_body if tab.key is None else [], id={"type": RUN_TAB_BODY, "index": tab.index},
                              className="pt-3"), label=tab.label, tab_id=tab_id(tab.index))
             for tab in tabs]
    return dbc.Tabs(items, id=RUN_RESULT_TABS, active_tab=tab_id("summary"))


def section_of_tab(active_tab: str | None, tabs: tuple[Tab, ...] = TABS) -> tuple[str, str] | None:
    """(tab index, Result key) of a tab that loads its section when opened; None for the Summary."""
    for tab in tabs:
        if tab.key is not None and tab_id(tab.index) == active_tab:
            return tab.index, tab.key
    return None


def render_section(index: str, section: Any, run: dict[str, Any], tabs: tuple[Tab, ...] = TABS) -> list:
    """The components of tab ``index`` for its part of the Result."""
    return next(tab for tab in tabs if tab.index == index).render(section, run)
