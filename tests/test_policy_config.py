"""policies/config/<stack>.json: the facts the stack config states are generated from it and stay fresh."""

from __future__ import annotations

import json

import pytest

from planning import policy_config
from planning.cost_report.usage import platform_config
from planning.review import CONFIG_DIR
from tests.conftest import STACKS


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_policy_config_is_fresh(stack):
    committed = (CONFIG_DIR / f"{stack}.json").read_text()
    assert committed == policy_config.render(stack), f"stale; regenerate with: {policy_config.COMMAND}"


def test_check_reports_a_stale_file(tmp_path, monkeypatch):
    for stack in STACKS:
        (tmp_path / f"{stack}.json").write_text(policy_config.render(stack))
    data = json.loads((tmp_path / "prod.json").read_text())
    data["monthly-cost-budget"]["budgetUsd"] = 1
    (tmp_path / "prod.json").write_text(json.dumps(data, indent=2) + "\n")
    monkeypatch.setattr(policy_config, "CONFIG_DIR", tmp_path)
    assert policy_config.main(["--check"]) == 1
    assert policy_config.main(["--write"]) == 0
    assert json.loads((tmp_path / "prod.json").read_text())["monthly-cost-budget"]["budgetUsd"] == 6000
    assert policy_config.main(["--check"]) == 0


def test_an_unprotected_stack_tells_every_policy_with_the_setting():
    facts = policy_config.facts(platform_config("dev"))
    protected = {name for name, settings in facts.items() if settings.get("protectedEnvironment") is False}
    assert {"stateful-resources-protected", "alb-deletion-protection", "backup-vault-locked",
            "rds-deletion-protection"} <= protected
    assert all(v.get("protectedEnvironment") is True for v in policy_config.facts(platform_config("prod")).values()
               if "protectedEnvironment" in v)


def test_facts_follow_the_stack_config():
    prod = platform_config("prod", {"backup": {**platform_config("prod").backup.model_dump(by_alias=True),
                                               "rpoTargetMinutes": 30}})
    assert policy_config.facts(prod)["backup-rpo"] == {"maxRpoMinutes": 30}
    lock = policy_config.facts(platform_config("prod"))["backup-vault-locked"]
    assert lock == {"protectedEnvironment": True, "minLockRetentionDays": 35, "requireComplianceMode": True}
    assert "minLockRetentionDays" not in policy_config.facts(platform_config("dev"))["backup-vault-locked"]


def test_hand_owned_levels_and_thresholds_are_kept():
    merged = policy_config.merged({"a": "mandatory", "b": {"enforcementLevel": "advisory", "maxLimit": 5}},
                                  {"a": {"x": 1.0}, "b": {"y": [1]}})
    assert merged == {"a": {"enforcementLevel": "mandatory", "x": 1}, "b": {"enforcementLevel": "advisory",
                                                                          "maxLimit": 5, "y": [1]}}
