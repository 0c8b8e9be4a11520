"""EKS control plane, node groups and their launch templates."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.policies.support import TAGS, UNKNOWN, found, res

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

GOOD_CLUSTER: dict[str, Any] = {
    "roleArn": "arn:aws:iam::123456789012:role/cluster",
    "version": "1.36",
    "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False, "subnetIds": ["subnet-1"]},
    "tags": TAGS,
}
GOOD_TEMPLATE: dict[str, Any] = {
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                             "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeType": "gp3",
                                     "volumeSize": 50}}],
    "tags": TAGS,
}
CLUSTER_POLICIES = ["eks-secrets-encrypted-with-cmk", "eks-control-plane-logging", "eks-endpoint-restricted",
                    "eks-version-supported"]


def cluster(**changes: Any):
    props = copy.deepcopy(GOOD_CLUSTER)
    for key, value in changes.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return res(CLUSTER, "cluster", props)


def template(**changes: Any):
    props = copy.deepcopy(GOOD_TEMPLATE)
    props.update(changes)
    return res(LAUNCH_TEMPLATE, "nodes-lt", props)


@pytest.mark.parametrize("policy", CLUSTER_POLICIES)
def test_hardened_cluster_passes(policy: str):
    assert found(policy, cluster()) == []


@pytest.mark.parametrize(("policy", "field"), [
    ("eks-secrets-encrypted-with-cmk", "encryptionConfig"),
    ("eks-control-plane-logging", "enabledClusterLogTypes"),
    ("eks-endpoint-restricted", "vpcConfig"),
    ("eks-version-supported", "version"),
])
def test_cluster_fields_unknown_during_preview_report_nothing(policy: str, field: str):
    assert found(policy, cluster(**{field: UNKNOWN})) == []


# --- eks-secrets-encrypted-with-cmk -----------------------------------------------------------------------------


def test_cluster_without_secrets_encryption_is_reported():
    assert len(found("eks-secrets-encrypted-with-cmk", cluster(encryptionConfig=None))) == 1


def test_encryption_without_secrets_or_key_is_reported():
    violations = found("eks-secrets-encrypted-with-cmk", cluster(encryptionConfig={"resources": [], "provider": {}}))
    assert len(violations) == 2


def test_unknown_key_arn_reports_nothing():
    config = {"resources": ["secrets"], "provider": {"keyArn": UNKNOWN}}
    assert found("eks-secrets-encrypted-with-cmk", cluster(encryptionConfig=config)) == []


# --- eks-control-plane-logging ------------------------------------------------------------------------------------


def test_missing_control_plane_log_types_are_reported():
    (violation,) = found("eks-control-plane-logging", cluster(enabledClusterLogTypes=["api", "audit"]))
    assert "authenticator, controllerManager, scheduler" in violation.message


def test_required_log_types_are_configurable():
    config = {"eks-control-plane-logging": {"requiredLogTypes": ["api", "audit"]}}
    assert found("eks-control-plane-logging", cluster(enabledClusterLogTypes=["api", "audit"]), config=config) == []


# --- eks-endpoint-restricted ---------------------------------------------------------------------------------------


def test_public_endpoint_limited_to_listed_cidrs_passes():
    vpc = {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"], "subnetIds": ["subnet-1"]}
    assert found("eks-endpoint-restricted", cluster(vpcConfig=vpc)) == []


@pytest.mark.parametrize("vpc", [
    {"subnetIds": ["subnet-1"]},
    {"endpointPublicAccess": True, "subnetIds": ["subnet-1"]},
    {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]},
], ids=["api-default", "public-without-cidrs", "open-cidr"])
def test_endpoint_open_to_the_internet_is_reported(vpc: dict[str, Any]):
    assert len(found("eks-endpoint-restricted", cluster(vpcConfig=vpc))) == 1


@pytest.mark.parametrize("cidrs", [["0.0.0.0/1", "128.0.0.0/1"], ["128.0.0.0/1"],
                                   ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]])
def test_cidrs_that_together_cover_half_the_internet_are_reported(cidrs: list[str]):
    vpc = {"endpointPublicAccess": True, "publicAccessCidrs": cidrs, "subnetIds": ["subnet-1"]}
    (violation,) = found("eks-endpoint-restricted", cluster(vpcConfig=vpc))
    assert "half the internet or more" in violation.message


def test_unknown_public_access_reports_nothing():
    assert found("eks-endpoint-restricted", cluster(vpcConfig={"endpointPublicAccess": UNKNOWN})) == []


# --- eks-version-supported ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.29", "1.33", "1.34", None])
def test_unsupported_or_unpinned_version_is_reported(version: str | None):
    assert len(found("eks-version-supported", cluster(version=version))) == 1


def test_supported_versions_come_from_config():
    config = {"eks-version-supported": {"supportedVersions": ["1.29"]}}
    assert found("eks-version-supported", cluster(version="1.29"), config=config) == []
    assert len(found("eks-version-supported", cluster(), config=config)) == 1


# --- eks-node-group-launch-template ---------------------------------------------------------------------------


def node_group(**props: Any):
    return res(NODE_GROUP, "nodes", {"clusterName": "c", "scalingConfig": {"minSize": 1, "maxSize": 3,
                                                                           "desiredSize": 2}, "tags": TAGS, **props})


def test_node_group_with_pinned_launch_template_passes():
    assert found("eks-node-group-launch-template", node_group(launchTemplate={"id": UNKNOWN, "version": UNKNOWN})) == []
    assert found("eks-node-group-launch-template", node_group(launchTemplate={"name": "lt", "version": "3"})) == []


def test_node_group_without_launch_template_is_reported():
    assert len(found("eks-node-group-launch-template", node_group(diskSize=20))) == 1


def test_launch_template_without_version_is_reported():
    (violation,) = found("eks-node-group-launch-template", node_group(launchTemplate={"id": "lt-1"}))
    assert "version" in violation.message


# --- launch-template-imdsv2 -------------------------------------------------------------------------------------------


def test_imdsv2_template_passes():
    assert found("launch-template-imdsv2", template()) == []


@pytest.mark.parametrize("options", [
    {},
    {"httpTokens": "optional"},
    {"httpTokens": "required", "httpPutResponseHopLimit": 3},
], ids=["defaults", "optional-tokens", "hop-limit"])
def test_imdsv1_or_large_hop_limit_is_reported(options: dict[str, Any]):
    assert len(found("launch-template-imdsv2", template(metadataOptions=options))) == 1


def test_disabled_metadata_endpoint_passes():
    assert found("launch-template-imdsv2", template(metadataOptions={"httpEndpoint": "disabled"})) == []


def test_hop_limit_comes_from_config():
    options = {"httpTokens": "required", "httpPutResponseHopLimit": 3}
    config = {"launch-template-imdsv2": {"maxHopLimit": 3}}
    assert found("launch-template-imdsv2", template(metadataOptions=options), config=config) == []


def test_unknown_http_tokens_reports_nothing():
    assert found("launch-template-imdsv2", template(metadataOptions={"httpTokens": UNKNOWN})) == []


# --- launch-template-ebs-encrypted ----------------------------------------------------------------------------------


def test_encrypted_root_volume_passes():
    assert found("launch-template-ebs-encrypted", template()) == []


def test_unencrypted_volume_is_reported():
    mappings = copy.deepcopy(GOOD_TEMPLATE["blockDeviceMappings"])
    mappings.append({"deviceName": "/dev/xvdb", "ebs": {"encrypted": "false", "volumeSize": 100}})
    (violation,) = found("launch-template-ebs-encrypted", template(blockDeviceMappings=mappings))
    assert "/dev/xvdb" in violation.message


def test_template_without_root_mapping_is_reported():
    (violation,) = found("launch-template-ebs-encrypted", template(blockDeviceMappings=[]))
    assert "root volume" in violation.message


def test_unknown_encryption_flag_reports_nothing():
    mappings = [{"deviceName": "/dev/xvda", "ebs": {"encrypted": UNKNOWN}}]
    assert found("launch-template-ebs-encrypted", template(blockDeviceMappings=mappings)) == []
