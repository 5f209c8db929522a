"""The suite's schedule: quality, then performance alone, then the other sections sharing the cores, each
announced with its headline as soon as it is done."""
from __future__ import annotations

import threading

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_info

from modelwatch.core import suite
from modelwatch.core.results import headlines
from modelwatch.core.sections import SECTIONS
from tests.core.suite_context import make_context

POOLS_BY_THREAD: dict[str, dict[str, int]] = {}


def record_pools(X):
    """An identity step that notes, per calling thread, the BLAS/OpenMP pool sizes the model runs with."""
    name = threading.current_thread().name
    if name not in POOLS_BY_THREAD:  # threadpool_info costs a few ms: once per thread
        POOLS_BY_THREAD[name] = _pools()
    return X


@pytest.fixture(scope="module")
def scheduled(cancer):
    X, y = cancer
    X = X.iloc[:, :6]
    model = make_pipeline(FunctionTransformer(record_pools, feature_names_out="one-to-one"),
                          LogisticRegression(max_iter=500)).fit(X, y)
    events = []
    ctx = make_context(model, X.head(300), sample=X.iloc[:200].assign(target=y.iloc[:200]), target="target",
                       quality={"n_boot": 50}, explain={"max_samples": 20, "background": 20},
                       drift={"severities": [1.0], "kinds": ["mean_shift"], "resamples": 5})
    ctx.progress = lambda stage, fraction, **extra: events.append((stage, fraction, extra or None))
    before = _pools()
    suite.run_sections(ctx, workers=2)
    assert _pools() == before  # the limits of the shared phase are undone, whichever section ended last
    return ctx, events


def _pools() -> dict[str, int]:
    return {pool["user_api"]: pool["num_threads"] for pool in threadpool_info()}


def _position(events, stage):
    return next(i for i, (name, _, _) in enumerate(events) if name == stage)


def test_latency_runs_alone_and_dependencies_come_first(scheduled):
    ctx, events = scheduled
    stages = [stage for stage, _, _ in events]
    sizes = sorted(int(size) for size in ctx.config["batch_sizes"])
    assert stages[:2] == ["quality", "quality done"]  # the cheap section first: the first figures land early
    perf_start, perf_done = _position(events, "performance"), _position(events, "performance done")
    # nothing else starts while it times; its bar moves batch size by batch size
    assert stages[perf_start + 1:perf_done] == [f"performance: latency, {size:,} row{'s' if size > 1 else ''} a call "
                                                f"({k + 1} of {len(sizes)})" for k, size in enumerate(sizes)]
    timing = [fraction for _, fraction, _ in events[perf_start:perf_done + 1]]
    assert len(sizes) > 1 and timing == sorted(set(timing))  # the bar moves at each size, within performance's part
    for shared in ("drift", "robustness", "explainability"):
        assert _position(events, shared) > perf_done
    # explainability shares the cores with drift and waits for it only to explain its strongest scenario
    assert _position(events, "explaining under drift") > _position(events, "drift done")
    # drift and robustness are handed to the two workers together, before either is done
    assert max(_position(events, "drift"), _position(events, "robustness")) < min(
        _position(events, "drift done"), _position(events, "robustness done"))
    fractions = [fraction for stage, fraction, _ in events if stage.endswith(" done")]
    assert fractions[-1] == pytest.approx(0.95)
    every = [fraction for _, fraction, _ in events]
    assert every == sorted(every)  # the bar never goes back, whatever order the shared sections end in


def test_the_clock_shows_latency_alone_and_the_time_spent(scheduled):
    ctx, _ = scheduled
    clock = ctx.clock
    assert set(clock) == set(SECTIONS) and all(start <= end for start, end in clock.values())
    perf_start, perf_end = clock["performance"]
    for name, (start, end) in clock.items():  # nothing overlaps the performance section (latency is timed alone)
        assert name == "performance" or end <= perf_start or start >= perf_end, name
    began = min(start for start, _ in clock.values())
    spent = suite.timing(clock, began)
    assert spent["sections"]["quality"]["start_s"] == 0.0
    ends = [t["start_s"] + t["seconds"] for t in spent["sections"].values()]
    assert spent["total_s"] >= max(ends) - 2e-3  # each figure is rounded to 1 ms


def test_each_finished_section_streams_its_headline(scheduled):
    ctx, events = scheduled
    streamed = {extra["section"]: extra["headline"] for _, _, extra in events if extra}
    assert set(streamed) == set(suite.SECTIONS) == set(ctx.results)
    for name, headline in streamed.items():
        assert headline == headlines.headline(SECTIONS[name].headline, ctx.results[name]), name
        assert "skipped" not in headline, name
    robustness = ctx.results["robustness"]
    assert streamed["robustness"] == {"passed": robustness["passed"], "total": robustness["total"],
                                      "handled_rate": pytest.approx(robustness["handled_rate"], rel=1e-3),
                                      "outcomes": robustness["outcomes"]}
    assert streamed["quality"]["metrics"]["accuracy"] == pytest.approx(ctx.results["quality"]["metrics"]["accuracy"],
                                                                       rel=1e-3)
    # what a reader looks for first leads, though the section lists ROC AUC eighth
    assert list(streamed["quality"]["metrics"])[:3] == ["accuracy", "roc_auc", "balanced_accuracy"]
    assert streamed["performance"]["batch_size"] == 1
    assert streamed["performance"]["p50_ms"] == pytest.approx(ctx.results["performance"]["latency_ms"]["1"]["p50"],
                                                              rel=1e-3)
    assert streamed["drift"]["scenarios"] == len(ctx.results["drift"]["scenarios"]) > 0


def test_explainability_compares_the_strongest_drift_scenario_it_waited_for(scheduled):
    ctx, _ = scheduled
    strongest = ctx.results["drift"]["strongest"]
    assert ctx.results["explainability"]["drift"]["scenario"] == {
        k: strongest.get(k) for k in ("feature", "kind", "severity")}
    assert not ctx.pending


def test_a_section_waits_for_an_awaited_result_published_by_another_thread(cancer):
    X, y = cancer
    ctx = make_context(LogisticRegression().fit(X.iloc[:50, :3], y.iloc[:50]), X.iloc[:5, :3])
    ctx.pending = {"drift"}
    got = []
    reader = threading.Thread(target=lambda: got.append(ctx.result_of("drift")))
    reader.start()
    ctx.publish("drift", {"strongest": {"feature": "a"}})
    reader.join(timeout=60)
    assert got == [{"strongest": {"feature": "a"}}] and not ctx.pending
    ctx.pending = {"robustness"}
    ctx.release_waiters()  # the suite stopped: nothing waits for a section that will not come
    assert ctx.result_of("robustness") is None and ctx.result_of("not in the run") is None


def test_waiting_for_the_others_to_idle_ends_when_each_is_done_or_waits_for_a_result(cancer):
    """The child helps with drift's groups only once its other sections are done or blocked on drift."""
    X, y = cancer
    ctx = make_context(LogisticRegression().fit(X.iloc[:50, :3], y.iloc[:50]), X.iloc[:5, :3])
    ctx.pending = {"drift", "robustness", "explainability"}
    idle = threading.Event()
    helper = threading.Thread(target=lambda: (ctx.wait_idle("drift"), idle.set()))
    helper.start()
    ctx.publish("robustness", {})
    assert not idle.wait(0.2)  # explainability is still computing
    reader = threading.Thread(target=lambda: ctx.result_of("drift"))
    reader.start()  # explainability now waits for drift
    assert idle.wait(60)
    ctx.publish("drift", {})
    reader.join(timeout=60)
    helper.join(timeout=60)
    assert ctx.waiting == 0


def test_shared_sections_hold_their_pools_to_one_thread(scheduled):
    workers = {name: pools for name, pools in POOLS_BY_THREAD.items() if name.startswith("section")}
    assert workers, "no section called the model from a worker thread"
    for name, pools in workers.items():
        assert all(count == 1 for count in pools.values()), (name, pools)


def test_a_broken_section_headline_says_skipped():
    assert headlines.headline(SECTIONS["drift"].headline, {"skipped": "ValueError: no numeric feature"}) == {
        "skipped": "ValueError: no numeric feature"}
    assert headlines.headline(SECTIONS["quality"].headline, None) == {}
    nan_latency = {"latency_ms": {"10": {"p50": float("nan")}}}
    assert headlines.headline(SECTIONS["performance"].headline, nan_latency)["p50_ms"] is None
