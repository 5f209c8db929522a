"""Before a run: what a dropped sample CSV holds and how its columns meet the model's features."""
from __future__ import annotations

from typing import Any

from modelwatch.core.csv_infer import read_csv_bytes
from modelwatch.errors import BadRequest
from modelwatch.models import ModelArtifact

LIKELY_TARGETS = ("target", "label", "y", "class", "churn", "churned", "outcome")


def match_columns(columns: list[str], features: list[str]) -> dict[str, list[str]]:
    """Exact-name match of a CSV's columns against the model's features.

    The integrator points this at the column matcher of the numbers-data work (one place to change).

    Returns:
        ``{"matched", "missing", "unexpected"}``: features found, features absent, columns the model does not take.
    """
    present = set(columns)
    wanted = set(features)
    return {"matched": [f for f in features if f in present], "missing": [f for f in features if f not in present],
            "unexpected": [c for c in columns if c not in wanted]}


def preview(sample_csv: bytes, artifact: ModelArtifact | None) -> dict[str, Any]:
    """Rows, columns and the column match of a sample, and the label column it most likely has.

    Raises:
        BadRequest: the bytes are not a CSV modelwatch can read.
    """
    try:
        frame = read_csv_bytes(sample_csv)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file, said in one sentence
        raise BadRequest(f"The sample is not a CSV modelwatch can read: {str(exc)[:200]}") from exc
    columns = [str(c) for c in frame.columns]
    features = list(((artifact.info or {}).get("feature_names") or []) if artifact is not None else [])
    match = match_columns(columns, features)
    guesses = [c for c in match["unexpected"] if c.lower() in LIKELY_TARGETS]
    target = guesses[0] if guesses else (match["unexpected"][0] if len(match["unexpected"]) == 1 else None)
    return {"n_rows": len(frame), "columns": columns, "features": features, **match, "target": target}
