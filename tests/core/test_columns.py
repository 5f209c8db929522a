"""A CSV's columns are matched to the model's features (exact, the model's own renaming, position) or refused."""
from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelwatch.core.schema.columns import csv_header, match_columns, rename_header, require_match
from modelwatch.core.schema.from_csv import read_csv_bytes
from modelwatch.errors import SchemaMismatch

LGBM = {"type": "lightgbm.sklearn.LGBMClassifier", "feature_names": ["mean_radius", "worst_area", "a_b_"],
        "feature_names_from_model": True}
ARRAY = {"type": "sklearn.ensemble._forest.RandomForestClassifier", "feature_names": ["f0", "f1"],
         "feature_names_from_model": False}


def test_lightgbm_renaming_is_undone_and_exact_names_win():
    match = require_match(["mean radius", "worst_area", "a{b:", "target", "note"], LGBM)
    assert match.mapped == {"mean radius": "mean_radius", "a{b:": "a_b_"}
    assert match.rules == {"mean radius": "sanitised", "a{b:": "sanitised"}
    assert (match.missing, match.unexpected) == ([], ["note"])


def test_other_libraries_get_no_renaming_and_a_missing_feature_is_refused():
    sklearn_info = {**LGBM, "type": "sklearn.linear_model._logistic.LogisticRegression"}
    with pytest.raises(SchemaMismatch) as err:
        require_match(["mean radius", "worst_area", "a_b_", "label"], sklearn_info)
    assert err.value.status == 422 and err.value.code == "schema_mismatch"
    assert err.value.details == {"file": "sample", "missing": ["mean_radius"], "unexpected": ["mean radius"],
                                 "mapped": {}}
    assert "1 of the model's 3 features are missing (mean_radius)" in err.value.message


def test_a_csv_sharing_no_column_is_refused_with_the_mapping_so_far():
    with pytest.raises(SchemaMismatch) as err:
        require_match(["mean radius", "x", "z"], LGBM, what="current")
    details = err.value.details
    assert details["file"] == "current" and details["missing"] == ["worst_area", "a_b_"]
    assert details["mapped"] == {"mean radius": "mean_radius"} and details["unexpected"] == ["x", "z"]
    with pytest.raises(SchemaMismatch, match="shares no column"):
        require_match(["x", "y"], LGBM)


def test_an_array_model_is_matched_by_position_only_when_the_counts_agree():
    assert match_columns(["radius", "area", "label"], ARRAY).mapped == {"radius": "f0", "area": "f1"}
    assert match_columns(["radius", "area", "y2"], ARRAY, target="y2").rules == {"radius": "position",
                                                                                 "area": "position"}
    assert match_columns(["radius", "area", "extra", "label"], ARRAY).missing == ["f0", "f1"]
    assert match_columns(["f1", "f0"], ARRAY).mapped == {}


names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1,
                max_size=8).map(str.strip).filter(bool)


@settings(max_examples=15, deadline=None)
@given(header=st.lists(names, min_size=2, max_size=5, unique=True), delimiter=st.sampled_from([",", ";", "\t"]),
       crlf=st.booleans())
def test_renaming_rewrites_the_header_only(header, delimiter, crlf):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows([[f"{i}.5" for i in range(len(header))], [str(i) for i in range(len(header))]])
    data = out.getvalue().encode("utf-8")
    assert csv_header(data) == header
    mapping = {header[0]: "renamed one", header[-1]: 'new "last", quoted'}
    renamed = rename_header(data, mapping)
    assert csv_header(renamed) == [mapping.get(h, h) for h in header]
    assert renamed.split(b"\n", 1)[1] == data.split(b"\n", 1)[1]
    assert read_csv_bytes(renamed).shape == (2, len(header))
