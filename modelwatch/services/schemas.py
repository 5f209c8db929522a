"""Schema use cases: infer a schema from a sample CSV (and the model), check one, generate data from one."""
from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.data.edge_cases import edge_cases
from modelwatch.core.data.synthetic import GENERATORS, generate
from modelwatch.core.schema.columns import ColumnMatch, csv_header, match_columns, rename_header, require_match
from modelwatch.core.schema.document import schema_errors, validate_schema
from modelwatch.core.schema.from_csv import infer_frame, read_csv_bytes, warning
from modelwatch.core.schema.from_model import check_against_model, schema_from_model
from modelwatch.core.schema.merge import merge
from modelwatch.errors import BadRequest, ModelwatchError
from modelwatch.models import ModelArtifact
from modelwatch.services.csv_uploads import StoredCsv, check_size
from modelwatch.services.memo import Memo

MAX_GENERATE_ROWS = 1_000_000
MAX_PREVIEW_ROWS = 5_000


# inferring a schema takes ~0.1 s of a POST's 0.13 s, and CI sends the same sample with every commit (the inference
# is deterministic): by the sample's digest, the target and the model's introspection; copies (callers change them)
INFERRED = Memo(32, copies=True)


def infer_schema(sample: bytes | StoredCsv | None, artifact: ModelArtifact | None = None,
                 target: str | None = None) -> dict[str, Any]:
    """Infer a Schema from a sample CSV, merged with what the model knows when there is one; the same sample, target
    and model are answered from ``INFERRED`` (a copy).

    Args:
        sample: the CSV's bytes, or as a run stores it (its columns already matched), or None to build the
            schema from the model alone.
        artifact: the stored model (its cached introspection is used), or None.
        target: the label column, when the user named it.

    Returns:
        ``{"schema": Schema, "warnings": [{"code", "feature", "message"}]}``.

    Raises:
        BadRequest: no sample and no model; the CSV is empty, binary, not UTF-8 or malformed.
        PayloadTooLarge: the sample is over the upload cap.
    """
    info = artifact.info if artifact is not None else None
    if not sample:
        if info is None:
            raise BadRequest("Send a sample CSV, a model, or both.", {"sample": ["required when no model is given"]})
        return {"schema": validate_schema(schema_from_model(info)), "warnings": []}
    key = (sample.digest() if isinstance(sample, StoredCsv) else hashlib.sha256(sample).hexdigest(), target,
           hashlib.sha256(json.dumps(info, sort_keys=True, default=str).encode()).hexdigest() if info else None)
    return INFERRED.get(key, lambda: _infer(sample, info, target))


def _infer(sample: bytes | StoredCsv, info: dict[str, Any] | None, target: str | None) -> dict[str, Any]:
    if isinstance(sample, StoredCsv):
        raw, notes = sample.frame(), []
    else:
        check_size(len(sample))
        raw, notes = read_csv_bytes(sample), []
    if info is not None:
        match = match_columns(list(raw.columns), info, target)
        raw = raw.rename(columns=match.mapped)
        notes = [warning("matched_by_position" if match.rules.get(column) == "position" else "columns_mapped",
                         f"The sample's column {column!r} is the model's feature {feature!r} "
                         f"({match.rules.get(column)} match).", feature) for column, feature in match.mapped.items()]
    schema, warnings, parsed = infer_frame(raw, info["feature_names"] if info else None, target)
    warnings = notes + warnings
    if info is not None:
        schema, warnings = merge(info, schema, warnings, parsed)
    return {"schema": validate_schema(schema), "warnings": warnings}


def match_csv(data: bytes | None, artifact: ModelArtifact, target: str | None = None,
              what: str = "sample") -> tuple[bytes | None, ColumnMatch | None]:
    """A CSV with its columns renamed to the model's features (``core.schema.columns``), read whole (the upload page's
    preview; runs take theirs in chunks through ``csv_uploads.store_csv``).

    Returns:
        ``(csv, match)``: the CSV renamed, and how its columns matched (None without a CSV).

    Raises:
        SchemaMismatch: the CSV lacks a feature the model needs (``details.missing``, ``details.unexpected``,
            ``details.mapped``).
        BadRequest / PayloadTooLarge: the file is not a readable CSV, or too large.
    """
    if not data or artifact.info is None:
        return data, None
    check_size(len(data), what)
    match = require_match(csv_header(data), artifact.info, target, what)
    return rename_header(data, match.mapped), match


def load_schema_file(data: bytes) -> dict[str, Any]:
    """Read an imported schema JSON file and validate it.

    Raises:
        BadRequest: not UTF-8 JSON, or not a valid Schema document.
    """
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"The schema file is not valid JSON ({exc}).", {"schema": [str(exc)]}) from None
    return validate_schema(doc)


def check_schema(doc: Any, artifact: ModelArtifact | None = None) -> dict[str, Any]:
    """Live validation for the editor: field errors, then (when valid) whether it fits the model.

    Returns:
        ``{"valid": bool, "errors": {field: [reasons]}, "mismatch": None | {"message", "details"}}``.
    """
    errors = schema_errors(doc)
    mismatch = None
    if not errors and artifact is not None and artifact.info is not None:
        try:
            check_against_model(validate_schema(doc), artifact.info)
        except ModelwatchError as exc:
            mismatch = {"message": exc.message, "details": exc.details}
    return {"valid": not errors and mismatch is None, "errors": errors, "mismatch": mismatch}


def generate_frame(doc: Any, n_samples: int, seed: int = 0, generator: str = "independent",
                   max_rows: int = MAX_GENERATE_ROWS) -> pd.DataFrame:
    """Validate a schema and generate ``n_samples`` rows from it.

    Raises:
        BadRequest: the schema is invalid, the size is out of bounds, or the generator unknown.
    """
    schema = validate_schema(doc)
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or not 1 <= n_samples <= max_rows:
        raise BadRequest(f"n_samples must be a whole number from 1 to {max_rows:,}.",
                         {"n_samples": [f"must be between 1 and {max_rows}"]})
    if generator not in GENERATORS:
        raise BadRequest(f"Unknown generator {generator!r}; use one of {', '.join(GENERATORS)}.",
                         {"generator": [f"must be one of {list(GENERATORS)}"]})
    return generate(schema, n_samples, seed=int(seed), generator=generator)


def to_csv(frame: pd.DataFrame, schema: dict[str, Any]) -> bytes:
    """The frame as CSV; ints that carry missing values are written as ints, not ``3.0``."""
    ints = [f["name"] for f in schema["features"] if f.get("type") == "int" and frame[f["name"]].dtype.kind == "f"]
    if ints:
        frame = frame.astype({name: "Int64" for name in ints})
    return frame.to_csv(index=False).encode("utf-8")


def generate_csv(doc: Any, n_samples: int, seed: int = 0, generator: str = "independent") -> bytes:
    """Generate rows from a schema and return them as CSV bytes (``POST /api/data/generate``).

    Raises:
        BadRequest: the schema is invalid, the size is out of bounds, or the generator unknown.
    """
    frame = generate_frame(doc, n_samples, seed, generator)
    return to_csv(frame, doc)


def preview(doc: Any, n_samples: int = 200, seed: int = 0, generator: str = "independent") -> pd.DataFrame:
    """A few generated rows for the schema page (capped at ``MAX_PREVIEW_ROWS``)."""
    return generate_frame(doc, min(int(n_samples), MAX_PREVIEW_ROWS), seed, generator, max_rows=MAX_PREVIEW_ROWS)


def summarise(frame: pd.DataFrame, schema: dict[str, Any], bins: int = 30) -> list[dict[str, Any]]:
    """Per-feature histogram data of a generated frame (what ``figures.schema.feature_histogram`` draws)."""
    out = []
    for feature in schema["features"]:
        column = frame[feature["name"]]
        present = column.dropna()
        summary: dict[str, Any] = {"name": feature["name"], "type": feature["type"], "n": int(len(column)),
                                   "missing": int(len(column) - len(present))}
        if feature["type"] in ("float", "int") and not present.empty:
            values = present.to_numpy(dtype=float)
            counts, edges = np.histogram(values, bins=min(bins, max(1, len(np.unique(values)))))
            summary.update(kind="numeric", counts=counts.tolist(), edges=edges.tolist())
        else:
            counts = present.astype(object).value_counts(sort=False)
            order = feature.get("categories") or sorted(counts.index, key=str)
            summary.update(kind="categorical", categories=[c for c in order if c in counts.index],
                           counts=[int(counts[c]) for c in order if c in counts.index])
        out.append(summary)
    return out


def _cell(value: Any) -> Any:
    """A JSON-friendly preview cell: missing as None, floats to 6 significant digits."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    value = value.item() if hasattr(value, "item") else value
    return float(f"{value:.6g}") if isinstance(value, float) else value


def preview_summary(doc: Any, n_samples: int = 500, seed: int = 0, generator: str = "independent",
                    n_rows: int = 20) -> dict[str, Any]:
    """What the schema page shows before a run: the first generated rows and each feature's histogram.

    Returns:
        ``{"columns": [names], "rows": [records], "histograms": [summary per feature]}``.

    Raises:
        BadRequest: the schema is invalid or the generator cannot run on it.
    """
    schema = validate_schema(doc)
    frame = preview(schema, n_samples, seed, generator)
    head = frame.head(n_rows).astype(object)
    rows = [{k: _cell(v) for k, v in row.items()} for row in head.to_dict("records")]
    return {"columns": list(frame.columns), "rows": rows, "histograms": summarise(frame, schema)}


def edge_case_rows(doc: Any) -> list[dict[str, Any]]:
    """The robustness checks' edge-case set for a schema, as printable rows for the schema page."""
    schema = validate_schema(doc)
    return [{"feature": c["feature"], "kind": c["kind"], "description": c["description"], "value": c["label"],
             "valid": "yes" if c["valid"] else "no"} for c in edge_cases(schema)]
