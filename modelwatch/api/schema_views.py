"""Schema endpoints: infer a schema from a sample CSV (and model), and generate synthetic rows as CSV."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate

from modelwatch.api.error_docs import error_responses
from modelwatch.api.schemas import Document
from modelwatch.core.data.synthetic import GENERATORS
from modelwatch.core.schema.document import SchemaDocument
from modelwatch.services import artifacts, schemas

MULTIPART = "multipart/form-data"
blp = Blueprint("schema", __name__, description="Infer schemas and generate synthetic data")
_ERRORS = {400: "bad_request: a malformed field, CSV or Schema (details say which)",
           413: "payload_too_large: the model file is larger than the server accepts",
           415: "unsupported_format: the model is not a format modelwatch reads",
           422: "corrupt_model, unsafe_model, not_a_model: the model file was refused"}
errors = error_responses(blp, _ERRORS)




class InferFilesSchema(Schema):
    sample = Upload(metadata={"description": "reference rows (CSV; delimiter sniffed; UTF-8, a BOM is fine)"})
    model = Upload(metadata={"description": "optional model file: its features and encoder categories are merged in"})


class InferFormSchema(Schema):
    target = fields.String(validate=validate.Length(max=200), metadata={"description": "label column of the sample"})


class InferRequestSchema(InferFilesSchema, InferFormSchema):
    """The whole multipart body, for the OpenAPI document."""


class InferWarningSchema(Schema):
    code = fields.String(required=True, metadata={"description": "e.g. id_like_column, missing_in_sample"})
    feature = fields.String(allow_none=True)
    message = fields.String(required=True)


class SchemaField(Document):
    """A Schema document, documented by ``SchemaDocument`` and passed through as sent: the service validates
    it, so that errors read ``{"features[0].min": [...]}`` like everywhere else."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> Any:
        if not isinstance(value, dict):
            raise ValidationError("Must be a JSON object (a Schema document).")
        return value


class InferResponseSchema(Schema):
    schema = SchemaField(SchemaDocument, required=True, metadata={"description": "a Schema document (CONTRACT.md)"})
    warnings = fields.List(fields.Nested(InferWarningSchema), required=True)


class GenerateRequestSchema(Schema):
    schema = SchemaField(SchemaDocument, required=True, metadata={"description": "a Schema document (CONTRACT.md)"})
    n_samples = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=schemas.MAX_GENERATE_ROWS))
    seed = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**32 - 1))
    generator = fields.String(load_default="independent", validate=validate.OneOf(GENERATORS),
                              metadata={"description": "copula needs a schema inferred from a sample"})


@blp.route("/api/schema/infer", methods=["POST"])
@blp.arguments(InferFormSchema, location="form", content_type=MULTIPART, error_status_code=400)
@blp.doc(requestBody={"content": {MULTIPART: {"schema": InferRequestSchema}}})
@blp.response(200, InferResponseSchema)
@errors(400, 413, 415, 422)
def infer(form: dict):
    """Infer a Schema from a sample CSV, merged with what an optional model knows; conflicts become warnings."""
    # the file parts are read here rather than through @arguments(location="files"): flask-smorest would
    # document them as OpenAPI 2 "formData" parameters; the doc above describes the whole multipart body
    files = request.files
    model = files.get("model")
    artifact = artifacts.store_upload(model.stream, model.filename or "") if model else None
    sample = files.get("sample")
    return schemas.infer_schema(sample.read() if sample else None, artifact, form.get("target"))


@blp.route("/api/data/generate", methods=["POST"])
@blp.arguments(GenerateRequestSchema, error_status_code=400)
@blp.response(200, description="The generated rows as CSV, one column per feature")
@errors(400)
@blp.doc(responses={"200": {"description": "The generated rows as CSV, one column per feature",
                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
def generate(body: dict):
    """Generate synthetic rows from a Schema; the same seed gives the same file."""
    data = schemas.generate_csv(body["schema"], body["n_samples"], body["seed"], body["generator"])
    return Response(data, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=data.csv"})
