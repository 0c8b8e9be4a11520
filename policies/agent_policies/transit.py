"""Encryption in transit and engine currency for the data tier, and encrypted volumes for Kubernetes.

A Multi-AZ, KMS-encrypted database still leaks if clients may connect in clear text, or runs an engine or CA
that no longer gets fixes. The RDS-managed default parameter group cannot force TLS at all.
"""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import (
    Report,
    Settings,
    as_list,
    checkov,
    fsbp,
    get,
    known,
    pci_dss,
    resource_policy,
    soc2,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
PARAMETER_GROUP_TYPES = ("aws:rds/parameterGroup:ParameterGroup", "aws:rds/clusterParameterGroup:ClusterParameterGroup")
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
# EBS provisioners: the CSI driver and the removed in-tree plugin.
EBS_PROVISIONERS = ("ebs.csi.aws.com", "kubernetes.io/aws-ebs")
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
_TLS_ORDER = {"TLSv1": 0, "TLSv1.1": 1, "TLSv1.2": 2, "TLSv1.3": 3}


def _parameters(props: Any) -> dict[str, str]:
    out = {}
    for entry in as_list(get(props, "parameters")):
        name = known(lambda e=entry: get(e, "name"))
        if isinstance(name, str):
            out[name] = str(known(lambda e=entry: get(e, "value"), ""))
    return out


def _check_pg_tls(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    family = str(get(args.props, "family") or "")
    if not family.startswith(("postgres", "aurora-postgresql")):
        return
    params = _parameters(args.props)
    if params.get("rds.force_ssl") != "1":
        report(f"rds.force_ssl is {params.get('rds.force_ssl', 'unset')}: clients may connect without TLS "
               "(the default is 0 before PostgreSQL 15). Set it to 1.")
    minimum = str(settings["minTlsVersion"])
    current = params.get("ssl_min_protocol_version")
    if current is None or _TLS_ORDER.get(current, -1) < _TLS_ORDER[minimum]:
        report(f"ssl_min_protocol_version is {current or 'unset'}: set it to {minimum} or newer.")


def _check_custom_parameter_group(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    engine = str(get(args.props, "engine") or "")
    if not re.match(r"^(postgres|aurora-postgresql|mysql|aurora-mysql|mariadb)", engine):
        return
    field = "dbClusterParameterGroupName" if args.resource_type == RDS_CLUSTER else "parameterGroupName"
    name = get(args.props, field)
    if not name or str(name).startswith("default."):
        report(f"{field} is {name or 'unset'}: the RDS default parameter group cannot be changed, so TLS cannot be "
               "enforced and no setting can be tuned. Attach a custom parameter group.")


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"^(\d+)(?:\.(\d+))?", version)
    return (int(match[1]), int(match[2] or 0)) if match else None


def _check_engine_version(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    minimums: dict[str, str] = {str(k): str(v) for k, v in (settings["minimumVersions"] or {}).items()}
    engine = str(get(args.props, "engine") or ("redis" if args.resource_type == REPLICATION_GROUP else ""))
    version = get(args.props, "engineVersion")
    if not version or engine not in minimums:
        return
    current, minimum = _major_minor(str(version)), _major_minor(minimums[engine])
    if current is not None and minimum is not None and current < minimum:
        report(f"{engine} {version} is older than {minimums[engine]}, the oldest version this stack may run: it is "
               "out of (or leaving) standard support and stops receiving security fixes. Upgrade the engine.")


def _check_ca(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    ca = get(args.props, "caCertIdentifier")
    allowed = [str(c) for c in settings["allowedCas"]]
    if ca is not None and ca not in allowed:
        report(f"caCertIdentifier is {ca}; use one of {', '.join(allowed)} (rds-ca-2019 expired in August 2024).")


def _check_storage_class(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "provisioner") not in EBS_PROVISIONERS:
        return
    encrypted = str(get(args.props, "parameters", "encrypted", default="false")).lower()
    default_flag = known(lambda: get(args.props, "metadata", "annotations", DEFAULT_CLASS_ANNOTATION))
    default = str(default_flag).lower() == "true"
    if encrypted != "true":
        report(("The default " if default else "") + "EBS StorageClass does not set parameters.encrypted=\"true\": "
               "volumes it provisions are unencrypted unless the account enforces EBS encryption by default.")
    elif settings["requireKmsKey"] and not get(args.props, "parameters", "kmsKeyId"):
        report("The EBS StorageClass encrypts with the AWS-managed key; set parameters.kmsKeyId to the stack's key.")


POLICIES: list[Policy] = [
    resource_policy(
        "rds-parameter-group-enforces-tls",
        description="PostgreSQL parameter groups force TLS (rds.force_ssl=1) with TLS 1.2 or newer as the minimum.",
        resource_types=PARAMETER_GROUP_TYPES,
        check=_check_pg_tls,
        severity=Severity.HIGH,
        remediation="Add parameters rds.force_ssl=1 and ssl_min_protocol_version=TLSv1.2 to the parameter group.",
        refs=[fsbp("RDS.38", "RDS for PostgreSQL DB instances should be encrypted in transit"),
              checkov("CKV2_AWS_69", "Ensure AWS RDS database instance configured with encryption in transit"),
              pci_dss("4.2.1"), soc2("CC6.7")],
        config={"minTlsVersion": {"type": "string", "enum": ["TLSv1.2", "TLSv1.3"], "default": "TLSv1.2",
                                  "description": "Oldest TLS version clients may negotiate."}},
    ),
    resource_policy(
        "rds-custom-parameter-group",
        description="RDS instances and clusters use a custom parameter group, not the unmodifiable default one.",
        resource_types=[RDS_INSTANCE, RDS_CLUSTER],
        check=_check_custom_parameter_group,
        severity=Severity.MEDIUM,
        remediation="Create an aws.rds.ParameterGroup for the engine family (with TLS enforced) and pass its name "
                    "as parameter_group_name.",
        refs=[soc2("CC6.7")],
    ),
    resource_policy(
        "data-engine-version-supported",
        description="PostgreSQL and Redis OSS engines are recent enough to be in standard support.",
        resource_types=[RDS_INSTANCE, RDS_CLUSTER, REPLICATION_GROUP, CACHE_CLUSTER],
        check=_check_engine_version,
        severity=Severity.HIGH,
        remediation="Upgrade engine_version (RDS: a major upgrade with allow_major_version_upgrade; ElastiCache: a "
                    "newer Redis OSS or Valkey) and the parameter group family with it.",
        refs=[checkov("CKV_AWS_250"), soc2("CC7.1")],
        config={"minimumVersions": {
            "type": "object",
            # RDS for PostgreSQL 13 left standard support on 2026-02-28 (RDS for PostgreSQL release calendar);
            # ElastiCache recommends 6.2+ and Redis OSS 4/5 left standard support on 2026-01-31.
            "default": {"postgres": "14", "aurora-postgresql": "14", "redis": "6.2"},
            "description": "Per engine, the oldest major(.minor) version allowed."}},
    ),
    resource_policy(
        "rds-ca-current",
        description="RDS instances use a current certificate authority for their TLS certificates.",
        resource_types=[RDS_INSTANCE],
        check=_check_ca,
        severity=Severity.MEDIUM,
        remediation="Set ca_cert_identifier to rds-ca-rsa2048-g1 (or rds-ca-rsa4096-g1 / rds-ca-ecc384-g1) and "
                    "update the clients' trust bundle.",
        refs=[checkov("CKV_AWS_211", "Ensure RDS uses a modern CaCert"), soc2("CC6.7")],
        config={"allowedCas": {"type": "array", "items": {"type": "string"},
                               # docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html (CA list)
                               "default": ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"],
                               "description": "Certificate authorities that may sign the instance certificate."}},
    ),
    resource_policy(
        "k8s-storage-class-encrypted",
        description="EBS StorageClasses (the default one above all) provision encrypted volumes.",
        resource_types=[STORAGE_CLASS],
        check=_check_storage_class,
        severity=Severity.HIGH,
        remediation="Set parameters encrypted: \"true\" and kmsKeyId: <the stack's EBS key ARN> on the StorageClass.",
        refs=[soc2("CC6.1"), pci_dss("3.5.1")],
        config={"requireKmsKey": {"type": "boolean", "default": True,
                                  "description": "Require a customer-managed key (parameters.kmsKeyId)."}},
    ),
]
