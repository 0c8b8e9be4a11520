"""Stack config is validated as one tree before anything is registered, with one clear error."""

from __future__ import annotations

import pytest

from config import ConfigError, validate_config
from config.tiers import TIER_PRESETS, merge
from tests.harness import STACKS, config_error, plan

# (stack, overrides, the key the error must name, a phrase of the reason)
BAD_CONFIGS = [
    ("dev", {"bogus": 1}, "bogus", "unknown key"),
    ("dev", {"network.subnetSize": 24}, "network.subnetSize", "unknown key"),
    ("dev", {"environment": "qa"}, "environment", "must be one of dev, staging, prod"),
    ("dev", {"network.cidr": "10.0.0.0/33"}, "network.cidr", "not a valid CIDR"),
    ("dev", {"network.cidr": "10.10.0.0/18"}, "network", "too small"),
    ("prod", {"network.azCount": 2}, "network.azCount", "prod needs 3 availability zones"),
    ("prod", {"network.natGateways": "single"}, "network.natGateways", "one NAT gateway per AZ"),
    ("dev", {"cluster.nodeGroups": {"general": {"minSize": 3, "desiredSize": 1, "maxSize": 4}}},
     "cluster.nodeGroups.general.desiredSize", "minSize <= desiredSize <= maxSize"),
    ("dev", {"cluster.nodeGroups": {"GPU_pool": {}}}, "cluster.nodeGroups.GPU_pool", "DNS-1123"),
    ("dev", {"cluster.serviceCidr": "10.10.0.0/16"}, "cluster.serviceCidr", "overlaps the VPC"),
    ("dev", {"cluster.publicAccessCidrs": []}, "cluster.publicAccessCidrs",
     "endpointPublicAccess needs publicAccessCidrs"),
    ("dev", {"cluster.adminRoleArns": ["PlatformAdmin"]}, "cluster.adminRoleArns[0]", "not an IAM role ARN"),
    ("prod", {"cluster.publicAccessCidrs": ["0.0.0.0/0"]}, "cluster.publicAccessCidrs", "0.0.0.0/0"),
    ("prod", {"dataTier.postgres.multiAz": False}, "dataTier.postgres.multiAz", "Multi-AZ"),
    ("prod", {"protect": False}, "protect", "must be protected"),
    ("dev", {"owner": ""}, "owner", "at least 1 character"),
    ("dev", {"openaiApiKey": "sk-live-plaintext"}, "openaiApiKey", "must be a secret"),
    ("dev", {"anthropicApiKey": None}, "anthropicApiKey", "its key is not set"),
    ("dev", {"cluster.version": "latest"}, "cluster.version", "not a Kubernetes version Amazon EKS offers"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "phrase"), BAD_CONFIGS,
                         ids=[f"{s}:{p}" for s, _, p, _ in BAD_CONFIGS])
def test_bad_config_names_the_key_and_registers_nothing(stack, overrides, path, phrase):
    err = config_error(stack, overrides)  # asserts nothing was registered
    assert path in err.paths, f"{path} not named in:\n{err}"
    reason = dict(err.issues)[path]
    assert phrase.lower() in reason.lower(), reason
    assert f"  - {path}: " in str(err)


def test_every_problem_is_reported_in_one_error():
    err = config_error("prod", {"network.azCount": 2, "bogus": True, "cluster.nodeGroups": {"Bad": {}},
                                "dataTier.postgres.multiAz": False})
    assert {"network.azCount", "bogus", "cluster.nodeGroups.Bad", "dataTier.postgres.multiAz"} <= set(err.paths)
    assert "4 problems" in str(err)


def test_config_error_is_a_user_error_without_traceback():
    import pulumi

    assert issubclass(ConfigError, pulumi.RunError)


def test_missing_region_is_reported():
    with pytest.raises(ConfigError) as info:
        validate_config({"environment": "dev", "owner": "a", "costCenter": "b"}, stack="dev", region=None)
    assert "aws:region" in info.value.paths


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_validates_and_plans(stack):
    assert len(plan(stack)) > 50


# The least a prod stack file must say beyond its tier preset.
PROD_ESSENTIALS = {"backup": {"drRegion": "us-west-2"}, "observability": {"alertEmails": ["oncall@example.com"]},
                   "deployRoleArns": ["arn:aws:iam::111122223333:role/AgentPlatformDeploy"],
                   # prod on EKS runs its CI jobs on the in-VPC runner, which needs its repository and connection.
                   "delivery": {"ciRunner": {
                       "githubRepository": "example-org/agent-platform",
                       "connectionArn": "arn:aws:codeconnections:us-east-1:111122223333:connection/"
                                        "8c5f6a57-0d1e-4e55-9c57-2f4a1b0c9d3e"}}}


def test_tier_presets_apply_and_stack_files_override():
    dev = validate_config({"environment": "dev", "owner": "a", "costCenter": "b"}, stack="dev", region="us-east-1")
    assert dev.network.az_count == 2 and dev.network.nat_gateways == "single" and dev.protect is False
    prod = validate_config({"environment": "prod", "owner": "a", "costCenter": "b", **PROD_ESSENTIALS},
                           stack="prod", region="us-east-1")
    assert prod.network.az_count == 3 and prod.data_tier.postgres.multi_az and prod.protect is True
    custom = validate_config({"environment": "dev", "owner": "a", "costCenter": "b",
                              "network": {"azCount": 3}}, stack="dev", region="us-east-1")
    assert custom.network.az_count == 3
    assert custom.network.nat_gateways == "single", "the rest of the dev preset still applies"


def test_named_maps_replace_rather_than_merge():
    merged = merge(TIER_PRESETS["prod"], {"cluster": {"nodeGroups": {"memory": {"instanceTypes": ["r7i.large"]}}}})
    assert list(merged["cluster"]["nodeGroups"]) == ["memory"]
    assert merged["cluster"]["logRetentionDays"] == TIER_PRESETS["prod"]["cluster"]["logRetentionDays"]


def test_structured_settings_may_not_be_secrets():
    with pytest.raises(ConfigError) as info:
        validate_config({"environment": "dev", "owner": "a", "costCenter": "b", "network": '{"azCount": 2}'},
                        stack="dev", region="us-east-1", secret_keys={"network"})
    assert "network" in info.value.paths


def test_llm_keys_stay_secret_in_the_program():
    """Keys set with --secret reach resources only inside secret wrappers, never as plain strings."""
    for stack in STACKS:
        result = plan(stack)
        for res in result:
            assert "mock-secret-value-of-" not in str(res.masked_inputs), res.urn
        assert "mock-secret-value-of-" not in str(result.outputs)
