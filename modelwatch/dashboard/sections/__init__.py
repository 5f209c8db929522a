"""The run page's tab renderers, one module per Result section (``render(section, run) -> components``).

They are bound to the section registry, and laid out as tabs, in ``modelwatch.dashboard.tabs``.
"""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc


def skipped(section: Any) -> list | None:
    """An alert for a section that was not computed, or None when there is something to render."""
    if section is None:
        return [dbc.Alert("Not computed for this run (it needs labelled data: send a sample with its target).",
                          color="secondary")]
    if isinstance(section, dict) and "skipped" in section:
        return [dbc.Alert(f"Skipped: {section['skipped']}", color="warning")]
    return None
