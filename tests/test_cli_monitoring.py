"""The CLI's monitoring commands against the live app: ``batch send`` (Parquet) and ``--baseline champion``."""
from __future__ import annotations

import argparse
import io
import json

import numpy as np
import pandas as pd
import pytest

from modelwatch.cli import main
from modelwatch.cli_monitoring import with_baseline
from tests.monitoring_support import batch_csv, cancer_frame, register_champion


def test_batch_send_posts_parquet_and_exits_1_on_drift_when_asked(live_server, tmp_path, capsys):
    app, url = live_server
    frame = cancer_frame()
    with app.app_context():
        register_champion("cli-demo", frame)
    rng = np.random.default_rng(7)
    for shifted in (False, True):
        path = tmp_path / f"batch-{shifted}.parquet"
        batch = pd.read_csv(io.BytesIO(batch_csv(frame, rng, 200, shifted, 0)))
        if shifted:  # a third feature moves too: 3 of 5 drifted is dataset drift
            batch["mean texture"] += 2 * frame["mean texture"].std()
        batch.to_parquet(path)
        code = main(["batch", "send", "cli-demo", str(path), "--server", url, "--fail-on-drift"])
        out = capsys.readouterr().out
        assert "200 rows" in out
        if shifted:
            assert code == 1 and "mean radius" in out
        else:
            assert code == 0
    assert main(["batch", "send", "nobody", str(path), "--server", url]) == 2
    assert "not_found" in capsys.readouterr().err


def _args(**kwargs) -> argparse.Namespace:
    return argparse.Namespace(**{"baseline": None, "name": None, "max_relative_change": [],
                                 "min_relative_change": [], **kwargs})


def test_baseline_champion_adds_relative_gates_to_the_config():
    config = with_baseline('{"n_samples": 50}', _args(baseline="champion", name="m",
                                                      max_relative_change=["performance.latency_ms.1.p95=0.1"],
                                                      min_relative_change=["quality.metrics.roc_auc=-0.02"]))
    assert json.loads(config) == {"n_samples": 50, "thresholds": {
        "performance.latency_ms.1.p95": {"max_relative_change": 0.1, "baseline": "champion"},
        "quality.metrics.roc_auc": {"min_relative_change": -0.02, "baseline": "champion"}}}
    for wrong in (_args(baseline="champion", max_relative_change=["a=0.1"]),  # no --name
                  _args(baseline="champion", name="m"),  # no relative gate
                  _args(max_relative_change=["a=0.1"]),  # no --baseline
                  _args(baseline="champion", name="m", max_relative_change=["a=ten"])):
        with pytest.raises(ValueError):
            with_baseline(None, wrong)
