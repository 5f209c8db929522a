"""Alert rules as pure logic: does a value meet ``<op> <bound>``, and does a rule start firing on this evaluation.

A rule fires once, when its condition has held for ``consecutive`` evaluations in a row; it stays firing (silent)
while the condition holds and re-arms when the condition stops holding.
"""
from __future__ import annotations

import math
import operator
from typing import Any

OPS = (">", ">=", "<", "<=", "==", "!=")
_FUNCS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
          "!=": operator.ne}


def holds(value: Any, op: str, bound: Any) -> bool:
    """Whether ``value <op> bound``; a missing or non-finite value never holds (nothing measured, nothing to say)."""
    if value is None:
        return False
    if isinstance(bound, str) or isinstance(value, str):
        return op in ("==", "!=") and _FUNCS[op](str(value), str(bound))
    value = float(value)
    return math.isfinite(value) and bool(_FUNCS[op](value, float(bound)))


def step(streak: int, firing: bool, condition: bool, consecutive: int) -> tuple[int, bool, bool]:
    """One evaluation of a rule.

    Args:
        streak: evaluations in a row the condition held, before this one.
        firing: whether the rule is firing.
        condition: whether the condition holds now.
        consecutive: how many in a row make it fire.

    Returns:
        ``(streak, firing, fire_now)``: the new state, and whether this evaluation starts an alert.
    """
    if not condition:
        return 0, False, False
    streak += 1
    if not firing and streak >= consecutive:
        return streak, True, True
    return streak, firing, False


def describe(metric: str, op: str, bound: Any, value: Any, consecutive: int) -> str:
    """A sentence saying why the rule fired."""
    shown = f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else repr(value)
    times = f" for {consecutive} consecutive evaluations" if consecutive > 1 else ""
    return f"{metric} {op} {bound}{times} (value {shown})"
