"""The test suite run inside the sandbox: generate the data, then compute the Result sections.

Quality runs first (it is cheap, so the first figures reach the run early), then performance alone (latency is
measured with nothing else running), then robustness, drift and explainability share the cores: threads, one
per core, each with its BLAS/OpenMP pools held to one thread so they do not oversubscribe, each section started
once the sections it reads are done. Where the sandbox forked a sibling process (two cores or more), drift, the
longest of them and bound by the GIL, is computed there instead, on the same context, told to start when the others
do (``core.sandbox.sibling``). Every finished section is announced with a progress line carrying its headline
(``core.results.headlines``).
"""
from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from modelwatch.core.checks import performance, quality, robustness
from modelwatch.core.checks.context import ProgressFn, SuiteContext
from modelwatch.core.config import resolve_config
from modelwatch.core.data.synthetic import generate
from modelwatch.core.drift import section as drift_section
from modelwatch.core.explain import section as explain_section
from modelwatch.core.model.predict import to_model_input
from modelwatch.core.results.headlines import headline
from modelwatch.core.sandbox.sibling import Child, Sibling
from modelwatch.core.schema.from_csv import read_csv_bytes
from modelwatch.core.schema.from_model import assumed_features
from modelwatch.core.sections import SECTIONS, Registry
from modelwatch.errors import ModelError

Compute = Callable[[SuiteContext], dict[str, Any] | None]
# each registered section's compute, bound here (not in core.sections) so that only the sandbox imports them
COMPUTE: dict[str, Compute] = SECTIONS.bind("compute functions", {
    "performance": performance.compute,
    "robustness": robustness.compute,
    "quality": quality.compute,
    "drift": drift_section.compute,
    "explainability": explain_section.compute,
})
SMOKE_ROWS = 20
# computed in a sibling process where the sandbox made one, helped by this one: the longest shared section, bound by
# the GIL in threads (``drift.section.compute`` with a ``Share``)
APART = "drift"


def smoke_test(ctx: SuiteContext) -> None:
    """Fail the run when the model cannot predict any of the first generated rows: nothing else would work.

    Raises:
        ModelError: with the exception the model raised on the first row.
    """
    head = ctx.data.head(SMOKE_ROWS)
    try:
        ctx.model.predict(to_model_input(head, ctx.info))
        return
    except Exception as batch_error:
        first = batch_error
    for i in range(len(head)):
        try:
            ctx.model.predict(to_model_input(head.iloc[i:i + 1], ctx.info))
            return  # some rows work: the error rate will say how many fail
        except Exception:
            continue
    raise ModelError(f"The model raised {type(first).__name__} on every generated row: {str(first)[:300]}",
                     {"type": type(first).__name__, "example": head.iloc[0].to_dict()})


def _read_csv(path: Path) -> pd.DataFrame | None:
    return read_csv_bytes(path.read_bytes()) if path.exists() else None


def _context(model: Any, info: dict[str, Any], payload: dict[str, Any], root: Path,
             progress: ProgressFn) -> SuiteContext:
    """The run's context: its config, the generated data (from the config's seed: the same in every process), the
    sample and current data, and the deadline."""
    config = resolve_config(payload.get("config"))
    schema = payload["schema"]
    progress("generating data", 0.05)
    sample = _read_csv(root / "sample.csv")
    generator = config["generator"]
    fit_on = sample if generator == "copula" and not schema.get("copula") else None
    data = generate(schema, int(config["n_samples"]), int(config["seed"]), generator=generator, sample=fit_on)
    return SuiteContext(
        model=model, info=info, schema=schema, config=config, data=data,
        sample=sample, current=_read_csv(root / "current.csv"),
        target=payload.get("target"), model_size_bytes=(root / "model.bin").stat().st_size,
        deadline=time.monotonic() + float(config["timeout_s"]) * 0.9, progress=progress,
    )


def run_suite(
    model: Any, info: dict[str, Any], payload: dict[str, Any], root: Path, progress: ProgressFn,
    sections: Registry = SECTIONS, compute: dict[str, Compute] = COMPUTE, sibling: Sibling | None = None,
) -> dict[str, Any]:
    """Run every section of ``sections`` on the model and return the Result (those that fail hold ``{"skipped"}``).

    With a ``sibling`` process (``core.sandbox.sibling``) ready, section ``APART`` is computed there, told to start
    when the shared sections do.
    """
    began = time.monotonic()
    ctx = _context(model, info, payload, root, progress)
    progress("smoke test", 0.08)
    smoke_test(ctx)
    if sibling is not None and APART in sections and sibling.wait_ready(ctx.deadline):
        compute = {**compute, APART: lambda ctx: _beside(sibling, ctx)}
    elif sibling is not None:
        sibling.close()  # it ends when it reads the end of its pipe
    run_sections(ctx, cores(), sections, compute)
    progress("finishing", 0.98)
    return {
        "schema": ctx.schema,
        "data": {"n_samples": len(ctx.data), "seed": ctx.config["seed"], "generator": ctx.config["generator"],
                 "assumed_features": assumed_features(ctx.schema)},
        **{name: ctx.results[name] for name in sections},
        "model": {k: info.get(k) for k in ("type", "task", "n_features", "feature_names", "classes", "intake")},
        "timing": timing(ctx.clock, began),
    }


def timing(clock: dict[str, tuple[float, float]], began: float) -> dict[str, Any]:
    """Where a run's time went: each section's start and seconds from ``began`` (the suite's start, after the model
    was loaded), and the whole suite's seconds. Sections running together overlap; latency runs alone."""
    return {"total_s": round(time.monotonic() - began, 3),
            "sections": {name: {"start_s": round(start - began, 3), "seconds": round(end - start, 3)}
                         for name, (start, end) in clock.items()}}


def _beside(sibling: Sibling, ctx: SuiteContext) -> dict[str, Any] | None:
    """Section ``APART`` from the sibling; this process computes the scenario groups it claims too, once its other
    sections are done or waiting for a result (two processes on two cores: neither waits on the other's GIL)."""
    started = time.monotonic()
    sibling.go(ctx.deadline)
    try:
        ctx.wait_idle(APART)
        helped = drift_section.assist(ctx, sibling.claim, started)
    except BaseException:
        sibling.close()  # the sibling reads the end of its pipe: it finishes without these groups
        raise
    return sibling.section(helped)


def run_apart(model: Any, info: dict[str, Any], payload: dict[str, Any], root: Path,
              child: Child) -> dict[str, Any] | None:
    """In the sibling process: the child's context, then section ``APART`` once the child says go, with the child's
    deadline (None when the child ended without saying it)."""
    ctx = _context(model, info, payload, root, lambda stage, fraction, **extra: None)
    child.ready()
    deadline = child.wait_go()
    if deadline is None:
        return None
    ctx.deadline = deadline
    with threadpool_limits(limits=1, user_api="blas"):
        return _compute_single_threaded(lambda ctx: drift_section.compute(ctx, share=child), ctx)


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _compute(compute: Compute, ctx: SuiteContext) -> dict[str, Any] | None:
    try:
        return compute(ctx)
    except Exception as exc:  # one broken section must not sink the run
        return {"skipped": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-1500:]}


def _compute_single_threaded(compute: Compute, ctx: SuiteContext) -> dict[str, Any] | None:
    with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP's thread count is per calling thread
        return _compute(compute, ctx)


def run_sections(ctx: SuiteContext, workers: int, sections: Registry = SECTIONS,
                 compute: dict[str, Compute] = COMPUTE) -> None:
    """Fill ``ctx.results``: the sections declared ``alone`` in turn, then the others on ``workers`` threads.

    Each group starts in the order of ``Section.start``; a shared section waits for the sections it ``needs``
    before it starts, and for those it ``awaits`` when it asks for them (``SuiteContext.result_of``); ``compute``
    maps each section of ``sections`` to its compute function.

    ``ctx.progress`` gets a stage when a section starts and ``section=`` and ``headline=`` keywords when it ends;
    its calls are serialised, so a progress line is never interleaved with another.
    """
    raw, lock, shown = ctx.progress, threading.Lock(), 0.0

    def progress(stage: str, fraction: float, extra: dict[str, Any] | None = None) -> None:
        nonlocal shown
        with lock:
            shown = fraction = max(fraction, shown)  # the bar never goes back (sections end in any order)
            if extra:
                raw(stage, fraction, **extra)
            else:
                raw(stage, fraction)

    ctx.progress = progress

    def reached(count: int) -> float:  # the run's progress once ``count`` sections are done
        return 0.1 + 0.85 * count / len(sections)

    def started(name: str) -> None:
        now = time.monotonic()
        ctx.clock[name] = (now, now)  # its end is set as it finishes
        progress(name, reached(len(ctx.results)))

    def finished(name: str, section: dict[str, Any] | None) -> None:
        ctx.clock[name] = (ctx.clock[name][0], time.monotonic())
        ctx.publish(name, section)
        progress(f"{name} done", reached(len(ctx.results)),
                 {"section": name, "headline": headline(sections[name].headline, section)})

    ctx.pending = set(sections) - set(ctx.results)
    ordered = sorted(sections.values(), key=lambda s: s.start)
    for section in (s for s in ordered if s.alone):
        ctx.span = (reached(len(ctx.results)), reached(len(ctx.results) + 1))
        started(section.name)
        finished(section.name, _compute(compute[section.name], ctx))
    waiting = [s for s in ordered if not s.alone]
    ctx.span = (reached(len(ctx.results)), reached(len(sections)))  # the shared sections fill the rest together
    running: dict[Future, str] = {}
    # BLAS pools are process-wide: held to one thread here, once, not by each worker (whose exit would restore them)
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=max(1, min(workers, len(waiting))), thread_name_prefix="section") as pool:
        try:
            while waiting or running:
                for section in list(waiting):
                    if all(need in ctx.results for need in section.needs):
                        waiting.remove(section)
                        started(section.name)
                        running[pool.submit(_compute_single_threaded, compute[section.name], ctx)] = section.name
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    finished(running.pop(future), future.result())
        finally:  # on the way out, no section may be left waiting for one that will not be published
            ctx.release_waiters()
