"""Where a run's time went, in one sentence (``result.timing``): the Summary tab and the HTML report say it alike."""
from __future__ import annotations

from typing import Any

from modelwatch.core.sections import SECTIONS, Registry
from modelwatch.figures.format import number


def _listed(parts: list[str]) -> str:
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def sentence(result: dict[str, Any], sections: Registry = SECTIONS) -> str | None:
    """The sections computed alone, then those sharing the cores, with their seconds; None without a clock."""
    found = (result.get("timing") or {}).get("sections") or {}
    ordered = sorted((name for name in found if name in sections), key=lambda name: found[name]["start_s"])
    if not ordered:
        return None

    def seconds(names: list[str]) -> str:
        return _listed([f"{sections[name].title.lower()} {number(found[name]['seconds'], unit='s')}" for name in names])

    alone = [name for name in ordered if sections[name].alone]
    shared = [name for name in ordered if not sections[name].alone]
    text = f"The tests took {number(result['timing']['total_s'], unit='s')} once the model was loaded"
    text += f": {seconds(alone)} alone (latency is timed with nothing else running)" if alone else ""
    return text + (f", then {seconds(shared)} side by side." if shared else ".")
