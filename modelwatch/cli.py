"""A command line for CI: submit a model to a modelwatch server, follow the run, exit with the gates' verdict.

    python -m modelwatch.cli submit model.pkl --sample ref.csv --target y --config c.json \\
        --server https://modelwatch.example.com --token "$MODELWATCH_TOKEN" --junit report.xml
    python -m modelwatch.cli submit model.pkl --name churn --baseline champion \\
        --max-relative-change performance.latency_ms.1.p95=0.1
    python -m modelwatch.cli batch send churn batch.parquet

Exit codes: 0 the gates passed; 1 the gates failed, or the run failed because of the model (it raised, ran out
of time or memory); 2 anything else (the server refused the request, could not be reached, or the wait ran out).
Uses only ``requests`` and the standard library, so it runs in any CI image with ``pip install requests``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import requests

from modelwatch import cli_monitoring

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
MODEL_FAILURES = ("model_error", "run_timeout", "resource_limit")  # the run failed because of the model
FINISHED = ("succeeded", "failed")
TRANSIENT_RETRIES = 5  # polls that may fail in a row (a restarting server, a 503) before giving up


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
    opened = []
    try:
        files = {}
        for name, path in (("model", args.model), ("sample", args.sample), ("current", args.current)):
            if path:
                handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
                opened.append(handle)
                files[name] = (Path(path).name, handle)
        response = session.post(f"{args.server}/run_tests", files=files, data=fields, timeout=args.http_timeout)
    except OSError as exc:
        raise CliError(f"could not send the request: {exc}") from exc
    finally:
        for handle in opened:
            handle.close()
    if response.status_code not in (200, 202):
        message, body = _error_text(response)
        raise CliError(f"the server refused the run: {message}", body)
    return response.json()["run"]


def follow(run: dict[str, Any], args: argparse.Namespace, session: requests.Session) -> dict[str, Any]:
    """Poll GET /api/runs/<id>, printing each new stage, until the run finishes or the wait runs out."""
    deadline = time.monotonic() + args.wait
    last, failures = None, 0
    while True:
        shown = (run["status"], run["stage"], round(100 * (run.get("progress") or 0)))
        if shown != last and not args.quiet:
            print(f"[{shown[2]:3d}%] {run['status']:<9} {run['stage']}", flush=True)
            last = shown
        if run["status"] in FINISHED:
            return run
        if time.monotonic() >= deadline:
            raise CliError(f"run {run['id']} did not finish within {args.wait:g} s (it goes on on the server)",
                           {"run": run})
        time.sleep(args.poll)
        try:
            response = session.get(f"{args.server}/api/runs/{run['id']}", timeout=args.http_timeout)
        except requests.RequestException as exc:
            response, reason = None, str(exc)
        if response is not None and response.status_code == 200:
            run, failures = response.json()["run"], 0
            continue
        if response is not None:
            reason = _error_text(response)[0]
            if response.status_code < 500:
                raise CliError(f"could not read run {run['id']}: {reason}")
        failures += 1
        if failures > TRANSIENT_RETRIES:
            raise CliError(f"could not read run {run['id']}: {reason}")


def verdict(run: dict[str, Any]) -> int:
    """The exit code a run deserves."""
    if run["status"] == "succeeded":
        gates = run.get("gates") or {"passed": True}
        return EXIT_PASSED if gates["passed"] else EXIT_FAILED
    code = (run.get("error") or {}).get("code")
    return EXIT_FAILED if code in MODEL_FAILURES else EXIT_ERROR


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def summary(run: dict[str, Any]) -> str:
    """A plain-text table of the run and its gates."""
    model = run.get("model") or {}
    lines = [f"run      {run['id']}  {run['status']}  {_fmt(run.get('duration_s'))} s",
             f"model    {model.get('name')} ({model.get('type')}, {model.get('task')}, {model.get('n_features')} "
             f"features)", f"details  {(run.get('links') or {}).get('dashboard', '')}"]
    if run.get("error"):
        lines.append(f"error    {run['error']['code']}: {run['error']['message']}")
    checks = (run.get("gates") or {}).get("checks") or []
    if checks:
        width = max(len(c["name"]) for c in checks)
        lines += ["", f"{'gate':<{width}}  {'value':>12}  result", f"{'-' * width}  {'-' * 12}  ------"]
        lines += [f"{c['name']:<{width}}  {_fmt(c['value']):>12}  {'PASS' if c['passed'] else 'FAIL'}"
                  for c in checks]
    code = verdict(run)
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
        suite.insert(0, props)  # JUnit puts properties before the test cases
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def run_submit(args: argparse.Namespace) -> int:
    args.server = args.server.rstrip("/")
    session = requests.Session()
    if args.token:
        session.headers["Authorization"] = f"Bearer {args.token}"
    run = None
    try:
        run = submit(args, session)
        if not args.quiet:
            print(f"submitted run {run['id']} to {args.server}", flush=True)
        run = follow(run, args, session)
    except (CliError, requests.RequestException) as exc:
        print(f"modelwatch: error: {exc}", file=sys.stderr)
        body = getattr(exc, "body", None)
        if args.json:
            Path(args.json).write_text(json.dumps(body or {"error": {"code": "client_error", "message": str(exc),
                                                                     "details": {}}}, indent=2))
        if args.junit:
            Path(args.junit).write_bytes(junit(None, str(exc)))
        return EXIT_ERROR
    print(summary(run), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"run": run}, indent=2))
    if args.junit:
        Path(args.junit).write_bytes(junit(run))
    return verdict(run)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m modelwatch.cli", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("submit", help="submit a model, follow the run, exit 0/1/2 on the gates' verdict")
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
    sub.add_argument("--wait", type=float, default=900.0, help="seconds to wait for the run (default 900)")
    sub.add_argument("--poll", type=float, default=1.0, help="seconds between progress polls (default 1)")
    sub.add_argument("--http-timeout", type=float, default=300.0, help="seconds for one HTTP request")
    sub.add_argument("--quiet", action="store_true", help="print only the summary")
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
