"""What the Drift tab leads with, read from the drift section of a Result: the summary widgets, one row per
column (ranked by drift score or by impact), and the scenario families ranked by impact.

Pure data in, plain dicts out (no Dash, no Plotly), so the ranking rules are tested on their own.

A column's **drift score** puts every test on one scale: 1 at the test's threshold, above 1 the further past it
(``log p / log threshold`` for p-value tests, ``statistic / threshold`` for distances: Wasserstein, PSI,
Jensen-Shannon). **Impact** is the largest impact any simulated scenario of the column had on the predictions.
"""
from __future__ import annotations

import math
from typing import Any

DATASET_DRIFT_SHARE = 0.5  # stattests.DATASET_DRIFT_SHARE, as the rule shown to the reader
MAX_SCORE = 1000.0  # a p-value of 0 is "far past the threshold", not infinity
SORTS = {"drift": "drift score", "impact": "impact on predictions"}


def label(feature: str | None, kind: str) -> str:
    """A scenario family's name: "mean radius · mean_shift", "all features · scale"."""
    return f"{feature if feature is not None else 'all features'} · {kind}"


def drift_score(column: dict[str, Any]) -> float | None:
    """One scale for every test: 1 at its threshold, larger the further past it (None without a test)."""
    threshold, statistic, p_value = column.get("threshold"), column.get("statistic"), column.get("p_value")
    if not threshold or statistic is None:
        return None
    if p_value is not None:
        if not 0 < threshold < 1:
            return None
        return MAX_SCORE if p_value <= 0 else min(MAX_SCORE, math.log(p_value) / math.log(threshold))
    return min(MAX_SCORE, float(statistic) / float(threshold))


def _breaks(drift: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted((b for b in drift.get("breaking_points") or [] if b.get("severity") is not None),
                  key=lambda b: (b["severity"], b["feature"] is None))


def _break_reason(point: dict[str, Any]) -> str:
    if point.get("error"):
        return f"the model raised {point['error'].split(':')[0]}"
    failed = point.get("failed") or []
    return "; ".join(f"{f['metric']} = {f['value']:.3g}" for f in failed) or "a gate failed"


def widgets(drift: dict[str, Any]) -> dict[str, Any]:
    """The four headline answers: columns drifted (of N), dataset drift and its rule, the scenario the model reacts
    to most, and the first breaking point. Each is None when the run could not answer it."""
    current = drift.get("current") if isinstance(drift.get("current"), dict) else None
    columns = dataset = None
    if current and current.get("columns") is not None:
        n = len(current["columns"])
        columns = {"n_drifted": current.get("n_drifted", sum(bool(c.get("drift_detected"))
                                                               for c in current["columns"])),
                   "n_columns": n, "share": current.get("share_drifted")}
        multi = drift.get("multivariate") or {}
        dataset = {"detected": bool(current.get("dataset_drift")), "share": DATASET_DRIFT_SHARE,
                   "joint": {"auc": multi["auc"], "detected": bool(multi.get("drift_detected"))}
                   if multi.get("auc") is not None else None}
    scored = [s for s in drift.get("scenarios") or [] if s.get("impact") is not None]
    # the largest impact; on a tie, the gentler scenario says more
    top = max(scored, key=lambda s: (s["impact"], -s["severity"])) if scored else None
    reacts = {"label": label(top["feature"], top["kind"]), "feature": top["feature"], "kind": top["kind"],
              "severity": top["severity"], "impact": top["impact"], "flip_rate": top.get("flip_rate"),
              "measure": drift.get("impact_measure", "impact")} if top else None
    breaks = _breaks(drift)
    tested = drift.get("breaking_points") or []
    breaking = {"label": label(breaks[0]["feature"], breaks[0]["kind"]), "severity": breaks[0]["severity"],
                "why": _break_reason(breaks[0]), "n_broken": len(breaks), "n_families": len(tested)} if breaks else \
        {"label": None, "n_broken": 0, "n_families": len(tested),
         "holds_up_to": max((b["max_severity_tested"] for b in tested), default=None)} if tested else None
    return {"columns": columns, "dataset": dataset, "reacts_most": reacts, "breaking": breaking}


def column_rows(drift: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per column: its test on current data (when given), drift score, largest scenario impact, first
    breaking severity, and its binned reference / current (or most drifted scenario) shares for the plot."""
    current = drift.get("current") if isinstance(drift.get("current"), dict) else {}
    tests = {c["feature"]: c for c in (current or {}).get("columns") or []}
    impact = {r["feature"]: r for r in drift.get("sensitivity") or []}
    breaks: dict[str, dict[str, Any]] = {}
    for b in _breaks(drift):
        if b["feature"] is not None:
            breaks.setdefault(b["feature"], b)
    distributions = drift.get("distributions") or {}
    names = list(dict.fromkeys([*tests, *impact, *distributions]))
    rows = []
    for name in names:
        test, hit = tests.get(name) or {}, impact.get(name) or {}
        rows.append({"feature": name, "test": test.get("test"), "test_display": test.get("test_display"),
                     "statistic": test.get("statistic"), "p_value": test.get("p_value"),
                     "threshold": test.get("threshold"), "drifted": bool(test.get("drift_detected")) if test else None,
                     "missing_drift": bool((test.get("missing_test") or {}).get("drift_detected")),
                     "score": drift_score(test) if test else None, "impact": hit.get("impact"),
                     "impact_kind": hit.get("kind"), "impact_severity": hit.get("severity"),
                     "breaks_at": (breaks.get(name) or {}).get("severity"),
                     "breaks_kind": (breaks.get(name) or {}).get("kind"),
                     "histogram": histogram(distributions.get(name))})
    return rows


def histogram(dist: dict[str, Any] | None) -> dict[str, Any] | None:
    """The reference and current bins of one column (the most drifted scenario's when there is no current data)."""
    if not dist:
        return None
    counts = dist.get("counts") or {}
    other = "current" if "current" in counts else max((k for k in counts if k != "reference"), default=None,
                                                       key=_severity_of)
    keep = {k: counts[k] for k in ("reference", other) if k in counts}
    return {"kind": dist.get("kind"), "edges": dist.get("edges"), "categories": dist.get("categories"),
            "counts": keep}


def _severity_of(series_name: str) -> float:
    try:
        return float(series_name.rsplit(" ", 1)[-1])
    except ValueError:
        return 0.0


def sort_rows(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Rows by drift score (drifted columns first) or by impact; columns without the value go last, by name."""
    if by == "impact":
        return sorted(rows, key=lambda r: (r["impact"] is None, -(r["impact"] or 0.0), r["feature"]))
    return sorted(rows, key=lambda r: (not r["drifted"], r["score"] is None, -(r["score"] or 0.0),
                                       -(r["impact"] or 0.0), r["feature"]))


def scenario_families(drift: dict[str, Any]) -> list[dict[str, Any]]:
    """Per feature and kind, its impact at each severity, where the test first noticed it and where it broke,
    the largest impact first (families the model raised on, without an impact, after them)."""
    families: dict[tuple[str | None, str], dict[str, Any]] = {}
    for s in drift.get("scenarios") or []:
        family = families.setdefault((s["feature"], s["kind"]), {
            "label": label(s["feature"], s["kind"]), "feature": s["feature"], "kind": s["kind"], "impact": {},
            "max_impact": None, "detected_from": None, "breaks_at": None, "error": None})
        if s.get("impact") is not None:
            family["impact"][s["severity"]] = s["impact"]
            family["max_impact"] = max(family["max_impact"] or 0.0, s["impact"])
        if s.get("drift_detected") and (family["detected_from"] is None or s["severity"] < family["detected_from"]):
            family["detected_from"] = s["severity"]
        family["error"] = family["error"] or s.get("error")
    for b in drift.get("breaking_points") or []:
        if (b["feature"], b["kind"]) in families:
            families[(b["feature"], b["kind"])]["breaks_at"] = b.get("severity")
    return sorted(families.values(), key=lambda f: (f["max_impact"] is None, -(f["max_impact"] or 0.0),
                                                    f["label"]))
