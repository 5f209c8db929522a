"""History's "robust %" is the share of cases handled: ok, or invalid input refused with an error."""
from __future__ import annotations

import pytest

from modelwatch.services.history import history_rows
from tests.factories import V1, add_run


def test_a_correct_rejection_counts_as_handled_in_history(app):
    run = add_run("robust v1", V1)  # 8 ok, 1 rejected, 1 crashed of 10: passed / total would say 80
    older = add_run("robust v0", {**V1, "robustness": {"passed": 1, "total": 2, "cases": [
        {"name": "baseline", "status": "ok"}, {"name": "nan:a", "kind": "nan", "status": "error"}]}})
    rows = {row["id"]: row for row in history_rows()}
    assert rows[run.id]["robustness"] == pytest.approx(0.9)  # a share: the page shows it as a percentage
    assert rows[older.id]["robustness"] == pytest.approx(1.0)  # stored before outcomes: classified from cases
