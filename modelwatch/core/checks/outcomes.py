"""The outcomes of a robustness case, named in one place for every reader: the section, the gates, the verdict, the
Summary and Robustness tabs, History, the HTML report and the CLI (through the verdict's reasons).

Light on purpose (no numpy, no pandas): the section registry and the web process read it. A correct rejection of
invalid input is *handled*, like an ``ok``: ``handled_rate`` never holds it against the model.
"""
from __future__ import annotations

from typing import Any

# outcome -> what it means; a correct rejection is not held against the model (core/results/verdict.py)
OUTCOMES: dict[str, str] = {
    "ok": "accepted, output valid and within the tolerance",
    "rejected": "refused invalid input with an error (correct behaviour)",
    "degraded": "answered silently wrong: invalid output, or an output moved beyond the tolerance",
    "crashed": "raised on input that is valid for the schema",
}
LABELS: dict[str, str] = {"ok": "ok", "rejected": "rejected with a clear error", "degraded": "silently degraded",
                          "crashed": "crashed on valid input"}
WORST_FIRST = ("crashed", "degraded", "rejected", "ok")
HANDLED = ("ok", "rejected")  # the model did the right thing
MISSES = tuple(name for name in WORST_FIRST if name not in HANDLED)  # crashed, degraded: held against the model
VALID_BATCH_CASES = ("baseline", "single_row")  # batch-shape cases whose input is valid; empty and reordered are not


def outcome(status: str, valid: bool) -> str:
    """The outcome of a case from its status and whether its input is valid for the schema (see ``OUTCOMES``)."""
    if status == "error":
        return "crashed" if valid else "rejected"
    return "degraded" if status == "degraded" else "ok"


def case_outcome(case: dict[str, Any]) -> str | None:
    """A case's ``outcome``; cases stored before outcomes existed are classified from their kind and name."""
    if case.get("outcome"):
        return case["outcome"]
    if case.get("status") not in ("ok", "error", "degraded"):
        return None
    valid = case.get("kind") in ("min", "max") or case.get("name") in VALID_BATCH_CASES
    return outcome(case["status"], valid)


def counts(section: dict[str, Any]) -> dict[str, int]:
    """Cases per outcome, worst first: the section's ``outcomes``, else counted from its cases (older Results)."""
    stored = section.get("outcomes")
    if not isinstance(stored, dict):
        found = [case_outcome(c) for c in section.get("cases") or [] if isinstance(c, dict)]
        stored = {name: found.count(name) for name in OUTCOMES}
    return {name: int(stored.get(name) or 0) for name in WORST_FIRST}


def handled_rate(found: dict[str, int]) -> float | None:
    """The share of cases ``ok`` or ``rejected`` (None without cases)."""
    total = sum(found.get(name, 0) for name in OUTCOMES)
    return sum(found.get(name, 0) for name in HANDLED) / total if total else None


def summary(found: dict[str, int]) -> str:
    """One line, worst first: "2 crashed on valid input · 0 silently degraded · 92 rejected with a clear error ·
    150 ok"."""
    return " · ".join(f"{found.get(name, 0)} {LABELS[name]}" for name in WORST_FIRST)
