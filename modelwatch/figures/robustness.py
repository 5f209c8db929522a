"""Robustness figures: a feature-by-case map of each case's outcome, and the case table (for the HTML export).

Outcomes (``core.checks.outcomes``: their names, labels and counts) use the Okabe-Ito palette, safe for colour-blind
readers, and every map cell also carries a symbol, so no outcome is told by its colour alone.
"""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from modelwatch.core.checks import outcomes
from modelwatch.core.checks.outcomes import case_outcome

# Okabe-Ito: bluish green, blue, orange, vermillion
OUTCOME_COLOR = {"ok": "#009E73", "rejected": "#0072B2", "degraded": "#E69F00", "crashed": "#D55E00"}
OUTCOME_TEXT = {"ok": "white", "rejected": "white", "degraded": "black", "crashed": "white"}  # readable on each
OUTCOME_SYMBOL = {"ok": "✓", "rejected": "⊘", "degraded": "!", "crashed": "✗"}
OUTCOME_LABEL = outcomes.LABELS
OUTCOME_ORDER = outcomes.WORST_FIRST
BATCH_ROW = "(whole batch)"
LAYOUT = {"template": "plotly_white", "margin": {"l": 140, "r": 20, "t": 50, "b": 60}}


def _kind(case: dict[str, Any]) -> str:
    return case.get("kind") or case["name"].split(":")[0]


def robustness_table_figure(robustness: dict[str, Any]) -> go.Figure:
    """Every case as a table row, worst outcome first, its outcome cell coloured."""
    cases = sorted(robustness.get("cases") or [],
                   key=lambda c: OUTCOME_ORDER.index(case_outcome(c)) if case_outcome(c) in OUTCOME_ORDER else 9)
    outcomes = [case_outcome(c) or c.get("status", "") for c in cases]
    columns = ["case", "feature", "value", "outcome", "message"]
    cells = [[c["name"] for c in cases], [c.get("feature") or "" for c in cases],
             [str(c["value"]) if c.get("value") is not None else "" for c in cases],
             [f"{OUTCOME_SYMBOL.get(o, '')} {OUTCOME_LABEL.get(o, o)}" for o in outcomes],
             [c.get("message", "") for c in cases]]
    white = ["white"] * len(cases)
    fill = [white, white, white, [OUTCOME_COLOR.get(o, "white") for o in outcomes], white]
    font = [["black"] * len(cases)] * 3 + [[OUTCOME_TEXT.get(o, "black") for o in outcomes]] \
        + [["black"] * len(cases)]
    fig = go.Figure(go.Table(header={"values": columns, "fill_color": "#eeeeee", "align": "left"},
                             cells={"values": cells, "fill_color": fill, "align": "left", "height": 24,
                                    "font": {"color": font}},
                             columnwidth=[2, 2, 1.2, 2, 6]))
    fig.update_layout(title=f"Robustness cases: {outcome_summary(robustness)}", height=min(120 + 26 * len(cases), 900),
                      template="plotly_white", margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


outcome_counts = outcomes.counts


def outcome_summary(robustness: dict[str, Any]) -> str:
    """One line: "2 crashed on valid input · 0 silently degraded · 92 rejected with a clear error · 150 ok"."""
    return outcomes.summary(outcomes.counts(robustness))


def by_kind(robustness: dict[str, Any]) -> list[dict[str, Any]]:
    """Per case kind (in the order met): its cases and their count per outcome; the worst kinds first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in robustness.get("cases") or []:
        groups.setdefault(_kind(case) if case.get("feature") is not None else BATCH_ROW, []).append(case)
    rows = [{"kind": kind, "cases": cases,
             "counts": {name: sum(case_outcome(c) == name for c in cases) for name in OUTCOME_ORDER}}
            for kind, cases in groups.items()]
    return sorted(rows, key=lambda r: tuple(-r["counts"][name] for name in OUTCOME_ORDER[:2]))


def robustness_map_figure(robustness: dict[str, Any]) -> go.Figure:
    """Features (rows) by case kind (columns), coloured and marked by outcome; batch-shape cases on their own row."""
    cases = robustness.get("cases") or []
    rows = list(dict.fromkeys(c.get("feature") or BATCH_ROW for c in cases))
    kinds = list(dict.fromkeys(_kind(c) if c.get("feature") is not None else c["name"] for c in cases))
    codes = {name: i for i, name in enumerate(OUTCOME_ORDER)}
    z: list[list[float | None]] = [[None] * len(kinds) for _ in rows]
    marks: list[list[str]] = [[""] * len(kinds) for _ in rows]
    hover: list[list[str]] = [[""] * len(kinds) for _ in rows]
    for c in cases:
        found = case_outcome(c)
        i = rows.index(c.get("feature") or BATCH_ROW)
        j = kinds.index(_kind(c) if c.get("feature") is not None else c["name"])
        z[i][j] = codes.get(found)
        marks[i][j] = OUTCOME_SYMBOL.get(found, "")
        hover[i][j] = f"{OUTCOME_LABEL.get(found, found)}: {c.get('message', '')[:120]}"
    n = len(OUTCOME_ORDER)
    scale = [[step / n + edge / n, OUTCOME_COLOR[name]] for step, name in enumerate(OUTCOME_ORDER)
             for edge in (0.0, 1.0)]
    fig = go.Figure(go.Heatmap(z=z, x=kinds, y=rows, text=marks, customdata=hover, texttemplate="%{text}",
                               textfont={"size": 12}, zmin=-0.5, zmax=n - 0.5,
                               colorscale=scale, showscale=False, xgap=2, ygap=2,
                               hovertemplate="%{y} · %{x}<br>%{customdata}<extra></extra>"))
    for name in OUTCOME_ORDER:  # legend entries: the heatmap itself has none
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{OUTCOME_SYMBOL[name]} "
                                 f"{OUTCOME_LABEL[name]}", marker={"symbol": "square", "size": 12,
                                                                    "color": OUTCOME_COLOR[name]}))
    fig.update_layout(title={"text": "Outcome by feature and case", "x": 0, "xanchor": "left", "y": 1,
                             "yanchor": "top", "yref": "container", "pad": {"t": 12}},
                      height=max(300, 150 + 22 * len(rows)), yaxis_autorange="reversed", xaxis_title="case",
                      yaxis_title="feature", legend={"orientation": "h", "x": 0, "y": 1.01, "yanchor": "bottom"},
                      xaxis={"side": "bottom", "showgrid": False}, yaxis_showgrid=False,
                      **{**LAYOUT, "margin": {**LAYOUT["margin"], "t": 80}})
    return fig


def robustness_figures(robustness: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    """Every robustness figure with a name, for the run page and the HTML export."""
    return [("robustness_map", robustness_map_figure(robustness)),
            ("robustness_table", robustness_table_figure(robustness))]
