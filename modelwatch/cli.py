"""A command line for CI: submit a model to a modelwatch server, follow the run, exit with the gates' verdict.

    python -m modelwatch.cli submit model.pkl --sample ref.csv --target y --config c.json \\
        --server https://modelwatch.example.com --token "$MODELWATCH_TOKEN" --junit report.xml
    python -m modelwatch.cli submit model.pkl --name churn --baseline champion \\
        --max-relative-change performance.latency_ms.1.p95=0.1
    python -m modelwatch.cli batch send churn batch.parquet

Exit codes follow the run's verdict: 0 pass or warn (and incomplete: a section could not be computed); with
``--strict``, warn and incomplete exit 1 too; 1 fail, or the run failed because of the model (it raised, ran out
of time or memory); 2 anything else (the server refused the request, could not be reached, or the wait ran out).
A server without verdicts is judged by its gates (0 passed, 1 failed).
Uses only ``requests`` and the standard library, so it runs in any CI image with ``pip install requests``.

The submission carries an ``Idempotency-Key``: a connection error or a 502/503/504 is retried with the same key,
so a retry never starts a second run. Polls (``?wait``: answered the moment the run finishes) back off from
``--poll`` to ``--max-poll`` seconds. When the ``--timeout`` runs out, or CI cancels the job (SIGTERM, SIGINT), the
run is cancelled on the server too (``--keep-running`` leaves it going).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import requests

from modelwatch import cli_monitoring

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
MODEL_FAILURES = ("model_error", "run_timeout", "resource_limit")  # the run failed because of the model
FINISHED = ("succeeded", "failed")
TRANSIENT_RETRIES = 5  # polls that may fail in a row (a restarting server, a 503) before giving up
RETRY_STATUSES = (502, 503, 504)  # a router or a restarting server: the same request may be sent again
SUBMIT_BACKOFF_S = 0.5
HEARTBEAT_S = 30.0  # a line at least this often while the run is quiet, so CI logs show it is alive


class Stopped(Exception):
    """CI cancelled the job (SIGTERM or SIGINT)."""


def _stop(signum, _frame) -> None:
    raise Stopped(signal.Signals(signum).name)


class CliError(Exception):
    """A failure to report with exit code 2."""

    def __init__(self, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body = body


def _error_text(response: requests.Response) -> tuple[str, dict[str, Any] | None]:
    try:
        body = response.json()
        error = body["error"]
        return f"{response.status_code} {error['code']}: {error['message']}", body
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code}: {response.text[:300]}", None


def _json_document(value: str | None) -> str | None:
    """A --config / --schema value: a path to a JSON file, or JSON text."""
    if value is None:
        return None
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {value}: {exc}") from exc
    try:
        json.loads(text)
    except ValueError as exc:
        raise CliError(f"{value} is neither a JSON file nor JSON text: {exc}") from exc
    return text


def submit(args: argparse.Namespace, session: requests.Session) -> dict[str, Any]:
    """POST the model and its files to /run_tests; returns the Run."""
    fields = {name: text for name, text in (("config", _json_document(args.config)),
                                            ("schema", _json_document(args.schema)),
                                            ("target", args.target), ("name", args.name)) if text is not None}
    headers = {"Idempotency-Key": args.idempotency_key}
    for attempt in range(args.retries + 1):
        try:
            response = _post(args, session, fields, headers)
        except OSError as exc:  # requests' connection errors are OSErrors too
            if attempt == args.retries or not isinstance(exc, (requests.ConnectionError, requests.Timeout)):
                raise CliError(f"could not send the request: {exc}") from exc
            reason = str(exc)
        else:
            if response.status_code not in RETRY_STATUSES or attempt == args.retries:
                break
            reason = _error_text(response)[0]
        pause = SUBMIT_BACKOFF_S * 2 ** attempt
        if not args.quiet:
            print(f"submit failed ({reason[:120]}); retrying in {pause:g} s with the same Idempotency-Key",
                  file=sys.stderr, flush=True)
        time.sleep(pause)
    if response.status_code not in (200, 202):
        message, body = _error_text(response)
        raise CliError(f"the server refused the run: {message}", body)
    return response.json()["run"]


def _post(args: argparse.Namespace, session: requests.Session, fields: dict[str, str],
          headers: dict[str, str]) -> requests.Response:
    """One POST of the model and its files (opened afresh: a retry sends them whole again)."""
    opened = []
    try:
        files = {}
        for name, path in (("model", args.model), ("sample", args.sample), ("current", args.current)):
            if path:
                handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
                opened.append(handle)
                files[name] = (Path(path).name, handle)
        return session.post(f"{args.server}/run_tests", files=files, data=fields, headers=headers,
                            timeout=args.http_timeout)
    finally:
        for handle in opened:
            handle.close()


def follow(run: dict[str, Any], args: argparse.Namespace, session: requests.Session) -> dict[str, Any]:
    """Follow GET /api/runs/<id>?wait= with backoff, printing each new stage, until the run finishes or the wait
    runs out; the server answers the moment the run finishes, so the verdict is never a poll late."""
    started = time.monotonic()
    deadline = started + args.wait
    last, failures, pause, last_line = None, 0, args.poll, started
    while True:
        shown = (run["status"], run["stage"], round(100 * (run.get("progress") or 0)))
        now = time.monotonic()
        if (shown != last or now - last_line >= HEARTBEAT_S) and not args.quiet:
            print(f"[{shown[2]:3d}%] {now - started:5.0f}s {run['status']:<9} {run['stage']}", flush=True)
            last, last_line = shown, now
        if run["status"] in FINISHED:
            return run
        if now >= deadline:
            raise CliError(f"run {run['id']} did not finish within {args.wait:g} s", {"run": run})
        wait, asked = min(pause, max(deadline - now, 0.05)), time.monotonic()
        pause = min(pause * 1.5, max(args.max_poll, args.poll))
        try:  # the server answers as soon as the run finishes, else after ``wait``
            response = session.get(f"{args.server}/api/runs/{run['id']}", params={"wait": wait},
                                   timeout=args.http_timeout + wait)
        except requests.RequestException as exc:
            response, reason = None, str(exc)
        fresh = response.json()["run"] if response is not None and response.status_code == 200 else None
        if fresh is None or fresh["status"] not in FINISHED:
            time.sleep(max(wait - (time.monotonic() - asked), 0))  # answered early (its waiting slots were taken)
        if fresh is not None:
            if (fresh["status"], fresh["stage"]) != (run["status"], run["stage"]):
                pause = args.poll  # something moves: look again soon
            run, failures = fresh, 0
            continue
        if response is not None:
            reason = _error_text(response)[0]
            if response.status_code < 500:
                raise CliError(f"could not read run {run['id']}: {reason}")
        failures += 1
        if failures > TRANSIENT_RETRIES:
            raise CliError(f"could not read run {run['id']}: {reason}")


def verdict(run: dict[str, Any], strict: bool = False) -> int:
    """The exit code a run deserves: its verdict's (``strict``: only ``pass`` is 0), else its gates'."""
    if run["status"] == "succeeded":
        status = (run.get("verdict") or {}).get("status")
        if status is not None:
            return EXIT_PASSED if status == "pass" or (status != "fail" and not strict) else EXIT_FAILED
        gates = run.get("gates") or {"passed": True}
        return EXIT_PASSED if gates["passed"] else EXIT_FAILED
    code = (run.get("error") or {}).get("code")
    return EXIT_FAILED if code in MODEL_FAILURES else EXIT_ERROR


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def summary(run: dict[str, Any], strict: bool = False) -> str:
    """A plain-text table of the run, its verdict's lights and its gates."""
    model = run.get("model") or {}
    lines = [f"run      {run['id']}  {run['status']}  {_fmt(run.get('duration_s'))} s",
             f"model    {model.get('name')} ({model.get('type')}, {model.get('task')}, {model.get('n_features')} "
             f"features)", f"details  {(run.get('links') or {}).get('dashboard', '')}"]
    if run.get("error"):
        lines.append(f"error    {run['error']['code']}: {run['error']['message']}")
    found = run.get("verdict") or {}
    if found.get("checks"):
        lines += ["", f"verdict  {found['status'].upper()}"]
        lines += [f"  {c['status']:<12} {c['name']}: {c['reason']}" for c in found["checks"]]
    checks = (run.get("gates") or {}).get("checks") or []
    if checks:
        width = max(len(c["name"]) for c in checks)
        lines += ["", f"{'gate':<{width}}  {'value':>12}  result", f"{'-' * width}  {'-' * 12}  ------"]
        lines += [f"{c['name']:<{width}}  {_fmt(c['value']):>12}  {'PASS' if c['passed'] else 'FAIL'}"
                  for c in checks]
    code = verdict(run, strict)
    lines += ["", {EXIT_PASSED: "PASSED", EXIT_FAILED: "FAILED"}.get(code, "ERROR")]
    return "\n".join(lines)


def junit(run: dict[str, Any] | None, error: str | None = None) -> bytes:
    """JUnit XML: one test case per gate (or one for the run when it failed or could not be submitted)."""
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name="modelwatch")
    cases = []
    if error is not None:
        case = ET.Element("testcase", classname="modelwatch", name="submit")
        ET.SubElement(case, "error", message=error).text = error
        cases.append(case)
    elif run["status"] != "succeeded":
        case = ET.Element("testcase", classname="modelwatch.run", name=f"run {run['id']}")
        err = run.get("error") or {}
        kind = "failure" if verdict(run) == EXIT_FAILED else "error"
        ET.SubElement(case, kind, message=f"{err.get('code')}: {err.get('message')}", type=str(err.get("code")))
        cases.append(case)
    else:
        for check in (run.get("gates") or {}).get("checks") or []:
            case = ET.Element("testcase", classname="modelwatch.gates", name=check["name"])
            if not check["passed"]:
                sign = ">=" if check["op"] == "min" else "<="
                message = f"{check['metric']} = {_fmt(check['value'])}, expected {sign} {_fmt(check['threshold'])}"
                ET.SubElement(case, "failure", message=message, type="gate")
            cases.append(case)
    suite.extend(cases)
    counts = {"tests": len(cases), "failures": sum(c.find("failure") is not None for c in cases),
              "errors": sum(c.find("error") is not None for c in cases)}
    for key, value in counts.items():
        suite.set(key, str(value))
    if run is not None:
        suite.set("time", _fmt(run.get("duration_s") or 0.0))
        props = ET.Element("properties")
        ET.SubElement(props, "property", name="run_id", value=run["id"])
        ET.SubElement(props, "property", name="dashboard", value=(run.get("links") or {}).get("dashboard", ""))
        if run.get("verdict"):
            ET.SubElement(props, "property", name="verdict", value=run["verdict"]["status"])
        suite.insert(0, props)  # JUnit puts properties before the test cases
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def cancel(run: dict[str, Any], args: argparse.Namespace, session: requests.Session, why: str) -> None:
    """Cancel the run on the server (best effort: the job is ending anyway)."""
    try:
        response = session.post(f"{args.server}/api/runs/{run['id']}/cancel", timeout=10)
        outcome = "cancelled" if response.status_code == 200 else _error_text(response)[0]
    except requests.RequestException as exc:
        outcome = f"could not cancel it: {exc}"
    print(f"modelwatch: {why}: run {run['id']} {outcome}", file=sys.stderr, flush=True)


def run_submit(args: argparse.Namespace) -> int:
    args.server = args.server.rstrip("/")
    args.idempotency_key = args.idempotency_key or uuid.uuid4().hex
    session = requests.Session()
    if args.token:
        session.headers["Authorization"] = f"Bearer {args.token}"
    run = None
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        run = submit(args, session)
        if not args.quiet:
            print(f"submitted run {run['id']} to {args.server}", flush=True)
        run = follow(run, args, session)
    except (CliError, requests.RequestException, Stopped) as exc:
        if isinstance(exc, Stopped):
            exc = CliError(f"stopped by {exc}", {"run": run} if run else None)
        unfinished = run is not None and run.get("status") not in FINISHED
        if unfinished and not args.keep_running:
            cancel(run, args, session, str(exc))
        print(f"modelwatch: error: {exc}", file=sys.stderr)
        body = getattr(exc, "body", None)
        if args.json:
            Path(args.json).write_text(json.dumps(body or {"error": {"code": "client_error", "message": str(exc),
                                                                     "details": {}}}, indent=2))
        if args.junit:
            Path(args.junit).write_bytes(junit(None, str(exc)))
        return EXIT_ERROR
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(summary(run, args.strict), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"run": run}, indent=2))
    if args.junit:
        Path(args.junit).write_bytes(junit(run))
    return verdict(run, args.strict)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m modelwatch.cli", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("submit", help="submit a model, follow the run, exit 0/1/2 on its verdict")
    sub.add_argument("model", help="the model file (.pkl, .pickle, .joblib, .skops)")
    sub.add_argument("--schema", help="a Schema JSON file (or JSON text)")
    sub.add_argument("--sample", help="reference rows (CSV)")
    sub.add_argument("--current", help="recent real rows (CSV) to compare for drift")
    sub.add_argument("--target", help="the label column of the CSV files")
    sub.add_argument("--config", help="a Config JSON file (or JSON text); its thresholds are the gates")
    sub.add_argument("--name", help="the model's display name")
    sub.add_argument("--server", default=os.environ.get("MODELWATCH_SERVER", "http://127.0.0.1:8050"),
                     help="the server's base URL (default: $MODELWATCH_SERVER or http://127.0.0.1:8050)")
    sub.add_argument("--token", default=os.environ.get("MODELWATCH_TOKEN"),
                     help="an API token (default: $MODELWATCH_TOKEN)")
    sub.add_argument("--json", help="write the Run JSON to this file")
    sub.add_argument("--junit", help="write JUnit XML (one test case per gate) to this file")
    sub.add_argument("--timeout", "--wait", dest="wait", type=float, default=900.0,
                     help="seconds to wait for the run, then cancel it (default 900)")
    sub.add_argument("--keep-running", action="store_true",
                     help="on --timeout or SIGTERM, leave the run going on the server instead of cancelling it")
    sub.add_argument("--poll", type=float, default=1.0, help="seconds of the first polls (default 1)")
    sub.add_argument("--max-poll", type=float, default=10.0, help="polls back off up to this (default 10)")
    sub.add_argument("--retries", type=int, default=3,
                     help="times a submission is sent again after a connection error or 502/503/504 (default 3)")
    sub.add_argument("--idempotency-key", default=os.environ.get("MODELWATCH_IDEMPOTENCY_KEY"),
                     help="the submission's Idempotency-Key (default: $MODELWATCH_IDEMPOTENCY_KEY, else random); "
                          "a CI job id makes a re-run of the job return the same run")
    sub.add_argument("--http-timeout", type=float, default=300.0, help="seconds for one HTTP request")
    sub.add_argument("--quiet", action="store_true", help="print only the summary")
    sub.add_argument("--strict", action="store_true", help="exit 1 unless the verdict is pass (warn fails too)")
    cli_monitoring.add_baseline_options(sub)
    cli_monitoring.add_batch_parser(commands, sub.get_default("server"), sub.get_default("token"))
    return main


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m modelwatch.cli submit ...``; returns the exit code."""
    args = parser().parse_args(argv)
    if args.command == "batch":
        return cli_monitoring.run_batch(args)
    try:
        args.config = cli_monitoring.with_baseline(_json_document(args.config), args)
    except (CliError, ValueError) as exc:
        print(f"modelwatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return run_submit(args)


if __name__ == "__main__":
    sys.exit(main())
