"""EKS control plane and worker-node policies."""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Any

from agent_contract.eks import in_standard_support
from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import Report, Settings, as_list, cis_aws, cis_eks, get, resource_policy, soc2

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
# Kubernetes minor versions in EKS standard support on SUPPORTED_VERSIONS_AS_OF, from the release calendar the
# program validates against (agent_contract.eks); a test fails once a listed version leaves standard support.
SUPPORTED_VERSIONS_AS_OF = "2026-12-02"
SUPPORTED_VERSIONS = in_standard_support(date.fromisoformat(SUPPORTED_VERSIONS_AS_OF))
# Shared by every IMDSv2 policy, so launch templates and instances are held to the same default.
HOP_LIMIT_CONFIG: dict[str, dict[str, Any]] = {
    "maxHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 2,
                    "description": "Largest allowed httpPutResponseHopLimit."},
}


def _check_secrets_encryption(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    config = get(args.props, "encryptionConfig")
    if config is None:
        report("The cluster has no encryptionConfig: Kubernetes secrets are stored with only the default "
               "EBS-level encryption.")
        return
    resources = as_list(get(config, "resources"))
    if "secrets" not in resources:
        report(f"encryptionConfig.resources is {resources}; it must include \"secrets\".")
    if not get(config, "provider", "keyArn"):
        report("encryptionConfig.provider.keyArn is not set; envelope encryption needs a customer-managed KMS key.")


def _check_logging(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    enabled = set(as_list(get(args.props, "enabledClusterLogTypes")))
    missing = [t for t in settings["requiredLogTypes"] if t not in enabled]
    if missing:
        report(f"Control plane log types not enabled: {', '.join(missing)}.")


def _check_endpoint(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    vpc = get(args.props, "vpcConfig", default={})
    # The EKS API defaults endpointPublicAccess to true and publicAccessCidrs to 0.0.0.0/0.
    if get(vpc, "endpointPublicAccess", default=True) is False:
        return
    cidrs = as_list(get(vpc, "publicAccessCidrs"))
    if not cidrs:
        report("The API endpoint is public to the whole internet: set vpcConfig.endpointPublicAccess=false or "
               "list the allowed vpcConfig.publicAccessCidrs.")
        return
    open_to = [c for c in cidrs if c in OPEN_CIDRS]
    if open_to:
        report(f"vpcConfig.publicAccessCidrs contains {', '.join(open_to)}; list specific admin/runner ranges.")
        return
    wide = _widest_union(cidrs)
    if wide:
        report(f"vpcConfig.publicAccessCidrs together cover {wide} (half the internet or more); list specific "
               "admin/runner ranges.")


def _widest_union(cidrs: list[Any]) -> str | None:
    """The widest network a list of CIDRs covers together, when it is a /1 or larger (0.0.0.0/1 + 128.0.0.0/1)."""
    nets = []
    for cidr in cidrs:
        try:
            nets.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            continue
    for family in (4, 6):
        merged = [n for n in ipaddress.collapse_addresses(n for n in nets if n.version == family) if n.prefixlen <= 1]
        if merged:
            return str(min(merged, key=lambda n: n.prefixlen))
    return None


def _check_version(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    version = get(args.props, "version")
    supported = [str(v) for v in settings["supportedVersions"]]
    if version is None:
        report(f"The Kubernetes version is not pinned; set version to one of {', '.join(supported)} so upgrades "
               "are deliberate.")
    elif str(version) not in supported:
        report(f"Kubernetes {version} is not in the supported versions {', '.join(supported)}.")


def _check_node_group(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    template = get(args.props, "launchTemplate")
    if template is None:
        report("The node group uses no launch template, so IMDSv2 and volume encryption are left to defaults.")
        return
    if get(template, "id") is None and get(template, "name") is None:
        report("launchTemplate names neither an id nor a name.")
    if get(template, "version") is None:
        report("launchTemplate.version is not set; pin the template's latest_version so changes roll out.")


def check_metadata_options(options: Any, max_hops: int, report: Report, *, inherited: bool = False) -> None:
    """Judge a ``metadataOptions`` block of a launch template or an instance.

    Unset values take AWS's defaults (tokens optional, one hop), except with ``inherited``: an instance
    launched from a template gets what it leaves unset from the template, so only its explicit values count.
    """
    if get(options, "httpEndpoint") == "disabled":
        return
    tokens = get(options, "httpTokens", default=None if inherited else "optional")
    if tokens is not None and tokens != "required":
        report(f"metadataOptions.httpTokens is {tokens!r}; it must be \"required\" (IMDSv2 only).")
    hops = get(options, "httpPutResponseHopLimit", default=None if inherited else 1)
    if hops is not None and int(hops) > max_hops:
        report(f"metadataOptions.httpPutResponseHopLimit is {int(hops)}; at most {max_hops} keeps instance "
               "credentials away from containers and pods.")


def _check_imds(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    check_metadata_options(get(args.props, "metadataOptions", default={}), int(settings["maxHopLimit"]), report)


def _encrypted(value: object) -> bool:
    # pulumi-aws types the launch-template flag as a string ("true"/"false").
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _check_volumes(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    mappings = get(args.props, "blockDeviceMappings", default=[])
    roots = [str(d) for d in settings["rootDeviceNames"]]
    has_root = False
    for i in range(len(mappings)):
        mapping = mappings[i]
        device = get(mapping, "deviceName")
        ebs = get(mapping, "ebs")
        if device in roots and ebs is not None:
            has_root = True
        if ebs is not None and not _encrypted(get(ebs, "encrypted")):
            report(f"blockDeviceMappings[{i}] ({device}) is not encrypted: set ebs.encrypted=\"true\".")
    if not has_root:
        report(f"No block device mapping for the root volume ({' or '.join(roots)}), so it is created from the "
               "AMI's unencrypted default.")


POLICIES: list[Policy] = [
    resource_policy(
        "eks-secrets-encrypted-with-cmk",
        description="EKS clusters envelope-encrypt Kubernetes secrets with a customer-managed KMS key.",
        resource_types=[CLUSTER],
        check=_check_secrets_encryption,
        severity=Severity.HIGH,
        remediation="Set encryption_config={\"resources\": [\"secrets\"], \"provider\": {\"key_arn\": key.arn}} "
                    "with a rotating customer-managed key.",
        refs=[cis_eks("5.3.1", "Ensure Kubernetes Secrets are encrypted using Customer Master Keys (CMKs) managed "
                               "in AWS KMS"),
              soc2("CC6.1")],
    ),
    resource_policy(
        "eks-control-plane-logging",
        description="EKS clusters send every control plane log type to CloudWatch Logs.",
        resource_types=[CLUSTER],
        check=_check_logging,
        severity=Severity.MEDIUM,
        remediation="Set enabled_cluster_log_types to all of api, audit, authenticator, controllerManager and "
                    "scheduler.",
        refs=[cis_eks("2.1.1", "Enable audit Logs"), soc2("CC7.2")],
        config={"requiredLogTypes": {"type": "array", "items": {"type": "string", "enum": LOG_TYPES},
                                     "default": list(LOG_TYPES),
                                     "description": "Control plane log types that must be enabled."}},
    ),
    resource_policy(
        "eks-endpoint-restricted",
        description="The EKS API endpoint is private, or public only to listed CIDRs (never 0.0.0.0/0).",
        resource_types=[CLUSTER],
        check=_check_endpoint,
        severity=Severity.HIGH,
        remediation="Set vpc_config.endpoint_public_access=False (reach the API through the VPC), or keep it public "
                    "with vpc_config.public_access_cidrs limited to the admin and CI runner ranges.",
        refs=[cis_eks("5.4.1", "Restrict Access to the Control Plane Endpoint"), cis_eks("5.4.2"), soc2("CC6.6")],
    ),
    resource_policy(
        "eks-version-supported",
        description="EKS clusters run a pinned Kubernetes version from the supported list.",
        resource_types=[CLUSTER],
        check=_check_version,
        severity=Severity.MEDIUM,
        remediation="Set version to a supported release and upgrade one minor version at a time; update "
                    "supportedVersions in the policy config when a release enters or leaves standard support.",
        config={"supportedVersions": {"type": "array", "items": {"type": "string"},
                                      "default": SUPPORTED_VERSIONS,
                                      "description": "Kubernetes minor versions in EKS standard support "
                                                     f"(as of {SUPPORTED_VERSIONS_AS_OF})."}},
    ),
    resource_policy(
        "eks-node-group-launch-template",
        description="EKS managed node groups launch from a pinned launch template.",
        resource_types=[NODE_GROUP],
        check=_check_node_group,
        severity=Severity.MEDIUM,
        remediation="Create an aws.ec2.LaunchTemplate (IMDSv2, encrypted root volume) and pass "
                    "launch_template={\"id\": lt.id, \"version\": lt.latest_version.apply(str)}.",
        refs=[cis_aws("5.6", "Ensure that EC2 Metadata Service only allows IMDSv2")],
    ),
    resource_policy(
        "launch-template-imdsv2",
        description="Launch templates require IMDSv2 tokens and a small metadata hop limit.",
        resource_types=[LAUNCH_TEMPLATE],
        check=_check_imds,
        severity=Severity.HIGH,
        remediation="Set metadata_options={\"http_endpoint\": \"enabled\", \"http_tokens\": \"required\", "
                    "\"http_put_response_hop_limit\": 1} (2 only for workloads that need the node's metadata).",
        refs=[cis_aws("5.6", "Ensure that EC2 Metadata Service only allows IMDSv2")],
        config=HOP_LIMIT_CONFIG,
    ),
    resource_policy(
        "launch-template-ebs-encrypted",
        description="Launch templates map the root volume explicitly and encrypt every EBS volume.",
        resource_types=[LAUNCH_TEMPLATE],
        check=_check_volumes,
        severity=Severity.HIGH,
        remediation="Add block_device_mappings=[{\"device_name\": \"/dev/xvda\", \"ebs\": {\"encrypted\": \"true\", "
                    "\"kms_key_id\": key.arn, \"volume_type\": \"gp3\", \"volume_size\": ...}}].",
        refs=[cis_aws("2.2.1", "Ensure EBS volume encryption is enabled in all regions"), soc2("CC6.1")],
        config={"rootDeviceNames": {"type": "array", "items": {"type": "string"},
                                    "default": ["/dev/xvda", "/dev/sda1"],
                                    "description": "Device names that count as the root volume (Amazon Linux and "
                                                   "Bottlerocket use /dev/xvda, Ubuntu /dev/sda1)."}},
    ),
]
