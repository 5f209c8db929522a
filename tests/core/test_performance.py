"""Performance section: the latency harness, peak memory, and the error rate with bisection and output checks."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from modelwatch.core.checks import performance
from modelwatch.core.data.synthetic import generate
from modelwatch.core.model.introspect import describe
from tests.core.suite_context import make_context, schema_from_frame


def reject_negative(X):
    """A transformer body that fails like a strict production validator."""
    values = np.asarray(X, dtype=float)
    if (values[:, 0] < 0).any():
        raise ValueError("negative values are not allowed in the first column")
    return values


class NanOnLargeRegressor(RegressorMixin, BaseEstimator):
    """Returns NaN for rows whose first value is above 1: a silent failure, no exception."""

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return np.where(X[:, 0] > 1, np.nan, X.sum(axis=1))


class BadProbaClassifier(ClassifierMixin, BaseEstimator):
    """Probabilities above 1 where x0 > 1, rows summing to 0.5 where x1 > 1, an unknown class where x2 > 1."""

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        p = np.full((len(X), 2), 0.5)
        p[X[:, 0] > 1] = [1.5, -0.5]
        p[(X[:, 0] <= 1) & (X[:, 1] > 1)] = [0.25, 0.25]
        return p

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return np.where(X[:, 2] > 1, 7, 0)


@pytest.fixture(scope="module")
def normal_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.normal(size=(1000, 4)), columns=["a", "b", "c", "d"])


def test_latency_summary_orders_percentiles():
    seconds = np.linspace(0.001, 0.1, 200)
    summary = performance.latency_summary(seconds)
    assert summary["n_calls"] == 200
    assert summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"] == pytest.approx(100.0)
    assert summary["p50"] == pytest.approx(np.percentile(seconds * 1000, 50))
    assert summary["mean"] == pytest.approx(seconds.mean() * 1000)


def test_time_calls_keeps_to_its_budget_and_counts():
    """On a clock that moves only by what each call costs (a real one would make the counts depend on the load)."""
    now, calls = [0.0], []

    def call_costing(seconds: float):
        def predict(X):
            calls.append(X)
            now[0] += seconds
        return predict

    timings = performance.time_until(call_costing(1e-6), 1, 0.05, precision=None, max_calls=300,
                                     clock=lambda: now[0]).seconds
    assert timings.size == 300  # a trivial call hits the cap, not the budget
    assert len(calls) == 300 + performance.WARMUP_CALLS
    slow = performance.time_until(call_costing(0.02), 1, 0.1, precision=None, clock=lambda: now[0]).seconds
    assert slow.size == performance.MIN_CALLS == round(0.1 / 0.02)  # the calls that fit in the budget, the floor


def test_harness_times_the_calls_and_nothing_else(forest, cancer):
    """Each timed call sits inside the harness's own run, so the timings are positive and their sum is below the
    whole run's wall time, on any machine (the exact per-call accounting is tests/core/test_latency_precision.py's,
    on a fake clock)."""
    X = cancer[0].to_numpy()[:1]
    calls = []

    def predict(rows):
        calls.append(len(rows))
        return forest.predict(rows)

    with threadpool_limits(limits=1):
        started = time.perf_counter()
        timings = performance.time_calls(predict, X, 0.1)
        elapsed = time.perf_counter() - started
    assert timings.size >= performance.MIN_CALLS and (timings > 0).all()
    assert timings.sum() < elapsed
    assert timings.size < len(calls) <= timings.size + performance.WARMUP_CALLS  # warm-up calls are not timed
    summary = performance.latency_summary(timings)
    assert summary["n_calls"] == timings.size
    assert summary["p50"] == pytest.approx(float(np.median(timings)) * 1000)


def test_error_rate_is_exactly_the_rows_a_validator_rejects(normal_frame):
    y = (normal_frame["b"] > 0).astype(int)
    model = make_pipeline(FunctionTransformer(reject_negative), LogisticRegression()).fit(normal_frame.abs(), y)
    data = normal_frame.head(400)
    scan = performance.scan_errors(model, data, describe(model), budget_s=30, chunk=128)  # several chunks
    negative = np.flatnonzero(data["a"].to_numpy() < 0)
    assert scan["exact"] and scan["rows_checked"] == 400
    assert scan["error_rate"] == pytest.approx(len(negative) / len(data))
    assert scan["failed_rows"] == negative.tolist()
    [error] = scan["errors"]
    assert error["type"] == "ValueError" and error["count"] == len(negative)
    assert error["example"]["a"] < 0 and "negative" in error["message"]


def test_bisection_finds_one_bad_row_in_few_calls(normal_frame, frame_logistic, cancer):
    data = cancer[0].sample(1000, replace=True, random_state=0).reset_index(drop=True)
    data.loc[617, "mean area"] = np.nan  # the scaler passes NaN on, LogisticRegression rejects it
    scan = performance.scan_errors(frame_logistic, data, describe(frame_logistic), budget_s=30)
    assert scan["failed_rows"] == [617]
    assert scan["error_rate"] == pytest.approx(1 / 1000)
    assert scan["calls"] <= 2 * int(np.ceil(np.log2(1000))) + 1


def test_nan_rows_from_missing_values_fail_and_latency_still_measured(cancer):
    X, y = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    data = X.sample(300, replace=True, random_state=1).reset_index(drop=True)
    rng = np.random.default_rng(0)
    holes = rng.random(len(data)) < 0.07  # what a schema's missing_rate of 0.07 produces
    data.loc[holes, "worst radius"] = np.nan
    result = performance.compute(make_context(model, data))
    assert result["error_rate"] == pytest.approx(holes.mean())
    assert result["errors"][0]["type"] == "ValueError" and result["errors"][0]["count"] == holes.sum()
    assert result["errors"][0]["example"]["worst radius"] is None  # NaN made strict-JSON safe
    assert set(result["latency_ms"]) == {"1", "10", "100"} and not result["latency_failures"]


def test_error_rate_from_a_schema_missing_rate(frame_logistic, cancer):
    schema = schema_from_frame(cancer[0])
    for feature in schema["features"][:2]:
        feature.update(nullable=True, missing_rate=0.05)
    data = generate(schema, 200, seed=3)
    holes = data.isna().any(axis=1)
    assert 0.04 < holes.mean() < 0.2
    result = performance.compute(make_context(frame_logistic, data, schema))
    assert result["error_rate"] == pytest.approx(holes.mean())
    assert result["error_scan"]["failed_rows"] == np.flatnonzero(holes).tolist()


def test_silent_nan_outputs_count_as_errors(normal_frame):
    model = NanOnLargeRegressor().fit(normal_frame.to_numpy(), None)
    data = normal_frame.set_axis([f"f{i}" for i in range(4)], axis=1)
    scan = performance.scan_errors(model, data, describe(model), budget_s=30)
    expected = (normal_frame["a"] > 1).mean()
    assert scan["error_rate"] == pytest.approx(expected)
    assert [e["type"] for e in scan["errors"]] == ["NonFiniteOutput"]


def test_invalid_probabilities_and_unknown_classes_are_caught(normal_frame):
    model = BadProbaClassifier().fit(normal_frame.to_numpy(), None)
    data = normal_frame.set_axis([f"f{i}" for i in range(4)], axis=1)
    scan = performance.scan_errors(model, data, describe(model), budget_s=30)
    a, b, c = (normal_frame[k].to_numpy() > 1 for k in "abc")
    counts = {e["type"]: e["count"] for e in scan["errors"]}
    # one problem per row, the first found: unknown class, then out of range, then the sum
    assert counts == {"UnknownClass": c.sum(), "ProbabilityOutOfRange": (a & ~c).sum(),
                      "ProbabilitiesDoNotSumToOne": (b & ~a & ~c).sum()}
    assert scan["error_rate"] == pytest.approx((a | b | c).mean())


def test_compute_fills_the_contract(forest, cancer):
    data = cancer[0].sample(300, random_state=0).reset_index(drop=True)
    ctx = make_context(forest, data)
    ctx.info["load_time_ms"] = 12.5
    result = performance.compute(ctx)
    for key in ("latency_ms", "throughput_rows_per_s", "load_time_ms", "model_size_bytes", "peak_memory_mb",
                "error_rate", "errors"):
        assert key in result
    assert set(result["latency_ms"]) == {"1", "10", "100"}
    for size, stats in result["latency_ms"].items():
        assert stats["n_calls"] >= performance.MIN_CALLS
        assert stats["p50"] <= stats["p95"] <= stats["p99"] <= stats["max"]
        assert len(result["latency_quantiles_ms"][size]) == 101
        # throughput is rows over mean call time
        assert result["throughput_rows_per_s"][size] == pytest.approx(int(size) / (stats["mean"] / 1000), rel=1e-6)
    assert result["load_time_ms"] == 12.5 and result["model_size_bytes"] == 1234
    assert result["error_rate"] == 0.0 and result["errors"] == []
    assert result["peak_memory_mb"] >= result["memory"]["baseline_mb"] > 10
    memory = result["memory"]
    assert memory["method"].split(":")[0] in ("measured", "estimated")
    assert memory["alloc_batch_size"] == 100 and memory["predict_alloc_peak_mb"] >= 0
    assert memory["process_peak_mb"] >= memory["baseline_mb"] * 0.5


def allocate_40mb(X):
    block = np.ones(40 * 1024 * 1024 // 8)  # touched, so resident
    return block.sum()


PEAK_OF_40MB = """
import json
import numpy as np
from modelwatch.core.checks import performance
with performance.PeakMemory() as memory:
    block = np.ones(40 * 1024 * 1024 // 8)
    del block
print(json.dumps({"measured": memory.measured, **memory.summary(None, None)}))
"""


def test_peak_memory_sees_a_large_allocation():
    """In a process of its own: a test worker's other threads (a run finishing) free memory at any moment."""
    done = subprocess.run([sys.executable, "-c", PEAK_OF_40MB], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2], check=True)
    summary = json.loads(done.stdout)
    if not summary["measured"]:
        pytest.skip("this process may not reset its peak RSS (/proc/self/clear_refs)")
    assert summary["predict_increase_mb"] > 35 and summary["method"].startswith("measured")


def test_traced_peak_sees_a_large_allocation_anywhere():
    assert 39 < performance.traced_peak_mb(allocate_40mb, None) < 45


def test_a_measured_peak_is_never_below_the_rss_the_calls_started_from():
    """The kernel syncs its RSS counters lazily: the high-water mark once read 20 kB below the RSS read before."""
    with performance.PeakMemory() as memory:
        pass
    memory.measured, memory.peak_kb = True, memory.baseline_kb - 20
    summary = memory.summary(None, None)
    assert summary["peak_mb"] == summary["baseline_mb"] and summary["predict_increase_mb"] == 0.0


def test_memory_summary_without_a_resettable_peak():
    """The hardened sandbox cannot reset VmHWM: the peak is then estimated from a traced call, or bounded."""
    with performance.PeakMemory() as memory:
        pass
    memory.measured = False  # what a non-dumpable process gets
    estimated = memory.summary(3.0, 1000)
    assert estimated["method"].startswith("estimated") and "batch 1000" in estimated["method"]
    assert estimated["peak_mb"] == pytest.approx(estimated["baseline_mb"] + 3.0)
    bounded = memory.summary(None, None)
    assert bounded["method"].startswith("upper bound") and bounded["peak_mb"] >= bounded["baseline_mb"]
