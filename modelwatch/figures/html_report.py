"""The self-contained HTML report of a run: ``templates/report.html`` filled from the section registry.

It opens offline: plotly.js is inlined once (gzip + base64, unpacked by the browser's ``DecompressionStream``, so
that a report stays well under 5 MB), figures are embedded as JSON built by the same builders as the run page
(``figures.sections``), with long traces downsampled, and no data rows. The template autoescapes every value.
"""
from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import plotly.io as pio
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from modelwatch.core.results import report
from modelwatch.core.sections import SECTIONS, Registry
from modelwatch.figures import timing
from modelwatch.figures.sections import SECTION_FIGURES, SECTION_NOTES, FigureBuilder

MAX_POINTS = 400  # per trace, after downsampling
MAX_TABLE_ROWS = 60
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)
_ENV.filters["fmt"] = _fmt


@functools.lru_cache(maxsize=1)
def _plotly_js_packed() -> str:
    return base64.b64encode(gzip.compress(get_plotlyjs().encode(), compresslevel=9, mtime=0)).decode()


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
    spec = json.loads(pio.to_json(fig, validate=False))
    spec["data"] = [_downsample_trace(t) for t in spec.get("data", [])]
    template = spec.setdefault("layout", {}).pop("template", None)
    if template is not None:
        key = hashlib.sha1(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        templates.setdefault(key, template)
        spec["template"] = key
    return _round(spec)


def json_for_script(value: Any) -> str:
    """``value`` as JSON that cannot end or confuse the ``<script>`` element it is embedded in."""
    # "</script", "<!--" and "<script" inside a script element end it early or switch the HTML parser into its
    # escaped state; "<", ">" and "&" only occur inside JSON strings, where \u escapes mean the same characters
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass
class SectionBlock:
    """What the template shows of one section: why it was skipped, or its metric rows and figure ids."""

    name: str
    title: str
    skipped: str | None = None
    rows: list[tuple[str, Any]] = field(default_factory=list)
    more_rows: int = 0
    note: str = ""  # how the section's figures were measured (``SECTION_NOTES``)
    figures_failed: str | None = None
    figures: list[tuple[str, str]] = field(default_factory=list)  # (div id, figure name)


def _section_block(name: str, title: str, result: dict[str, Any], build: FigureBuilder,
                   figures: dict[str, Any], sections: Registry) -> SectionBlock:
    reason = report.skip_reason(result, name, sections)
    if reason is not None:
        return SectionBlock(name, title, skipped=reason)
    section = report.section_of(result, name) or {}
    rows = [(m, v) for s, m, v in report.metric_rows({name: section}, sections)
            if s == name and not m.startswith("scenario.")]
    block = SectionBlock(name, title, rows=rows[:MAX_TABLE_ROWS], more_rows=max(0, len(rows) - MAX_TABLE_ROWS))
    try:
        block.note = SECTION_NOTES[name](section) if name in SECTION_NOTES else ""
        built = list(build(section))
    except Exception as exc:  # a builder that does not know this section's shape must not sink the report
        block.figures_failed = type(exc).__name__
        return block
    for index, (fig_name, fig) in enumerate(built):
        fig_id = f"fig-{name}-{index}"
        try:
            figures[fig_id] = figure_json(fig, figures.setdefault("_templates", {}))
        except Exception:  # one figure that will not serialise leaves the others in place
            continue
        block.figures.append((fig_id, str(fig_name)))
    return block


def _gate_rows(gates: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"{c.get('name') or c.get('metric')} {c.get('op', '')} {c.get('threshold', '')}",
             f"{_fmt(c.get('value'))} ({'pass' if c.get('passed') else 'FAIL'})") for c in gates.get("checks") or []]


def _schema_rows(schema: dict[str, Any] | None) -> list[tuple[Any, Any, str, str]]:
    rows = []
    for feature in (schema or {}).get("features") or []:
        dist = (feature.get("distribution") or {}).get("kind", "")
        span = f"{_fmt(feature.get('min'))} to {_fmt(feature.get('max'))}" if feature.get("min") is not None else ""
        cats = ", ".join(map(str, (feature.get("categories") or [])[:8]))
        rows.append((feature.get("name"), feature.get("type"), dist, span or cats))
    return rows


def render(run: dict[str, Any], schema: dict[str, Any] | None, sections: Registry = SECTIONS,
           builders: dict[str, FigureBuilder] = SECTION_FIGURES) -> str:
    """The report of a finished run as one HTML document.

    Args:
        run: the Run as the contract describes it (``services.presenters.run_dict``), with its result.
        schema: the Schema document the run generated its data from.
        sections: the sections to show, in order (each gets a ``section-<name>`` anchor).
        builders: the figure builders of those sections (``sections.bind``).
    """
    result = run.get("result") or {}
    figures: dict[str, Any] = {}
    blocks = ([_section_block(name, section.title, result, builders[name], figures, sections)
               for name, section in sections.items()] if run["status"] == "succeeded" else [])
    gates, error = run.get("gates") or {}, run.get("error")
    return _ENV.get_template("report.html").render(
        run=run, model=run["model"], titles=[(name, section.title) for name, section in sections.items()],
        error=(str(error.get("code")), str(error.get("message"))) if error else None,
        headline=[(report.label(k), v) for k, v in report.headline_metrics(result, sections).items()],
        time_spent=timing.sentence(result, sections),
        gates_verdict=("passed" if gates.get("passed") else "failed") if gates else None,
        gate_rows=_gate_rows(gates), blocks=blocks, schema_rows=_schema_rows(schema),
        plotly_js=_plotly_js_packed(), figures_json=Markup(json_for_script(figures)),  # script-safe: json_for_script
        plot_config=Markup(json.dumps(PLOT_CONFIG)),
    )
