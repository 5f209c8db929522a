"""The Schema document's validation: every error names its field and says why."""
from __future__ import annotations

import pytest

from modelwatch.core.schema.document import schema_errors, validate_schema
from modelwatch.errors import BadRequest


def doc(*features: dict, **extra) -> dict:
    return {"schema_version": 1, "features": list(features), **extra}


def test_a_valid_document_is_normalised():
    loaded = validate_schema({"features": [{"name": "a", "type": "float", "min": 0, "max": 1}]})
    feature = loaded["features"][0]
    assert loaded["schema_version"] == 1 and loaded["target"] is None
    assert (feature["nullable"], feature["missing_rate"], feature["flags"]) == (False, 0.0, [])


@pytest.mark.parametrize("feature, field, reason", [
    ({"name": "a", "type": "float", "min": 2, "max": 1}, "features[0].min", "less than or equal to max"),
    ({"name": "a", "type": "int", "min": 0.2, "max": 0.8}, "features[0].min", "no whole number"),
    ({"name": "a", "type": "text"}, "features[0].type", "Must be one of"),
    ({"type": "float"}, "features[0].name", "Missing data"),
    ({"name": "a", "type": "categorical"}, "features[0].categories", "at least one category"),
    ({"name": "a", "type": "categorical", "categories": ["x", "x"]}, "features[0].categories", "repeat"),
    ({"name": "a", "type": "categorical", "categories": ["x", "y"], "weights": [1]}, "features[0].weights",
     "one weight per category"),
    ({"name": "a", "type": "categorical", "categories": ["x"], "weights": [-1]}, "features[0].weights[0]",
     "greater than or equal to 0"),
    ({"name": "a", "type": "categorical", "categories": ["x", "y"], "weights": [0, 0]}, "features[0].weights",
     "not all be 0"),
    ({"name": "a", "type": "float", "missing_rate": 0.2}, "features[0].missing_rate", "nullable: true"),
    ({"name": "a", "type": "float", "nullable": True, "missing_rate": 1.5}, "features[0].missing_rate", "1"),
    ({"name": "a", "type": "float", "distribution": {"kind": "normal", "mean": 0, "std": 0}},
     "features[0].distribution.std", "greater than 0"),
    ({"name": "a", "type": "float", "distribution": {"kind": "normal", "sd": 1}},
     "features[0].distribution.sd", "not a parameter of normal; expected mean, std"),
    ({"name": "a", "type": "float", "distribution": {"kind": "gamma"}}, "features[0].distribution.kind",
     "Must be one of"),
    ({"name": "a", "type": "float", "distribution": {"kind": "uniform", "low": 3, "high": 1}},
     "features[0].distribution.low", "less than or equal to high"),
    ({"name": "a", "type": "float", "distribution": {"kind": "lognormal", "mean": 0, "sigma": -1}},
     "features[0].distribution.sigma", "greater than 0"),
    ({"name": "a", "type": "float", "distribution": {"kind": "empirical", "quantiles": [3, 1]}},
     "features[0].distribution.quantiles", "non-decreasing"),
    ({"name": "a", "type": "float", "distribution": {"kind": "constant"}}, "features[0].distribution.value",
     "required"),
    ({"name": "a", "type": "bool", "distribution": {"kind": "normal"}}, "features[0].distribution",
     "does not fit a bool feature"),
    ({"name": "a", "type": "bool", "categories": ["yes", "no"]}, "features[0].categories", "true/false"),
    ({"name": "a", "type": "categorical", "categories": ["x"], "distribution": {"kind": "constant", "value": "z"}},
     "features[0].distribution", "one of the categories"),
    ({"name": "a", "type": "int", "min": 0, "max": 2, "categories": [0, 5], "distribution": {"kind": "categorical"}},
     "features[0].categories", "within min..max"),
    ({"name": "a", "type": "float", "colour": "red"}, "features[0].colour", "Unknown field"),
])
def test_errors_name_the_field_and_the_reason(feature, field, reason):
    errors = schema_errors(doc(feature))
    assert field in errors, errors
    assert any(reason in message for message in errors[field]), errors[field]
    with pytest.raises(BadRequest) as err:
        validate_schema(doc(feature))
    assert err.value.status == 400 and field in err.value.details
    assert field in err.value.message


def test_document_level_errors():
    errors = schema_errors(doc({"name": "a", "type": "float"}, {"name": "a", "type": "int"},
                               target={"name": "a"}, copula={"features": ["a", "zz"], "correlation": [[1, 0], [0, 1]]}))
    assert "repeated: a" in errors["features"][0]
    assert "also listed as a feature" in errors["target"][0]
    assert "zz" in errors["copula"][0]
    assert schema_errors({"features": []})["features"] == ["Shorter than minimum length 1."]
    assert schema_errors(doc({"name": "a", "type": "float"}, schema_version=2))["schema_version"]
    assert schema_errors([1, 2]) == {"schema": ["must be a JSON object"]}
    bad_matrix = doc({"name": "a", "type": "float"}, {"name": "b", "type": "float"},
                     copula={"features": ["a", "b"], "correlation": [[1, 0.2]]})
    assert "2 x 2" in schema_errors(bad_matrix)["copula.correlation"][0]


def test_several_errors_are_all_reported():
    with pytest.raises(BadRequest) as err:
        validate_schema(doc({"name": "a", "type": "float", "min": 3, "max": 1},
                            {"name": "b", "type": "categorical", "weights": [1]}))
    assert set(err.value.details) >= {"features[0].min", "features[1].categories", "features[1].weights"}
    assert "(and 2 more)" in err.value.message
