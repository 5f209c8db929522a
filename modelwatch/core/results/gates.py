"""Gates: turn ``config.thresholds`` and a Result into a pass/fail verdict a pipeline can act on.

``config.thresholds`` maps a *metric path* to ``{"min": x}``, ``{"max": x}`` or both. A path names one number
of the Result (CONTRACT.md), dot-separated. The paths a Result can have (``valid_paths``) are ``data.n_samples``
and those each section declares (``Section.metric_paths`` in ``core.sections``), e.g.:

- ``performance.latency_ms.<batch>.<p50|p95|p99|max|mean>`` and ``performance.throughput_rows_per_s.<batch>``
  for each ``<batch>`` of ``config.batch_sizes``; ``performance.<load_time_ms|model_size_bytes|peak_memory_mb|
  error_rate>``;
- ``robustness.handled_rate``: the share of cases the model handled, ``ok`` or ``rejected`` (invalid input refused
  with an error is correct behaviour, never a miss); ``robustness.outcomes.<ok|rejected|degraded|crashed>``: cases
  per outcome (``core.checks.outcomes``; e.g. ``robustness.outcomes.crashed: {"max": 0}``); both are counted from
  the cases for Results stored before outcomes existed. ``robustness.<passed|total>`` and the derived
  ``robustness.pass_rate`` (passed / total) count only the ``ok`` cases: a correct rejection lowers them;
- ``quality.n_rows``, ``quality.metrics.<m>`` (quality on ``sample``) and ``quality.current.metrics.<m>`` (on
  ``current``);
- ``drift.current.<share_drifted|n_drifted|dataset_drift>`` (``dataset_drift`` counts as 0 or 1),
  ``drift.current.prediction_drift.<prediction_psi|prediction_shift|class_share_shift>`` (real current data are
  other rows than the reference: ``flip_rate`` is None there), ``drift.multivariate.auc``,
  ``drift.false_positive_rate.overall``;
- ``drift.scenario.<metric>``: the *worst* value over the drift scenarios (the largest for a ``max`` bound, the
  smallest for a ``min`` bound): a scenario gate passes when every scenario does;
- ``explainability.additivity_max_error``.

A gate whose metric the run could not measure (a skipped section, no labels for quality) fails, with
``value: null``: a pipeline that asked for a check must not pass without it.

When ``config.thresholds`` is empty the ``DEFAULT_THRESHOLDS`` apply: the model predicts every valid generated row
(``performance.error_rate`` at most 0), and one call on the smallest batch size stays under a second at p95.

Gates are the user's explicit thresholds. Whether a model is fit to ship is the verdict's to say
(``results/verdict.py``): its latency and errors lights are these two defaults, and it adds the rules a pipeline would
not think to write (beat the majority-class / mean baseline, no crash on valid input, data that is not assumed);
gates from ``config.thresholds`` join it as one check each.
"""
from __future__ import annotations

import math
from typing import Any

from modelwatch.core.checks import outcomes
from modelwatch.core.results import relative_gates
from modelwatch.core.sections import SECTIONS, Registry
from modelwatch.errors import BadRequest

OPS = ("min", "max")
FRAME_PATHS = ("data.n_samples",)
DEFAULT_ERROR_RATE = {"max": 0.0}
DEFAULT_P95_MS = {"max": 1000.0}


def _batch_keys(config: dict[str, Any]) -> list[str]:
    return [str(int(b)) for b in sorted({int(b) for b in config.get("batch_sizes") or [] if int(b) > 0})]


def valid_paths(config: dict[str, Any], sections: Registry = SECTIONS) -> list[str]:
    """Every metric path a Result of a run with this config can have, sorted.

    Args:
        config: the resolved Config (its ``batch_sizes`` name the latency and throughput paths).
        sections: the registry whose sections declare their paths.

    Returns:
        The sorted list of paths ``config.thresholds`` may use.
    """
    batches = _batch_keys(config)
    return sorted({*FRAME_PATHS, *(path for section in sections.values() for path in section.gate_paths(batches))})


def default_thresholds(config: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The gates used when the config sets none: no errors on valid rows, p95 of the smallest batch under 1 s."""
    thresholds = {"performance.error_rate": dict(DEFAULT_ERROR_RATE)}
    batches = _batch_keys(config)
    if batches:
        thresholds[f"performance.latency_ms.{batches[0]}.p95"] = dict(DEFAULT_P95_MS)
    return thresholds


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_thresholds(thresholds: Any, config: dict[str, Any], sections: Registry = SECTIONS) -> None:
    """Check that every gate names a known path and a numeric ``min`` and/or ``max`` bound.

    Args:
        thresholds: ``config.thresholds`` as the user sent it.
        config: the resolved Config (for the batch sizes).
        sections: the registry whose sections declare the paths.

    Raises:
        BadRequest: with ``details.unknown`` and ``details.valid`` for unknown paths, ``details.invalid`` for
            malformed bounds.
    """
    if thresholds is None:
        return
    if not isinstance(thresholds, dict):
        raise BadRequest("config.thresholds must be an object mapping a metric path to {\"min\": x} or {\"max\": x}.",
                         {"field": "config.thresholds"})
    known = valid_paths(config, sections)
    unknown = sorted(path for path in thresholds if path not in known)
    if unknown:
        raise BadRequest(f"Unknown metric path(s) in config.thresholds: {', '.join(unknown)}. "
                         "details.valid lists the paths a Result can have.",
                         {"field": "config.thresholds", "unknown": unknown, "valid": known})
    invalid = {}
    for path, rule in thresholds.items():
        if relative_gates.is_relative(rule):
            if problem := relative_gates.rule_problem(rule):
                invalid[path] = problem
        elif not isinstance(rule, dict) or not rule or set(rule) - set(OPS):
            invalid[path] = "must be {\"min\": number}, {\"max\": number} or both"
        elif not all(_is_number(bound) for bound in rule.values()):
            invalid[path] = "bounds must be finite numbers"
        elif "min" in rule and "max" in rule and rule["min"] > rule["max"]:
            invalid[path] = "min is larger than max"
    if invalid:
        raise BadRequest(f"Malformed gate(s) in config.thresholds: {', '.join(sorted(invalid))}.",
                         {"field": "config.thresholds", "invalid": invalid})


def lookup(result: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a nested dict, or None when any step is missing."""
    node: Any = result
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _scenario_value(result: dict[str, Any], metric: str, op: str) -> float | None:
    """The worst value of a scenario metric over the drift scenarios."""
    values = []
    for scenario in (result.get("drift") or {}).get("scenarios") or []:
        value = scenario.get("prediction_shift") if metric == "abs_prediction_shift" else scenario.get(metric)
        if _is_number(value):
            values.append(abs(value) if metric == "abs_prediction_shift" else float(value))
    if not values:
        return None
    return max(values) if op == "max" else min(values)


def _robustness_value(result: dict[str, Any], metric: str) -> float | None:
    """``handled_rate`` or an outcome's count, from the cases when the Result predates ``outcomes``."""
    section = result.get("robustness")
    if not isinstance(section, dict) or "skipped" in section:
        return None
    found = outcomes.counts(section)
    if metric == "handled_rate":
        return outcomes.handled_rate(found)
    return float(found[metric]) if metric in found else None


def metric_value(result: dict[str, Any], path: str, op: str = "max") -> float | None:
    """The number a gate compares for ``path`` (None when the run did not measure it).

    Args:
        result: the run's Result.
        path: a path of ``valid_paths``.
        op: ``min`` or ``max``; scenario paths take the worst value for this bound.

    Returns:
        The value as a float, or None.
    """
    if path.startswith("drift.scenario."):
        return _scenario_value(result, path.rsplit(".", 1)[1], op)
    if path == "robustness.pass_rate":
        section = result.get("robustness") or {}
        passed, total = section.get("passed"), section.get("total")
        return passed / total if _is_number(passed) and _is_number(total) and total > 0 else None
    if path == "robustness.handled_rate" or path.startswith("robustness.outcomes."):
        return _robustness_value(result, path.rsplit(".", 1)[1])
    value = lookup(result, path)
    if isinstance(value, bool):
        return float(value)
    return float(value) if _is_number(value) else None


def _check(result: dict[str, Any], path: str, op: str, bound: float) -> dict[str, Any]:
    value = metric_value(result, path, op)
    passed = value is not None and (value >= bound if op == "min" else value <= bound)
    sign = ">=" if op == "min" else "<="
    check = {"name": f"{path} {sign} {bound:g}", "metric": path, "op": op, "threshold": float(bound),
             "value": value, "passed": passed}
    if value is None:
        check["message"] = "not measured in this run (section skipped or no data for it)"
    return check


def needs_baseline(config: dict[str, Any]) -> bool:
    """Whether the config has relative gates (the caller then looks up the champion's run)."""
    return any(relative_gates.is_relative(rule) for rule in (config.get("thresholds") or {}).values())


def _relative_checks(result: dict[str, Any], path: str, rule: dict[str, Any],
                     baseline: dict[str, Any] | None) -> list[dict[str, Any]]:
    base_result, base_run = (baseline or {}).get("result") or {}, (baseline or {}).get("run_id")
    checks = []
    for op in relative_gates.RELATIVE_OPS:
        if op in rule:
            direction = "max" if op.startswith("max") else "min"
            checks.append(relative_gates.check(path, op, rule[op], metric_value(result, path, direction),
                                               metric_value(base_result, path, direction), base_run))
    return checks


def evaluate(result: dict[str, Any], config: dict[str, Any],
             baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate the run's gates on its Result.

    Args:
        result: the Result of a succeeded run.
        config: the resolved Config; its ``thresholds``, or the defaults when it has none.
        baseline: ``{"run_id", "result"}`` of the champion's run for relative gates; None when there is none.

    Returns:
        ``{"passed", "checks": [{"name", "metric", "op", "threshold", "value", "passed"}], "source"}`` where
        ``source`` is ``config`` or ``default``; with relative gates also ``baseline_run`` (None without a
        champion), and their checks carry ``baseline_value`` and ``change``.
    """
    thresholds = config.get("thresholds") or {}
    source = "config" if thresholds else "default"
    if not thresholds:
        thresholds = default_thresholds(config)
    checks = []
    for path, rule in thresholds.items():
        if relative_gates.is_relative(rule):
            checks += _relative_checks(result, path, rule, baseline)
        else:
            checks += [_check(result, path, op, rule[op]) for op in OPS if op in rule]
    gates = {"passed": all(c["passed"] for c in checks), "checks": checks, "source": source}
    if needs_baseline(config):
        gates["baseline_run"] = (baseline or {}).get("run_id")
    return gates
