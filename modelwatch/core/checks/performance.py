"""Latency per batch size, throughput, peak memory and error rate: measured on the generated data in the sandbox.

Latency: each batch size gets one timed warm-up call, up to two more warm-up calls, then timed calls until its
p50 and p95 are known to the stated relative precision (``LATENCY_PRECISION``: the half-width of their 95%
confidence intervals over the estimate), or its time budget ends, or ``MAX_CALLS`` were made, whichever comes first
(at least ``MIN_CALLS`` when they fit in twice the budget). The intervals are distribution-free: order statistics
whose ranks come from the binomial law of how many calls fall below the true quantile, so a steady model stops
after a few dozen calls and a noisy or slow one keeps its whole budget; each batch size reports the intervals,
the precision reached and what stopped it. Inputs are built before timing, so a timed call is ``predict(X)``
between two ``perf_counter`` reads and nothing else; the precision is checked between calls, outside them.

Memory: ``peak_memory_mb`` is the process's peak resident set size (RSS) while the latency calls run. Where the
kernel lets the process reset its high-water mark (``VmHWM``, through ``/proc/self/clear_refs``) it is measured:
the peak of predict itself, data and model already loaded. Where it does not (the hardened sandbox makes the
process non-dumpable, so its /proc files belong to root), it is estimated as the resident memory before the calls
plus the peak that one untimed predict call at the largest batch allocates, traced by ``tracemalloc`` (numpy
buffers included; tracing slows that one call, never a timed one). ``memory.method`` says which it is;
``memory.process_peak_mb`` is the lifetime peak (``ru_maxrss``) either way.
"""
from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd
from scipy.stats import binom

from modelwatch.core.config import PerformanceConfig
from modelwatch.core.model.predict import to_model_input
from modelwatch.core.results.jsonable import to_jsonable

if TYPE_CHECKING:
    from modelwatch.core.checks.context import SuiteContext

WARMUP_CALLS = 3
MIN_CALLS = 5
MAX_CALLS = 2000
LATENCY_BUDGET_S = 8.0  # all batch sizes together, before the share of the deadline is applied
LATENCY_PRECISION = PerformanceConfig.latency_precision  # the default, declared once in core.config
CONFIDENCE = 0.95
TIMED_QUANTILES = (0.5, 0.95)
ERROR_BUDGET_S = 60.0
ERROR_CHUNK = 1000
ERROR_SCAN_SHARE = 0.05  # of the section's part of the run's progress bar; latency's batch sizes share the rest
TRACED_CALL_MAX_MS = 5000.0
PROBA_ATOL = 1e-6
PROBA_SUM_ATOL = 1e-3  # float32 models (XGBoost, LightGBM) sum to 1 only within ~1e-6 per class


class OutputShapeMismatch(Exception):
    """The model returned a different number of outputs than rows it was given."""


def _batch(data: pd.DataFrame, size: int) -> pd.DataFrame:
    reps = -(-size // max(len(data), 1))
    return pd.concat([data] * reps, ignore_index=True).iloc[:size] if reps > 1 else data.iloc[:size]


@dataclass(frozen=True)
class Timing:
    """The seconds of each timed call, and what ended the timing: ``precision``, ``budget`` or ``calls``."""

    seconds: np.ndarray
    stopped_by: str


@lru_cache(maxsize=4096)
def _ranks(n: int, q: float, confidence: float) -> tuple[int, int]:
    alpha = 1 - confidence
    return int(binom.ppf(alpha / 2, n, q)), int(binom.ppf(1 - alpha / 2, n, q)) + 1  # 1-based ranks


def quantile_interval(seconds: np.ndarray, q: float, confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """A distribution-free confidence interval of the ``q`` quantile: two order statistics of ``seconds``.

    The number of calls below the true quantile is Binomial(n, q); the ranks are its ``(1 - confidence) / 2``
    quantiles on either side, so the interval covers the true quantile with at least ``confidence`` for any
    distribution. None while too few calls exist for a bounded interval (72 for the p95 at 95%).
    """
    n = len(seconds)
    low, high = _ranks(n, q, confidence)
    if n == 0 or low < 1 or high > n:
        return None
    ordered = np.partition(seconds, [low - 1, high - 1])
    return float(ordered[low - 1]), float(ordered[high - 1])


@lru_cache(maxsize=64)
def fewest_bounded_calls(confidence: float = CONFIDENCE) -> int:
    """The fewest calls that bound the interval of every timed quantile (72 at 95%): no precision before them."""
    n = 1
    while any(low < 1 or high > n for low, high in (_ranks(n, q, confidence) for q in TIMED_QUANTILES)):
        n += 1
    return n


def relative_precision(seconds: np.ndarray, confidence: float = CONFIDENCE) -> float:
    """The widest relative half-width of the p50 and p95 intervals (interval width / 2 / estimate); inf if unbounded."""
    worst = 0.0
    for q in TIMED_QUANTILES:
        interval = quantile_interval(seconds, q, confidence)
        if interval is None:
            return float("inf")
        estimate = float(np.percentile(seconds, q * 100))
        width = interval[1] - interval[0]
        worst = max(worst, width / 2 / estimate if estimate > 0 else (0.0 if width == 0 else float("inf")))
    return worst


def time_until(predict: Callable[[Any], Any], X: Any, budget_s: float, precision: float | None = LATENCY_PRECISION,
               max_calls: int = MAX_CALLS, clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Warm up, then time ``predict(X)`` until the p50 and p95 are known to ``precision`` or the budget ends.

    Args:
        predict: the bound method to time.
        X: its input, built beforehand.
        budget_s: the time to spend on timed calls (warm-up excluded).
        precision: the relative half-width of the p50 and p95 intervals that ends the timing; None times as
            many calls as the first call says fit in the budget.
        max_calls: the most timed calls.
        clock: seconds as a float (injected by tests to time fake workloads).

    Returns:
        The seconds of each timed call and what stopped the timing.
    """
    start = clock()
    predict(X)
    first = clock() - start
    # Extra warm-up calls only while they are cheap against the budget (a 10 s model gets none).
    for _ in range(min(WARMUP_CALLS - 1, int(0.1 * budget_s / max(first, 1e-9)))):
        predict(X)
    floor = MIN_CALLS if MIN_CALLS * first <= 2 * budget_s else 1
    wanted = max_calls if precision is not None else int(budget_s / max(first, 1e-9))
    n_calls = max(floor, min(wanted, max_calls))
    timings = np.empty(n_calls)
    budget_end = clock() + budget_s
    stop = budget_end + max(floor * first * 1.5 - budget_s, 0.0)  # room for the floor's calls, never much more
    # the first check as soon as the intervals can be bounded (earlier ones could only say "not yet")
    count, next_check, stopped_by = 0, max(MIN_CALLS, fewest_bounded_calls()), "calls"
    while count < n_calls:
        t0 = clock()
        predict(X)
        t1 = clock()
        timings[count] = t1 - t0
        count += 1
        if count == n_calls:
            break
        # past the budget (the precision was not reached, or the first call underestimated the rest): stop
        if t1 > stop or (t1 > budget_end and count >= floor):
            stopped_by = "budget"
            break
        if precision is not None and count >= next_check:
            if relative_precision(timings[:count]) <= precision:
                stopped_by = "precision"
                break
            next_check = count + max(8, count // 8)  # geometric: O(log n) partial sorts in a whole timing
    return Timing(timings[:count], stopped_by)


def time_calls(predict: Callable[[Any], Any], X: Any, budget_s: float, max_calls: int = MAX_CALLS) -> np.ndarray:
    """Warm up, then time ``predict(X)`` as often as the budget allows (no precision target): the seconds per call."""
    return time_until(predict, X, budget_s, precision=None, max_calls=max_calls).seconds


def precision_summary(timing: Timing, target: float | None) -> dict[str, Any]:
    """The fields beside the percentiles: ``p50_ci``/``p95_ci`` in ms (None while unbounded), ``precision``
    (the widest relative half-width, None while unbounded), ``precision_target`` and ``stopped_by``."""
    fields: dict[str, Any] = {}
    for q in TIMED_QUANTILES:
        interval = quantile_interval(timing.seconds, q)
        fields[f"p{round(q * 100)}_ci"] = [interval[0] * 1000, interval[1] * 1000] if interval else None
    reached = relative_precision(timing.seconds)
    fields.update({"precision": reached if np.isfinite(reached) else None, "precision_target": target,
                   "stopped_by": timing.stopped_by})
    return fields


def latency_summary(seconds: np.ndarray) -> dict[str, float]:
    """Percentiles of per-call latency in milliseconds (``p50``, ``p95``, ``p99``, ``max``, ``mean``, ``n_calls``)."""
    ms = np.asarray(seconds) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99),
            "max": float(ms.max()), "mean": float(ms.mean()), "n_calls": int(ms.size)}


def _status_kb(field_name: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _maxrss_kb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform == "darwin" else float(rss)  # macOS reports bytes, Linux kB


def traced_peak_mb(predict: Callable[[Any], Any], X: Any) -> float:
    """The most memory one ``predict(X)`` call holds at once, from Python's allocator hooks (numpy included)."""
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    return max(peak - start, 0) / 2**20


class PeakMemory:
    """Measure the peak RSS of the code inside ``with``: VmHWM reset via clear_refs when the kernel allows it."""

    def __enter__(self) -> Self:
        self.measured = False
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # 5 resets the peak RSS (VmHWM) to the current RSS
            self.measured = _status_kb("VmHWM") is not None
        except OSError:
            pass
        # after the reset: the peak starts from this RSS (read before it, memory another thread freed in between
        # would have hidden the increase)
        self.baseline_kb = _status_kb("VmRSS") or _maxrss_kb()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_kb = (_status_kb("VmHWM") if self.measured else None) or 0.0

    def summary(self, alloc_mb: float | None, alloc_batch: int | None) -> dict[str, Any]:
        """``method``, ``baseline_mb``, ``peak_mb``, ``predict_increase_mb``, ``predict_alloc_peak_mb``..."""
        baseline = self.baseline_kb / 1024
        if self.measured:  # at least the RSS the calls started from (the kernel syncs its counters lazily: the
            peak = max(self.peak_kb, self.baseline_kb) / 1024  # high-water mark once read 20 kB below it)
            method = "measured: peak RSS during the latency calls (VmHWM reset via /proc/self/clear_refs)"
        elif alloc_mb is not None:
            peak = baseline + alloc_mb
            method = (f"estimated: RSS before the calls + the peak one predict call at batch {alloc_batch} allocates "
                      "(tracemalloc); this process may not reset its kernel peak-RSS counter")
        else:
            peak = max(_maxrss_kb() / 1024, baseline)
            method = "upper bound: the process's lifetime peak RSS (ru_maxrss); predict was too slow to trace"
        return {"method": method, "baseline_mb": baseline, "peak_mb": peak,
                "predict_increase_mb": max(peak - baseline, 0.0), "predict_alloc_peak_mb": alloc_mb,
                "alloc_batch_size": alloc_batch, "process_peak_mb": _maxrss_kb() / 1024}


def check_outputs(model: Any, X: Any, info: dict[str, Any], n_rows: int) -> list[tuple[str, str] | None]:
    """Call the model on ``X`` and return, per row, ``None`` or the ``(type, message)`` of a bad output.

    Bad outputs: NaN or infinite predictions, classes not in ``classes_``, probabilities that are not finite,
    outside [0, 1] or do not sum to 1. Exceptions of the model propagate.

    Raises:
        OutputShapeMismatch: the model returned a different number of rows.
    """
    problems: list[tuple[str, str] | None] = [None] * n_rows

    def flag(mask: np.ndarray, kind: str, message: str) -> None:
        for i in np.flatnonzero(mask):
            if problems[i] is None:
                problems[i] = (kind, message)

    pred = np.asarray(model.predict(X))
    if pred.shape[:1] != (n_rows,):
        raise OutputShapeMismatch(f"predict returned {pred.shape[0] if pred.ndim else 'a scalar'} "
                                  f"outputs for {n_rows} rows")
    if pred.dtype.kind in "fc":
        finite = np.isfinite(pred).reshape(n_rows, -1).all(axis=1)
        flag(~finite, "NonFiniteOutput", "predict returned NaN or infinity")
    classes = info.get("classes")
    if info.get("task") == "classification" and classes is not None and pred.ndim == 1:
        known = np.isin(pred, np.asarray(classes, dtype=object)) | np.isin(pred.astype(str), [str(c) for c in classes])
        flag(~known, "UnknownClass", "predict returned a class that is not in classes_")
    if info.get("has_predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        if proba.ndim != 2 or proba.shape[0] != n_rows:
            raise OutputShapeMismatch(f"predict_proba returned shape {proba.shape} for {n_rows} rows")
        finite = np.isfinite(proba).all(axis=1)
        flag(~finite, "NonFiniteOutput", "predict_proba returned NaN or infinity")
        with np.errstate(invalid="ignore"):
            out = ((proba < -PROBA_ATOL) | (proba > 1 + PROBA_ATOL)).any(axis=1)
            off = np.abs(proba.sum(axis=1) - 1) > PROBA_SUM_ATOL
        flag(finite & out, "ProbabilityOutOfRange", "predict_proba returned a probability outside [0, 1]")
        flag(finite & off, "ProbabilitiesDoNotSumToOne", "predict_proba returned a row that does not sum to 1")
    return problems


def scan_errors(model: Any, data: pd.DataFrame, info: dict[str, Any], budget_s: float,
                chunk: int = ERROR_CHUNK) -> dict[str, Any]:
    """Predict every row in chunks; bisect a chunk that raises down to its failing rows.

    Args:
        model: the loaded model.
        data: the rows (all of the model's features).
        info: the model's introspection.
        budget_s: time allowed; past it, rows not yet checked are left out and chunks still being bisected
            count as failing (``exact`` is then False).
        chunk: rows per call.

    Returns:
        ``error_rate`` (failing rows / rows checked), ``errors`` (``type``, ``message``, ``count``, ``example``
        per exception or output problem type), ``rows_checked``, ``failed_rows`` (sorted positions),
        ``exact`` and ``calls``.
    """
    stop = time.monotonic() + budget_s
    groups: dict[str, dict[str, Any]] = {}
    failed: list[int] = []
    exact, calls, checked = True, 0, 0

    def record(positions: range | list[int], kind: str, message: str) -> None:
        entry = groups.setdefault(kind, {"type": kind, "message": message[:300], "count": 0,
                                         "example": to_jsonable(data.iloc[positions[0]].to_dict())})
        entry["count"] += len(positions)
        failed.extend(positions)

    for begin in range(0, len(data), chunk):
        if time.monotonic() > stop:
            exact = False
            break
        checked = min(begin + chunk, len(data))
        stack: list[tuple[int, int, Exception | None]] = [(begin, checked, None)]
        while stack:
            lo, hi, cause = stack.pop()
            if cause is not None and time.monotonic() > stop:
                exact = False  # out of time: the whole unresolved slice counts as failing
                record(range(lo, hi), type(cause).__name__, str(cause))
                continue
            calls += 1
            try:
                problems = check_outputs(model, to_model_input(data.iloc[lo:hi], info), info, hi - lo)
            except Exception as exc:  # noqa: BLE001 - the model's own error: find the rows behind it
                if hi - lo == 1:
                    record([lo], type(exc).__name__, str(exc))
                else:
                    mid = (lo + hi) // 2
                    stack += [(mid, hi, exc), (lo, mid, exc)]
                continue
            for offset, problem in enumerate(problems):
                if problem is not None:
                    record([lo + offset], *problem)
    return {"error_rate": len(failed) / checked if checked else 0.0, "errors": list(groups.values()),
            "rows_checked": checked, "failed_rows": sorted(failed), "exact": exact, "calls": calls}


def _budgets(ctx: SuiteContext) -> tuple[float, float, float]:
    options = ctx.config["performance"]
    left = max(ctx.seconds_left(), 1.0)
    latency = float(options.get("latency_budget_s", min(LATENCY_BUDGET_S, 0.2 * left)))
    errors = float(options.get("error_budget_s", min(ERROR_BUDGET_S, 0.2 * left)))
    return latency, errors, float(options["latency_precision"])


def measure_latency(model: Any, data: pd.DataFrame, info: dict[str, Any], sizes: list[int],
                    budget_s: float, precision: float | None = LATENCY_PRECISION,
                    on_size: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Latency, throughput and quantiles per batch size, with the peak memory of those calls.

    Args:
        budget_s: for all sizes together, shared equally.
        precision: the relative half-width of the p50 and p95 intervals that ends a size's timing early.
        on_size: called with each size's position and size before it is timed (outside every timed call).

    Returns:
        ``latency_ms`` (the percentiles with their intervals and the precision reached) and
        ``throughput_rows_per_s`` keyed by the batch size as a string, ``latency_quantiles_ms`` (101 quantiles
        per size, for the distribution plot) and ``memory``.
    """
    latency, throughput, quantiles, failures = {}, {}, {}, {}
    inputs = {size: to_model_input(_batch(data, size), info) for size in sizes}
    with PeakMemory() as memory:
        for position, size in enumerate(sizes):
            if on_size is not None:
                on_size(position, size)
            try:
                timing = time_until(model.predict, inputs[size], budget_s / max(len(sizes), 1), precision)
            except Exception as exc:  # noqa: BLE001 - this size fails as a whole (e.g. too large): say so
                failures[str(size)] = f"{type(exc).__name__}: {str(exc)[:200]}"
                continue
            seconds = timing.seconds
            latency[str(size)] = {**latency_summary(seconds), **precision_summary(timing, precision)}
            throughput[str(size)] = float(size * seconds.size / seconds.sum())
            quantiles[str(size)] = [round(float(q), 5) for q in np.percentile(seconds * 1000, np.arange(101))]
    # one traced call at the largest timed batch, unless that batch is so slow a slower copy would eat the budget
    timed = [int(size) for size, stats in latency.items() if stats["p50"] < TRACED_CALL_MAX_MS]
    alloc_batch = max(timed) if timed else None
    alloc = traced_peak_mb(model.predict, inputs[alloc_batch]) if alloc_batch else None
    return {"latency_ms": latency, "throughput_rows_per_s": throughput, "latency_quantiles_ms": quantiles,
            "memory": memory.summary(alloc, alloc_batch), "latency_failures": failures}


def compute(ctx: SuiteContext) -> dict[str, Any]:
    """Latency percentiles and throughput per batch size, load time, size, peak memory and error rate.

    Args:
        ctx: the suite context; ``config["performance"]`` may set ``latency_budget_s``, ``latency_precision``
            and ``error_budget_s``.

    Returns:
        The contract's ``performance`` section, plus ``latency_quantiles_ms``, ``memory``, ``error_scan`` and
        ``latency_budget`` (the budget per batch size, the precision asked for and its confidence, the seconds
        the timing took).
    """
    sizes = sorted({int(s) for s in ctx.config["batch_sizes"] if int(s) > 0})
    latency_budget, error_budget, precision = _budgets(ctx)
    scan = scan_errors(ctx.model, ctx.data, ctx.info, error_budget)

    def timing(position: int, size: int) -> None:  # the longest wait of a run: its bar moves size by size
        ctx.step(f"performance: latency, {size:,} row{'s' if size > 1 else ''} a call ({position + 1} of {len(sizes)})",
                 ERROR_SCAN_SHARE + (1 - ERROR_SCAN_SHARE) * position / len(sizes))

    # Time the rows the model takes: a failing row would turn every latency batch into an exception.
    good = ctx.data.drop(index=ctx.data.index[scan["failed_rows"]]) if scan["failed_rows"] else ctx.data
    started = time.monotonic()
    timed = measure_latency(ctx.model, good if len(good) else ctx.data, ctx.info, sizes, latency_budget, precision,
                            timing)
    spent = time.monotonic() - started
    return {
        "latency_ms": timed["latency_ms"],
        "throughput_rows_per_s": timed["throughput_rows_per_s"],
        "load_time_ms": float(ctx.info.get("load_time_ms", 0.0)),
        "model_size_bytes": int(ctx.model_size_bytes),
        "peak_memory_mb": float(timed["memory"]["peak_mb"]),
        "error_rate": float(scan["error_rate"]),
        "errors": scan["errors"],
        "latency_quantiles_ms": timed["latency_quantiles_ms"],
        "latency_failures": timed["latency_failures"],
        "memory": timed["memory"],
        "error_scan": {"rows_checked": scan["rows_checked"], "exact": scan["exact"], "calls": scan["calls"],
                       "failed_rows": scan["failed_rows"][:1000]},
        "latency_budget": {"per_batch_size_s": latency_budget / max(len(sizes), 1), "precision_target": precision,
                           "confidence": CONFIDENCE, "seconds": spent},
    }
