"""Schemathesis, driven by the served OpenAPI document: no 500, no response that breaks the document.

Every operation gets a few generated requests, valid and invalid by the document; examples are few because the
machine is shared. (Strategies are driven by hand: schemathesis' lazy pytest loader does not run on pytest 9.)
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from modelwatch.app import create_app
from modelwatch.extensions import db
from tests.api.fast import PASSING_GATES, fast_config, submit
from tests.conftest import make_config
from tests.monitoring_support import batch_csv, cancer_frame, register_champion

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 8


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, forest_bytes, sandbox):
    """The served document, on an app whose database holds one real run (so that listings return a Run)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'fuzz.db'}"
    app = create_app(make_config(url, WEBHOOK_ALLOWLIST=["http://127.0.0.1:9/"]))
    with app.app_context():
        db.create_all()
        register_champion("watched", cancer_frame())  # the monitoring endpoints answer with real bodies too
    run = submit(app.test_client(), forest_bytes, config=fast_config(thresholds=PASSING_GATES)).get_json()["run"]
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.real_run_id = run["id"]
    return schema


def test_a_real_run_fits_the_document(api_schema):
    operation = api_schema["/api/runs/{run_id}"]["GET"]
    response = operation.Case(path_parameters={"run_id": api_schema.real_run_id}).call_and_validate(checks=CHECKS)
    run = response.json()["run"]
    assert run["status"] == "succeeded" and run["gates"]["passed"] and run["result"]["performance"]
    listing = api_schema["/api/runs"]["GET"].Case(query={"limit": 5}).call_and_validate(checks=CHECKS)
    assert listing.json()["total"] == 1


def test_monitoring_answers_fit_the_document(api_schema):
    """Registered models, batches, late labels, alert rules and events, webhooks and their deliveries: each body
    as the document describes it (response-schema conformance)."""
    def call(method: str, path: str, status: int, **kwargs):
        response = api_schema[path][method].Case(**kwargs).call_and_validate(checks=CHECKS)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    model = {"path_parameters": {"name": "watched"}}
    hook = call("POST", "/api/webhooks", 201, body={"url": "http://127.0.0.1:9/hook"})["webhook"]
    assert hook["secret"]
    rule = call("POST", "/api/models/{name}/alerts", 201, **model,
                body={"metric": "quality.metrics.accuracy", "op": "<", "value": 0.9})["rule"]
    sent = batch_csv(cancer_frame(), np.random.default_rng(1), 30, False, 0)
    batch = call("POST", "/api/models/{name}/batches", 201, **model, media_type="multipart/form-data",
                 body={"data": sent})["batch"]
    rows = pd.read_csv(io.BytesIO(sent))
    labels = pd.DataFrame({"id": rows["id"], "label": 1 - rows["prediction"]}).to_csv(index=False).encode()
    joined = call("POST", "/api/models/{name}/labels", 200, **model, media_type="multipart/form-data",
                  body={"data": labels})
    assert joined["batches"] == [batch["id"]]
    assert call("GET", "/api/models/{name}/batches", 200, **model, query={"limit": 5})["batches"][0]["quality"]
    alerts = call("GET", "/api/models/{name}/alerts", 200, **model)
    assert alerts["rules"][0]["id"] == rule["id"] and alerts["events"][0]["batch_id"] == batch["id"]
    assert call("GET", "/api/models/{name}", 200, **model)["model"]["champion"]["version"] == 1
    assert call("GET", "/api/models", 200)["models"][0]["name"] == "watched"
    assert call("GET", "/api/webhooks", 200)["webhooks"][0]["id"] == hook["id"]
    deliveries = call("GET", "/api/webhooks/{webhook_id}/deliveries", 200,
                      path_parameters={"webhook_id": hook["id"]})["deliveries"]
    assert len(deliveries) == 1


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's ``"null"`` type, recursively."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items()
           if not (key == "nullable" and isinstance(value, bool))}
    if node.get("nullable") is True:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def test_a_real_result_fits_the_result_schema_itself(api_schema):
    """Not only through ``Run.result``'s free-object branch: the Result and its sections are open, so a real
    Result (with fields the document does not name) validates against ``Result``."""
    import jsonschema_rs

    document = api_schema.raw_schema
    run = api_schema["/api/runs/{run_id}"]["GET"].Case(path_parameters={"run_id": api_schema.real_run_id}).call()
    result = run.json()["run"]["result"]
    schema = _json_schema({"$ref": "#/components/schemas/Result", "components": document["components"]})
    errors = [str(error) for error in jsonschema_rs.validator_for(schema).iter_errors(result)]
    assert errors == [], errors[:5]
    listing = api_schema["/api/runs"]["GET"].Case(query={"limit": 1}).call().json()
    assert "next" in listing and "result" not in listing["runs"][0]


def operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_server_error_and_every_response_fits_the_document(api_schema, mode):
    found = operations(api_schema)
    assert {op.label for op in found} >= {"POST /run_tests", "GET /api/runs", "GET /api/runs/{run_id}",
                                          "DELETE /api/runs/{run_id}", "GET /api/health"}
    untestable = []
    for operation in found:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            case.call_and_validate(checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:  # nothing of this operation can be made invalid (no body, string-only parameters)
            untestable.append(operation)
    assert all(not len(op.body) and not len(op.query) for op in untestable), [op.label for op in untestable]
