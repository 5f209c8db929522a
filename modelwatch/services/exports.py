"""A run's exports: the JSON, the metrics CSV, the generated data CSV, and the self-contained HTML report (drawn
by ``figures.html_report``)."""
from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from pandas.api.types import is_bool_dtype, is_numeric_dtype

from modelwatch.core.config import resolve_config
from modelwatch.core.data.synthetic import generate
from modelwatch.core.results import report
from modelwatch.core.schema.from_csv import read_csv_bytes
from modelwatch.errors import RunNotFinished
from modelwatch.figures import html_report
from modelwatch.run_status import FINISHED, RunStatus
from modelwatch.services.presenters import run_dict
from modelwatch.services.runs import get_run


def filename(run: Any, extension: str) -> str:
    """``modelwatch-<name>-<id>.<ext>``, with the name reduced to safe characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", run.name or "run").strip("-.")[:60] or "run"
    return f"modelwatch-{stem}-{run.id}.{extension}"


def report_json(run_id: str, base_url: str = "") -> tuple[str, str]:
    """The full Run of the contract as a JSON document (its links start with ``base_url``), and its download name."""
    run = get_run(run_id)
    return json.dumps(run_dict(run, base_url=base_url), indent=2, default=str), filename(run, "json")


def metrics_csv(run_id: str) -> tuple[str, str]:
    """``section,metric,value`` rows of every scalar of the result (one ``skipped`` row per skipped section).

    Raises:
        RunNotFinished: the run is still queued or running.
    """
    run = _finished(run_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "metric", "value"])
    if run.status == RunStatus.FAILED:
        error = run.error or {}
        writer.writerow([safe_cell(v) for v in ("run", "error_code", error.get("code"))])
        writer.writerow([safe_cell(v) for v in ("run", "error_message", error.get("message"))])
    for section, metric, value in report.metric_rows(run.result):
        writer.writerow([safe_cell(section), safe_cell(metric), "" if value is None else safe_cell(value)])
    return out.getvalue(), filename(run, "metrics.csv")


def data_csv(run_id: str) -> tuple[str, str]:
    """The synthetic data the run used, generated again from its schema, seed and generator (same seed, same rows).

    A copula run is fitted again on the run's stored sample when its schema holds no fitted copula, exactly as
    ``core.suite.run_suite`` does.
    """


    run = get_run(run_id)
    config = resolve_config(run.config)  # a run stored before a default existed gets today's
    data = (run.result or {}).get("data") or {}
    generator = data.get("generator") or config["generator"]
    fit_on = (read_csv_bytes(run.sample_csv) if generator == "copula" and run.sample_csv
              and not run.schema.get("copula") else None)
    frame = generate(run.schema, int(data.get("n_samples") or config["n_samples"]),
                     int(data.get("seed", config["seed"])), generator=generator, sample=fit_on)
    text_columns = [c for c in frame.columns if not is_numeric_dtype(frame[c]) and not is_bool_dtype(frame[c])]
    for column in text_columns:
        frame[column] = frame[column].map(safe_cell)
    frame.columns = [safe_cell(str(c)) for c in frame.columns]
    return frame.to_csv(index=False), filename(run, "data.csv")


def _finished(run_id: str):
    run = get_run(run_id)
    if run.status not in FINISHED:
        raise RunNotFinished(f"Run {run_id} is still {run.status}; exports are ready once it has finished.",
                             {"status": run.status})
    return run


def report_html(run_id: str) -> tuple[str, str]:
    """The self-contained HTML report of a finished run (``figures.html_report``), and its download name.

    Raises:
        RunNotFinished: the run is still queued or running.
    """
    run = _finished(run_id)
    return html_report.render(run_dict(run), run.schema), filename(run, "html")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (OWASP CSV injection); numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
