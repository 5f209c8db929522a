"""A running run's sections filling in: one card per section, in the Result's order, with its headline figures as
soon as that section is done (``core.results.headlines``, streamed to the run row), "computing…" until then.

A poll of the run page carries the headlines (a few hundred bytes), never the Result. Once the run has succeeded,
the verdict and the Summary take their place; a failed run keeps the figures measured before it failed.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from modelwatch.core.sections import SECTIONS
from modelwatch.figures import glossary
from modelwatch.figures.format import number, percent
from modelwatch.figures.performance import known_to

RUN_HEADLINES_ROW = "run-headlines-row"
QUALITY_SHOWN = 3  # metrics named on a quality card
PENDING = "computing…"
NOT_REACHED = "not reached: the run failed"


def _performance(found: dict[str, Any]) -> str:
    precision = f" ({known_to(found['precision'])})" if found.get("precision") is not None else ""
    return (f"p50 {number(found.get('p50_ms'), unit='ms')} · p95 {number(found.get('p95_ms'), unit='ms')}{precision}"
            f" for {number(found.get('batch_size'))} row(s) · error rate {percent(found.get('error_rate'))}")


def _quality(found: dict[str, Any]) -> str:
    metrics = list((found.get("metrics") or {}).items())[:QUALITY_SHOWN]
    shown = " · ".join(f"{glossary.label(name)} {glossary.shown(name, value)}" for name, value in metrics)
    return f"{shown} on {number(found.get('n_rows'))} rows ({found.get('evaluated_on') or 'labelled data'})"


def _robustness(found: dict[str, Any]) -> str:
    return f"{percent(found.get('handled_rate'))} of {number(found.get('total'))} cases handled"


def _drift(found: dict[str, Any]) -> str:
    text = f"{number(found.get('detected'))} of {number(found.get('scenarios'))} simulated drifts detected"
    if found.get("dataset_drift") is not None:
        verdict = "drifted" if found["dataset_drift"] else "no dataset drift"
        text += f" · current data: {verdict} ({percent(found.get('share_drifted'))} of features)"
    return text


def _explainability(found: dict[str, Any]) -> str:
    top = ", ".join(str(row.get("feature")) for row in found.get("top_features") or [])
    return f"{found.get('explainer')}: most important {top or '—'}"


TEXTS: dict[str, Callable[[dict[str, Any]], str]] = SECTIONS.bind("headline texts", {
    "performance": _performance, "robustness": _robustness, "quality": _quality, "drift": _drift,
    "explainability": _explainability,
})


def text(name: str, found: dict[str, Any] | None, failed: bool = False) -> str:
    """What section ``name``'s card says: its figures, why it was skipped, or that it is still computing (or, in a
    ``failed`` run, was never reached)."""
    if found is None:
        return NOT_REACHED if failed else PENDING
    if "skipped" in found:
        return f"skipped: {found['skipped']}"
    if not found:
        return SECTIONS[name].absent or "nothing to report"
    return TEXTS[name](found)


def cards(headlines: dict[str, Any] | None, failed: bool = False) -> list:
    """One card per section: done ones with their figures, the others muted while they compute; nothing for a
    ``failed`` run that finished no section."""
    headlines = headlines or {}
    if failed and not headlines:
        return []
    return [dbc.Row([
        dbc.Col(dbc.Card(dbc.CardBody([
            html.Div(section.title, className="small fw-bold"),
            html.Div(text(name, headlines.get(name), failed),
                     className="small" + ("" if name in headlines else " text-muted fst-italic")),
        ]), className="h-100", id={"type": "run-headline-card", "index": name}), md=4, lg=True)
        for name, section in SECTIONS.items()
    ], className="g-2 my-2", id=RUN_HEADLINES_ROW)]
