"""KMS key policies a brand-new account accepts: no principal that may not exist yet."""

from __future__ import annotations

import json

import pytest

from planning.mock_outputs import ACCOUNT_ID
from tests.harness import eks_plan, plan

KEY = "aws:kms/key:Key"
AUTOSCALING_ROLE = "AWSServiceRoleForAutoScaling"


def _volume_keys(stack: str) -> list[dict]:
    planned = eks_plan(stack) if stack != "dev" else plan("dev")
    keys = [k for k in planned.of_type(KEY) if k.name.endswith("volume-key")]
    assert keys, f"{stack} has no EBS volume key"
    return [json.loads(k.props["policy"]) for k in keys]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_volume_keys_name_no_service_linked_role_a_fresh_account_lacks(stack):
    # KMS rejects a policy naming a role that does not exist (particuleio/teks#92); the Auto Scaling
    # service-linked role exists only once the account's first Auto Scaling group was created.
    for policy in _volume_keys(stack):
        assert AUTOSCALING_ROLE not in json.dumps(policy)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_volume_keys_are_usable_only_through_ec2_of_this_account_and_region(stack):
    for policy in _volume_keys(stack):
        open_statements = [s for s in policy["Statement"] if s.get("Principal") == {"AWS": "*"}]
        assert len(open_statements) == 1
        stmt = open_statements[0]
        assert stmt["Effect"] == "Allow"
        # The statement of AWS's own aws/ebs key: any principal of the account, only via EC2 in the region.
        assert stmt["Condition"] == {"StringEquals": {"kms:CallerAccount": ACCOUNT_ID,
                                                      "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}
        assert "kms:CreateGrant" in stmt["Action"] and "kms:*" not in stmt["Action"]
