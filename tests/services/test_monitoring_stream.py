"""A stream of production batches: drift appears at batch 120, one alert fires, the heatmap data shows the shifted
features from there on, and late labels join the right batches by id."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch.extensions import db
from modelwatch.figures.monitoring import heatmap_data
from modelwatch.models_monitoring import AlertEvent, MonitorBatch
from modelwatch.services import alerting, monitoring
from tests.monitoring_support import FEATURES, SHIFTED, batch_csv, cancer_frame, register_champion

N_BATCHES, DRIFT_FROM, ROWS = 200, 120, 60


@pytest.mark.slow  # 200 batches ingested one by one
def test_drift_from_batch_120_fires_one_alert_and_shows_in_the_heatmap(app):
    frame = cancer_frame()
    register_champion("churn", frame)
    alerting.create_rule("churn", metric="drift.share_drifted", op=">", value=0.3, consecutive=3)
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 1)
    for i in range(N_BATCHES):
        data = batch_csv(frame, rng, ROWS, shift=i >= DRIFT_FROM, start_id=i * ROWS)
        monitoring.ingest_batch("churn", data, "batch.csv", received=start + timedelta(hours=i))

    events = AlertEvent.query.all()
    assert len(events) == 1
    ids = [batch.id for batch in MonitorBatch.query.order_by(MonitorBatch.id)]
    fired_on = ids.index(events[0].batch_id)
    assert fired_on == DRIFT_FROM + 2  # three consecutive batches over 0.3: the third drifted one

    data = monitoring.series("churn")
    assert len(data["times"]) == N_BATCHES and (np.diff(data["times"]) > np.timedelta64(0)).all()
    features, times, flags = heatmap_data(data)
    assert set(features) == set(FEATURES) and flags.shape == (len(FEATURES), N_BATCHES)
    for name in SHIFTED:
        row = flags[features.index(name)]
        assert all(row[DRIFT_FROM:]), name
        assert sum(row[:DRIFT_FROM]) <= 0.1 * DRIFT_FROM  # false alarms stay rare before the shift
    assert data["share_drifted"][DRIFT_FROM:].min() >= len(SHIFTED) / len(FEATURES)


def test_late_labels_join_by_id_and_give_quality_to_the_right_batches(app):
    frame = cancer_frame()
    register_champion("late", frame)
    rng = np.random.default_rng(1)
    first = monitoring.ingest_batch("late", batch_csv(frame, rng, 50, False, 0))
    second_csv = batch_csv(frame, rng, 50, False, 50)
    second = monitoring.ingest_batch("late", second_csv)
    assert "quality" not in first.summary

    sent = pd.read_csv(io.BytesIO(second_csv))
    labels = pd.DataFrame({"id": sent["id"][:20], "label": sent["prediction"][:20]})  # all 20 predicted right
    labels.loc[len(labels) - 1, "label"] = 1 - labels["label"].iloc[-1]  # but one
    labels.loc[len(labels)] = ["unknown-id", 1]
    answer = monitoring.join_labels("late", labels.to_csv(index=False).encode())

    assert answer == {"matched": 20, "unmatched": 1, "batches": [second.id]}
    quality = db.session.get(MonitorBatch, second.id).summary["quality"]
    assert quality["n_labelled"] == 20
    assert quality["metrics"]["accuracy"] == 19 / 20
    over_time = monitoring.series("late")["quality"]["accuracy"]
    assert np.isnan(over_time[0]) and over_time[1] == 19 / 20
    assert "quality" not in db.session.get(MonitorBatch, first.id).summary
