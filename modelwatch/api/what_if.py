"""What-if (POST /api/runs/<id>/what_if): one edited row of a finished run, predicted and explained in the sandbox."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields

from modelwatch.api.result_schemas import OpenSchema
from modelwatch.api.schemas import ErrorEnvelopeSchema, StrictSchema
from modelwatch.services import what_if as service

blp = Blueprint("what_if", __name__, description="Change one row and see the new prediction and its explanation")


class WhatIfRequestSchema(StrictSchema):
    row = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": "one value per model feature (null for missing where the schema allows it), checked against "
                       "the run's schema: numbers for int/float, one of the categories for categorical, true/false "
                       "for bool",
        "example": {"mean radius": 14.1, "mean texture": 19.3}})


class ExplanationSchema(OpenSchema):
    prediction = fields.Float(metadata={"description": "the model's output in the explained space"})
    base_value = fields.Float(metadata={"description": "the explainer's expected output"})
    contributions = fields.Dict(keys=fields.String(), values=fields.Float(),
                                metadata={"description": "feature -> its SHAP value; base_value plus their sum is "
                                                         "prediction"})
    output = fields.String(metadata={"description": "what the values are in: probability, log-odds, prediction..."})
    explainer = fields.String()
    by_class = fields.Dict(metadata={"description": "the same per class (classifiers)"})


class WhatIfSchema(OpenSchema):
    row = fields.Dict(metadata={"description": "the row as the model got it (values in the features' types)"})
    notes = fields.List(fields.String(), metadata={"description": "values outside the schema's range"})
    prediction = fields.Raw(metadata={"description": "what `predict` returned (a class or a number)"})
    probabilities = fields.Dict(keys=fields.String(), values=fields.Float(), allow_none=True,
                                metadata={"description": "class -> probability, for classifiers with predict_proba"})
    explanation = fields.Nested(ExplanationSchema)


@blp.route("/api/runs/<run_id>/what_if", methods=["POST"])
@blp.arguments(WhatIfRequestSchema, error_status_code=400)
@blp.response(200, WhatIfSchema)
@blp.alt_response(400, schema=ErrorEnvelopeSchema,
                  description="bad_request: the row does not fit the run's schema (`details.fields` per feature)")
@blp.alt_response(404, schema=ErrorEnvelopeSchema, description="not_found: no such run, or it failed")
@blp.alt_response(409, schema=ErrorEnvelopeSchema, description="run_not_finished: the run is queued or running")
@blp.alt_response(422, schema=ErrorEnvelopeSchema,
                  description="model_error, run_timeout, resource_limit, model_crashed: the model failed")
def what_if(body: dict, run_id: str):
    """Predict and explain one edited row with the run's model (in the sandbox), with the run's explainer."""
    return service.what_if(run_id, body["row"])
