"""Gates relative to a baseline run (the model's champion): "no more than 10% slower", "no worse ROC AUC".

A rule ``{"max_relative_change": 0.1, "baseline": "champion"}`` on a metric path passes when
``(value - baseline) / |baseline| <= 0.1``; ``min_relative_change`` bounds it from below; ``max_absolute_change`` and
``min_absolute_change`` bound ``value - baseline``. Without a champion (the first version of a model) a relative
gate passes, and says why; when the champion did not measure the metric it passes too, with that reason; when
this run did not measure it, it fails (as an absolute gate does).
"""
from __future__ import annotations

import math
from typing import Any

RELATIVE_OPS = ("max_relative_change", "min_relative_change", "max_absolute_change", "min_absolute_change")
BASELINES = ("champion",)
NO_CHAMPION = "no champion to compare with yet (the first version of a model passes relative gates)"
BASELINE_UNMEASURED = "the champion's run did not measure this metric: nothing to compare with"


def is_relative(rule: Any) -> bool:
    return isinstance(rule, dict) and any(op in rule for op in RELATIVE_OPS)


def rule_problem(rule: dict[str, Any]) -> str | None:
    """Why a relative rule is malformed, or None."""
    unknown = set(rule) - set(RELATIVE_OPS) - {"baseline"}
    if unknown:
        return f"unknown key(s) {', '.join(sorted(unknown))}; relative gates take {', '.join(RELATIVE_OPS)}"
    if rule.get("baseline", "champion") not in BASELINES:
        return "baseline must be \"champion\""
    bounds = [rule[op] for op in RELATIVE_OPS if op in rule]
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in bounds):
        return "bounds must be finite numbers"
    return None


def _change(op: str, value: float, base: float) -> float | None:
    if op.endswith("absolute_change"):
        return value - base
    return (value - base) / abs(base) if base != 0 else None


def check(path: str, op: str, bound: float, value: float | None, base: float | None,
          baseline_run: str | None) -> dict[str, Any]:
    """One relative check.

    Args:
        path: the metric path.
        op: one of ``RELATIVE_OPS``.
        bound: the allowed change.
        value: this run's value (None: not measured).
        base: the champion run's value (None: no champion, or it did not measure it).
        baseline_run: the champion run's id, or None when there is no champion.

    Returns:
        A gate check: ``{"name", "metric", "op", "threshold", "value", "baseline_value", "change", "passed"}``
        and ``message`` when the outcome needs a reason.
    """
    sign = "<=" if op.startswith("max") else ">="
    kind = "relative change" if "relative" in op else "change"
    out: dict[str, Any] = {"name": f"{path} {kind} vs champion {sign} {bound:g}", "metric": path, "op": op,
                           "threshold": float(bound), "value": value, "baseline_value": base, "change": None}
    if baseline_run is None:
        return {**out, "passed": True, "message": NO_CHAMPION}
    if value is None:
        return {**out, "passed": False, "message": "not measured in this run (section skipped or no data for it)"}
    if base is None:
        return {**out, "passed": True, "message": BASELINE_UNMEASURED}
    change = _change(op, value, base)
    if change is None:
        return {**out, "passed": value == base, "message": "the champion's value is 0: only no change passes"}
    passed = change <= bound if op.startswith("max") else change >= bound
    return {**out, "change": change, "passed": passed}
