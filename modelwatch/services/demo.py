"""Try an example: build demo models from scikit-learn's bundled datasets and run the whole suite on each.

The models are trained in a plain subprocess (``python -m modelwatch.core.data.demo_models``), never in the web
process; their files then take the same road as any upload: format check, static scan, sandboxed inspection,
and a run in the sandbox.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from modelwatch.core.data.demo_models import BUILDERS
from modelwatch.errors import BadRequest, ServiceUnavailable
from modelwatch.models import Run
from modelwatch.services import artifacts, runs

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 180
DEMO_CONFIG: dict[str, Any] = {"n_samples": 500, "batch_sizes": [1, 10, 100],
                               "explain": {"max_samples": 100, "background": 50}}


def build_demo_files(folder: Path, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """Train the demos in a subprocess that writes their files into ``folder``; returns its manifest.

    Raises:
        ServiceUnavailable: the subprocess failed or took too long.
    """
    try:
        subprocess.run([sys.executable, "-m", "modelwatch.core.data.demo_models", str(folder), *(keys or [])],
                       cwd=ROOT, check=True, capture_output=True, timeout=BUILD_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        stderr = (getattr(exc, "stderr", b"") or b"").decode(errors="replace")[-500:]
        raise ServiceUnavailable("The example models could not be built.", {"stderr": stderr}) from exc
    return json.loads((folder / "manifest.json").read_text())


def run_examples(keys: list[str] | None = None, config: dict[str, Any] | None = None,
                 source: str = "ui") -> list[Run]:
    """Build the demo models (all, or ``keys`` of ``core.data.demo_models.BUILDERS``) and submit a run for each.

    Raises:
        BadRequest: an unknown demo key.
        ServiceUnavailable: the models could not be built.
    """
    unknown = [k for k in keys or [] if k not in BUILDERS]
    if unknown:
        raise BadRequest(f"Unknown example {unknown[0]!r}; choose from {', '.join(BUILDERS)}.", {"keys": unknown})
    submitted = []
    with tempfile.TemporaryDirectory(prefix="modelwatch-demo-") as tmp:
        folder = Path(tmp)
        for entry in build_demo_files(folder, keys):
            artifact = artifacts.store_upload((folder / entry["model"]).read_bytes(), entry["model"], entry["name"])
            current = (folder / entry["current"]).read_bytes() if entry.get("current") else None
            chosen = config or DEMO_CONFIG
            if entry.get("class_names"):  # the classes' names on the Quality tab (0/1 means little)
                chosen = {**chosen, "quality": {**chosen.get("quality", {}), "class_names": entry["class_names"]}}
            submitted.append(runs.submit_run(
                artifact, config=chosen, sample_csv=(folder / entry["sample"]).read_bytes(),
                current_csv=current, target=entry["target"], name=entry["name"], source=source,
            ))
    return submitted
