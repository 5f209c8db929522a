"""One formatting layer for every number a user reads: ~3 significant digits, thousands separators, units, and
never scientific notation (a user reads "36,000", not "3.599e+04")."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

# Shared by every dcc.Graph: the modebar appears on hover only, so it never covers a chart's title.
GRAPH_CONFIG: dict[str, Any] = {"displayModeBar": "hover", "displaylogo": False,
                                "toImageButtonOptions": {"format": "png", "scale": 2}}

MISSING = "—"


def _float(value: Any) -> float | str:
    """``value`` as a float, or the text to show instead: "—" when absent (None, a flag), itself when not a number."""
    if value is None or isinstance(value, bool):
        return MISSING
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def number(value: Any, digits: int = 3, unit: str = "") -> str:
    """`value` rounded to `digits` significant digits, thousands separated, plain notation; "—" when absent."""
    if isinstance(value, bool):
        return str(value)
    number_ = _float(value)
    if isinstance(number_, str):
        return number_
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
    value = _float(fraction)
    if isinstance(value, str):
        return value
    value *= 100
    return MISSING if math.isnan(value) else f"{number(value, digits)}%"


def percent_interval(interval: Any, digits: int = 2) -> str:
    """An interval of shares as percentages ("62–97%"); "—" when there is none."""
    if not interval:
        return MISSING
    return f"{number(interval[0] * 100, digits)}–{percent(interval[1], digits)}"


def signed(value: Any, digits: int = 3, unit: str = "") -> str:
    """A change with its sign always shown ("+0.23", "−1.5 ms")."""
    text = number(value, digits, unit)
    return text if text.startswith(("−", MISSING)) or text == "0" else f"+{text}"


def duration(seconds: Any) -> str:
    """A duration the way people say it: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min"; "—" when absent."""
    value = _float(seconds)
    if isinstance(value, str):
        return value
    if math.isnan(value) or value < 0:
        return MISSING
    if value < 1:
        return number(value * 1000, unit="ms")
    if value < 60:
        return number(value, unit="s")
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def relative_time(moment: datetime | None, now: datetime) -> str:
    """How long ago `moment` was, from `now` (both naive UTC or both aware): "just now", "3 min ago", "5 h ago",
    "yesterday", "4 days ago", then the date ("2026-11-02"). Coarse on purpose: it changes at most once a minute."""
    if moment is None:
        return MISSING
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    return f"{days} days ago" if days < 30 else moment.strftime("%Y-%m-%d")


def absolute_time(moment: datetime | None) -> str:
    """A timestamp to the second, for tooltips beside a relative time ("2026-12-06 04:41:57 UTC")."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else MISSING


def bytes_(size: Any) -> str:
    """A size in bytes with a binary unit and ~3 significant digits ("87.6 KiB", "1.9 MiB")."""
    value = _float(size)
    if isinstance(value, str):
        return value
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            break
        value /= 1024
    return number(value, unit=unit)


# AG Grid value formatters (run in the browser on numeric cells, so columns still sort and filter as numbers):
# d3-format's ",.3~r" is `number` above: 3 significant digits, thousands separators, plain notation, "−".
def grid_number(unit: str = "", digits: int = 3) -> dict[str, str]:
    """A dash-ag-grid ``valueFormatter`` that shows a number cell like :func:`number` ("—" when empty)."""
    suffix = f" + ' {unit}'" if unit else ""
    return {"function": f"params.value == null ? '{MISSING}' : d3.format(',.{digits}~r')(params.value){suffix}"}


def grid_percent(digits: int = 3) -> dict[str, str]:
    """A ``valueFormatter`` for a fraction cell shown like :func:`percent`."""
    return {"function": f"params.value == null ? '{MISSING}' : d3.format(',.{digits}~r')(params.value * 100) + '%'"}
