"""One section of a run's Result (GET /api/runs/<id>/result/<section>): the run page and clients fetch what they show,
never the whole Result."""
from __future__ import annotations

from flask import jsonify
from flask_smorest import Blueprint

from modelwatch.services import run_views

blp = Blueprint("results", __name__, description="Read one section of a run's Result")

SECTION_RESPONSES = {
    "200": {"description": "the section as stored in the Result (null when it was not computed, e.g. quality "
                           "without labels; `{\"skipped\": \"<why>\"}` when it failed)",
            "content": {"application/json": {"schema": {"nullable": True}}}},
    "404": {"description": "not_found: no such run or section, or the run failed and has no Result"},
    "409": {"description": "run_not_finished: the run is still queued or running"},
}


@blp.route("/api/runs/<run_id>/result/<section>", methods=["GET"])
@blp.doc(responses=SECTION_RESPONSES)
def result_section(run_id: str, section: str):
    """One section of the Result: verdict, schema, data, performance, robustness, quality, drift or explainability."""
    return jsonify(run_views.result_section(run_id, section))
