"""Run tabs rendered from result dicts: Summary headline figures and the Data tab's schema table."""
from modelwatch.dashboard.sections.summary import headline


def test_headline_reads_each_section_it_finds():
    result = {
        "performance": {"latency_ms": {"1": {"p95": 3.214}}, "throughput_rows_per_s": {"1": 300.0, "100": 9000.4},
                        "error_rate": 0.025},
        "robustness": {"passed": 5, "total": 8, "outcomes": {"ok": 5, "rejected": 2, "degraded": 0, "crashed": 1}},
        "quality": {"metrics": {"accuracy": 0.91234, "roc_auc": None}},
        "drift": {"strongest": {"feature": None, "kind": "scale", "severity": 2.0}},
    }
    assert headline(result) == [
        ("p95 latency, 1 row", "3.21 ms"), ("best throughput", "9,000 rows/s"), ("error rate", "2.5%"),
        ("robustness: cases handled (ok or rejected)", "87.5%"),
        ("robustness misses", "1 crashed on valid input · 0 silently degraded"),
        ("accuracy", "91.2%"), ("drift it reacts to most", "scale of all features"),
    ]


def test_headline_counts_a_correct_rejection_as_handled_in_results_stored_before_outcomes():
    cases = [{"name": "baseline", "feature": None, "status": "ok"},
             {"name": "a:nan", "feature": "a", "kind": "nan", "status": "error"},  # invalid input refused: handled
             {"name": "a:max", "feature": "a", "kind": "max", "status": "error"},  # valid input: a crash
             {"name": "a:+inf", "feature": "a", "kind": "+inf", "status": "degraded"}]
    found = dict(headline({"robustness": {"passed": 1, "total": 4, "cases": cases}}))
    assert found["robustness: cases handled (ok or rejected)"] == "50%"
    assert found["robustness misses"] == "1 crashed on valid input · 1 silently degraded"


def test_skipped_or_missing_sections_add_nothing():
    assert headline({"performance": {"skipped": "timeout"}, "quality": None, "drift": {"skipped": "x"}}) == []


def test_data_tab_lists_every_feature_of_the_schema():
    from modelwatch.dashboard.sections.data import render

    schema = {"features": [{"name": "age", "type": "int", "min": 18, "max": 90,
                            "distribution": {"kind": "uniform"}},
                           {"name": "plan", "type": "categorical", "categories": ["a", "b"], "missing_rate": 0.1}]}
    (table,) = render(schema, {})
    head, body = table.children
    assert [th.children for th in head.children.children][:2] == ["feature", "type"]
    assert [[td.children for td in tr.children] for tr in body.children] == [
        ["age", "int", "uniform", "18", "90", "", "0"], ["plan", "categorical", "", "", "", "a, b", "0.1"]]
    assert "No schema" in str(render(None, {}))
