"""Registered models as use cases: a version per artifact uploaded under a name, the champion (a user's choice, else
the latest version whose run passed), and the model as the API and the model page show it."""
from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from modelwatch.core.results import gates
from modelwatch.core.results.report import headline_metrics
from modelwatch.errors import BadRequest, NotFound
from modelwatch.extensions import db
from modelwatch.models import ModelArtifact, Run
from modelwatch.models_monitoring import ModelVersion, RegisteredModel
from modelwatch.run_status import RunStatus


def get_model(name: str) -> RegisteredModel:
    """The registered model called ``name``.

    Raises:
        NotFound: no model has this name.
    """
    model = RegisteredModel.query.filter_by(name=name).one_or_none()
    if model is None:
        raise NotFound(f"No registered model named {name!r}.", {"name": name})
    return model


def list_models() -> list[RegisteredModel]:
    return RegisteredModel.query.order_by(RegisteredModel.name).all()


def register_version(name: str, artifact: ModelArtifact, *, reference_csv: bytes | None = None,
                     target: str | None = None, schema: dict[str, Any] | None = None,
                     owner: str | None = None) -> ModelVersion:
    """The version of model ``name`` for this artifact, created (with the model) on first upload under the name.

    A later upload of the same artifact keeps the version and fills in a reference sample it lacked.
    """
    model = RegisteredModel.query.filter_by(name=name).one_or_none()
    if model is None:
        model = RegisteredModel(name=name, owner=owner)
        db.session.add(model)
        try:
            db.session.flush()
        except IntegrityError:  # registered concurrently: use that one
            db.session.rollback()
            model = RegisteredModel.query.filter_by(name=name).one()
    version = ModelVersion.query.filter_by(model_id=model.id, artifact_id=artifact.id).one_or_none()
    if version is None:
        last = db.session.query(db.func.max(ModelVersion.number)).filter_by(model_id=model.id).scalar() or 0
        version = ModelVersion(model=model, number=last + 1, artifact=artifact)
        db.session.add(version)
    if reference_csv and not version.reference_csv:
        version.reference_csv, version.target, version.schema = reference_csv, target, schema
    db.session.commit()
    return version


def register_run(run: Run) -> ModelVersion:
    """Register the run's artifact as a version of the model named like the run, its sample as the reference."""
    return register_version(run.name, run.artifact, reference_csv=run.sample_csv, target=run.target,
                            schema=run.schema, owner=run.submitted_by)


def version_runs(version: ModelVersion) -> list[Run]:
    """The runs of this version (its artifact submitted under the model's name), newest first."""
    return (Run.query.filter(Run.artifact_id == version.artifact_id, Run.name == version.model.name)
            .order_by(Run.created_at.desc(), Run.id.desc()).all())


def run_verdict(run: Run) -> str | None:
    """``pass|warn|fail|incomplete`` from the run's verdict, else ``pass|fail`` from its gates, else None."""
    verdict = getattr(run, "verdict", None) or (run.result or {}).get("verdict")
    if isinstance(verdict, dict) and verdict.get("status"):
        return str(verdict["status"])
    if run.status == RunStatus.FAILED:
        return "fail"
    if run.gates is not None:
        return "pass" if run.gates.get("passed") else "fail"
    return None


def latest_finished_run(version: ModelVersion, ignore_run: str | None = None) -> Run | None:
    return next((r for r in version_runs(version) if r.status == RunStatus.SUCCEEDED and r.id != ignore_run), None)


def champion(model: RegisteredModel, ignore_run: str | None = None) -> tuple[ModelVersion | None, str | None]:
    """The champion version and how it was chosen (``user`` or ``rule``); (None, None) when there is none.

    ``ignore_run``: a run finishing now, which must not make its own version the champion it is compared with.
    """
    if model.champion_version_id is not None:
        chosen = db.session.get(ModelVersion, model.champion_version_id)
        if chosen is not None and chosen.model_id == model.id:
            return chosen, "user"
    for version in sorted(model.versions, key=lambda v: v.number, reverse=True):
        run = latest_finished_run(version, ignore_run)
        if run is not None and run_verdict(run) == "pass":
            return version, "rule"
    return None, None


def champion_run(name: str, ignore_run: str | None = None) -> Run | None:
    """The latest succeeded run of the champion of model ``name`` (the baseline of relative gates), if any."""
    model = RegisteredModel.query.filter_by(name=name).one_or_none()
    version = champion(model, ignore_run)[0] if model is not None else None
    return latest_finished_run(version, ignore_run) if version is not None else None


def relative_baseline(run: Run) -> dict[str, Any] | None:
    """What a run's relative gates compare with: the champion's latest succeeded run (never the run itself);
    None when its config has no relative gate or its model has no champion."""
    if not gates.needs_baseline(run.config or {}):
        return None
    base = champion_run(run.name, ignore_run=run.id)
    if base is None:
        return None
    return {"run_id": base.id, "result": base.result}


def set_champion(name: str, number: int) -> RegisteredModel:
    """Make version ``number`` the champion of model ``name`` (a user's choice beats the rule).

    Raises:
        NotFound: no such model or version.
    """
    model = get_model(name)
    version = ModelVersion.query.filter_by(model_id=model.id, number=number).one_or_none()
    if version is None:
        raise NotFound(f"Model {name!r} has no version {number}.", {"version": number})
    model.champion_version_id = version.id
    db.session.commit()
    return model


def update_model(name: str, *, description: str | None = None, owner: str | None = None) -> RegisteredModel:
    model = get_model(name)
    if description is None and owner is None:
        raise BadRequest("Nothing to change: give description or owner.")
    if description is not None:
        model.description = description
    if owner is not None:
        model.owner = owner
    db.session.commit()
    return model


def trend_points(model: RegisteredModel) -> list[dict[str, Any]]:
    """Every succeeded run of every version, oldest first, with its headline metrics (the model page's trend)."""
    runs = [(version, run) for version in model.versions for run in version_runs(version)
            if run.status == RunStatus.SUCCEEDED]
    runs.sort(key=lambda pair: (pair[1].created_at, pair[1].id))
    return [{"x": f"v{version.number} · {run.id[:6]}", "run_id": run.id, "metrics": headline_metrics(run.result)}
            for version, run in runs]


def _run_brief(run: Run) -> dict[str, Any]:
    return {"id": run.id, "status": run.status, "verdict": run_verdict(run),
            "created_at": run.created_at.isoformat() + "Z"}


def model_dict(model: RegisteredModel, with_runs: bool = True) -> dict[str, Any]:
    """The model as the API answers it: versions (with their runs' verdicts) and the champion."""
    best, chosen_by = champion(model)
    versions = []
    for version in model.versions:
        item = {"number": version.number, "sha256": version.artifact.sha256, "format": version.artifact.format,
                "has_reference": version.reference_csv is not None, "target": version.target,
                "created_at": version.created_at.isoformat() + "Z",
                "champion": best is not None and best.id == version.id}
        if with_runs:
            item["runs"] = [_run_brief(run) for run in version_runs(version)]
        versions.append(item)
    return {"name": model.name, "description": model.description, "owner": model.owner,
            "created_at": model.created_at.isoformat() + "Z", "versions": versions,
            "champion": {"version": best.number, "chosen_by": chosen_by} if best is not None else None}
