"""Drift tab: headline findings, real current data, then impact, breaking points, detection and distributions."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.dashboard.sections import skipped
from modelwatch.figures.drift import drift_figures


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _headline(section: dict[str, Any]) -> list:
    items = [f"Reference: {section.get('reference', '?')} data, {section.get('n_reference', 0):,} rows",
             f"{len(section.get('scenarios') or [])} scenarios" + (" (stopped early: time budget)"
                                                                    if section.get("truncated") else "")]
    fpr = (section.get("false_positive_rate") or {}).get("overall")
    items.append(f"False-positive rate of the tests at severity 0: {_pct(fpr)}")
    strongest = section.get("strongest")
    if strongest:
        items.append(f"Strongest scenario: {strongest['kind']} on {strongest['feature'] or 'all features'} at "
                     f"severity {strongest['severity']:g} (impact {strongest['impact']:.3f})")
    multi = section.get("multivariate")
    if multi:
        items.append(f"Domain classifier on current data: AUC {multi['auc']:.3f} — "
                     + ("joint drift detected" if multi["drift_detected"] else "no joint drift"))
    return [html.Ul([html.Li(i) for i in items], className="text-muted")]


def _breaking_points(section: dict[str, Any]) -> list:
    points = section.get("breaking_points") or []
    if not points:
        return []
    source = points[0].get("gates")
    gates = ", ".join(f"{path} {' '.join(f'{op} {v}' for op, v in rule.items())}"
                      for path, rule in (section.get("gates") or {}).items())
    rows = [html.Tr([html.Td(p["feature"] or "all features"), html.Td(p["kind"]),
                     html.Td("holds up to {:g}".format(p["max_severity_tested"]) if p["severity"] is None
                             else f"{p['severity']:g}"),
                     html.Td(f"model raised {p['error']}" if p.get("error") else
                             "; ".join(f"{f['metric']} = {f['value']:.4g}" for f in p["failed"]))])
            for p in sorted(points, key=lambda p: (p["severity"] is None, p["severity"] or 0))]
    head = html.Thead(html.Tr([html.Th(h) for h in ("feature", "kind", "breaking severity", "failed gate")]))
    return [html.H5("Breaking points", className="mt-4"),
            html.P(f"Gates ({source}): {gates}", className="small text-muted"),
            dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, id="run-drift-breaking-table")]


def _prediction_drift(current: dict[str, Any] | None) -> list:
    pred = (current or {}).get("prediction_drift")
    if not pred or "skipped" in pred:
        return [dbc.Alert(f"Prediction drift: {pred['skipped']}", color="warning")] if pred else []
    test = pred.get("test") or {}
    text = (f"Prediction drift on current data: mean shift {pred['prediction_shift']:+.4g}, "
            f"PSI {pred['prediction_psi']:.4g}" + (f", flip rate {pred['flip_rate']:.1%}" if pred.get("flip_rate")
                                                   is not None else "")
            + (f", predicted-class shares moved {pred['class_share_shift']:.1%}"
               if pred.get("class_share_shift") is not None else ""))
    if test.get("test"):
        text += f"; {test['test']} says {'drift' if test['drift_detected'] else 'no drift'}"
    parts = [html.P(text)]
    quality = (current or {}).get("quality_drift")
    if quality:
        deltas = ", ".join(f"{k} {quality['reference'][k]:.4f} → {quality['current'][k]:.4f}"
                           for k in quality.get("delta", {}))
        parts.append(html.P(f"Quality on current data: {deltas}"))
    return parts


def _severity_legend(section: dict[str, Any]) -> list:
    legend = section.get("severity_legend") or {}
    if not legend:
        return []
    return [html.Details([html.Summary("What severity means"),
                          html.Ul([html.Li([html.Code(kind), f": {text}"]) for kind, text in legend.items()])],
                         className="small text-muted mb-2", id="run-drift-severity-legend")]


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The drift section, or an alert when it was skipped."""
    alert = skipped(section)
    if alert:
        return alert
    graphs = [dbc.Col(dcc.Graph(figure=fig, id=f"run-drift-{name}-graph"),
                      md=12 if name in ("current", "detection", "heatmap") else 6)
              for name, fig in drift_figures(section)]
    return [*_headline(section), *_severity_legend(section), *_prediction_drift(section.get("current")),
            dbc.Row(graphs[:1]),
            *_breaking_points(section), dbc.Row(graphs[1:])]
