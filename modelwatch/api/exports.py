"""Exports of a run (HTML report, JSON, metrics CSV, generated data CSV) and run control (cancel, tags)."""
from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from modelwatch.api.schemas import ErrorEnvelopeSchema, RunEnvelopeSchema
from modelwatch.services import audit, exports, runs, tags
from modelwatch.services.presenters import run_dict

blp = Blueprint("exports", __name__, description="Download a run's report, metrics and data; cancel and tag runs")

FILE_RESPONSES = {"200": {"description": "the file"}, "404": {"description": "no such run"},
                  "409": {"description": "the run has not finished yet"}}


class TagsSchema(Schema):
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=40)), required=True,
                       validate=validate.Length(max=20))


def _file(body: str, name: str, mimetype: str, attachment: bool = True) -> Response:
    disposition = "attachment" if attachment else "inline"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'{disposition}; filename="{name}"'})


@blp.route("/api/runs/<run_id>/report.html", methods=["GET"])
@blp.doc(responses=FILE_RESPONSES)
def report_html(run_id: str):
    """A self-contained HTML report: opens offline, plots embedded (add `?download=1` to save it)."""
    body, name = exports.report_html(run_id)
    return _file(body, name, "text/html", attachment=request.args.get("download") in ("1", "true"))


@blp.route("/api/runs/<run_id>/report.json", methods=["GET"])
@blp.doc(responses=FILE_RESPONSES)
def report_json(run_id: str):
    """The full Run as a JSON file download."""
    body, name = exports.report_json(run_id, request.host_url)
    return _file(body, name, "application/json")


@blp.route("/api/runs/<run_id>/metrics.csv", methods=["GET"])
@blp.doc(responses=FILE_RESPONSES)
def metrics_csv(run_id: str):
    """Flat `section,metric,value` rows of the result."""
    body, name = exports.metrics_csv(run_id)
    return _file(body, name, "text/csv")


@blp.route("/api/runs/<run_id>/data.csv", methods=["GET"])
@blp.doc(responses=FILE_RESPONSES)
def data_csv(run_id: str):
    """The synthetic data the run used, generated again from its schema and seed."""
    body, name = exports.data_csv(run_id)
    return _file(body, name, "text/csv")


@blp.route("/api/runs/<run_id>/cancel", methods=["POST"])
@blp.response(200, RunEnvelopeSchema, description="The run, failed with the code `cancelled` if it had not finished")
@blp.alt_response(404, schema=ErrorEnvelopeSchema, description="not_found: no run with this id")
def cancel(run_id: str):
    """Cancel a queued or running run (its sandbox is stopped); a finished run is returned unchanged."""
    run = runs.cancel_run(run_id)
    audit.record("run.cancel", run_id)
    return {"run": run_dict(run, base_url=request.host_url)}


@blp.route("/api/runs/<run_id>/tags", methods=["PUT"])
@blp.arguments(TagsSchema, error_status_code=400)
@blp.response(200, RunEnvelopeSchema)
@blp.alt_response(400, schema=ErrorEnvelopeSchema, description="bad_request: malformed tags")
@blp.alt_response(404, schema=ErrorEnvelopeSchema, description="not_found: no run with this id")
def set_tags(body: dict, run_id: str):
    """Replace the run's tags."""
    return {"run": run_dict(tags.set_tags(run_id, body["tags"]), base_url=request.host_url)}
