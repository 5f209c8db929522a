"""The API's ConfigSchema validates exactly the options core.config declares, and documents their defaults."""
from dataclasses import fields

from marshmallow import fields as ma_fields

from modelwatch.api.schemas import ConfigSchema
from modelwatch.core.config import SECTIONS, RunConfig, resolve_config


def test_the_schema_and_the_dataclasses_name_the_same_options():
    declared = ConfigSchema._declared_fields
    assert set(declared) == {f.name for f in fields(RunConfig)}
    for name, section in SECTIONS.items():
        assert isinstance(declared[name], ma_fields.Nested)
        assert set(declared[name].nested._declared_fields) == {f.name for f in fields(section)}, name


def test_a_resolved_config_is_a_valid_config_document():
    assert ConfigSchema().validate(resolve_config(None)) == {}


def test_the_openapi_document_shows_the_declared_defaults(client):
    config = client.get("/api/openapi.json").get_json()["components"]["schemas"]["Config"]["properties"]
    assert config["n_samples"]["default"] == RunConfig.n_samples and config["timeout_s"]["default"] == 300
