"""Run endpoints: submit (POST /run_tests, POST /api/runs), read, list, delete."""
from __future__ import annotations

from typing import IO

from flask import request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from modelwatch.api.error_docs import error_responses
from modelwatch.api.schemas import (
    FollowQuerySchema,
    IdempotencyHeaderSchema,
    ListQuerySchema,
    RunEnvelopeSchema,
    RunListSchema,
    SubmitSchema,
    WaitQuerySchema,
)
from modelwatch.auth.permissions import DELETE_RUN, authorize
from modelwatch.auth.principal import current_principal
from modelwatch.core.schema.document import validate_schema
from modelwatch.run_status import FINISHED
from modelwatch.services import artifacts, registry, runs
from modelwatch.services.presenters import run_dict

MULTIPART = "multipart/form-data"


class MultipartParser(FlaskParser):
    """The ``files`` location reads file parts and text fields together, so that one schema validates (and
    documents) the whole multipart body; unknown fields and query parameters are refused (a typo must not be
    silently ignored)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "files": None, "query": None}

    def load_files(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class RunsBlueprint(Blueprint):
    ARGUMENTS_PARSER = MultipartParser()


blp = RunsBlueprint("runs", __name__, description="Submit models and read their runs")

_ERRORS = {
    400: "bad_request: a malformed request, field, CSV or gate (details say which)",
    401: "unauthorized: the token is missing or wrong (when the server requires tokens)",
    403: "forbidden: the token lacks the scope, or the run is not the caller's",
    404: "not_found: no run with this id",
    413: "payload_too_large: the upload is larger than the server accepts",
    415: "unsupported_format: not a model format modelwatch reads",
    422: "corrupt_model, unsafe_model (details.globals), not_a_model, or schema_mismatch (details.missing, "
         "details.unexpected)",
    503: "service_unavailable: the database is unavailable",
}
errors = error_responses(blp, _ERRORS)


def _stream(upload) -> IO[bytes] | None:
    """A file part's stream (Werkzeug spools large parts to a temporary file): read in chunks, never whole."""
    return upload.stream if upload is not None else None


LOCATION = {"Location": {"description": "/api/runs/<id>: where to follow the run",
                         "schema": {"type": "string"}}}


@blp.route("/run_tests", methods=["POST"])
@blp.route("/api/runs", methods=["POST"], endpoint="submit_alias")
@blp.arguments(SubmitSchema, location="files", content_type=MULTIPART, error_status_code=400)
@blp.arguments(WaitQuerySchema, location="query", error_status_code=400)
@blp.arguments(IdempotencyHeaderSchema, location="headers", error_status_code=400)
@blp.response(200, RunEnvelopeSchema, headers=LOCATION,
              description="The run finished within `wait` (succeeded or failed)")
@blp.alt_response(202, schema=RunEnvelopeSchema, headers=LOCATION,
                  description="The run is queued or running; `Location` names it")
@errors(400, 401, 413, 415, 422, 503)
def submit(body: dict, query: dict, headers: dict):
    """Submit a model and run the whole test suite on it.

    Runs beyond the server's pool are queued, never dropped. With `wait`, the answer comes once the run has
    finished (200) or when `wait` seconds (capped by the server, 25 s by default) have passed (202). With an
    `Idempotency-Key` already used within 24 h, the answer is the run that key created.
    """
    key, caller = headers.get("idempotency_key"), current_principal().name
    run = runs.idempotent_run(key, caller) if key else None
    if run is None:
        if body.get("schema") is not None:  # a malformed Schema document is refused before the model is read
            validate_schema(body["schema"])
        upload = body["model"]
        artifact = artifacts.store_upload(upload.stream, upload.filename or "", body.get("name"))
        if body.get("name"):  # a named upload is a version of that registered model (its sample: the reference)
            registry.register_version(body["name"], artifact, owner=caller)
        run = runs.submit_run(
            artifact, schema=body.get("schema"), config=body.get("config"), sample_csv=_stream(body.get("sample")),
            current_csv=_stream(body.get("current")), target=body.get("target"),
            name=artifacts.display_name(upload.filename or "", body.get("name")), source="api",
            submitted_by=caller, idempotency_key=key,
        )
        if body.get("name"):
            registry.register_run(run)
    run = runs.wait_in_request(run.id, query["wait"])
    status = 200 if run.status in FINISHED else 202
    return {"run": run_dict(run, base_url=request.host_url)}, status, {"Location": f"/api/runs/{run.id}"}


@blp.route("/api/runs", methods=["GET"])
@blp.arguments(ListQuerySchema, location="query", error_status_code=400)
@blp.response(200, RunListSchema)
@errors(400, 503)
def list_runs(query: dict):
    """List runs, newest first, without their results; filter them, and page with `next` (or limit/offset)."""
    found, total, following = runs.list_runs(**query)
    return {"runs": [run_dict(run, with_result=False, base_url=request.host_url) for run in found], "total": total,
            "next": following}


@blp.route("/api/runs/<run_id>", methods=["GET"])
@blp.arguments(FollowQuerySchema, location="query", error_status_code=400)
@blp.response(200, RunEnvelopeSchema)
@errors(400, 404, 503)
def get_run(query: dict, run_id: str):
    """One run with its result and its gates verdict.

    With `wait`, the answer comes once the run has finished or when `wait` seconds (capped by the server, 25 s
    by default) have passed, whichever is first: a client follows a run without polling in a loop.
    """
    return {"run": run_dict(runs.wait_in_request(run_id, query["wait"]), base_url=request.host_url)}


@blp.route("/api/runs/<run_id>", methods=["DELETE"], endpoint="delete_run")
@blp.response(204)
@errors(401, 403, 404, 503)
def delete_run(run_id: str):
    """Delete a run (editors: their own runs; admins: any run)."""
    authorize(current_principal(), DELETE_RUN, runs.get_run(run_id))
    runs.delete_run(run_id)
