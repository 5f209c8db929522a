"""marshmallow schemas of the registered-model, monitoring, alert and webhook endpoints."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from modelwatch.core.monitoring.alerts import OPS

SOURCES = ("batch", "run")
MAX_ID = 2**31 - 1  # the databases' INTEGER: larger ids exist nowhere (and would overflow the query)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class ChampionSchema(StrictSchema):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))


class ModelUpdateSchema(StrictSchema):
    description = fields.String(validate=validate.Length(max=5000))
    owner = fields.String(validate=validate.Length(max=100))


class LabelUploadSchema(StrictSchema):
    data = Upload(required=True, metadata={"description": "CSV or Parquet with `id` and `label` columns"})


class BatchUploadSchema(LabelUploadSchema):
    data = Upload(required=True, metadata={"description": "CSV or Parquet rows: the model's features, optionally "
                                                          "`prediction`, `label`, `timestamp`, `id`"})
    predict = fields.Boolean(load_default=False, metadata={"description": "without a `prediction` column, compute "
                                                                          "it with the champion (in the sandbox)"})


class BatchListQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    cursor = fields.Integer(validate=validate.Range(min=0, max=MAX_ID),
                            metadata={"description": "the `next` of the previous page"})


class IdQuerySchema(Schema):
    id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class AlertRuleSchema(StrictSchema):
    metric = fields.String(required=True, validate=validate.Length(min=1, max=200),
                           metadata={"description": "a metric path of a batch or run, e.g. `drift.share_drifted` "
                                                    "or `verdict.status`"})
    op = fields.String(required=True, validate=validate.OneOf(OPS))
    value = fields.Raw(required=True, metadata={"description": "a number, or a string for == and !="})
    source = fields.String(load_default="batch", validate=validate.OneOf(SOURCES))
    consecutive = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def _value_fits_op(self, data, **kwargs):
        value = data.get("value")
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not numeric and not (isinstance(value, str) and data.get("op") in ("==", "!=")):
            raise ValidationError("Must be a number (or a string with == or !=).", "value")


class WebhookSchema(StrictSchema):
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    secret = fields.String(validate=validate.Length(min=16, max=200),
                           metadata={"description": "the HMAC key (generated when omitted, shown once)"})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "slack")))
    model = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "only this model's alerts (default: every model)"})
