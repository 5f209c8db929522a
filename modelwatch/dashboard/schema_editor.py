"""The schema page's grid rows <-> Schema document, and validation messages a person reads (no Dash imports)."""
from __future__ import annotations

import re
from typing import Any

from modelwatch.core.schema.document import PARAMS

COLUMNS = ("name", "type", "min", "max", "categories", "weights", "kind", "params", "nullable", "missing_rate")
_PATH = re.compile(r"^features\[(\d+)\]\.?(.*)$")


def _text(values: list[Any] | None, sep: str = ", ") -> str:
    if not values:
        return ""
    return sep.join("true" if v is True else "false" if v is False else f"{v:g}" if isinstance(v, float) else str(v)
                    for v in values)


def params_text(distribution: dict[str, Any] | None) -> str:
    """``{"kind": "normal", "mean": 0, "std": 1}`` -> ``"mean=0, std=1"`` (quantiles space-separated)."""
    if not distribution:
        return ""
    parts = []
    known = PARAMS.get(distribution.get("kind"), ())
    keys = [k for k in known if k in distribution] + [k for k in distribution if k not in known and k != "kind"]
    for key in keys:
        value = distribution[key]
        parts.append(f"{key}={_text(value, ' ') if isinstance(value, list) else _text([value])}")
    return ", ".join(parts)


def schema_to_rows(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One editable grid row per feature."""
    rows = []
    for feature in schema.get("features", []):
        dist = feature.get("distribution") or {}
        rows.append({
            "name": feature.get("name"), "type": feature.get("type"), "min": feature.get("min"),
            "max": feature.get("max"), "categories": _text(feature.get("categories")),
            "weights": _text(feature.get("weights")), "kind": dist.get("kind") or "", "params": params_text(dist),
            "nullable": bool(feature.get("nullable")), "missing_rate": feature.get("missing_rate") or 0.0,
            "flags": ", ".join(feature.get("flags") or []), "source": feature.get("source") or "user",
        })
    return rows


def new_row(existing: list[dict[str, Any]]) -> dict[str, Any]:
    """A fresh float feature with a name no other row has."""
    names = {r.get("name") for r in existing}
    i = len(existing)
    while f"feature_{i}" in names:
        i += 1
    return {"name": f"feature_{i}", "type": "float", "min": None, "max": None, "categories": "", "weights": "",
            "kind": "normal", "params": "mean=0, std=1", "nullable": False, "missing_rate": 0.0, "flags": ""}


def _scalar(text: str, ftype: str | None) -> Any:
    text = text.strip()
    low = text.lower()
    if ftype == "bool" and low in ("true", "false"):
        return low == "true"
    if ftype == "categorical":
        return text
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if ftype == "int" and number.is_integer() else number


def _number(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return value  # left for validation to name


def _split(text: Any) -> list[str]:
    if isinstance(text, list):
        return [str(t) for t in text]
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


def parse_params(text: str, ftype: str | None) -> tuple[dict[str, Any], list[str]]:
    """``"mean=0, std=1"`` -> ``{"mean": 0.0, "std": 1.0}``; ``"quantiles=0 1 5"`` -> a list."""
    params, errors = {}, []
    for part in _split(text):
        if "=" not in part:
            errors.append(f"{part!r} is not key=value")
            continue
        key, value = (s.strip() for s in part.split("=", 1))
        if key == "quantiles":
            params[key] = [_scalar(v, "float") for v in value.split()]
        elif key == "value":
            params[key] = _scalar(value, ftype)
        else:
            params[key] = _scalar(value, "float")
    return params, errors


def rows_to_schema(rows: list[dict[str, Any]], base: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict]:
    """The Schema document the grid describes, keeping ``base``'s target, copula and flags, and each unedited
    row's ``source`` (an edited row becomes ``user``).

    Returns:
        ``(doc, parse_errors)`` with errors keyed like validation errors (``features[2].params``).
    """
    base = base or {}
    flags = {f.get("name"): f.get("flags") or [] for f in base.get("features", [])}
    before = {row["name"]: row for row in schema_to_rows(base)}  # an edited row's data is the user's
    features, errors = [], {}
    for i, row in enumerate(rows or []):
        ftype = row.get("type")
        feature: dict[str, Any] = {"name": str(row.get("name") or "").strip(), "type": ftype,
                                   "min": _number(row.get("min")), "max": _number(row.get("max")),
                                   "nullable": bool(row.get("nullable")),
                                   "missing_rate": _number(row.get("missing_rate")) or 0.0}
        cats = _split(row.get("categories"))
        if cats:
            feature["categories"] = [_scalar(c, ftype) for c in cats]
        weights = _split(row.get("weights"))
        if weights:
            feature["weights"] = [_scalar(w, "float") for w in weights]
        kind = (row.get("kind") or "").strip()
        if kind:
            params, problems = parse_params(row.get("params") or "", ftype)
            feature["distribution"] = {"kind": kind, **params}
            if problems:
                errors[f"features[{i}].params"] = problems
        if flags.get(feature["name"]):
            feature["flags"] = flags[feature["name"]]
        original = before.get(feature["name"])
        if row.get("source") and original and all(row.get(c) == original.get(c) for c in COLUMNS):
            feature["source"] = row["source"]
        features.append(feature)
    doc: dict[str, Any] = {"schema_version": 1, "features": features, "target": base.get("target")}
    copula = base.get("copula")
    names = {f["name"] for f in features}
    if copula and all(n in names for n in copula.get("features", [])):
        doc["copula"] = copula
    return doc, errors


def messages(errors: dict[str, list[str]], rows: list[dict[str, Any]]) -> list[str]:
    """``{"features[2].min": [...]}`` -> ``["Row 3 (age) · min: must be ..."]``."""
    out = []
    for path, reasons in errors.items():
        match = _PATH.match(path)
        if match:
            index = int(match.group(1))
            name = rows[index].get("name") if index < len(rows) else None
            where = f"Row {index + 1}" + (f" ({name})" if name else "")
            where += f" · {match.group(2)}" if match.group(2) else ""
        else:
            where = path
        out.extend(f"{where}: {reason}" for reason in reasons)
    return out


KIND_HELP = "; ".join(f"{kind}: {', '.join(keys) or 'categories + weights'}" for kind, keys in PARAMS.items())
