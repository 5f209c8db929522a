"""CSV inference on awkward files: delimiters, BOM, encodings, ints with NaN, yes/no, IDs, empty/constant columns."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from modelwatch.core.schema.document import validate_schema
from modelwatch.core.schema.from_csv import MAX_CATEGORIES, infer_csv, read_csv_bytes, suggest_target
from modelwatch.errors import BadRequest


def by_name(schema: dict) -> dict:
    return {f["name"]: f for f in schema["features"]}


def codes(warnings: list[dict]) -> set[tuple[str, str | None]]:
    return {(w["code"], w["feature"]) for w in warnings}


def test_semicolons_bom_ints_with_nan_and_yes_no():
    rows = ["age;income;member;city"] + [
        f"{'' if i % 5 == 0 else 20 + i % 40};{1000 + 37.5 * i:.2f};{'yes' if i % 3 else 'No'};"
        f"{['Paris', 'Lyon'][i % 2]}" for i in range(50)]
    schema, warnings = infer_csv(("\ufeff" + "\n".join(rows)).encode("utf-8"))
    features = by_name(validate_schema(schema))
    assert list(features) == ["age", "income", "member", "city"]  # the BOM is not part of the first name
    age = features["age"]
    assert (age["type"], age["nullable"], age["missing_rate"]) == ("int", True, 0.2)
    assert (age["min"], age["max"]) == (21, 59)
    assert features["income"]["type"] == "float" and features["income"]["min"] == 1000.0
    member = features["member"]
    assert member["type"] == "bool" and member["categories"] == [False, True]
    assert member["weights"] == pytest.approx([17 / 50, 33 / 50])
    assert features["city"]["type"] == "categorical" and sorted(features["city"]["categories"]) == ["Lyon", "Paris"]
    assert features["city"]["weights"] == [0.5, 0.5]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed_with_quotes(delimiter):
    text = delimiter.join(["name", "value", "note"]) + "\n" + "\n".join(
        delimiter.join([f"n{i % 4}", str(i), f'"a{delimiter} b"']) for i in range(10))
    frame = read_csv_bytes(text.encode())
    assert list(frame.columns) == ["name", "value", "note"]
    assert frame["note"].iloc[0] == f"a{delimiter} b"


def test_id_column_high_cardinality_empty_and_constant_columns():
    n = 80
    frame = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)], "row": range(n),
                          "comment": [f"free text {i * 7}" for i in range(n)], "empty": [""] * n,
                          "country": ["FR"] * n, "x": np.linspace(0, 1, n)})
    schema, warnings = infer_csv(frame.to_csv(index=False).encode())
    features = by_name(validate_schema(schema))
    assert "id_like" in features["customer_id"]["flags"] and "id_like" in features["row"]["flags"]
    assert "high_cardinality" in features["comment"]["flags"]
    assert len(features["comment"]["categories"]) == MAX_CATEGORIES
    assert features["empty"]["flags"] == ["empty"] and features["empty"]["missing_rate"] == 1.0
    assert features["country"]["flags"] == ["constant"]
    assert features["country"]["distribution"] == {"kind": "constant", "value": "FR"}
    assert {("id_like_column", "customer_id"), ("id_like_column", "row"), ("high_cardinality", "comment"),
            ("empty_column", "empty"), ("constant_column", "country")} <= codes(warnings)
    assert "id_like" not in features["x"]["flags"]  # floats are measurements, not identifiers


def test_one_row_file():
    schema, warnings = infer_csv(b"a,b,c\n1,hello,2.5\n")
    features = by_name(validate_schema(schema))
    assert features["a"]["type"] == "int" and features["a"]["distribution"] == {"kind": "constant", "value": 1}
    assert features["b"]["type"] == "categorical" and features["b"]["categories"] == ["hello"]
    assert features["c"]["type"] == "float"
    assert ("few_rows", None) in codes(warnings)
    assert "copula" not in schema


@pytest.mark.parametrize("data, reason", [
    ("name,city\nJosé,Besançon\n".encode("latin-1"), "not UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"a,b\n1,2\n3,4,5,6\n", "Expected 2 fields in line 3"),
])
def test_unreadable_files_are_a_clear_bad_request(data, reason):
    with pytest.raises(BadRequest) as err:
        infer_csv(data)
    assert err.value.status == 400
    assert reason in " ".join(err.value.details["sample"])


def test_utf16_with_bom_is_read():
    schema, _ = infer_csv("a,b\n1,x\n2,y\n".encode("utf-16"))
    assert [f["name"] for f in schema["features"]] == ["a", "b"]


def test_numbers_with_a_few_bad_values_stay_numeric():
    values = [str(i) for i in range(100)]
    values[3] = "?"
    schema, warnings = infer_csv(("v\n" + "\n".join(values)).encode())
    feature = schema["features"][0]
    assert feature["type"] == "int" and feature["missing_rate"] == 0.01
    assert ("non_numeric_values", "v") in codes(warnings)


def test_fitted_distributions_match_scipy():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"normal": rng.normal(3, 2, 400), "lognormal": rng.lognormal(1, 0.4, 400),
                          "uniform": rng.uniform(-5, 5, 400),
                          "bimodal": np.r_[rng.normal(-5, 1, 200), rng.normal(5, 1, 200)],
                          "small_int": rng.integers(0, 4, 400)})
    schema, _ = infer_csv(frame.to_csv(index=False).encode())
    features = by_name(schema)
    normal = features["normal"]["distribution"]
    assert normal["kind"] == "normal"
    assert normal["mean"] == pytest.approx(frame["normal"].mean(), abs=1e-3)
    assert normal["std"] == pytest.approx(frame["normal"].std(), abs=1e-3)
    lognormal = features["lognormal"]["distribution"]
    assert lognormal["kind"] == "lognormal"
    shape, _, scale = stats.lognorm.fit(frame["lognormal"], floc=0)
    assert lognormal["sigma"] == pytest.approx(shape, rel=0.01)
    assert np.exp(lognormal["mean"]) == pytest.approx(scale, rel=0.01)
    assert features["uniform"]["distribution"]["kind"] == "uniform"
    bimodal = features["bimodal"]["distribution"]
    assert bimodal["kind"] == "empirical" and len(bimodal["quantiles"]) == 101
    assert bimodal["quantiles"][50] == pytest.approx(np.quantile(frame["bimodal"], 0.5), abs=1e-9)
    small = features["small_int"]
    assert small["distribution"] == {"kind": "categorical"} and small["categories"] == [0, 1, 2, 3]
    assert sum(small["weights"]) == pytest.approx(1.0)


def test_target_by_name_or_by_absence_from_the_model():
    assert suggest_target(["a", "b", "label"], None) == "label"
    assert suggest_target(["a", "b", "outcome_col"], ["a", "b"]) == "outcome_col"
    assert suggest_target(["a", "b", "y"], ["a", "b", "y"]) is None
    assert suggest_target(["a", "b"], None) is None
    csv = "a,b,Survived\n" + "\n".join(f"{i},{i % 3},{i % 2}" for i in range(40))
    schema, warnings = infer_csv(csv.encode())
    assert schema["target"] == {"name": "Survived", "type": "int", "classes": [0, 1]}
    assert [f["name"] for f in schema["features"]] == ["a", "b"]
    assert ("target_suggested", "Survived") in codes(warnings)
    schema, _ = infer_csv(csv.encode(), target="b")
    assert schema["target"]["name"] == "b" and schema["target"]["classes"] == [0, 1, 2]


def test_read_csv_bytes_types_like_pandas_but_sniffs_and_strips_the_bom():
    from modelwatch.core.schema.from_csv import read_csv_bytes

    frame = read_csv_bytes("\ufeffa;b;c\n1;x;2.5\n;y;3\n".encode())
    assert list(frame.columns) == ["a", "b", "c"]
    assert frame["c"].dtype == float and frame["a"].isna().sum() == 1
    with pytest.raises(BadRequest):
        read_csv_bytes(b"\xff\xfe\x00")


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_inference_recovers_the_types_of_generated_data(seed):
    from modelwatch.core.data.synthetic import generate

    schema = validate_schema({"features": [
        {"name": "amount", "type": "float", "min": 0, "distribution": {"kind": "lognormal", "mean": 3, "sigma": 0.5}},
        {"name": "count", "type": "int", "min": 0, "max": 500, "nullable": True, "missing_rate": 0.1,
         "distribution": {"kind": "uniform", "low": 0, "high": 500}},
        {"name": "flag", "type": "bool", "weights": [0.3, 0.7]},
        {"name": "colour", "type": "categorical", "categories": ["red", "green", "blue"]}]})
    frame = generate(schema, 300, seed=seed)
    inferred, _ = infer_csv(frame.astype({"count": "Int64"}).to_csv(index=False).encode())
    features = by_name(inferred)
    assert [f["type"] for f in features.values()] == ["float", "int", "bool", "categorical"]
    assert features["count"]["nullable"] and abs(features["count"]["missing_rate"] - 0.1) < 0.06
    assert features["amount"]["min"] == pytest.approx(frame["amount"].min())
    assert set(features["colour"]["categories"]) <= {"red", "green", "blue"}


def test_header_only_file_gives_empty_features():
    schema, warnings = infer_csv(b"a,b,label\n")
    assert [f["flags"] for f in validate_schema(schema)["features"]] == [["empty"], ["empty"]]
    assert schema["target"] == {"name": "label", "type": "float", "classes": None}
    assert ("few_rows", None) in codes(warnings)
