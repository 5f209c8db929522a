"""``python -m modelwatch.cli submit`` run as a subprocess against a live server: exit codes, JUnit and JSON."""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.api.fast import FAILING_GATES, PASSING_GATES, TIMEOUT_CONFIG, fast_config
from tests.factories import never_returning_onnx
from tests.support import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def model_file(tmp_path, forest_bytes) -> Path:
    path = tmp_path / "forest.pkl"
    path.write_bytes(forest_bytes)
    return path


def cli(server: str, model: Path, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    out_json, out_xml = tmp_path / "run.json", tmp_path / "junit.xml"
    args = [sys.executable, "-m", "modelwatch.cli", "submit", str(model), "--server", server, "--json", str(out_json),
            "--junit", str(out_xml), "--wait", "120", "--poll", "0.2", *extra]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=180)
    return done, out_json, out_xml


def suite(path: Path) -> ET.Element:
    return ET.parse(path).getroot().find("testsuite")


@pytest.mark.usefixtures("sandbox")
def test_gates_pass_exit_0_with_progress_summary_and_reports(live_server, model_file, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(fast_config(thresholds=PASSING_GATES))
    done, out_json, out_xml = cli(live_server[1], model_file, tmp_path, "--config", str(config), "--name", "ci-forest")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "submitted run" in done.stdout and "%]" in done.stdout and "PASSED" in done.stdout
    assert "performance.latency_ms.1.p95 <= 60000" in done.stdout
    run = json.loads(out_json.read_text())["run"]
    assert run["status"] == "succeeded" and run["name"] == "ci-forest" and run["gates"]["passed"] is True
    junit = suite(out_xml)
    assert junit.get("tests") == "2" and junit.get("failures") == "0" and junit.get("errors") == "0"
    assert {c.get("name") for c in junit.iter("testcase")} == {c["name"] for c in run["gates"]["checks"]}
    assert junit.find("properties/property[@name='run_id']").get("value") == run["id"]


@pytest.mark.usefixtures("sandbox")
def test_gates_fail_exit_1_with_a_junit_failure(live_server, model_file, tmp_path):
    done, out_json, out_xml = cli(live_server[1], model_file, tmp_path, "--config",
                                  fast_config(thresholds={**PASSING_GATES, **FAILING_GATES}), "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED" in done.stdout and "%]" not in done.stdout
    junit = suite(out_xml)
    assert junit.get("tests") == "3" and junit.get("failures") == "1"
    failure = junit.find("testcase/failure")
    assert "performance.throughput_rows_per_s.1" in failure.get("message") and ">= 1e+12" in failure.get("message")
    assert json.loads(out_json.read_text())["run"]["gates"]["passed"] is False


@pytest.mark.usefixtures("sandbox")
def test_a_model_that_runs_out_of_time_exits_1(live_server, tmp_path):
    model = tmp_path / "never_returns.onnx"
    model.write_bytes(never_returning_onnx())
    done, _, out_xml = cli(live_server[1], model, tmp_path, "--config", TIMEOUT_CONFIG)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "run_timeout" in done.stdout
    assert suite(out_xml).find("testcase/failure").get("type") == "run_timeout"


@pytest.mark.parametrize("case", ["unknown gate", "bad token", "no server"])
@pytest.mark.usefixtures("sandbox")
def test_errors_exit_2_with_a_junit_error(live_server, model_file, tmp_path, case):
    server, extra = live_server[1], []
    if case == "unknown gate":
        extra = ["--config", fast_config(thresholds={"performance.nothing": {"max": 1}})]
    elif case == "bad token":
        extra = ["--token", "mw_not_a_token"]
    else:
        server = f"http://127.0.0.1:{free_port()}"
    done, out_json, out_xml = cli(server, model_file, tmp_path, *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "modelwatch: error:" in done.stderr
    expected = {"unknown gate": "bad_request", "bad token": "unauthorized", "no server": "client_error"}[case]
    assert json.loads(out_json.read_text())["error"]["code"] == expected
    junit = suite(out_xml)
    assert junit.get("errors") == "1" and junit.find("testcase/error") is not None
