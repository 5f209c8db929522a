"""Infer a Schema from a sample CSV: decoding, delimiter, column types, ranges, frequencies and fitted distributions.

Rules, column by column (values are stripped; empty cells and the usual NA spellings are missing):

- **empty**: no value at all: a nullable float with ``missing_rate`` 1, flagged ``empty``.
- **bool**: every value is one of true/false, yes/no, y/n, t/f (any case): categories ``[false, true]``
  with their frequencies as weights. ``0``/``1`` stay numbers.
- **int / float**: every value parses as a number (a column where at most 5% of the values do not parse
  is numeric too, those values counted as missing, with a warning). Integral values give ``int``, also
  with missing values. The distribution: ``constant`` for one distinct value; ``categorical`` over the
  values when there are at most 20 distinct ones and each repeats on average (distinct <= half the
  values); otherwise the best of normal, lognormal (positive data) and uniform by the Kolmogorov-Smirnov
  statistic, replaced by ``empirical`` (101 quantiles) when even the best is rejected at the 1% level on
  50 or more values. ``min``/``max`` are the observed range.
- **categorical** (the cardinality rule): any other column. All its distinct values are categories when
  there are at most ``MAX_CATEGORIES`` (50) of them; above that the column is flagged ``high_cardinality``
  and only the 50 most frequent values are kept as categories (the generator draws only those).
- **flags**: ``constant`` (one distinct value); ``id_like`` when every value is distinct on 20 or more
  rows (text, or integers) or the name looks like an identifier (``id``, ``*_id``, ``uuid``...) with
  90% distinct values: such columns rarely belong in a model and are flagged, not dropped.

The target: a column named like one (``target``, ``label``, ``y``, ``class``, ``outcome``...), or, when the
model's feature names are known, the one column the model does not take. It leaves the features and
becomes ``target`` (with its classes when it has at most 20 distinct values).
"""
from __future__ import annotations

import csv
import io
import re
from functools import partial
from typing import Any, TextIO

import numpy as np
import pandas as pd
from scipy import stats

from modelwatch.core.data.copula import fit_copula
from modelwatch.core.schema.document import SCHEMA_VERSION
from modelwatch.errors import BadRequest

MAX_CATEGORIES = 50
MAX_DISCRETE_NUMBERS = 20
ID_MIN_ROWS = 20
EMPIRICAL_POINTS = 101
DELIMITERS = (",", ";", "\t", "|")
KS_MAX_VALUES = 5_000  # the goodness-of-fit test runs on a fixed subsample: fast, and not over-powered
COPULA_MAX_ROWS = 20_000
TRUE_TEXT = {"true", "yes", "y", "t"}
FALSE_TEXT = {"false", "no", "n", "f"}
TARGET_NAMES = {"target", "label", "labels", "y", "class", "outcome", "response", "churn", "churned",
                "survived", "is_fraud", "fraud", "default", "diagnosis"}
ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key|index)$|^(id|uuid|guid)_|^unnamed: ?0$", re.IGNORECASE)


def warning(code: str, message: str, feature: str | None = None) -> dict[str, Any]:
    """One inference warning as shown to the user: ``{"code", "feature", "message"}``."""
    return {"code": code, "feature": feature, "message": message}


def decode(data: bytes) -> str:
    """The CSV's text: UTF-8 (a BOM tolerated) or UTF-16 with a BOM.

    Raises:
        BadRequest: the file is empty, binary, or not UTF-8.
    """
    try:
        return data.decode(text_encoding(data))
    except UnicodeDecodeError as exc:
        raise not_utf8(data[exc.start], exc.start) from None


def text_encoding(head: bytes) -> str:
    """The codec of a CSV that starts with ``head`` (its whole text, or its first chunk when streamed).

    Raises:
        BadRequest: the file is empty or binary.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if not head.strip():
        raise BadRequest("The sample CSV is empty.", {"sample": ["the file is empty"]})
    if b"\x00" in head[:8192]:
        raise BadRequest("The sample is not a CSV file: it looks binary (it contains NUL bytes).",
                         {"sample": ["binary content; expected a UTF-8 text CSV"]})
    return "utf-8-sig"


def not_utf8(byte: int, position: int) -> BadRequest:
    """The error for a CSV whose byte at ``position`` is not valid UTF-8."""
    return BadRequest(f"The sample CSV is not UTF-8 (byte 0x{byte:02x} at position {position}); "
                      "save it as UTF-8 and upload it again.",
                      {"sample": [f"not UTF-8: byte 0x{byte:02x} at position {position}"]})


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of fields (quotes respected)."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv_bytes(data: bytes) -> pd.DataFrame:
    """Read a CSV: encoding checks, BOM, sniffed delimiter, then pandas' own (fast) typing.

    Inference refines the columns pandas leaves as text (``infer_column``). Also for the sections that need
    real rows (quality, drift, the copula fit): ``pd.read_csv`` alone would choke on a semicolon file or
    keep a BOM in the first column name.

    Raises:
        BadRequest: undecodable, binary or malformed CSV.
    """
    text = decode(data)
    return read_csv_text(io.StringIO(text), sniff_delimiter(text))


def read_csv_text(stream: TextIO, delimiter: str) -> pd.DataFrame:
    """Read decoded CSV text with pandas' own typing; ``stream`` may be a file that pandas reads in chunks.

    Raises:
        BadRequest: malformed CSV.
    """
    try:
        frame = pd.read_csv(stream, sep=delimiter, skipinitialspace=True, on_bad_lines="error")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise BadRequest(f"The CSV could not be parsed: {str(exc).strip()[:200]}",
                         {"sample": [str(exc).strip()[:200]]}) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _to_numbers(values: pd.Series) -> tuple[np.ndarray, int]:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers, int(np.isnan(numbers).sum())


def fit_distribution(values: np.ndarray) -> dict[str, Any]:
    """The continuous distribution that fits ``values`` best (see the module docstring for the rule)."""
    mean, std = float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0
    if std <= 0:
        return {"kind": "constant", "value": mean}
    # the cdfs with their parameters bound, not frozen distributions: freezing one builds its docstring (~0.5 ms)
    candidates = {"normal": ({"mean": mean, "std": std}, partial(stats.norm.cdf, loc=mean, scale=std))}
    low, high = float(values.min()), float(values.max())
    candidates["uniform"] = ({"low": low, "high": high}, partial(stats.uniform.cdf, loc=low, scale=high - low))
    if low > 0:
        logs = np.log(values)
        mu, sigma = float(logs.mean()), float(logs.std(ddof=1))
        if sigma > 0:
            candidates["lognormal"] = ({"mean": mu, "sigma": sigma},
                                       partial(stats.lognorm.cdf, s=sigma, scale=np.exp(mu)))
    tested = values
    if len(values) > KS_MAX_VALUES:
        tested = np.random.default_rng(0).choice(values, KS_MAX_VALUES, replace=False)
    tests = {kind: stats.kstest(tested, cdf) for kind, (_, cdf) in candidates.items()}
    kind = min(tests, key=lambda k: tests[k].statistic)
    if len(values) >= 50 and tests[kind].pvalue < 0.01:
        q = np.quantile(values, np.linspace(0.0, 1.0, EMPIRICAL_POINTS))
        return {"kind": "empirical", "quantiles": [float(v) for v in q]}
    return {"kind": kind, **{k: round(float(v), 10) for k, v in candidates[kind][0].items()}}


def _frequencies(values: pd.Series, limit: int) -> tuple[list[Any], list[float]]:
    counts = values.value_counts(sort=True)
    if len(counts) > limit:
        counts = counts.iloc[:limit]
    else:
        counts = counts.sort_index() if all(isinstance(v, (int, float)) for v in counts.index) else counts
    total = float(counts.sum())
    return [v.item() if hasattr(v, "item") else v for v in counts.index], [round(c / total, 6) for c in counts]


def _clean_text(column: pd.Series) -> pd.Series:
    """A non-numeric column as stripped text (object dtype), empty cells missing."""
    text = column.astype(object)
    present = text.notna()
    text = text.where(~present, text[present].astype(str).str.strip())
    return text.where(text != "", np.nan)


def infer_column(name: str, column: pd.Series) -> tuple[dict[str, Any], pd.Series, list[dict[str, Any]]]:
    """Infer one feature from a column as ``read_csv_bytes`` typed it.

    Returns:
        The feature, the column parsed to its type (numbers, bools or text; NaN where missing), warnings.
    """
    n = len(column)
    warnings: list[dict[str, Any]] = []
    feature: dict[str, Any] = {"name": name, "nullable": False, "missing_rate": 0.0, "flags": [], "source": "sample"}
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric:  # pandas parsed every cell as a number: no text to look at
        text = None
        numbers = column.to_numpy(dtype=float, na_value=np.nan, copy=True)
        numbers[~np.isfinite(numbers)] = np.nan
        n_present = int((~np.isnan(numbers)).sum())
        unparsed = 0
    else:
        text = _clean_text(column)
        n_present = int(text.notna().sum())
    if n_present == 0:
        feature.update(type="float", nullable=True, missing_rate=1.0, flags=["empty"],
                       distribution={"kind": "constant", "value": 0.0})
        warnings.append(warning("empty_column", f"Column {name!r} has no values; it is generated as all missing.",
                                name))
        return feature, pd.Series(np.full(n, np.nan), index=column.index, name=name), warnings
    if text is not None:
        lowered = text.dropna().str.lower()
        is_bool = bool(lowered.isin(TRUE_TEXT | FALSE_TEXT).all())
        if not is_bool:
            numbers, bad = _to_numbers(text)
            unparsed = bad - (n - n_present)
    if text is not None and is_bool:
        parsed = text.str.lower().map(lambda v: v in TRUE_TEXT if isinstance(v, str) else np.nan)
        share = float(lowered.isin(TRUE_TEXT).mean())
        feature.update(type="bool", categories=[False, True], weights=[round(1 - share, 6), round(share, 6)],
                       distribution={"kind": "categorical"})
    elif numeric or (unparsed <= 0.05 * n_present and unparsed < n_present):
        if unparsed:
            warnings.append(warning("non_numeric_values", f"Column {name!r} is numeric but {unparsed} value(s) are "
                                    "not numbers; they are treated as missing.", name))
        parsed = pd.Series(numbers, index=column.index, name=name)
        _numeric_feature(feature, numbers[~np.isnan(numbers)])
    else:
        parsed = text
        values = text.dropna()
        n_unique = values.nunique()
        cats, weights = _frequencies(values, MAX_CATEGORIES)
        feature.update(type="categorical", categories=cats, weights=weights, distribution={"kind": "categorical"})
        if n_unique > MAX_CATEGORIES:
            feature["flags"].append("high_cardinality")
            warnings.append(warning("high_cardinality", f"Column {name!r} has {n_unique} distinct values; only the "
                                    f"{MAX_CATEGORIES} most frequent are kept as categories.", name))
    valid = parsed.dropna()
    n_unique = valid.nunique()
    if n_unique == 1:
        feature["flags"].append("constant")
        if feature["type"] in ("bool", "categorical"):
            feature["distribution"] = {"kind": "constant", "value": feature["categories"][0]}
        warnings.append(warning("constant_column", f"Column {name!r} holds a single value; it carries no information.",
                                name))
    if _id_like(name, feature, valid, n_unique):
        feature["flags"].append("id_like")
        warnings.append(warning("id_like_column", f"Column {name!r} looks like an identifier (distinct on every row); "
                                "models rarely should take it.", name))
    missing = int(parsed.isna().sum())
    if missing:
        feature.update(nullable=True, missing_rate=round(missing / n, 6))
    return feature, parsed, warnings


def _numeric_feature(feature: dict[str, Any], values: np.ndarray) -> None:
    integral = bool(np.all(values == np.round(values))) and np.abs(values).max() < 2**53
    feature["type"] = "int" if integral else "float"
    low, high = float(values.min()), float(values.max())
    feature.update(min=int(low) if integral else low, max=int(high) if integral else high)
    distinct = np.unique(values)
    if len(distinct) == 1:
        feature["distribution"] = {"kind": "constant", "value": feature["min"]}
    elif len(distinct) <= MAX_DISCRETE_NUMBERS and len(distinct) <= len(values) / 2:
        counts = np.array([np.sum(values == v) for v in distinct], dtype=float)
        feature["categories"] = [int(v) if integral else float(v) for v in distinct]
        feature["weights"] = [round(c, 6) for c in (counts / counts.sum()).tolist()]
        feature["distribution"] = {"kind": "categorical"}
    else:
        feature["distribution"] = fit_distribution(values)


def _id_like(name: str, feature: dict[str, Any], valid: pd.Series, n_unique: int) -> bool:
    if feature["type"] not in ("categorical", "int") or valid.empty:
        return False
    if ID_NAME.search(name) and n_unique >= 0.9 * len(valid) and len(valid) > 1:
        return True
    return len(valid) >= ID_MIN_ROWS and n_unique == len(valid)


def suggest_target(columns: list[str], feature_names: list[str] | None) -> str | None:
    """The column that looks like the label: the one the model does not take, else one named like a target."""
    if feature_names:
        outside = [c for c in columns if c not in set(feature_names)]
        named = [c for c in outside if _target_like(c)]
        if named:
            return named[0]
        if len(outside) == 1:
            return outside[0]
        return None
    named = [c for c in columns if _target_like(c)]
    return named[0] if named else None


def _target_like(name: str) -> bool:
    low = name.strip().lower()
    return low in TARGET_NAMES or low.startswith(("target", "label")) or low.endswith(("_target", "_label"))


def _target(feature: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    classes = None
    distinct = values.dropna().unique()
    if feature["type"] in ("bool", "categorical") or len(distinct) <= MAX_DISCRETE_NUMBERS:
        if feature["type"] == "int":
            distinct = distinct.astype(float).astype(int)
        classes = sorted(v.item() if hasattr(v, "item") else v for v in distinct) or None
    return {"name": feature["name"], "type": feature["type"], "classes": classes}


def copula_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a copula is fitted on: all of them up to ``COPULA_MAX_ROWS``, a fixed random subset beyond
    (the correlations settle long before; the whole of a 50 MB sample would cost its size again in memory)."""
    return frame.sample(COPULA_MAX_ROWS, random_state=0) if len(frame) > COPULA_MAX_ROWS else frame


def infer_frame(raw: pd.DataFrame, feature_names: list[str] | None = None,
                target: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]], pd.DataFrame]:
    """Infer a Schema from a frame as ``read_csv_bytes`` reads it.

    Args:
        raw: the sample's rows.
        feature_names: the model's feature names, when known (to suggest the target).
        target: the label column, when the user said; else one is suggested.

    Returns:
        ``(schema, warnings, parsed)``: the Schema (with a fitted ``copula`` block when two or more columns
        vary), the warnings, and the frame parsed to the inferred types.
    """
    warnings: list[dict[str, Any]] = []
    features, parsed = [], {}
    for name in raw.columns:
        feature, column, notes = infer_column(name, raw[name])
        features.append(feature)
        parsed[name] = column
        warnings.extend(notes)
    frame = pd.DataFrame(parsed, index=raw.index, copy=False)  # the parsed columns as they are: no second copy
    if len(raw) < 30:
        warnings.append(warning("few_rows", f"The sample has {len(raw)} row(s); ranges and fitted distributions "
                                "are rough. More rows give a better schema."))
    target_name = target if target in raw.columns else suggest_target(list(raw.columns), feature_names)
    schema: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "features": features, "target": None}
    if target_name is not None:
        feature = next(f for f in features if f["name"] == target_name)
        schema["target"] = _target(feature, frame[target_name])
        schema["features"] = [f for f in features if f["name"] != target_name]
        if target is None:
            warnings.append(warning("target_suggested", f"Column {target_name!r} is taken as the target (label); "
                                    "it is not generated as a feature.", target_name))
    if not schema["features"]:
        raise BadRequest("The sample CSV has no feature columns.", {"sample": ["no columns besides the target"]})
    copula = fit_copula(schema, copula_rows(frame)) if len(frame) >= 3 else None
    if copula:
        schema["copula"] = copula
    return schema, warnings, frame


def infer_csv(data: bytes, feature_names: list[str] | None = None,
              target: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Infer a Schema from CSV bytes.

    Args:
        data: the file's bytes.
        feature_names: the model's feature names, when known.
        target: the label column, when known.

    Returns:
        ``(schema, warnings)``; each warning is ``{"code", "feature", "message"}``.

    Raises:
        BadRequest: the file is empty, binary, not UTF-8, or not parseable as CSV.
    """
    schema, warnings, _ = infer_frame(read_csv_bytes(data), feature_names, target)
    return schema, warnings
