"""Forged structures built only from allowlisted parts: refused at load or by the structural validation, inside
the sandbox (never loaded in this process), with a message that carries no address and no file contents."""
from __future__ import annotations

import pickle
import re

import pytest

from modelwatch.core.intake.formats import sniff_format
from modelwatch.core.sandbox.runner import Limits, run_task
from modelwatch.errors import ModelwatchError
from tests.core.hostile.corpus import _fitted_lr

pytestmark = pytest.mark.usefixtures("sandbox")

LIMITS = Limits(timeout_s=60)
ADDRESS = re.compile(r"0x[0-9a-f]{6,}")


def _outcome(data: bytes) -> tuple[str, str]:
    try:
        run_task("inspect", data, sniff_format(data), limits=LIMITS)
    except ModelwatchError as exc:
        return exc.code, f"{exc.message} {exc.details}"
    return "accepted", ""


def test_every_forged_structure_is_refused_inside_the_sandbox(sandbox_corpus):
    wrong, leaks = [], []
    for case in sandbox_corpus.values():
        code, text = _outcome(case.data)
        if code not in case.allowed:  # resource_limit is never right for a forged structure
            wrong.append((case.name, code, text[:200]))
        if ADDRESS.search(text) or len(text) > 2000:
            leaks.append((case.name, text[:200]))
    assert wrong == []
    assert leaks == []


def test_the_benign_original_loads(sandbox_corpus):
    """The control: the model the forgeries start from is accepted, so each refusal is the forgery's doing."""
    info = run_task("inspect", pickle.dumps(_fitted_lr(), protocol=5), "pickle", limits=LIMITS)
    assert info["n_features"] == 6 and info["classes"] == [0, 1]
