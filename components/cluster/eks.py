"""EKS cluster: encrypted, logged, private-first control plane with managed nodes and add-ons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.preview_access import PREVIEW_GROUP, preview_access
from components.core import iam, kms
from components.core.context import StackContext
from components.core.irsa import OidcIssuer, service_account_role
from components.core.logs import log_group
from config.cluster import CONTROL_PLANE_LOG_TYPES, ClusterConfig, NodeGroup
from config.platform import role_name

_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
_VIEW_POLICY = "AmazonEKSViewPolicy"
METRICS_SERVER_ADDON = "metrics-server"


@dataclass(frozen=True)
class ClusterArgs:
    config: ClusterConfig
    context: StackContext
    vpc_id: pulumi.Input[str]
    private_subnet_ids: list[pulumi.Output[str]]
    logs_key_arn: pulumi.Input[str]
    deploy_role_arns: Sequence[str] = ()
    """The roles that run `pulumi up`: cluster admins, since EKS grants the creator nothing here."""
    preview_role_arns: Sequence[str] = ()
    """CI's preview roles (pull-request previews, drift checks): viewers plus dry-run-only writes (preview_access)."""


@dataclass(frozen=True)
class AccessGrant:
    """One principal's access entry: named by its role name, aliased to the index name it had before."""

    principal_arn: str
    policy: str
    label: str
    legacy_index: int | None


def access_grants(cfg: ClusterConfig, deploy_role_arns: Sequence[str],
                  preview_role_arns: Sequence[str] = ()) -> list[AccessGrant]:
    """Admins (cluster.adminRoleArns, then the deploy roles) and viewers, one grant per principal.

    ``legacy_index`` is the position the principal had in adminRoleArns + readOnlyRoleArns, which
    named its entry ``cluster-<label>-<index>`` before entries were named by role.
    """
    legacy = [*cfg.admin_role_arns, *cfg.read_only_role_arns]
    admins = list(dict.fromkeys([*cfg.admin_role_arns, *deploy_role_arns]))
    grants = [(arn, _ADMIN_POLICY, "admin") for arn in admins]
    grants += [(arn, _VIEW_POLICY, "view") for arn in dict.fromkeys(cfg.read_only_role_arns) if arn not in admins]
    # CI's preview identity: AmazonEKSViewPolicy (EKS user guide, "Review access policy permissions") for reading
    # the cluster, plus PREVIEW_GROUP on its entry for server-side-apply dry runs (components/cluster/preview_access).
    taken = {arn for arn, _, _ in grants}
    grants += [(arn, _VIEW_POLICY, "preview") for arn in dict.fromkeys(preview_role_arns) if arn not in taken]
    return [AccessGrant(arn, policy, label, legacy.index(arn) if arn in legacy else None)
            for arn, policy, label in grants]


@dataclass(frozen=True)
class ClusterRefs:
    """What other components use of a cluster, as plain values (pulumi-eks passes ``CoreData`` the same way).

    The Kubernetes provider is not here: it reaches components through ``opts.providers``.
    """

    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc: OidcIssuer
    workload_security_group_id: pulumi.Output[str]
    node_groups: Sequence[aws.eks.NodeGroup]
    # What must exist before anything is applied to the cluster (access entries, add-ons, nodes).
    ready: Sequence[pulumi.Resource]
    metrics_server: aws.eks.Addon
    storage_class: k8s.storage.v1.StorageClass
    # The CMK of every EBS volume the cluster provisions (StorageClasses of other components use it too: the EBS
    # CSI driver's role may use only this key).
    volume_key_arn: pulumi.Output[str] | None = None


class Cluster(pulumi.ComponentResource):
    """Everything workloads need from Kubernetes: the API, identities, nodes and storage."""

    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc: OidcIssuer
    provider: k8s.Provider
    workload_security_group_id: pulumi.Output[str]
    node_groups: list[aws.eks.NodeGroup]
    volume_key: aws.kms.Key
    ready: list[pulumi.Resource]
    metrics_server: aws.eks.Addon
    storage_class: k8s.storage.v1.StorageClass

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:cluster:Cluster", name, None, opts)
        self._name = name
        self._cfg = args.config
        self._context = context = args.context
        self._tags = lambda **extra: context.tags("cluster", **extra)
        child = pulumi.ResourceOptions(parent=self)
        cluster_name = context.name

        secrets_key = kms.customer_key(
            f"{name}-secrets-key", "eks-secrets", account_id=context.account_id, partition=context.partition,
            tags=self._tags(), protect=context.protect, parent=self)
        self.volume_key = kms.volume_key(f"{name}-volume-key", account_id=context.account_id,
                                         partition=context.partition, region=context.region, tags=self._tags(),
                                         protect=context.protect, parent=self)

        # EKS writes control-plane logs here; creating it first makes it encrypted and bounded.
        control_plane_logs = log_group(
            f"{name}-control-plane-logs", f"/aws/eks/{cluster_name}/cluster",
            retention_days=args.config.log_retention_days, kms_key_arn=args.logs_key_arn, tags=self._tags(),
            parent=self)

        role = self._cluster_role(secrets_key)
        cfg = args.config
        self._cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cluster_name,
            version=cfg.version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": args.private_subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": cfg.endpoint_public_access,
                "public_access_cidrs": cfg.public_access_cidrs if cfg.endpoint_public_access else None,
            },
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            # No implicit admin: the creator's bootstrap entry would collide (409 ResourceInUseException) with the
            # explicit entry of the deploy role (terraform-aws-eks#3293). Admins are listed in config instead.
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            kubernetes_network_config={"service_ipv4_cidr": cfg.service_cidr, "ip_family": "ipv4"},
            bootstrap_self_managed_addons=False,
            upgrade_policy={"support_type": "STANDARD"},
            deletion_protection=context.protect,
            tags=self._tags(),
            # The flag is ForceNew in terraform-provider-aws (eks/cluster.go): a cluster created with the old
            # `true` keeps it rather than being replaced (see docs/cluster-upgrades.md for its bootstrap entry).
            opts=pulumi.ResourceOptions(parent=self, protect=context.protect,
                                        depends_on=[control_plane_logs, *self._role_attachments],
                                        ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"]),
        )
        eks_cluster = self._cluster
        self.name = eks_cluster.name
        self.endpoint = eks_cluster.endpoint
        self.workload_security_group_id = eks_cluster.vpc_config.cluster_security_group_id

        issuer_url = eks_cluster.identities[0].oidcs[0].issuer
        oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"], tags=self._tags(), opts=child)
        self.oidc = OidcIssuer(provider_arn=oidc_provider.arn,
                               url=issuer_url.apply(lambda u: u.removeprefix("https://")))

        access = self._access_entries(args.deploy_role_arns, args.preview_role_arns)
        early_addons = [self._addon("vpc-cni", self._cni_role(), {"enableNetworkPolicy": "true"}),
                        self._addon("kube-proxy")]
        node_role = self._node_role()
        node_groups = [self._node_group(group_name, group, node_role, args.private_subnet_ids, early_addons)
                       for group_name, group in cfg.node_groups.items()]
        late_addons = [self._addon("coredns", depends_on=node_groups),
                       self._addon("aws-ebs-csi-driver", self._ebs_csi_role(), depends_on=node_groups)]
        self.node_groups = node_groups
        self.ready = [*node_groups, *early_addons, *late_addons]
        # Serves metrics.k8s.io, which HorizontalPodAutoscalers with Resource metrics (CPU, memory) read; KEDA
        # serves only external metrics. `metrics-server` is an EKS community add-on (catalogue announced
        # 2025-03-31, docs.aws.amazon.com/eks/latest/userguide/community-addons.html), two replicas by default.
        self.metrics_server = self._addon(METRICS_SERVER_ADDON, depends_on=node_groups,
                                          version=self._metrics_server_version())

        # The provider authenticates as the deploy role: it may only talk to the API once that role's entry
        # and its admin policy association exist.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self._kubeconfig(),
            enable_server_side_apply=True,
            delete_unreachable=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.ready, *access]),
        )
        self.storage_class = self._storage_class()
        self.preview_access = preview_access(
            name, [g.principal_arn for g in access_grants(cfg, args.deploy_role_arns, args.preview_role_arns)
                   if g.label == "preview"],
            provider=self.provider, parent=self, depends_on=self.ready)
        self.refs = ClusterRefs(name=self.name, endpoint=self.endpoint, oidc=self.oidc,
                                workload_security_group_id=self.workload_security_group_id,
                                node_groups=self.node_groups, ready=self.ready, metrics_server=self.metrics_server,
                                storage_class=self.storage_class, volume_key_arn=self.volume_key.arn)
        self.register_outputs({"name": self.name, "endpoint": self.endpoint,
                               "oidc_provider_arn": self.oidc.provider_arn})

    # -- identities ---------------------------------------------------------------------------------

    def _managed_policy(self, service_path: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:", self._context.partition, ":iam::aws:policy/", service_path)

    def _cluster_role(self, secrets_key: aws.kms.Key) -> aws.iam.Role:
        name = self._name
        # EKS honours aws:SourceAccount (and aws:SourceArn) in the cluster role's trust policy: EKS user guide,
        # "Cross-service confused deputy prevention in Amazon EKS" (added 2025-08-19, doc history: "Amazon EKS
        # accepts the aws:SourceArn and aws:SourceAccount conditions in the trust policy of an EKS cluster role").
        role = aws.iam.Role(f"{name}-cluster-role",
                            assume_role_policy=iam.service_trust("eks.amazonaws.com", self._context.account_id),
                            tags=self._tags(), opts=pulumi.ResourceOptions(parent=self))
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=role.name, policy_arn=self._managed_policy("AmazonEKSClusterPolicy"),
            opts=pulumi.ResourceOptions(parent=role))
        kms_policy = aws.iam.RolePolicy(
            f"{name}-cluster-kms", role=role.id,
            policy=iam.document(iam.statement(
                ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ListGrants"],
                [secrets_key.arn])),
            opts=pulumi.ResourceOptions(parent=role))
        self._role_attachments = [attachment, kms_policy]
        return role

    def _node_role(self) -> aws.iam.Role:
        name = self._name
        role = aws.iam.Role(f"{name}-node-role",
                            assume_role_policy=iam.service_trust("ec2.amazonaws.com"),
                            tags=self._tags(), opts=pulumi.ResourceOptions(parent=self))
        # The CNI policy lives on the vpc-cni add-on's own role, not on every node.
        self._node_attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{short}", role=role.name,
                                         policy_arn=self._managed_policy(policy),
                                         opts=pulumi.ResourceOptions(parent=role))
            for short, policy in (("worker", "AmazonEKSWorkerNodePolicy"),
                                  ("ecr-pull", "AmazonEC2ContainerRegistryPullOnly"),
                                  ("ssm", "AmazonSSMManagedInstanceCore"))
        ]
        return role

    def _cni_role(self) -> aws.iam.Role:
        return service_account_role(
            f"{self._name}-vpc-cni-role", self.oidc, namespace="kube-system", service_account="aws-node",
            tags=self._tags(), parent=self,
            managed_policy_arns={"AmazonEKS_CNI_Policy": self._managed_policy("AmazonEKS_CNI_Policy")})

    def _ebs_csi_role(self) -> aws.iam.Role:
        key_use = iam.document(
            iam.statement(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:DescribeKey"], [self.volume_key.arn]),
            iam.statement(["kms:CreateGrant"], [self.volume_key.arn],
                          condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
        )
        return service_account_role(
            f"{self._name}-ebs-csi-role", self.oidc, namespace="kube-system", service_account="ebs-csi-controller-sa",
            tags=self._tags(), parent=self,
            managed_policy_arns={
                "AmazonEBSCSIDriverPolicy": self._managed_policy("service-role/AmazonEBSCSIDriverPolicy")},
            inline_policy=key_use)

    def _access_entries(self, deploy_role_arns: Sequence[str],
                        preview_role_arns: Sequence[str] = ()) -> list[pulumi.Resource]:
        """One entry and one policy association per principal, named by role name (inserting one renames none)."""
        name, created = self._name, []
        for grant in access_grants(self._cfg, deploy_role_arns, preview_role_arns):
            logical = f"{name}-{grant.label}-{role_name(grant.principal_arn)}"
            old = f"{name}-{grant.label}-{grant.legacy_index}" if grant.legacy_index is not None else None
            entry = aws.eks.AccessEntry(
                logical, cluster_name=self._cluster.name, principal_arn=grant.principal_arn, type="STANDARD",
                kubernetes_groups=[PREVIEW_GROUP] if grant.label == "preview" else None,
                tags=self._tags(),
                opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=old)] if old else None))
            association = aws.eks.AccessPolicyAssociation(
                f"{logical}-policy", cluster_name=self._cluster.name, principal_arn=grant.principal_arn,
                policy_arn=pulumi.Output.concat("arn:", self._context.partition, ":eks::aws:cluster-access-policy/",
                                                grant.policy),
                access_scope={"type": "cluster"},
                # The association is created after its entry (EKS rejects it before) and by parent alias the
                # old `<old>-policy` is found under the old entry.
                opts=pulumi.ResourceOptions(parent=entry, depends_on=[entry],
                                            aliases=[pulumi.Alias(name=f"{old}-policy")] if old else None))
            created += [entry, association]
        return created

    # -- compute ------------------------------------------------------------------------------------

    def _metrics_server_version(self) -> pulumi.Input[str]:
        """cluster.addonVersions.metrics-server, else the version EKS marks default for this Kubernetes version.

        A community add-on's builds are not in the ADDON_VERSIONS pins (no recorded describe-addon-versions
        output for every pinned Kubernetes version); EKS's default (most_recent=False) is a build it publishes as
        compatible with the version, and it changes only when EKS changes the default, never to "newest".
        """
        pinned = self._cfg.addon_versions.get(METRICS_SERVER_ADDON)
        if pinned:
            return pinned
        return aws.eks.get_addon_version_output(addon_name=METRICS_SERVER_ADDON, kubernetes_version=self._cfg.version,
                                                most_recent=False).version

    def _addon(self, addon: str, role: aws.iam.Role | None = None, configuration: dict[str, str] | None = None,
               depends_on: list[pulumi.Resource] | None = None,
               version: pulumi.Input[str] | None = None) -> aws.eks.Addon:
        """A pinned add-on (config/cluster.py ADDON_VERSIONS or cluster.addonVersions), never "newest"."""
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=self._cluster.name,
            addon_name=addon,
            addon_version=version if version is not None else self._cfg.resolved_addon_versions()[addon],
            service_account_role_arn=role.arn if role else None,
            configuration_values=json.dumps(configuration) if configuration else None,
            # Nothing to conflict with at creation (bootstrap_self_managed_addons=False installs none).
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update=self._cfg.addon_conflicts_on_update,
            tags=self._tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )

    def _node_group(self, group_name: str, group: NodeGroup, role: aws.iam.Role,
                    subnet_ids: list[pulumi.Output[str]], addons: list[aws.eks.Addon]) -> aws.eks.NodeGroup:
        name = f"{self._name}-{group_name}"
        node_tags = self._tags(Name=f"{self._context.name}-{group_name}")
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"EKS nodes of group {group_name}: IMDSv2 only, encrypted gp3 root volume",
            update_default_version=True,
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                              "http_put_response_hop_limit": group.metadata_hop_limit},
            block_device_mappings=[{
                "device_name": "/dev/xvda",
                "ebs": {"volume_size": group.disk_size_gib, "volume_type": "gp3", "encrypted": "true",
                        "kms_key_id": self.volume_key.arn, "delete_on_termination": "true"},
            }],
            tag_specifications=[{"resource_type": kind, "tags": node_tags} for kind in ("instance", "volume")],
            tags=self._tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.eks.NodeGroup(
            name,
            cluster_name=self._cluster.name,
            node_role_arn=role.arn,
            subnet_ids=subnet_ids,
            ami_type=group.ami_type,
            capacity_type=group.capacity_type,
            instance_types=group.instance_types,
            scaling_config={"min_size": group.min_size, "desired_size": group.desired_size,
                            "max_size": group.max_size},
            update_config={"max_unavailable_percentage": 33},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels={"agent-platform/node-group": group_name, **group.labels},
            taints=[{"key": t.key, "value": t.value, "effect": t.effect} for t in group.taints],
            tags=self._tags(),
            # The Cluster Autoscaler owns the desired size between minSize and maxSize; an update must not reset it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self._node_attachments, *addons],
                                        ignore_changes=["scalingConfig.desiredSize"]),
        )

    # -- kubernetes ---------------------------------------------------------------------------------

    def _kubeconfig(self) -> pulumi.Output[str]:
        """Built from this cluster's endpoint and CA; credentials come from `aws eks get-token`."""
        cluster = self._cluster
        region = self._context.region
        return pulumi.Output.json_dumps({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "eks", "cluster": {
                "server": cluster.endpoint, "certificate-authority-data": cluster.certificate_authority.data}}],
            "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "deployer"}}],
            "current-context": "eks",
            "users": [{"name": "deployer", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "aws",
                "args": ["eks", "get-token", "--cluster-name", cluster.name, "--region", region],
                "interactiveMode": "Never",
            }}}],
        })

    def _storage_class(self) -> k8s.storage.v1.StorageClass:
        return k8s.storage.v1.StorageClass(
            f"{self._name}-gp3",
            metadata={"name": "gp3-encrypted",
                      "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": self.volume_key.arn,
                        "csi.storage.k8s.io/fstype": "ext4"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Retain" if self._context.protect else "Delete",
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=self.ready),
        )
