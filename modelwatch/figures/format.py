"""One formatting layer for every number a user reads: ~3 significant digits, thousands separators, units, and
never scientific notation (a user reads "36,000", not "3.599e+04")."""
from __future__ import annotations

import math
from typing import Any

# Shared by every dcc.Graph: the modebar appears on hover only, so it never covers a chart's title.
GRAPH_CONFIG: dict[str, Any] = {"displayModeBar": "hover", "displaylogo": False,
                                "toImageButtonOptions": {"format": "png", "scale": 2}}

MISSING = "—"


def number(value: Any, digits: int = 3, unit: str = "") -> str:
    """`value` rounded to `digits` significant digits, thousands separated, plain notation; "—" when absent."""
    if isinstance(value, bool) or value is None:
        return MISSING if value is None else str(value)
    try:
        number_ = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number_):
        return MISSING
    if math.isinf(number_):
        return "∞" if number_ > 0 else "−∞"
    if number_ == 0:
        text = "0"
    else:
        magnitude = math.floor(math.log10(abs(number_)))
        places = digits - 1 - magnitude
        decimals = max(places, 0)
        rounded = round(number_, places)
        text = f"{rounded:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    text = text.replace("-", "−") if text.startswith("-") else text
    return f"{text} {unit}" if unit else text


def percent(fraction: Any, digits: int = 3) -> str:
    """A fraction in [0, 1] shown as a percentage with `digits` significant digits ("4.6%")."""
    if fraction is None or isinstance(fraction, bool):
        return MISSING
    try:
        value = float(fraction) * 100
    except (TypeError, ValueError):
        return str(fraction)
    return MISSING if math.isnan(value) else f"{number(value, digits)}%"


def signed(value: Any, digits: int = 3, unit: str = "") -> str:
    """A change with its sign always shown ("+0.23", "−1.5 ms")."""
    text = number(value, digits, unit)
    return text if text.startswith(("−", MISSING)) or text == "0" else f"+{text}"
