"""Before a run: what a dropped sample CSV holds and how its columns meet the model's features."""
from __future__ import annotations

from typing import Any

from modelwatch.core.schema.columns import match_columns
from modelwatch.core.schema.from_csv import read_csv_bytes, suggest_target
from modelwatch.errors import BadRequest
from modelwatch.models import ModelArtifact


def preview(sample_csv: bytes, artifact: ModelArtifact | None) -> dict[str, Any]:
    """Rows, columns and the column match of a sample (``core.schema.columns``' rules), and its likely label column.

    Returns:
        ``{"n_rows", "columns", "features", "matched", "missing", "unexpected", "mapped", "target"}``.

    Raises:
        BadRequest: the bytes are not a CSV modelwatch can read.
    """
    try:
        frame = read_csv_bytes(sample_csv)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file, said in one sentence
        raise BadRequest(f"The sample is not a CSV modelwatch can read: {str(exc)[:200]}") from exc
    columns = [str(c) for c in frame.columns]
    info = (artifact.info or {}) if artifact is not None else {}
    features = list(info.get("feature_names") or [])
    if not features:
        return {"n_rows": len(frame), "columns": columns, "features": [], "matched": [], "missing": [],
                "unexpected": columns, "mapped": {}, "target": suggest_target(columns, None)}
    match = match_columns(columns, info)
    used = set(match.unexpected) | set(match.mapped) | set(features)
    leftover = [c for c in columns if c not in used]  # neither a feature nor unexpected: the label it guessed
    return {"n_rows": len(frame), "columns": columns, "features": features,
            "matched": [f for f in features if f not in match.missing], "missing": match.missing,
            "unexpected": match.unexpected, "mapped": match.mapped, "target": leftover[0] if leftover else None}
