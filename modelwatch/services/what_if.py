"""What-if on a finished run: check an edited row against the run's schema here, then predict and explain it in
the sandbox (the model is never loaded in the web process)."""
from __future__ import annotations

from typing import Any

from modelwatch.core.explain.what_if import coerce_row, feature_specs
from modelwatch.core.sandbox.runner import run_task
from modelwatch.errors import BadRequest, NotFound, RunNotFinished
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.run_status import ACTIVE, RunStatus
from modelwatch.services import artifact_store, audit
from modelwatch.services.artifacts import sandbox_limits
from modelwatch.services.runs import get_run

TIMEOUT_S = 60.0  # the sandbox task: loading the model, one prediction and one explanation
EXPLAIN_S = 20.0  # of which the explanation may take this much


def specs_for(run: Run) -> list[dict[str, Any]]:
    """What each of the run's model features accepts, from the run's schema."""
    return feature_specs(run.schema, list((run.artifact.info or {}).get("feature_names") or []))


def what_if(run_id: str, row: Any) -> dict[str, Any]:
    """Predict and explain ``row`` with the run's model.

    Returns:
        ``{"row", "notes", "prediction", "probabilities", "explanation"}`` (``core.explain.what_if.explain_row``);
        ``row`` is the row as the model got it, ``notes`` name values outside the schema's range.

    Raises:
        NotFound: no such run, or it failed.
        RunNotFinished: the run is still queued or running.
        BadRequest: the row does not fit the run's schema (``details.fields`` says why, per feature).
        ModelwatchError: the sandbox's typed error (the model raised, timed out, crashed).
    """
    run = get_run(run_id)
    if run.status in ACTIVE:
        raise RunNotFinished(f"Run {run_id} is still {run.status}; what-if needs a finished run.",
                             {"status": run.status})
    if run.status != RunStatus.SUCCEEDED:
        raise NotFound(f"Run {run_id} failed: there is nothing to ask what-if of.", {"status": run.status})
    specs = specs_for(run)
    clean, problems, notes = coerce_row(specs, row)
    if problems:
        first = next(iter(problems))
        raise BadRequest(f"The row does not fit the run's schema: {first} {problems[first]}"
                         + (f" (and {len(problems) - 1} more)." if len(problems) > 1 else "."), {"fields": problems})
    model_bytes = artifact_store.load(run.artifact)
    sample = db.session.execute(db.select(Run.sample_csv).where(Run.id == run.id)).scalar()
    config, fmt = run.config or {}, run.artifact.format
    payload = {"row": clean, "specs": specs, "schema": run.schema, "seed": int(config.get("seed", 0)),
               "background": int((config.get("explain") or {}).get("background", 100)), "seconds": EXPLAIN_S}
    db.session.commit()  # no transaction stays open while the sandbox works
    result = run_task("what_if", model_bytes, fmt, payload, {"sample.csv": sample} if sample else {},
                      limits=sandbox_limits(TIMEOUT_S))
    audit.record("run.what_if", run_id)
    return {"row": clean, "notes": notes, **{k: result.get(k) for k in ("prediction", "probabilities",
                                                                         "explanation")}}
