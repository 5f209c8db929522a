"""The figures of each Result section, bound to the section registry: ``section dict -> [(name, go.Figure)]``.

The HTML report draws these; ``SECTIONS.bind`` fails at import when a registered section has no builder. A section
may also have a note (``SECTION_NOTES``: how its figures were measured), said in the same words on the run page.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from modelwatch.core.sections import SECTIONS
from modelwatch.figures import drift, explain, performance, quality, robustness

FigureBuilder = Callable[[dict[str, Any]], list[tuple[str, go.Figure]]]


def explainability_figures(section: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    """Importance, beeswarm and importance shift (a single row's waterfall belongs to the run page)."""
    return [(build.__name__, build(section))
            for build in (explain.importance_figure, explain.beeswarm_figure, explain.drift_shift_figure)]


SECTION_FIGURES: dict[str, FigureBuilder] = SECTIONS.bind("figure builders", {
    "performance": performance.performance_figures,
    "robustness": robustness.robustness_figures,
    "quality": quality.quality_figures,
    "drift": drift.drift_figures,
    "explainability": explainability_figures,
})

SECTION_NOTES: dict[str, Callable[[dict[str, Any]], str]] = {"performance": performance.latency_note,
                                                             "drift": drift.drift_note}
