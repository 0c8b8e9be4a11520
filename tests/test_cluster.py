"""EKS per tier: encrypted, fully logged, private-first API, hardened nodes, one Kubernetes provider."""

from __future__ import annotations

import json

from config.cluster import CONTROL_PLANE_LOG_TYPES
from tests.conftest import STACKS
from tests.harness import TUNED_CLUSTER, config_error, eks_plan, plan

CLUSTER = "aws:eks/cluster:Cluster"


def test_secrets_are_envelope_encrypted_with_a_rotating_cmk():
    prod = plan("prod")
    enc = prod.one(CLUSTER).props["encryptionConfig"]
    assert enc["resources"] == ["secrets"]
    key = next(k for k in prod.of_type("aws:kms/key:Key") if k.name == "cluster-secrets-key")
    assert enc["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert prod.one(CLUSTER).property_dependencies["encryptionConfig"] == (key.urn,)
    assert key.props["enableKeyRotation"] is True and key.protect


def test_all_control_plane_logs_go_to_a_precreated_encrypted_group():
    prod = plan("prod")
    cluster = prod.one(CLUSTER)
    assert sorted(cluster.props["enabledClusterLogTypes"]) == sorted(CONTROL_PLANE_LOG_TYPES)
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane-logs")
    assert group.props["name"] == f"/aws/eks/{cluster.props['name']}/cluster"
    assert group.urn in cluster.dependencies, "the group must exist before EKS creates its own"
    assert group.props["kmsKeyId"] and group.props["retentionInDays"] == 365


def test_api_endpoint_is_private_and_public_access_is_cidr_restricted():
    for stack in STACKS:
        vpc = eks_plan(stack).one(CLUSTER).props["vpcConfig"]
        assert vpc["endpointPrivateAccess"] is True
        if vpc["endpointPublicAccess"]:
            assert vpc["publicAccessCidrs"] and "0.0.0.0/0" not in vpc["publicAccessCidrs"]
    private_only = eks_plan("dev", {"cluster.endpointPublicAccess": False}).one(CLUSTER).props["vpcConfig"]
    assert private_only["endpointPublicAccess"] is False and not private_only.get("publicAccessCidrs")


def test_api_authentication_and_access_entries_from_config():
    prod = plan("prod")
    assert prod.one(CLUSTER).props["accessConfig"]["authenticationMode"] == "API"
    associations = {a.props["principalArn"]: a.props["policyArn"].rsplit("/", 1)[-1]
                    for a in prod.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    assert associations == {
        "arn:aws:iam::111122223333:role/AgentPlatformDeploy": "AmazonEKSClusterAdminPolicy",
        "arn:aws:iam::111122223333:role/PlatformAdmin": "AmazonEKSClusterAdminPolicy",
        "arn:aws:iam::111122223333:role/PlatformDeveloper": "AmazonEKSViewPolicy",
        "arn:aws:iam::111122223333:role/SecurityAudit": "AmazonEKSViewPolicy",
        # delivery.previewRoleArns: CI's read-only identity (pull-request previews, drift checks).
        "arn:aws:iam::111122223333:role/AgentPlatformPreview": "AmazonEKSViewPolicy",
    }


ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def test_the_cluster_creator_gets_no_implicit_entry_that_would_duplicate_an_explicit_one():
    # With the bootstrap entry on, the deploy role's explicit entry fails with 409 ResourceInUseException.
    cluster = plan("prod").one(CLUSTER)
    assert cluster.props["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    # ForceNew upstream: a cluster created with the old value is kept, not replaced.
    assert "accessConfig.bootstrapClusterCreatorAdminPermissions" in cluster.ignore_changes


def test_each_principal_has_exactly_one_access_entry():
    principals = [e.props["principalArn"] for e in plan("prod").of_type(ENTRY)]
    assert len(principals) == len(set(principals)) == 5


def test_configured_deploy_roles_are_cluster_admins():
    bot = "arn:aws:iam::111122223333:role/ReleaseBot"
    planned = plan("prod", {"deployRoleArns": [bot]})
    entry = planned.one(ENTRY, "cluster-admin-ReleaseBot")
    (association,) = planned.children(entry.urn)
    assert association.props["principalArn"] == bot
    assert association.props["policyArn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")


def test_kubernetes_provider_waits_for_every_access_entry_and_policy_association():
    prod = plan("prod")
    provider = prod.one("pulumi:providers:kubernetes", "cluster-k8s")
    grants = [*prod.of_type(ENTRY), *prod.of_type(ASSOCIATION)]
    assert len(grants) == 10
    assert {g.urn for g in grants} <= set(provider.dependencies)
    for association in prod.of_type(ASSOCIATION):
        assert association.parent in association.dependencies, "an association needs its entry first"


def test_planting_a_principal_first_renames_no_other_access_entry():
    before = plan("prod")
    after = plan("prod", TUNED_CLUSTER)  # NewAdmin and NewViewer listed before prod's own roles
    assert after.one(ENTRY, "cluster-admin-NewAdmin") and after.one(ENTRY, "cluster-view-NewViewer")
    for kind in (ENTRY, ASSOCIATION):
        names_before = {r.name for r in before.of_type(kind)}
        names_after = {r.name for r in after.of_type(kind)}
        assert names_before <= names_after, names_before - names_after
        assert len(names_after - names_before) == 2


def test_access_entries_keep_their_former_index_names_as_aliases():
    prod = plan("prod")
    entry = prod.one(ENTRY, "cluster-view-SecurityAudit")
    assert [a.name for a in entry.aliases] == ["cluster-view-2"]
    (association,) = prod.children(entry.urn)
    assert [a.name for a in association.aliases] == ["cluster-view-2-policy"]
    assert not prod.one(ENTRY, "cluster-admin-AgentPlatformDeploy").aliases, "a new entry has no former name"


def test_prod_cluster_is_protected_and_dev_is_not():
    assert plan("prod").one(CLUSTER).protect and plan("prod").one(CLUSTER).props["deletionProtection"]
    assert not eks_plan("dev").one(CLUSTER).protect and not eks_plan("dev").one(CLUSTER).props["deletionProtection"]


def test_nodes_require_imdsv2_and_encrypted_gp3_roots():
    for stack in ("dev", "prod"):
        result = eks_plan(stack)
        template = result.one("aws:ec2/launchTemplate:LaunchTemplate", "cluster-general-lt")
        meta = template.props["metadataOptions"]
        assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] in (1, 2)
        ebs = template.props["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true" and ebs["volumeType"] == "gp3" and ebs["kmsKeyId"]
        group = result.one("aws:eks/nodeGroup:NodeGroup")
        assert group.props["amiType"].startswith("AL2023")
        assert template.urn in group.dependencies


def test_node_groups_follow_config_sizes_and_capacity():
    dev = eks_plan("dev").one("aws:eks/nodeGroup:NodeGroup").props
    assert dev["capacityType"] == "SPOT" and dev["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}
    custom = plan("prod", {"cluster.nodeGroups": {
        "general": {"minSize": 3, "desiredSize": 4, "maxSize": 9},
        "gpu": {"instanceTypes": ["g6.xlarge"], "minSize": 0, "desiredSize": 0, "maxSize": 2,
                "labels": {"accelerator": "nvidia"},
                "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]}}})
    groups = {g.name: g.props for g in custom.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups["cluster-general"]["scalingConfig"]["desiredSize"] == 4
    assert groups["cluster-gpu"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert groups["cluster-gpu"]["labels"]["accelerator"] == "nvidia"


def test_managed_addons_with_network_policy_enforcement_and_own_roles():
    prod = plan("prod")
    addons = {a.props["addonName"]: a for a in prod.of_type("aws:eks/addon:Addon")}
    assert set(addons) >= {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"}
    assert json.loads(addons["vpc-cni"].props["configurationValues"]) == {"enableNetworkPolicy": "true"}
    for name in ("vpc-cni", "aws-ebs-csi-driver"):
        assert addons[name].props["serviceAccountRoleArn"].startswith("arn:aws:iam::")
    node_groups = {g.urn for g in prod.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert node_groups <= set(addons["coredns"].dependencies), "coredns needs nodes to schedule on"
    assert addons["vpc-cni"].urn in prod.one("aws:eks/nodeGroup:NodeGroup").dependencies


def test_irsa_roles_trust_only_their_service_account():
    prod = plan("prod")
    role = next(r for r in prod.of_type("aws:iam/role:Role") if r.name == "cluster-ebs-csi-role")
    trust = json.loads(role.props["assumeRolePolicy"])["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = trust["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:ebs-csi-controller-sa" in conditions.values()
    assert "sts.amazonaws.com" in conditions.values()


def test_one_kubernetes_provider_from_the_cluster_not_a_local_kubeconfig():
    prod = plan("prod")
    providers = prod.of_type("pulumi:providers:kubernetes")
    assert len(providers) == 1
    kubeconfig = json.loads(providers[0].props["kubeconfig"])
    cluster = prod.one(CLUSTER)
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://")
    assert kubeconfig["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name",
                                                                   cluster.props["name"]]
    for res in prod:
        if res.type.startswith("kubernetes:"):
            assert res.provider_urn == providers[0].urn, f"{res.urn} does not use the cluster provider"


def test_default_storage_class_is_encrypted_gp3_after_the_csi_driver():
    prod = plan("prod")
    sc = prod.one("kubernetes:storage.k8s.io/v1:StorageClass")
    assert sc.props["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert sc.props["parameters"]["encrypted"] == "true" and sc.props["parameters"]["type"] == "gp3"
    csi = next(a for a in prod.of_type("aws:eks/addon:Addon") if a.props["addonName"] == "aws-ebs-csi-driver")
    assert csi.urn in sc.dependencies


def test_a_principal_both_admin_and_viewer_is_rejected_before_anything_is_registered():
    err = config_error("prod", {"cluster.readOnlyRoleArns": ["arn:aws:iam::111122223333:role/AgentPlatformDeploy"]})
    assert "one access entry per principal" in dict(err.issues)["cluster.readOnlyRoleArns"]


def test_an_eks_stack_without_any_admin_role_is_rejected():
    err = config_error("prod", {"deployRoleArns": [], "cluster.adminRoleArns": []})
    assert "pulumi up" in dict(err.issues)["deployRoleArns"]


def test_two_roles_of_one_name_are_rejected():
    err = config_error("prod", {"deployRoleArns": ["arn:aws:iam::444455556666:role/PlatformAdmin"]})
    assert "share the name 'PlatformAdmin'" in dict(err.issues)["cluster.adminRoleArns"]


def test_cluster_role_trusts_eks_only_on_behalf_of_this_account():
    # EKS documents aws:SourceAccount for the cluster role (cross-service confused deputy prevention).
    role = plan("prod").one("aws:iam/role:Role", "cluster-cluster-role")
    (statement,) = json.loads(role.props["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "eks.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
