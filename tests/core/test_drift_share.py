"""Drift's scenario groups shared with a helper process (``section.Share``, carried by ``core.sandbox.sibling``'s
encoding) give the same section as one process computing every group."""
from __future__ import annotations

import json
import time

from sklearn.ensemble import RandomForestClassifier

from modelwatch.core.drift import scenarios, section
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.core.sandbox import sibling
from tests.core.suite_context import make_context, schema_from_frame, untimed_drift
from tests.core.test_drift_section import SCHEMA as CHURN_SCHEMA

DRIFT = {"kinds": ["mean_shift", "missing", "out_of_range"], "severities": [1.0, 2.0], "resamples": 5}


class Halves:
    """This process claims the even groups; a helper (``section.assist``, here) the odd ones, whose results cross
    as they cross the pipe between the sandbox's two processes."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx

    def offer(self, count: int) -> None:
        self.count, self.mine = count, iter(range(0, count, 2))

    def claim(self) -> int | None:
        return next(self.mine, None)

    def helped(self) -> dict[int, list]:
        theirs = iter(range(1, self.count, 2))
        groups = section.assist(self.ctx, lambda: next(theirs, None), time.monotonic())
        assert sorted(groups) == list(range(1, self.count, 2))
        return {int(index): group for index, group in json.loads(json.dumps(groups, default=sibling._plain)).items()}



def _shared_equals_alone(ctx) -> dict:
    alone = to_jsonable(section.compute(ctx))
    shared = to_jsonable(section.compute(ctx, share=Halves(ctx)))
    assert alone["budget"]["groups"] == shared["budget"]["groups"] >= 3
    assert alone["budget"]["groups_helped"] == 0 and shared["budget"]["groups_helped"] == alone["budget"]["groups"] // 2
    assert untimed_drift(shared) == untimed_drift(alone)
    return shared


def test_groups_computed_by_a_helper_give_the_same_section(cancer):
    X, y = cancer
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    ctx = make_context(model, X.head(100), schema=schema_from_frame(X), sample=X.assign(target=y), target="target",
                       drift=DRIFT)
    shared = _shared_equals_alone(ctx)
    # the drifted columns shown come from both processes' scenarios, each feature and kind at its largest severity
    drawn = {key for counts in shared["distributions"].values() for key in counts["counts"]}
    assert {"reference", "mean_shift 2", "missing 2", "out_of_range 2"} <= drawn


def test_a_pipeline_with_categories_and_current_data_gives_the_same_section_shared(churn_frame, churn_pipeline):
    current = churn_frame.iloc[:250].assign(monthly=churn_frame["monthly"].iloc[:250] + 15)
    ctx = make_context(churn_pipeline, churn_frame.drop(columns="churn"), schema=CHURN_SCHEMA, sample=churn_frame,
                       current=current, target="churn",
                       drift={"kinds": list(scenarios.KINDS), "severities": [0.5, 1.0, 2.0, 3.0], "resamples": 4})
    shared = _shared_equals_alone(ctx)
    assert shared["current"]["n_rows"] == 250 and shared["multivariate"] is not None


def test_groups_shrink_towards_the_end_so_both_processes_finish_together(cancer):
    X, y = cancer
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    ctx = make_context(model, X.head(100), schema=schema_from_frame(X), sample=X.assign(target=y), target="target",
                       drift={**DRIFT, "severities": [0.5, 1.0, 2.0, 3.0]})
    run = section._Run(ctx)
    groups = section._groups(run)
    sizes = [len(group) for group in groups]
    assert [scenario[1:] for group in groups for scenario in group] == section._plan(run)  # every one, in order
    smallest = section.MAX_GROUP // section.TAIL_SHARE
    assert sizes[0] == section.MAX_GROUP and sizes == sorted(sizes, reverse=True) and sizes[-1] <= smallest
    left = len(section._plan(run))
    for size in sizes:  # a quarter of what is left once the full ones are done, down to a quarter group
        assert size == min(section.MAX_GROUP, max(-(-left // section.TAIL_SHARE), smallest), left)
        left -= size
