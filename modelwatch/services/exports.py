"""A run's exports: the JSON, the metrics CSV, the generated data CSV, and a self-contained HTML report.

The HTML report opens offline: plotly.js is inlined once (gzip + base64, unpacked by the browser's
``DecompressionStream``, so that a report stays well under 5 MB), figures are embedded as JSON built by the
same ``modelwatch.figures`` builders as the run page, with long traces downsampled, and no data rows.
"""
from __future__ import annotations

import base64
import csv
import functools
import gzip
import hashlib
import html
import importlib
import io
import json
import re
from typing import Any

from modelwatch.core import report
from modelwatch.core.config import resolve_config
from modelwatch.core.csv_infer import read_csv_bytes
from modelwatch.core.synthetic import generate
from modelwatch.errors import RunNotFinished
from modelwatch.run_status import FINISHED, RunStatus
from modelwatch.services.presenters import run_dict
from modelwatch.services.runs import get_run

MAX_POINTS = 400  # per trace, after downsampling
MAX_TABLE_ROWS = 60
SECTION_TITLES = {"performance": "Performance", "robustness": "Robustness", "quality": "Quality",
                  "drift": "Drift", "explainability": "Explainability"}
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}


def filename(run: Any, extension: str) -> str:
    """``modelwatch-<name>-<id>.<ext>``, with the name reduced to safe characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", run.name or "run").strip("-.")[:60] or "run"
    return f"modelwatch-{stem}-{run.id}.{extension}"


def report_json(run_id: str, base_url: str = "") -> tuple[str, str]:
    """The full Run of the contract as a JSON document (its links start with ``base_url``), and its download name."""
    run = get_run(run_id)
    return json.dumps(run_dict(run, base_url=base_url), indent=2, default=str), filename(run, "json")


def metrics_csv(run_id: str) -> tuple[str, str]:
    """``section,metric,value`` rows of every scalar of the result (one ``skipped`` row per skipped section).

    Raises:
        RunNotFinished: the run is still queued or running.
    """
    run = _finished(run_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "metric", "value"])
    if run.status == RunStatus.FAILED:
        error = run.error or {}
        writer.writerow([safe_cell(v) for v in ("run", "error_code", error.get("code"))])
        writer.writerow([safe_cell(v) for v in ("run", "error_message", error.get("message"))])
    for section, metric, value in report.metric_rows(run.result):
        writer.writerow([safe_cell(section), safe_cell(metric), "" if value is None else safe_cell(value)])
    return out.getvalue(), filename(run, "metrics.csv")


def data_csv(run_id: str) -> tuple[str, str]:
    """The synthetic data the run used, generated again from its schema, seed and generator (same seed, same rows).

    A copula run is fitted again on the run's stored sample when its schema holds no fitted copula, exactly as
    ``core.suite.run_suite`` does.
    """
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    run = get_run(run_id)
    config = resolve_config(run.config)  # a run stored before a default existed gets today's
    data = (run.result or {}).get("data") or {}
    generator = data.get("generator") or config["generator"]
    fit_on = (read_csv_bytes(run.sample_csv) if generator == "copula" and run.sample_csv
              and not run.schema.get("copula") else None)
    frame = generate(run.schema, int(data.get("n_samples") or config["n_samples"]),
                     int(data.get("seed", config["seed"])), generator=generator, sample=fit_on)
    text_columns = [c for c in frame.columns if not is_numeric_dtype(frame[c]) and not is_bool_dtype(frame[c])]
    for column in text_columns:
        frame[column] = frame[column].map(safe_cell)
    frame.columns = [safe_cell(str(c)) for c in frame.columns]
    return frame.to_csv(index=False), filename(run, "data.csv")


def _finished(run_id: str):
    run = get_run(run_id)
    if run.status not in FINISHED:
        raise RunNotFinished(f"Run {run_id} is still {run.status}; exports are ready once it has finished.",
                             {"status": run.status})
    return run


# ---- HTML report -----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _plotly_js_packed() -> str:
    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode(), compresslevel=9, mtime=0)).decode()


def _section_figures(name: str, section: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, go.Figure) pairs from the section's builders in ``modelwatch.figures``; [] when there are none."""
    if name == "explainability":
        module = _import("modelwatch.figures.explain")
        names = ("importance_figure", "beeswarm_figure", "drift_shift_figure")  # no single-row waterfall
        return [(n, getattr(module, n)(section)) for n in names if module and hasattr(module, n)]
    module = _import(f"modelwatch.figures.{name}")
    builder = getattr(module, f"{name}_figures", None) if module else None
    return list(builder(section)) if builder else []


def _import(module_name: str):
    try:
        return importlib.import_module(module_name)
    except ImportError:
        return None


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.5g}")
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def _downsample_trace(trace: dict[str, Any], max_points: int = MAX_POINTS) -> dict[str, Any]:
    """Keep ``max_points`` evenly spaced points of every per-point array of equal length (x, y, text, colours)."""
    arrays: list[tuple[dict, str]] = []

    def collect(node: dict) -> None:
        for key, value in node.items():
            if isinstance(value, list) and not any(isinstance(v, list) for v in value[:1]):
                arrays.append((node, key))
            elif isinstance(value, dict):
                collect(value)

    collect(trace)
    n = max((len(node[key]) for node, key in arrays), default=0)
    if n <= max_points or trace.get("type") in ("table", "heatmap"):
        return trace
    step = n / max_points
    keep = [int(i * step) for i in range(max_points)]
    for node, key in arrays:
        if len(node[key]) == n:
            node[key] = [node[key][i] for i in keep]
    return trace


def figure_json(fig: Any, templates: dict[str, Any]) -> dict[str, Any]:
    """A figure as compact plain JSON: downsampled traces, floats to 5 significant digits.

    Its template (the biggest part of a small figure) goes into ``templates`` once, referenced by key.
    """
    import plotly.io as pio

    spec = json.loads(pio.to_json(fig, validate=False))
    spec["data"] = [_downsample_trace(t) for t in spec.get("data", [])]
    template = spec.setdefault("layout", {}).pop("template", None)
    if template is not None:
        key = hashlib.sha1(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        templates.setdefault(key, template)
        spec["template"] = key
    return _round(spec)


def _table(rows: list[tuple[str, Any]], header: tuple[str, str] = ("metric", "value")) -> str:
    body = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td></tr>" for k, v in rows)
    return (f'<table class="metrics"><thead><tr><th>{header[0]}</th><th>{header[1]}</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _section_html(name: str, result: dict[str, Any] | None, figures: dict[str, Any]) -> str:
    title = SECTION_TITLES[name]
    reason = report.skip_reason(result, name)
    if reason is not None:
        return (f'<section id="section-{name}"><h2>{title}</h2>'
                f'<p class="skipped">Skipped: {html.escape(reason)}</p></section>')
    section = report.section_of(result, name) or {}
    rows = [(m, v) for s, m, v in report.metric_rows({name: section}) if s == name and not m.startswith("scenario.")]
    parts = [f'<section id="section-{name}"><h2>{title}</h2>', _table(rows[:MAX_TABLE_ROWS])]
    if len(rows) > MAX_TABLE_ROWS:
        parts.append(f'<p class="note">{len(rows) - MAX_TABLE_ROWS} more rows in metrics.csv.</p>')
    try:
        built = _section_figures(name, section)
    except Exception as exc:  # a builder that does not know this section's shape must not sink the report
        built = []
        parts.append(f'<p class="skipped">Figures unavailable: {html.escape(type(exc).__name__)}</p>')
    for index, (fig_name, fig) in enumerate(built):
        fig_id = f"fig-{name}-{index}"
        try:
            figures[fig_id] = figure_json(fig, figures.setdefault("_templates", {}))
        except Exception:
            continue
        parts.append(f'<div class="figure" id="{fig_id}" data-name="{html.escape(str(fig_name))}"></div>')
    parts.append("</section>")
    return "".join(parts)


def _schema_html(schema: dict[str, Any] | None) -> str:
    rows = []
    for feature in (schema or {}).get("features") or []:
        dist = (feature.get("distribution") or {}).get("kind", "")
        span = f"{_fmt(feature.get('min'))} to {_fmt(feature.get('max'))}" if feature.get("min") is not None else ""
        cats = ", ".join(map(str, (feature.get("categories") or [])[:8]))
        rows.append(f"<tr><td>{html.escape(str(feature.get('name')))}</td><td>{html.escape(str(feature.get('type')))}"
                    f"</td><td>{html.escape(dist)}</td><td>{html.escape(span or cats)}</td></tr>")
    return ('<section id="section-data"><h2>Data</h2><table class="metrics"><thead><tr><th>feature</th>'
            f'<th>type</th><th>distribution</th><th>range or categories</th></tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></section>")


STYLE = """body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem 2rem;color:#222}
header{border-bottom:2px solid #333;margin-bottom:1rem}nav a{margin-right:1rem}
table.metrics{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
table.metrics td,table.metrics th{border-bottom:1px solid #ddd;padding:.2rem .6rem;text-align:left}
.skipped{color:#8a6d3b;background:#fcf8e3;padding:.5rem}.failed{color:#a94442;background:#f2dede;padding:.5rem}
.better{color:#2e7d32}.worse{color:#c62828}.figure{min-height:360px}.note{color:#777;font-size:.8rem}"""

LOADER = """(async function () {
  const packed = document.getElementById("plotly-js-gz").textContent.trim();
  const bytes = Uint8Array.from(atob(packed), c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const code = await new Response(stream).text();
  const script = document.createElement("script");
  script.textContent = code;
  document.head.appendChild(script);
  const figures = JSON.parse(document.getElementById("figures-json").textContent);
  const templates = figures._templates || {};
  delete figures._templates;
  for (const [id, spec] of Object.entries(figures)) {
    if (spec.template) spec.layout.template = templates[spec.template];
    await Plotly.newPlot(id, spec.data, spec.layout, CONFIG);
  }
  document.body.dataset.rendered = Object.keys(figures).length;
})().catch(err => {
  document.body.insertAdjacentHTML("afterbegin",
    '<p class="failed">Charts need a browser with DecompressionStream (2023 or later): ' + err + '</p>');
});"""


def report_html(run_id: str) -> tuple[str, str]:
    """The self-contained HTML report of a finished run, and its download name.

    Raises:
        RunNotFinished: the run is still queued or running.
    """
    run = _finished(run_id)
    body = run_dict(run)
    result = run.result or {}
    model = body["model"]
    figures: dict[str, Any] = {}
    headline = report.headline_metrics(result)
    parts = [
        f"<header><h1>{html.escape(run.name)}</h1><p>run {run.id} · {html.escape(str(model.get('type')))} · "
        f"{html.escape(str(model.get('task')))} · {model.get('n_features')} features · sha256 "
        f"{model['sha256'][:12]} · from {run.source} · created {body['created_at']} · "
        f"{_fmt(body['duration_s'])} s · <b>{run.status}</b></p></header>",
        "<nav>" + "".join(f'<a href="#section-{n}">{t}</a>' for n, t in
                          (("summary", "Summary"), *SECTION_TITLES.items(), ("data", "Data"))) + "</nav>",
        '<section id="section-summary"><h2>Summary</h2>',
    ]
    if run.error:
        parts.append(f'<p class="failed">{html.escape(str(run.error.get("code")))}: '
                     f'{html.escape(str(run.error.get("message")))}</p>')
    parts.append(_table([(report.label(k), v) for k, v in headline.items()]))
    gates = run.gates or {}
    if gates:
        verdict = "passed" if gates.get("passed") else "failed"
        checks = [(f"{c.get('name') or c.get('metric')} {c.get('op', '')} {c.get('threshold', '')}",
                   f"{_fmt(c.get('value'))} ({'pass' if c.get('passed') else 'FAIL'})")
                  for c in gates.get("checks") or []]
        parts.append(f"<h3>Gates: {verdict}</h3>" + _table(checks, ("check", "value")))
    parts.append("</section>")
    if run.status == RunStatus.SUCCEEDED:
        parts += [_section_html(name, result, figures) for name in SECTION_TITLES]
    parts.append(_schema_html(run.schema))
    scripts = (f'<script type="application/octet-stream" id="plotly-js-gz">{_plotly_js_packed()}</script>'
               f'<script type="application/json" id="figures-json">{json_for_script(figures)}</script>'
               f"<script>const CONFIG = {json.dumps(PLOT_CONFIG)};\n{LOADER}</script>")
    document = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>modelwatch report · '
                f"{html.escape(run.name)}</title><style>{STYLE}</style></head><body>{''.join(parts)}"
                f'<footer class="note">Generated by modelwatch. Charts: plotly.js, embedded; use a chart\'s camera '
                f"button for a PNG.</footer>{scripts}</body></html>")
    return document, filename(run, "html")


def json_for_script(value: Any) -> str:
    # "</script", "<!--" and "<script" inside a script element end it early or switch the HTML parser into its
    # escaped state; "<", ">" and "&" only occur inside JSON strings, where \u escapes mean the same characters
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (OWASP CSV injection); numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
