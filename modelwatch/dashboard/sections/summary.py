"""Summary tab: the verdict's traffic lights, the headline figures of a finished run, its settings and gates.

Robustness is the share of cases handled (``core.checks.outcomes``: a correct rejection is no miss), with the
crashes and silent wrong answers counted by name, as on the Robustness tab.
"""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from modelwatch.core.checks import outcomes
from modelwatch.dashboard import run_params, verdict
from modelwatch.figures import glossary, timing
from modelwatch.figures.format import bytes_, percent
from modelwatch.figures.performance import known_to


def _card(title: str, value: str) -> dbc.Col:
    return dbc.Col(dbc.Card(dbc.CardBody([html.Div(title, className="text-muted small"), html.H4(value)])), md=3)


def headline(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) pairs of the numbers a reader looks for first."""
    perf = result.get("performance") or {}
    rows: list[tuple[str, str]] = []
    latency = perf.get("latency_ms") or {}
    if "1" in latency:
        stats = latency["1"]
        suffix = f" ({known_to(stats.get('precision'))})" if "stopped_by" in stats else ""  # adaptive timing
        rows.append(("p95 latency, 1 row", f"{stats['p95']:.2f} ms{suffix}"))
    throughput = perf.get("throughput_rows_per_s") or {}
    if throughput:
        best = max(throughput.values())
        rows.append(("best throughput", f"{best:,.0f} rows/s"))
    if "error_rate" in perf:
        rows.append(("error rate", f"{perf['error_rate']:.1%}"))
    rows += _robustness(result.get("robustness"))
    metrics = (result.get("quality") or {}).get("metrics") or {}
    for key, label in (("accuracy", "accuracy"), ("roc_auc", "ROC AUC"), ("r2", "R²"), ("rmse", "RMSE")):
        if isinstance(metrics.get(key), (int, float)):
            rows.append((label, glossary.shown(key, metrics[key])))  # as the Quality tab and the run's cards
    strongest = (result.get("drift") or {}).get("strongest")
    if strongest:
        rows.append(("drift it reacts to most", f"{strongest['kind']} of {strongest['feature'] or 'all features'}"))
    return rows


def _robustness(section: Any) -> list[tuple[str, str]]:
    """The share of cases handled (ok, or invalid input rejected with an error: correct), and the misses named."""
    if not isinstance(section, dict) or "skipped" in section:
        return []
    found = outcomes.counts(section)
    rate = outcomes.handled_rate(found)
    if rate is None:
        return []
    misses = " · ".join(f"{found[name]} {outcomes.LABELS[name]}" for name in outcomes.MISSES)
    return [("robustness: cases handled (ok or rejected)", percent(rate)), ("robustness misses", misses)]


def assumed_notice(result: dict[str, Any]) -> list:
    """A one-line warning when some features were generated without knowledge (``data.assumed_features``)."""
    names = (result.get("data") or {}).get("assumed_features") or []
    if not names:
        return []
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return [dbc.Alert(f"Data assumed: {len(names)} feature(s) were generated from a standard normal because nothing "
                      f"was known of them ({shown}). Give a sample CSV or a schema for figures that mean something.",
                      color="warning", className="py-2", id="summary-assumed-notice")]


def time_spent(result: dict[str, Any]) -> list:
    """Where the run's time went (``figures.timing``), under the headline figures."""
    text = timing.sentence(result)
    return [html.P(text, className="text-muted small", id="summary-time-spent")] if text else []


def render(result: dict[str, Any], run: dict[str, Any]) -> list:
    model = run.get("model") or {}
    cards = [_card(label, value) for label, value in headline(result)]
    parts = [
        *verdict.lights(run.get("verdict")),
        html.P(f"{model.get('type')} · {model.get('task')} · {model.get('n_features')} features · "
               f"{model.get('format')} · {bytes_(model.get('size_bytes', 0))}", className="text-muted"),
        dbc.Row(cards, className="g-3 mb-3"),
    ]
    parts.extend(assumed_notice(result))
    parts.extend(time_spent(result))
    parts.extend(run_params.table(run.get("settings")))
    parts.extend(verdict.panel(run.get("gates")))
    return parts
