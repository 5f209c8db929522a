"""The champion rule: the latest version whose latest run passed (its verdict, else its gates); a user's choice wins."""
from __future__ import annotations

from modelwatch.services import registry
from tests.factories import stored_artifact, stored_run


def _version(name: str, n: int, verdict: str | None = None, gates_passed: bool | None = None):
    artifact = stored_artifact(name, str(n).encode())
    version = registry.register_version(name, artifact)
    result = {"verdict": {"status": verdict, "checks": [], "reasons": []}} if verdict else {}
    gates = {"passed": gates_passed, "checks": []} if gates_passed is not None else None
    stored_run(artifact, name, result=result, gates=gates)
    return version


def test_the_champion_is_the_latest_version_whose_run_passed_unless_a_user_chose(app):
    first = _version("m", 1, verdict="pass")
    _version("m", 2, verdict="warn", gates_passed=True)  # the verdict beats the gates: a warn is no pass
    model = registry.get_model("m")
    assert registry.champion(model) == (first, "rule")
    third = _version("m", 3, gates_passed=True)  # no verdict: the gates decide
    assert registry.champion(model) == (third, "rule")
    _version("m", 4, gates_passed=False)
    assert registry.champion(model) == (third, "rule")
    registry.set_champion("m", 2)
    assert registry.champion(model)[0].number == 2 and registry.champion(model)[1] == "user"
    assert [v["number"] for v in registry.model_dict(model)["versions"]] == [1, 2, 3, 4]
    assert registry.register_version("m", first.artifact).number == 1  # the same file stays one version


def test_a_model_without_a_passing_version_has_no_champion(app):
    _version("lonely", 1, verdict="fail")
    assert registry.champion(registry.get_model("lonely")) == (None, None)
    assert registry.model_dict(registry.get_model("lonely"))["champion"] is None
