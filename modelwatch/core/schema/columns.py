"""Match a CSV's columns to the model's features, so that a sample is used as the model sees it, or refused.

Rules, in order; each model feature takes the first rule that finds it, and a column is used once:

1. **exact**: the column has the feature's name (names are compared after stripping surrounding spaces).
2. **sanitised**: the model's library renamed its training columns, and the column, renamed the same way,
   has the feature's name. LightGBM stores every space (and each of the JSON characters ``",:[]{}``) as
   ``_``: the column ``mean radius`` matches the feature ``mean_radius``. XGBoost keeps names as given (it
   refuses ``[``, ``]`` and ``<`` at training time), so only rule 1 applies to it.
3. **position**: a model fitted on an array has no names (its features are ``f0``..``fN-1``); when the CSV
   has exactly as many columns as it has features (not counting the target) and none is named ``f0``..,
   they are matched in order.

Columns the model needs and the CSV lacks are ``missing``: such a file is refused (``schema_mismatch``),
never completed with invented values. Columns that match no feature and are not the target are
``unexpected`` and left out. Matched columns are renamed to the model's names before the run
(``rename_header``), so every section sees the model's names.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from modelwatch.core.schema.from_csv import decode, sniff_delimiter, suggest_target
from modelwatch.errors import SchemaMismatch

_LIGHTGBM_RENAMED = re.compile(r'[ ",:\[\]{}]')


@dataclass(frozen=True)
class ColumnMatch:
    """How a CSV's columns meet the model's features."""

    mapped: dict[str, str] = field(default_factory=dict)  # CSV column -> the feature it was renamed to
    rules: dict[str, str] = field(default_factory=dict)  # CSV column -> "sanitised" | "position"
    missing: list[str] = field(default_factory=list)  # features the CSV lacks
    unexpected: list[str] = field(default_factory=list)  # columns that are neither a feature nor the target

    def details(self, what: str) -> dict[str, Any]:
        """The ``schema_mismatch`` details: ``file``, ``missing``, ``unexpected`` and ``mapped``."""
        return {"file": what, "missing": self.missing, "unexpected": self.unexpected, "mapped": self.mapped}


def sanitiser(info: dict[str, Any]) -> tuple[str, Any] | None:
    """``(library, rename)`` when the model's library renames training columns (rule 2), else None."""
    if str(info.get("type", "")).startswith("lightgbm."):
        return "lightgbm", lambda name: _LIGHTGBM_RENAMED.sub("_", name)
    return None


def match_columns(columns: list[str], info: dict[str, Any], target: str | None = None) -> ColumnMatch:
    """Match CSV ``columns`` to the model's features (see the module docstring for the rules).

    Args:
        columns: the CSV's header.
        info: the model's introspection (``feature_names``, ``feature_names_from_model``, ``type``).
        target: the label column the user named; else a column named like one is taken as the target.
    """
    columns = [str(c).strip() for c in columns]
    features = list(info["feature_names"])
    found: dict[str, str] = {f: f for f in features if f in columns}  # feature -> column
    rules: dict[str, str] = {}
    rename = sanitiser(info)
    if rename is not None:
        free = [c for c in columns if c not in found.values() and c not in features]
        for column in free:
            feature = rename[1](column)
            if feature in features and feature not in found:
                found[feature], rules[column] = column, "sanitised"
    if not found and not info.get("feature_names_from_model", True):
        label = target if target in columns else suggest_target(columns, None)
        inputs = [c for c in columns if c != label]
        if len(inputs) == len(features):
            found = dict(zip(features, inputs))
            rules = {c: "position" for c in inputs}
    used = set(found.values())
    label = target if target in columns else suggest_target([c for c in columns if c not in used], None)
    return ColumnMatch(
        mapped={column: feature for feature, column in found.items() if column != feature},
        rules=rules,
        missing=[f for f in features if f not in found],
        unexpected=[c for c in columns if c not in used and c != label],
    )


def require_match(columns: list[str], info: dict[str, Any], target: str | None = None,
                  what: str = "sample") -> ColumnMatch:
    """``match_columns``, refusing a CSV that lacks any feature the model needs.

    Raises:
        SchemaMismatch: with ``details.file``, ``details.missing``, ``details.unexpected`` and
            ``details.mapped`` (``{CSV column: feature}`` for the columns that were renamed).
    """
    match = match_columns(columns, info, target)
    if match.missing:
        shared = len(info["feature_names"]) - len(match.missing)
        parts = [f"{len(match.missing)} of the model's {len(info['feature_names'])} features are missing "
                 f"({', '.join(match.missing[:5])}{', …' if len(match.missing) > 5 else ''})"]
        if match.unexpected:
            parts.append(f"{len(match.unexpected)} column(s) are not model features "
                         f"({', '.join(match.unexpected[:5])}{', …' if len(match.unexpected) > 5 else ''})")
        hint = ("it shares no column with the model" if shared == 0 else f"it matches {shared} feature(s)")
        raise SchemaMismatch(f"The {what} CSV does not fit the model: {'; '.join(parts)}; {hint}. Name its "
                             "columns as the model's features (or give the label column) and send it again; "
                             "a run never fills missing columns with invented data.", match.details(what))
    return match


def csv_header(data: bytes) -> list[str]:
    """The CSV's column names (decoded and split as ``schema.from_csv.read_csv_bytes`` does, names stripped)."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text), skipinitialspace=True)
    return [name.strip() for name in next(reader, [])]


def rename_header(data: bytes, mapping: dict[str, str]) -> bytes:
    """The CSV with its header's columns renamed by ``mapping``; the rows are kept byte for byte (as UTF-8)."""
    if not mapping:
        return data
    text = decode(data)
    delimiter = sniff_delimiter(text)
    stream = io.StringIO(text, newline="")
    header = next(csv.reader(stream, delimiter=delimiter, skipinitialspace=True))
    rest = text[stream.tell():]
    ending = "\r\n" if text[:stream.tell()].endswith("\r\n") else "\n"
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=ending).writerow(
        [mapping.get(name.strip(), name.strip()) for name in header])
    return (out.getvalue() + rest).encode("utf-8")
