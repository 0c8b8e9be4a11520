"""The shared VM host's policies: misconfigurations planted into the real shared dev plan, each named by its policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from planning.model import Plan
from tests.harness import plan
from tests.policies.planting import Change, add, chain, edit, edit_document, edit_user_data, rewire, violations
from tests.policies.support import TAGS, UNKNOWN, found, res

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SHARED = {"runtime": "vm", "vm": {"placement": "shared"},
          **{f"services.{s}.vm": {} for s in ("api", "context", "worker")}}
ISOLATION = "vm-shared-host-isolation"
ASSUMES = "vm-shared-host-assumes-placed-roles-only"
TRUST = "vm-shared-service-trust"
FOREIGN = "iam-trust-no-public-or-foreign-principal"


def _shared() -> Plan:
    return plan("dev", SHARED)


def _set_hops(inputs: dict[str, Any]) -> None:
    inputs["metadataOptions"]["httpPutResponseHopLimit"] = 2


def _assume_everything(document: dict[str, Any]) -> None:
    document["Statement"][0]["Resource"] = "*"


def _assume_another(document: dict[str, Any]) -> None:
    document["Statement"][0]["Resource"].append("arn:aws:iam::123456789012:role/deploy")


def _trust_another(document: dict[str, Any]) -> None:
    document["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::999988887777:role/elsewhere"


def _trust_ec2(document: dict[str, Any]) -> None:
    document["Statement"].append({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                  "Action": "sts:AssumeRole"})


PLANTINGS: dict[str, tuple[str, Change]] = {
    "container on the host network": (ISOLATION, edit_user_data(
        TEMPLATE, "shared-host-template", lambda t: t.replace("--network agents", "--network host", 1))),
    "no DOCKER-USER metadata drop": (ISOLATION, edit_user_data(
        TEMPLATE, "shared-host-template", lambda t: t.replace("-d 169.254.169.254/32 -j DROP", "-j RETURN"))),
    "metadata hop limit 2": (ISOLATION, edit(TEMPLATE, "shared-host-template", _set_hops)),
    "host may assume any role": (ASSUMES, edit_document(ROLE_POLICY, "shared-host-role-host", "policy",
                                                        _assume_everything)),
    "host may assume a role not placed on it": (ASSUMES, edit_document(
        ROLE_POLICY, "shared-host-role-host", "policy", _assume_another)),
    "placed role trusts another account's role": (TRUST, chain(
        edit_document(ROLE, "service-api-role", "assumeRolePolicy", _trust_another),
        rewire(ROLE, "service-api-role", "assumeRolePolicy", []))),
    "placed role also trusts EC2": (TRUST, edit_document(ROLE, "service-context-role", "assumeRolePolicy",
                                                         _trust_ec2)),
}


@pytest.mark.parametrize("case", list(PLANTINGS))
def test_each_planting_is_named_by_its_policy(case):
    policy, change = PLANTINGS[case]
    assert violations(_shared(), policy) == [], f"{policy} flags the unchanged shared plan"
    assert violations(change(_shared()), policy), f"{policy} missed: {case}"


def _trust_another_role(document: dict[str, Any]) -> None:
    document["Statement"] = [{"Effect": "Allow", "Action": "sts:AssumeRole",
                              "Principal": {"AWS": "arn:aws:iam::999988887777:role/elsewhere"}}]


def test_a_role_not_placed_on_the_host_still_may_not_trust_another_account():
    untagged = next(r.name for r in _shared().of_type(ROLE)
                    if "agent-platform/placement" not in (r.props.get("tags") or {}))
    planted = edit_document(ROLE, untagged, "assumeRolePolicy", _trust_another_role)(_shared())
    assert violations(planted, FOREIGN)
    # The host role is tagged too, but once it trusts an AWS principal it is judged as a placed role.
    planted = edit_document(ROLE, "shared-host-role", "assumeRolePolicy", _trust_another_role)(_shared())
    assert violations(planted, TRUST)
    # The placed role trusts its host role (same account, vm-shared-service-trust checks it): not foreign.
    assert violations(_shared(), FOREIGN) == []


def test_an_extra_role_posing_as_placed_is_caught():
    """A role that carries the placement tag but is not assumed through the host's trust is not 'placed'."""
    impostor = add(ROLE, "impostor", {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:role/x"}, "Action": "sts:AssumeRole"}]}),
        "tags": {**TAGS, "agent-platform/placement": "shared"}}, {})
    assert violations(impostor(_shared()), TRUST)


def test_dedicated_templates_are_not_judged_and_unknown_user_data_reports_nothing():
    dedicated = res(TEMPLATE, "t", {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                                    "userData": "IyEvYmluL2Jhc2gKZG9ja2VyIHJ1biAtLW5ldHdvcmsgaG9zdAo=",
                                    "tags": TAGS})
    assert found(ISOLATION, dedicated) == []
    unknown = res(TEMPLATE, "t", {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                                  "userData": UNKNOWN, "tags": {**TAGS, "agent-platform/placement": "shared"}})
    assert found(ISOLATION, unknown) == []
