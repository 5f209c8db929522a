"""The hostile corpus, built once per test session (nothing is committed as a binary)."""
from __future__ import annotations

import pytest

from tests.core.hostile.corpus import Case, sandbox_cases, scan_cases


@pytest.fixture(scope="session")
def scan_corpus() -> dict[str, Case]:
    return {case.name: case for case in scan_cases()}


@pytest.fixture(scope="session")
def sandbox_corpus() -> dict[str, Case]:
    return {case.name: case for case in sandbox_cases()}
