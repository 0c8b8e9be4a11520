"""KMS keys and IAM policy documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.policies.support import TAGS, UNKNOWN, found, res, secret

KEY = "aws:kms/key:Key"
ROOT = {"AWS": "arn:aws:iam::123456789012:root"}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def key(**props: Any):
    return res(KEY, "key", {"enableKeyRotation": True, "deletionWindowInDays": 30, "tags": TAGS, **props})


# --- kms-key-rotation-enabled -----------------------------------------------------------------------------------


def test_rotating_key_passes():
    assert found("kms-key-rotation-enabled", key(rotationPeriodInDays=365)) == []


@pytest.mark.parametrize("props", [{"enableKeyRotation": False}, {"enableKeyRotation": None},
                                   {"rotationPeriodInDays": 730}], ids=["off", "absent", "too-slow"])
def test_key_without_timely_rotation_is_reported(props: dict[str, Any]):
    assert len(found("kms-key-rotation-enabled", key(**props))) == 1


def test_asymmetric_keys_cannot_rotate_and_are_skipped():
    signing = key(enableKeyRotation=False, customerMasterKeySpec="ECC_NIST_P256", keyUsage="SIGN_VERIFY")
    assert found("kms-key-rotation-enabled", signing) == []


def test_unknown_rotation_flag_reports_nothing():
    assert found("kms-key-rotation-enabled", key(enableKeyRotation=UNKNOWN)) == []


# --- kms-key-policy-no-public-principal ------------------------------------------------------------------------


def test_key_policy_naming_principals_passes():
    policy = doc(allow("kms:*", Principal=ROOT),
                 allow(["kms:Decrypt"], Principal={"Service": "logs.amazonaws.com"}))
    assert found("kms-key-policy-no-public-principal", key(policy=policy)) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
def test_key_policy_open_to_anyone_is_reported(principal: Any):
    policy = doc(allow("kms:Decrypt", Principal=principal))
    (violation,) = found("kms-key-policy-no-public-principal", key(policy=policy))
    assert violation.severity == "critical"


def test_public_principal_with_a_condition_passes():
    stmt = allow("kms:Decrypt", Principal={"AWS": "*"},
                 Condition={"StringEquals": {"kms:CallerAccount": "123456789012"}})
    assert found("kms-key-policy-no-public-principal", key(policy=doc(stmt))) == []


def test_required_condition_keys_come_from_config():
    stmt = allow("kms:Decrypt", Principal="*", Condition={"Bool": {"aws:SecureTransport": "true"}})
    config = {"kms-key-policy-no-public-principal": {"requiredConditionKeys": ["kms:CallerAccount"]}}
    assert found("kms-key-policy-no-public-principal", key(policy=doc(stmt))) == []
    assert len(found("kms-key-policy-no-public-principal", key(policy=doc(stmt)), config=config)) == 1


def test_invalid_key_policy_is_reported():
    assert len(found("kms-key-policy-no-public-principal", key(policy="{not json"))) == 1


def test_unknown_key_policy_reports_nothing():
    assert found("kms-key-policy-no-public-principal", key(policy=UNKNOWN)) == []


# --- iam-no-admin-wildcard / iam-no-passrole-wildcard ---------------------------------------------------------


SCOPED = doc(allow(["s3:GetObject"], "arn:aws:s3:::bucket/*"),
             allow("iam:PassRole", "arn:aws:iam::123456789012:role/app"))


@pytest.mark.parametrize("type_", ["aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"])
def test_scoped_policy_documents_pass(type_: str):
    resource = res(type_, "p", {"policy": SCOPED, "tags": TAGS})
    assert found("iam-no-admin-wildcard", resource) == []
    assert found("iam-no-passrole-wildcard", resource) == []


@pytest.mark.parametrize("action", ["*", "*:*", ["s3:GetObject", "*"]])
def test_every_action_on_every_resource_is_reported(action: Any):
    resource = res("aws:iam/policy:Policy", "admin", {"policy": doc(allow(action, ["arn:aws:s3:::x", "*"]))})
    assert len(found("iam-no-admin-wildcard", resource)) == 1


def test_admin_statement_in_a_role_inline_policy_is_reported():
    role = res("aws:iam/role:Role", "role", {"assumeRolePolicy": doc(allow("sts:AssumeRole", Principal=ROOT)),
                                            "inlinePolicies": [{"name": "ok", "policy": SCOPED},
                                                               {"name": "admin", "policy": doc(allow("*"))}],
                                            "tags": TAGS})
    (violation,) = found("iam-no-admin-wildcard", role)
    assert "inline policy admin" in violation.message


def test_denying_everything_is_not_admin():
    resource = res("aws:iam/policy:Policy", "deny", {"policy": doc({"Effect": "Deny", "Action": "*", "Resource": "*"})})
    assert found("iam-no-admin-wildcard", resource) == []


def test_attaching_administrator_access_is_reported():
    attach = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    admin = res(attach, "admin", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    readonly = res(attach, "ro", {"role": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
    assert [v.resource_name for v in found("iam-no-admin-wildcard", admin, readonly)] == ["admin"]


def test_unknown_documents_report_nothing():
    role = res("aws:iam/role:Role", "role", {"inlinePolicies": [{"name": "later", "policy": UNKNOWN}]})
    policy = res("aws:iam/rolePolicy:RolePolicy", "rp", {"role": UNKNOWN, "policy": UNKNOWN})
    assert found("iam-no-admin-wildcard", role, policy) == []
    assert found("iam-no-passrole-wildcard", role, policy) == []


def test_secret_policy_documents_are_still_checked():
    resource = res("aws:iam/policy:Policy", "admin", {"policy": secret(doc(allow("*")))})
    assert len(found("iam-no-admin-wildcard", resource)) == 1


@pytest.mark.parametrize("action", ["iam:PassRole", "iam:passrole", "iam:*", "iam:Pass*"])
def test_pass_role_on_every_role_is_reported(action: str):
    resource = res("aws:iam/rolePolicy:RolePolicy", "rp", {"role": "r", "policy": doc(allow(action))})
    (violation,) = found("iam-no-passrole-wildcard", resource)
    assert action in violation.message


def test_iam_exemptions_come_from_config():
    resource = res("aws:iam/policy:Policy", "break-glass", {"policy": doc(allow("*"))})
    config = {"iam-no-admin-wildcard": {"exemptResources": ["break-glass"]}}
    assert found("iam-no-admin-wildcard", resource, config=config) == []
