"""Send a model to modelwatch over HTTP and read the verdict: a walk-through that needs only ``requests``.

Run it against a local server (``make run`` in another terminal):

    pip install requests scikit-learn          # scikit-learn only to build the example model
    python example_client/client_api_example.py --server http://127.0.0.1:8050

Every step below is one HTTP call you can copy into your own pipeline. The full contract is served by the
server itself at /api/docs (an interactive page) and /api/openapi.json.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import requests


def build_example_model() -> bytes:
    """A small scikit-learn model pickled to bytes, standing in for the file your training job writes."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    features, labels = load_breast_cancer(return_X_y=True)
    model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(features, labels)
    return pickle.dumps(model)


def main() -> int:
    parser = argparse.ArgumentParser(description="Submit a model to modelwatch and print the verdict.")
    parser.add_argument("--server", default="http://127.0.0.1:8050", help="where modelwatch runs")
    parser.add_argument("--model", help="a model file to send (default: build a small example model)")
    parser.add_argument("--token", default=os.environ.get("MODELWATCH_TOKEN"),
                        help="an API token, when the server requires one (flask --app wsgi tokens create --name ci)")
    args = parser.parse_args()
    server = args.server.rstrip("/")

    # 1. Is the server up? /api/health answers without a token.
    health = requests.get(f"{server}/api/health", timeout=10)
    print("health:", health.json())

    # 2. Prepare what to send. Only the model is required; everything else is optional.
    model_bytes = Path(args.model).read_bytes() if args.model else build_example_model()
    config = {
        "n_samples": 500,  # how many synthetic rows to generate and test on
        "batch_sizes": [1, 100],  # latency is measured per batch size
        # Gates: a metric path of the Result and a bound. The run's "gates" say which passed; a CI job fails
        # when gates.passed is false. An unknown path gets a 400 that lists every valid one.
        "thresholds": {
            "performance.latency_ms.1.p95": {"max": 50},  # one-row predictions: p95 under 50 ms
            "performance.error_rate": {"max": 0.0},  # the model never fails on valid rows
        },
    }

    # 3. Submit. It is a multipart form: the model as a file, the config as JSON text.
    #    "wait=60" asks the server to answer once the run has finished (at most 60 s; 600 is the cap).
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    response = requests.post(
        f"{server}/run_tests",
        params={"wait": 60},
        files={"model": ("model.pkl", model_bytes)},
        data={"config": json.dumps(config), "name": "example forest"},
        headers=headers,
        timeout=120,
    )

    # 4. Errors always have the same shape: {"error": {"code", "message", "details"}}.
    if response.status_code >= 400:
        error = response.json()["error"]
        print(f"refused ({response.status_code} {error['code']}): {error['message']}")
        return 2
    run = response.json()["run"]
    print(f"run {run['id']}: {run['status']} (dashboard: {run['links']['dashboard']})")

    # 5. 202 means "still running": ask the run's URL (the Location header) until it has finished; with
    #    "wait" the server answers as soon as it has (or after 5 s, to show the stage it is at).
    while run["status"] in ("queued", "running"):
        time.sleep(0.5)  # a busy server answers at once instead of waiting: never ask in a tight loop
        run = requests.get(f"{server}/api/runs/{run['id']}", params={"wait": 5}, headers=headers,
                           timeout=30).json()["run"]
        print(f"  {run['stage']} {run['progress']:.0%}")

    # 6. A failed run carries an error (for example model_error when the model raised on every row).
    if run["status"] == "failed":
        print(f"the run failed: {run['error']['code']}: {run['error']['message']}")
        return 1

    # 7. The Result holds every measurement; the gates hold the verdict.
    latency = run["result"]["performance"]["latency_ms"]["1"]
    print(f"p50 latency for one row: {latency['p50']:.2f} ms, p95: {latency['p95']:.2f} ms")
    for check in run["gates"]["checks"]:
        print(f"  {'PASS' if check['passed'] else 'FAIL'}  {check['name']}  (measured {check['value']})")
    print("verdict:", "passed" if run["gates"]["passed"] else "failed")
    return 0 if run["gates"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
