"""The verdict: is this model fit to ship? One traffic light per concern, read from the Result's sections.

Each check is ``{"section", "name", "status", "value", "bound", "reason"}`` with ``status`` one of ``pass``,
``warn``, ``fail`` or ``not_measured`` (grey: never green). The lights and their default rules:

- **latency**: the p95 of one call on the smallest batch size is at most ``LATENCY_P95_MS`` (else ``fail``). Where
  its 95% interval (``p95_ci``) is known and crosses the bound, the light is ``warn``: the timing could not tell.
- **errors**: the model predicts every valid generated row (``performance.error_rate`` is 0, else ``fail``).
- **robustness**: ``fail`` when the model raises on *valid* input (a case whose ``outcome`` is ``crashed``: a
  feature's minimum or maximum, NaN in a nullable feature, ordinary rows, a single row); ``warn`` when it
  answers edge cases silently wrong (``degraded``: invalid output, or output moved beyond the tolerance). Loudly
  rejecting invalid input (``rejected``: NaN, infinities, strings in numbers) is fine. The reason ends with the
  count of each outcome (``core.checks.outcomes.summary``, the words of the Robustness tab), which the CLI prints.
- **quality** (needs labels): the model beats the baseline fitted on the same labelled rows (``quality.baseline``,
  a majority-class / mean dummy) by a margin: balanced accuracy at least ``CLASSIFICATION_MARGIN`` above the
  baseline's, or an RMSE at least ``REGRESSION_MARGIN`` (relative) below it; else ``fail``. Without labels the
  light is grey.
- **drift sensitivity**: ``warn`` when shifting one feature by at most one standard deviation moves more than
  ``DRIFT_IMPACT`` of the predictions (flip rate, or shift in prediction standard deviations), or when the real
  ``current`` data has drifted from the reference.
- **data realism**: ``warn`` when any feature's distribution was assumed (``result.data.assumed_features``, or a
  schema feature with ``source: assumed``): the generated data may look nothing like real inputs. Grey when the
  schema does not say where its features came from.

``gates`` (the user's explicit ``config.thresholds``) are folded in as one more check each: a failed gate fails.
The overall status is ``fail`` when any check fails; else ``incomplete`` when a section that a check reads (each
check names its ``section``; the registry's ``SECTIONS`` tell sections from the ``data`` frame) could not be computed
(it was skipped after an error or the time ran out); else ``warn`` when any check warns or is grey; else ``pass``.
"""
from __future__ import annotations

import math
from typing import Any

from modelwatch.core.checks import outcomes
from modelwatch.core.checks.outcomes import case_outcome
from modelwatch.core.results.gates import DEFAULT_P95_MS
from modelwatch.core.sections import SECTIONS

LATENCY_P95_MS = DEFAULT_P95_MS["max"]
CLASSIFICATION_MARGIN = 0.05  # balanced accuracy points above the majority-class baseline
REGRESSION_MARGIN = 0.05  # relative RMSE reduction against the mean baseline
DRIFT_IMPACT = 0.2
DRIFT_MAX_SEVERITY = 1.0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(section: str, name: str, status: str, reason: str, value: Any = None, bound: Any = None
           ) -> dict[str, Any]:
    return {"section": section, "name": name, "status": status, "value": value, "bound": bound, "reason": reason}


def _missing(result: dict[str, Any], key: str) -> str | None:
    """Why a section has nothing to judge (None when it has)."""
    section = result.get(key)
    if isinstance(section, dict) and "skipped" in section:
        return f"the {key} section was skipped: {str(section['skipped'])[:200]}"
    if not isinstance(section, dict):
        return f"the {key} section was not computed"
    return None


def _ms(value: float) -> str:
    """Milliseconds as a reader takes them: 3 significant digits, never scientific notation ("1,040", "2.17")."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def latency(result: dict[str, Any]) -> dict[str, Any]:
    why = _missing(result, "performance")
    table = (result.get("performance") or {}).get("latency_ms") or {}
    sizes = sorted(int(k) for k in table if str(k).isdigit())
    if why or not sizes:
        return _check("performance", "latency", "not_measured", why or "no batch size was timed")
    stats = table[str(sizes[0])]
    p95 = stats.get("p95")
    if not _number(p95):
        return _check("performance", "latency", "not_measured", "the p95 latency was not measured")
    measured = f"p95 of one call on {sizes[0]} row(s) is {_ms(p95)} ms"
    interval = stats.get("p95_ci")
    if interval and interval[0] <= LATENCY_P95_MS < interval[1]:
        return _check("performance", "latency", "warn",
                      f"{measured}, but its 95% interval ({_ms(interval[0])}–{_ms(interval[1])} ms) crosses the "
                      f"{_ms(LATENCY_P95_MS)} ms bound: a longer timing (performance.latency_budget_s) could tell",
                      p95, LATENCY_P95_MS)
    ok = p95 <= LATENCY_P95_MS
    known = (f"; 95% interval {_ms(interval[0])}–{_ms(interval[1])} ms" if interval else
             f"; from {stats.get('n_calls')} calls, too few to bound it" if "stopped_by" in stats else "")
    return _check("performance", "latency", "pass" if ok else "fail",
                  f"{measured} ({'within' if ok else 'over'} the {_ms(LATENCY_P95_MS)} ms bound{known})",
                  p95, LATENCY_P95_MS)


def errors(result: dict[str, Any]) -> dict[str, Any]:
    why = _missing(result, "performance")
    rate = (result.get("performance") or {}).get("error_rate")
    if why or not _number(rate):
        return _check("performance", "errors", "not_measured", why or "the error rate was not measured")
    if rate > 0:
        return _check("performance", "errors", "fail", f"the model raised on {rate:.1%} of valid generated rows",
                      rate, 0.0)
    return _check("performance", "errors", "pass", "the model predicted every valid generated row", rate, 0.0)


def robustness(result: dict[str, Any]) -> dict[str, Any]:
    why = _missing(result, "robustness")
    if why:
        return _check("robustness", "robustness", "not_measured", why)
    section = result["robustness"]
    cases = section.get("cases") or []
    crashed = [c for c in cases if case_outcome(c) == "crashed"]
    degraded = [c for c in cases if case_outcome(c) == "degraded"]
    found = f"({outcomes.summary(outcomes.counts(section))})"
    if crashed:
        names = ", ".join(c["name"] for c in crashed[:5])
        return _check("robustness", "robustness", "fail",
                      f"the model raised on {len(crashed)} valid input case(s): {names} {found}", len(crashed), 0)
    if degraded:
        return _check("robustness", "robustness", "warn",
                      f"{len(degraded)} of {len(cases)} edge cases were answered silently wrong (invalid output or "
                      f"an output far from the unperturbed one) {found}", len(degraded), 0)
    return _check("robustness", "robustness", "pass",
                  f"no valid input crashed and no edge case was answered silently wrong {found}", 0, 0)


def quality(result: dict[str, Any]) -> dict[str, Any]:
    section = result.get("quality")
    if section is None:
        return _check("quality", "beats the baseline", "not_measured",
                      "no labelled data: send a sample with its label column (target) to measure quality")
    why = _missing(result, "quality")
    base = (section.get("baseline") or {}).get("metrics") or {} if not why else {}
    metrics = section.get("metrics") or {}
    if section.get("task") == "regression":
        value, reference = metrics.get("rmse"), base.get("rmse")
        if why or not (_number(value) and _number(reference)):
            return _check("quality", "beats the baseline", "not_measured", why or "no baseline RMSE to compare with")
        bound = reference * (1 - REGRESSION_MARGIN)
        ok = value <= bound
        return _check("quality", "beats the baseline", "pass" if ok else "fail",
                      f"RMSE {value:.4g} against {reference:.4g} for always predicting the mean "
                      f"({'at least' if ok else 'less than'} {REGRESSION_MARGIN:.0%} better)", value, bound)
    value, reference = metrics.get("balanced_accuracy"), base.get("balanced_accuracy")
    if why or not (_number(value) and _number(reference)):
        return _check("quality", "beats the baseline", "not_measured", why or "no baseline accuracy to compare with")
    bound = reference + CLASSIFICATION_MARGIN
    ok = value >= bound
    return _check("quality", "beats the baseline", "pass" if ok else "fail",
                  f"balanced accuracy {value:.3f} against {reference:.3f} for always predicting the majority class "
                  f"({'beats' if ok else 'does not beat'} it by {CLASSIFICATION_MARGIN:g})", value, bound)


def drift_sensitivity(result: dict[str, Any]) -> dict[str, Any]:
    why = _missing(result, "drift")
    if why:
        return _check("drift", "drift sensitivity", "not_measured", why)
    drift = result["drift"]
    impacts = [s["impact"] for s in drift.get("scenarios") or []
               if s.get("feature") is not None and _number(s.get("impact"))
               and _number(s.get("severity")) and s["severity"] <= DRIFT_MAX_SEVERITY]
    current = drift.get("current") or {}
    if current.get("dataset_drift"):
        return _check("drift", "drift sensitivity", "warn",
                      f"the current data has drifted from the reference ({current.get('share_drifted', 0):.0%} of "
                      "columns)", current.get("share_drifted"), None)
    if not impacts:
        return _check("drift", "drift sensitivity", "not_measured",
                      f"no single-feature drift scenario of severity up to {DRIFT_MAX_SEVERITY:g} was measured")
    worst = max(impacts)
    ok = worst <= DRIFT_IMPACT
    return _check("drift", "drift sensitivity", "pass" if ok else "warn",
                  f"a shift of one feature by up to {DRIFT_MAX_SEVERITY:g} standard deviation moves at most "
                  f"{worst:.2f} of the predictions ({'within' if ok else 'over'} {DRIFT_IMPACT:g})", worst,
                  DRIFT_IMPACT)


def assumed_features(result: dict[str, Any]) -> list[str]:
    """Features whose distribution nothing told us: ``data.assumed_features`` and schema features marked so."""
    listed = list((result.get("data") or {}).get("assumed_features") or [])
    marked = [f.get("name") for f in (result.get("schema") or {}).get("features") or [] if f.get("source") == "assumed"]
    return list(dict.fromkeys(listed + marked))


def data_realism(result: dict[str, Any]) -> dict[str, Any]:
    features = (result.get("schema") or {}).get("features") or []
    assumed = assumed_features(result)
    if assumed:
        return _check("data", "data realism", "warn",
                      f"{len(assumed)} of {len(features) or len(assumed)} feature(s) have an assumed distribution "
                      f"({', '.join(map(str, assumed[:5]))}): send a sample so the data looks like real inputs",
                      len(assumed), 0)
    sources = sorted({f["source"] for f in features if f.get("source")})
    if not sources:
        return _check("data", "data realism", "not_measured",
                      "the schema does not say where its features came from (a sample, the model or the user)")
    return _check("data", "data realism", "pass", f"every feature comes from: {', '.join(sources)}", 0, 0)


def _gate_checks(gates: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The user's own thresholds; the default gate set is the latency and errors lights already."""
    if not gates or gates.get("source") != "config":
        return []
    return [_check(c["metric"].split(".", 1)[0], f"gate {c['name']}", "pass" if c["passed"] else "fail",
                   "config.thresholds" + ("" if c.get("value") is not None else ": not measured in this run"),
                   c.get("value"), c.get("threshold"))
            for c in gates.get("checks") or []]


LIGHTS = (latency, errors, robustness, quality, drift_sensitivity, data_realism)


def _judge(light, result: dict[str, Any]) -> dict[str, Any]:
    """One light; a section of a shape it does not expect is grey, never a crash of the run that stores it."""
    try:
        return light(result)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        name = light.__name__.replace("_", " ")
        return _check("result", name, "not_measured", f"could not be judged: {type(exc).__name__}: {exc}"[:300])


def evaluate(result: dict[str, Any], gates: dict[str, Any] | None = None) -> dict[str, Any]:
    """The verdict of a succeeded run.

    Args:
        result: the run's Result.
        gates: the gates of ``core.results.gates.evaluate`` (only ``source: config`` ones are folded in).

    Returns:
        ``{"status": "pass|warn|fail|incomplete", "checks": [...], "reasons": ["<sentence>"]}``; ``reasons``
        explain every check that is not ``pass``, failures first.
    """
    checks = [_judge(light, result) for light in LIGHTS] + _gate_checks(gates)
    read = {c["section"] for c in checks}  # the sections a light or a gate judged
    skipped = [name for name in SECTIONS if name in read and isinstance(result.get(name), dict)
               and "skipped" in result[name]]
    if any(c["status"] == "fail" for c in checks):
        status = "fail"
    elif skipped:
        status = "incomplete"
    elif any(c["status"] in ("warn", "not_measured") for c in checks):
        status = "warn"
    else:
        status = "pass"
    order = {"fail": 0, "not_measured": 1, "warn": 2}
    reasons = [f"{c['name']}: {c['reason']}" for c in sorted(checks, key=lambda c: order.get(c["status"], 3))
               if c["status"] != "pass"]
    return {"status": status, "checks": checks, "reasons": reasons}


MODEL_FAILURES = ("model_error", "run_timeout", "resource_limit", "model_crashed")


def of_failed_run(error: dict[str, Any] | None) -> dict[str, Any]:
    """A run that ended without a Result: ``fail`` when the model caused it, else ``incomplete``."""
    code = (error or {}).get("code")
    message = (error or {}).get("message") or "the run failed"
    status = "fail" if code in MODEL_FAILURES else "incomplete"
    return {"status": status, "checks": [], "reasons": [f"the run ended {code or 'failed'}: {message}"]}
