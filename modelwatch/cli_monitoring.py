"""The CLI's monitoring parts: ``batch send`` (a production batch to a registered model) and ``--baseline champion``
(relative gates against the model's champion) for ``submit``. Requests only, like the rest of the CLI."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import requests

EXIT_OK, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2


def add_batch_parser(commands, server_default: str, token_default: str | None) -> None:
    batch = commands.add_parser("batch", help="production batches of a registered model")
    actions = batch.add_subparsers(dest="action", required=True)
    send = actions.add_parser("send", help="send a CSV or Parquet batch; exit 1 on dataset drift with --fail-on-drift")
    send.add_argument("model", help="the registered model's name")
    send.add_argument("data", help="the batch: CSV or Parquet (features, optional prediction, label, timestamp, id)")
    send.add_argument("--server", default=server_default)
    send.add_argument("--token", default=token_default)
    send.add_argument("--fail-on-drift", action="store_true", help="exit 1 when the batch shows dataset drift")
    send.add_argument("--predict", action="store_true",
                      help="without a prediction column, let the server compute it with the champion (sandboxed)")
    send.add_argument("--http-timeout", type=float, default=300.0)


def add_baseline_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--baseline", choices=("champion",),
                     help="compare with the champion of the model named by --name (relative gates)")
    sub.add_argument("--max-relative-change", action="append", default=[], metavar="PATH=X",
                     help="with --baseline: the metric may rise by at most X (0.1 = 10%%) from the champion's")
    sub.add_argument("--min-relative-change", action="append", default=[], metavar="PATH=X",
                     help="with --baseline: the metric may fall by at most -X (-0.02 = 2%%) from the champion's")


def _bounds(pairs: list[str], op: str) -> dict[str, dict[str, float]]:
    out = {}
    for pair in pairs:
        path, _, value = pair.partition("=")
        try:
            out[path.strip()] = {op: float(value), "baseline": "champion"}
        except ValueError as exc:
            raise ValueError(f"--{op.replace('_', '-')} wants PATH=NUMBER, got {pair!r}") from exc
    return out


def with_baseline(config_text: str | None, args: argparse.Namespace) -> str | None:
    """The config with the --max/--min-relative-change gates added (``--baseline champion`` needs ``--name``).

    Raises:
        ValueError: a malformed option, or --baseline without --name or without any relative gate.
    """
    if not args.baseline:
        if args.max_relative_change or args.min_relative_change:
            raise ValueError("--max-relative-change and --min-relative-change need --baseline champion")
        return config_text
    if not args.name:
        raise ValueError("--baseline champion needs --name: the registered model whose champion to compare with")
    config = json.loads(config_text) if config_text else {}
    thresholds = dict(config.get("thresholds") or {})
    for pairs, op in ((args.max_relative_change, "max_relative_change"),
                      (args.min_relative_change, "min_relative_change")):
        for path, rule in _bounds(pairs, op).items():
            thresholds[path] = {**thresholds.get(path, {}), **rule}
    if not any("relative_change" in k or "absolute_change" in k for r in thresholds.values() for k in r):
        raise ValueError("--baseline champion needs a relative gate: --max-relative-change PATH=X, "
                         "--min-relative-change PATH=X, or one in --config")
    return json.dumps({**config, "thresholds": thresholds})


def run_batch(args: argparse.Namespace) -> int:
    """``batch send``: post the file, print the batch's drift summary."""
    path = Path(args.data)
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    try:
        with path.open("rb") as handle:
            answer = requests.post(f"{args.server.rstrip('/')}/api/models/{args.model}/batches", headers=headers,
                                   files={"data": (path.name, handle)}, timeout=args.http_timeout,
                                   data={"predict": "true"} if args.predict else None)
    except (OSError, requests.RequestException) as exc:
        print(f"modelwatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if answer.status_code != 201:
        try:
            error = answer.json()["error"]
            print(f"modelwatch: error: {answer.status_code} {error['code']}: {error['message']}", file=sys.stderr)
        except (ValueError, KeyError, TypeError):
            print(f"modelwatch: error: {answer.status_code}: {answer.text[:300]}", file=sys.stderr)
        return EXIT_ERROR
    batch = answer.json()["batch"]
    drift = batch["drift"]
    drifted = [name for name, (flag, _) in drift["features"].items() if flag]
    print(f"batch {batch['id']}: {batch['n_rows']} rows, {drift['n_drifted']} drifted feature(s) "
          f"({drift['share_drifted']:.0%}){': ' + ', '.join(drifted) if drifted else ''}; "
          f"dataset drift: {'yes' if drift['dataset_drift'] else 'no'}")
    return EXIT_DRIFT if args.fail_on_drift and drift["dataset_drift"] else EXIT_OK
