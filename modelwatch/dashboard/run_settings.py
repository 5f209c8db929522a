"""The Upload page's run settings: the panel's components, the gates a user may add, and the Config they make.

Every field of the Config a run can take from the UI lives here, so that the page's callbacks only pass values.
"""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.core.config import DEFAULT_CONFIG
from modelwatch.core.data.synthetic import GENERATORS
from modelwatch.core.drift.scenarios import KINDS as DRIFT_KINDS
from modelwatch.core.results.gates import valid_paths

SETTINGS_SEED_INPUT = "upload-seed-input"
SETTINGS_GENERATOR_SELECT = "upload-generator-select"
SETTINGS_BATCHES_DROPDOWN = "upload-batches-dropdown"
SETTINGS_EXPLAIN_INPUT = "upload-explain-input"
SETTINGS_DRIFT_KINDS_DROPDOWN = "upload-drift-kinds-dropdown"
SETTINGS_SEVERITIES_INPUT = "upload-severities-input"
SETTINGS_GATE_PATH_DROPDOWN = "upload-gate-path-dropdown"
SETTINGS_GATE_OP_SELECT = "upload-gate-op-select"
SETTINGS_GATE_VALUE_INPUT = "upload-gate-value-input"
SETTINGS_GATE_ADD_BUTTON = "upload-gate-add-button"
SETTINGS_GATE_CLEAR_BUTTON = "upload-gate-clear-button"
SETTINGS_GATES_STORE = "upload-gates-store"
SETTINGS_GATES_LIST = "upload-gates-list"
MIN_ROWS, MAX_ROWS = 10, 100_000
BATCH_CHOICES = (1, 10, 100, 1000, 10_000)


def _field(label: str, control, md: int = 3, help_text: str | None = None) -> dbc.Col:
    parts = [dbc.Label(label), control]
    if help_text:
        parts.append(dbc.FormText(help_text))
    return dbc.Col(parts, md=md)


def panel() -> html.Details:
    """The settings every run takes, with the defaults filled in."""
    drift = DEFAULT_CONFIG["drift"]
    batches = DEFAULT_CONFIG["batch_sizes"]
    return html.Details([
        html.Summary("Run settings", className="h5"),
        dbc.Row([
            _field("Seed", dbc.Input(id=SETTINGS_SEED_INPUT, type="number", min=0, step=1,
                                     value=DEFAULT_CONFIG["seed"]), md=2),
            _field("Generator", dbc.Select(id=SETTINGS_GENERATOR_SELECT, value=DEFAULT_CONFIG["generator"], options=[
                {"label": "independent", "value": "independent"},
                {"label": "copula (correlations of the sample)", "value": "copula"}]), md=3),
            _field("Batch sizes timed", dcc.Dropdown(id=SETTINGS_BATCHES_DROPDOWN, multi=True, value=batches,
                                                     options=[{"label": f"{b:,}", "value": b}
                                                              for b in BATCH_CHOICES]), md=4),
            _field("Rows to explain", dbc.Input(id=SETTINGS_EXPLAIN_INPUT, type="number", min=1, max=10_000, step=1,
                                                value=DEFAULT_CONFIG["explain"]["max_samples"]), md=3),
        ], className="g-2 mb-2"),
        dbc.Row([
            _field("Drift kinds", dcc.Dropdown(id=SETTINGS_DRIFT_KINDS_DROPDOWN, multi=True, value=drift["kinds"],
                                               options=list(DRIFT_KINDS)), md=6),
            _field("Drift severities", dbc.Input(id=SETTINGS_SEVERITIES_INPUT,
                                                 value=", ".join(f"{s:g}" for s in drift["severities"])), md=3,
                   help_text="in standard deviations (or shares), comma-separated"),
        ], className="g-2 mb-2"),
        html.H6("Gates (your own thresholds; the verdict folds them in)", className="mt-2"),
        dbc.Row([
            dbc.Col(dcc.Dropdown(id=SETTINGS_GATE_PATH_DROPDOWN, placeholder="a metric of the Result",
                                 options=valid_paths({"batch_sizes": batches})), md=6),
            dbc.Col(dbc.Select(id=SETTINGS_GATE_OP_SELECT, value="max", options=[
                {"label": "at most", "value": "max"}, {"label": "at least", "value": "min"}]), md=2),
            dbc.Col(dbc.Input(id=SETTINGS_GATE_VALUE_INPUT, type="number", placeholder="bound"), md=2),
            dbc.Col(dbc.ButtonGroup([dbc.Button("Add gate", id=SETTINGS_GATE_ADD_BUTTON, color="secondary"),
                                     dbc.Button("Clear", id=SETTINGS_GATE_CLEAR_BUTTON, color="light")]), md=2),
        ], className="g-2"),
        dcc.Store(id=SETTINGS_GATES_STORE, data={}),
        html.Div(id=SETTINGS_GATES_LIST, className="small my-1"),
    ], open=True, className="my-3")


def gate_paths(batch_sizes: list[int] | None) -> list[str]:
    """The metric paths a gate may name for these batch sizes (``core.results.gates.valid_paths``)."""
    return valid_paths({"batch_sizes": batch_sizes or DEFAULT_CONFIG["batch_sizes"]})


def add_gate(gates: dict[str, dict[str, float]] | None, path: str | None, op: str | None, bound: Any
             ) -> dict[str, dict[str, float]]:
    """The gates with ``path op bound`` added (a second bound on the same path joins the first)."""
    gates = {k: dict(v) for k, v in (gates or {}).items()}
    if path and op in ("min", "max") and isinstance(bound, (int, float)):
        gates.setdefault(path, {})[op] = float(bound)
    return gates


def gates_text(gates: dict[str, dict[str, float]] | None) -> list:
    if not gates:
        return ["No gates of your own: the verdict's default rules apply."]
    return [html.Div([html.Code(path), " ", " and ".join(f"{'≥' if op == 'min' else '≤'} {v:g}"
                                                          for op, v in rule.items())]) for path, rule in gates.items()]


def _severities(text: str | None) -> list[float]:
    values = [float(part) for part in (text or "").replace(";", ",").split(",") if part.strip()]
    if not values or any(not 0 < v <= 10 for v in values):
        raise ValueError("drift severities must be numbers above 0 and at most 10, comma-separated")
    return values


def config_from_settings(*, n_samples: Any, seed: Any, generator: Any, batch_sizes: Any, explain_rows: Any,
                         drift_kinds: Any, severities: Any, gates: dict[str, Any] | None) -> tuple[dict, list[str]]:
    """The Config the panel describes, and the problems a person must fix first (nothing is silently replaced).

    Returns:
        ``(config, problems)``; the config is only meaningful when ``problems`` is empty.
    """
    problems: list[str] = []
    if not isinstance(n_samples, int) or not MIN_ROWS <= n_samples <= MAX_ROWS:
        problems.append(f"Rows to generate must be a whole number from {MIN_ROWS} to {MAX_ROWS:,}.")
    if not isinstance(seed, int) or seed < 0:
        problems.append("The seed must be a whole number of at least 0.")
    if generator not in GENERATORS:
        problems.append("Pick a generator.")
    if not batch_sizes:
        problems.append("Pick at least one batch size to time.")
    if not isinstance(explain_rows, int) or not 1 <= explain_rows <= 10_000:
        problems.append("Rows to explain must be a whole number from 1 to 10,000.")
    if not drift_kinds:
        problems.append("Pick at least one drift kind.")
    try:
        severity_values = _severities(severities)
    except ValueError as exc:
        problems.append(f"The {exc}.")
        severity_values = []
    config = {"n_samples": n_samples, "seed": seed, "generator": generator,
              "batch_sizes": sorted({int(b) for b in batch_sizes or []}),
              "explain": {"max_samples": explain_rows},
              "drift": {"kinds": list(drift_kinds or []), "severities": severity_values},
              "thresholds": dict(gates or {})}
    return config, problems
