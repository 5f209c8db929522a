"""Pure monitoring logic: alert rule states, webhook allowlist and signatures, a batch's compact comparison."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from modelwatch.core.monitoring import alerts, webhooks
from modelwatch.core.monitoring import batches as monitoring
from modelwatch.errors import BadRequest


def test_a_rule_fires_once_after_n_hits_in_a_row_and_rearms():
    state, fired = (0, False), []
    for condition in [True, False, True, True, True, True, False, True, True]:
        streak, firing, fire = alerts.step(*state, condition, consecutive=2)
        state = (streak, firing)
        fired.append(fire)
    assert fired == [False, False, False, True, False, False, False, False, True]


@pytest.mark.parametrize(("value", "op", "bound", "expected"), [
    (0.4, ">", 0.3, True), (0.3, ">", 0.3, False), (0.3, ">=", 0.3, True), (None, "<", 1, False),
    (float("nan"), "<", 1, False), ("fail", "==", "fail", True), ("pass", "!=", "fail", True), (True, "==", 1, True),
    ("fail", ">", 1, False)])
def test_conditions(value, op, bound, expected):
    assert alerts.holds(value, op, bound) is expected


def test_only_urls_under_an_allowed_prefix_pass():
    allow = ["https://hooks.example.com/services/", "http://10.1.2.3:9000"]
    assert webhooks.destination_allowed("https://hooks.example.com/services/T1/B2", allow)
    assert webhooks.destination_allowed("http://10.1.2.3:9000/any", allow)
    for url in ("https://hooks.example.com/other", "http://hooks.example.com/services/x",
                "https://hooks.example.com.evil.io/services/", "https://user@hooks.example.com/services/",
                "http://10.1.2.3/any", "http://10.1.2.3:9001/", "file:///etc/passwd", "not a url"):
        assert not webhooks.destination_allowed(url, allow), url
    assert not webhooks.destination_allowed("https://hooks.example.com/services/", [])


def test_signature_recipe():
    body = b'{"model":"m"}'
    signature = webhooks.sign("s3cret-s3cret-s3cret", 1700000000, body)
    assert webhooks.verify("s3cret-s3cret-s3cret", "1700000000", body, signature, now=1700000010)
    assert not webhooks.verify("s3cret-s3cret-s3cret", "1700000001", body, signature, now=1700000010)
    assert not webhooks.verify("another-secret-xxxx", "1700000000", body, signature, now=1700000010)
    assert not webhooks.verify("s3cret-s3cret-s3cret", "soon", body, signature, now=1700000010)


def test_a_batch_profile_is_compact_and_flags_the_shifted_column():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000),
                              "city": rng.choice(["x", "y", "z"], 2000), "prediction": rng.random(2000)})
    batch = reference.sample(50_000, replace=True, random_state=1).reset_index(drop=True)
    batch["a"] += 1.0
    batch.loc[:999, "b"] = np.nan
    out = monitoring.compare_batch(monitoring.build_reference(reference), batch)
    summary = out["summary"]
    assert summary["drift"]["features"]["a"][0] and not summary["drift"]["features"]["city"][0]
    assert summary["missing"]["max_share"] == pytest.approx(1000 / 50_000)
    assert summary["prediction"]["drift"]["against"] == "reference predictions"
    assert len(str(out)) < 5000
    # a, b, city in name order: b drifts too, by its missing share (2% of the batch, none in the reference)
    assert monitoring.series_columns(summary)["drift_flags"] == "110"


def test_unreadable_or_featureless_batches_are_refused():
    reference = monitoring.build_reference(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    with pytest.raises(BadRequest):
        monitoring.read_table(b"")
    with pytest.raises(BadRequest):
        monitoring.compare_batch(reference, pd.DataFrame({"z": [1.0]}))
    buf = io.BytesIO()
    pd.DataFrame({"a": [1.0]}).to_parquet(buf)
    assert list(monitoring.read_table(buf.getvalue(), "x.bin").columns) == ["a"]
