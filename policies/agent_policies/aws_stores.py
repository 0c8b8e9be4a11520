"""Document store and log search policies: Amazon DocumentDB clusters and Amazon OpenSearch Service domains.

The same bar as RDS: TLS required, storage encrypted with a customer-managed key, backups kept, deletion
protected in protected tiers, logs exported; who may reach them is checked with the other data stores
(``data-store-ingress-from-security-groups-only``). Every check reports nothing about a value still unknown.
"""

from __future__ import annotations

from typing import Any

from agent_contract.aws import OPENSEARCH_LATEST_TLS_POLICIES
from agent_contract.tags import DB_BOOTSTRAP_ROLE, ROLE_TAG
from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import (
    Report,
    Settings,
    as_list,
    depends_on,
    get,
    known,
    of_type,
    parse_document,
    pci_dss,
    resource_policy,
    soc2,
    stack_policy,
    tag_map,
)
from .aws_data import report_no_final_snapshot, report_short_retention, report_unmanaged_master_password

DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_PARAMETER_GROUP = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
OPENSEARCH_DOMAIN = "aws:opensearch/domain:Domain"
IAM_DOCUMENTS = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                 "aws:iam/groupPolicy:GroupPolicy")
IAM_ROLE = "aws:iam/role:Role"
EXTERNAL_SECRETS = ("kubernetes:external-secrets.io/v1:ExternalSecret",
                    "kubernetes:external-secrets.io/v1beta1:ExternalSecret")
POD_WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
                 "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob")
SECRET_READS = ("secretsmanager:getsecretvalue", "secretsmanager:*", "secretsmanager:get*", "*")
# Values of the DocumentDB cluster parameter "tls" (API reference, Parameter): "enabled" still accepts TLS 1.0.
TLS_12_VALUES = ["tls1.2+", "tls1.3+", "fips-140-3"]
_A1_2 = soc2("A1.2", "Environmental protections, software, data backup processes, and recovery infrastructure")
_CC6_1 = soc2("CC6.1", "Logical access security over protected information assets")
_CC6_7 = soc2("CC6.7", "Transmission of data is restricted and protected")
_PROTECTED = {"protectedEnvironment": {"type": "boolean", "default": True,
                                       "description": "Whether this stack's document stores must be protected."}}


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- DocumentDB --------------------------------------------------------------------------------------------------


def _tls_value(group: PolicyResource) -> str | None:
    for entry in as_list(get(group.props, "parameters")):
        if get(entry, "name") == "tls":
            return str(get(entry, "value"))
    return None


def _check_docdb_tls(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    allowed = list(settings["allowedTlsValues"])
    for cluster in of_type(args.resources, DOCDB_CLUSTER):
        groups = [g for g in depends_on(cluster, "dbClusterParameterGroupName")
                  if g.resource_type == DOCDB_PARAMETER_GROUP]
        if not groups:
            named = known(lambda c=cluster: get(c.props, "dbClusterParameterGroupName"), "")
            if not named or str(named).startswith("default."):
                report(f"DocumentDB cluster {cluster.name} uses the default parameter group, whose tls setting "
                       f"('enabled') still accepts TLS 1.0 and 1.1 and cannot be changed; use a cluster parameter "
                       f"group with tls one of {', '.join(allowed)}.", cluster.urn)
            continue
        value = known(lambda g=groups[0]: _tls_value(g), "unknown")
        if value == "unknown":
            continue
        if value is None or value not in allowed:
            shown = "not set (the family default 'enabled' accepts TLS 1.0)" if value is None else f"'{value}'"
            report(f"DocumentDB cluster {cluster.name}: its parameter group {groups[0].name} sets tls {shown}; "
                   f"require TLS 1.2 or newer ({', '.join(allowed)}).", cluster.urn)


def _check_docdb_encryption(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _true(get(args.props, "storageEncrypted")):
        report("storageEncrypted is not true: the cluster volume, its snapshots and backups are unencrypted.")
    elif settings["requireCustomerManagedKey"] and not get(args.props, "kmsKeyId"):
        report("kmsKeyId is not set, so storage uses the AWS-managed aws/rds key, whose policy we cannot restrict.")


def _check_docdb_backups(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    report_short_retention(args.props, settings, report)


def _check_docdb_deletion(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not settings["protectedEnvironment"]:
        return
    if get(args.props, "deletionProtection") is not True:
        report("deletionProtection is not true: one API call deletes the cluster and its storage.")
    report_no_final_snapshot(args.props, report, what="cluster")


def _check_docdb_logs(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    exported = {str(t) for t in as_list(get(args.props, "enabledCloudwatchLogsExports"))}
    missing = [t for t in settings["requiredLogTypes"] if t not in exported]
    if missing:
        report(f"enabledCloudwatchLogsExports lacks {', '.join(missing)}: who did what to the data, and slow "
               "operations, are not recorded outside the cluster.")


def _check_docdb_master_password(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    # Restores keep the snapshot's master user; secondary clusters have none.
    report_unmanaged_master_password(args.props, report, engine="DocumentDB",
                                     skip_when=("snapshotIdentifier", "globalClusterIdentifier"),
                                     password_keys=("masterPassword", "masterPasswordWo"))


def _from_cluster(resource: PolicyResource, prop: str, clusters: set[str]) -> bool:
    """Whether ``prop`` of ``resource`` is built from a DocumentDB cluster's outputs (the engine's graph)."""
    return any(d.urn in clusters for d in depends_on(resource, prop))


def _reads_secrets(document: dict[str, Any] | None) -> bool:
    statements = as_list(document.get("Statement")) if document else []
    return any(get(s, "Effect") == "Allow" and any(str(a).lower() in SECRET_READS for a in as_list(get(s, "Action")))
               for s in statements)


def _is_bootstrap(resource: PolicyResource | None) -> bool:
    tags = known(lambda: tag_map(get(resource.props, "tags"))) if resource is not None else None
    return bool(tags) and tags.get(ROLE_TAG) == DB_BOOTSTRAP_ROLE


def _check_docdb_master_secret(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    clusters = {c.urn for c in of_type(args.resources, DOCDB_CLUSTER)}
    if not clusters:
        return
    for doc in of_type(args.resources, *IAM_DOCUMENTS):
        if not _from_cluster(doc, "policy", clusters):
            continue
        if not known(lambda d=doc: _reads_secrets(parse_document(get(d.props, "policy"))), False):
            continue
        roles = [r for r in depends_on(doc, "role") if r.resource_type == IAM_ROLE]
        if roles and all(_is_bootstrap(r) for r in roles):
            continue
        report(f"{doc.name} grants reading a secret named by a DocumentDB cluster (its managed master secret) to an "
               f"identity other than the database bootstrap (role tag {ROLE_TAG}={DB_BOOTSTRAP_ROLE}); services "
               "read the application user's secret.", doc.urn)
    for role in of_type(args.resources, IAM_ROLE):
        if _is_bootstrap(role) or not _from_cluster(role, "inlinePolicies", clusters):
            continue
        inline = as_list(known(lambda r=role: get(r.props, "inlinePolicies"), []))
        if any(known(lambda e=e: _reads_secrets(parse_document(get(e, "policy"))), False) for e in inline):
            report(f"Role {role.name} has an inline policy that reads a secret named by a DocumentDB cluster (its "
                   "managed master secret).", role.urn)
    for sync in of_type(args.resources, *EXTERNAL_SECRETS):
        if _from_cluster(sync, "spec", clusters):
            report(f"ExternalSecret {sync.name} syncs a secret named by a DocumentDB cluster (its managed master "
                   "secret) into Kubernetes; mount the application user's secret (the 'mongodb' platform secret).",
                   sync.urn)
    for workload in of_type(args.resources, *POD_WORKLOADS):
        labels = known(lambda w=workload: plain_labels(w), {}) or {}
        if labels.get("app.kubernetes.io/name") == DB_BOOTSTRAP_ROLE or not _from_cluster(workload, "spec", clusters):
            continue
        report(f"{workload.name}'s pod spec is built from a DocumentDB cluster's outputs (its managed master "
               "secret in the environment); only the database bootstrap may name the master login.", workload.urn)


def plain_labels(workload: PolicyResource) -> dict[str, Any]:
    labels = get(workload.props, "metadata", "labels")
    return dict(labels) if labels else {}


# --- OpenSearch ----------------------------------------------------------------------------------------------------


def _check_os_vpc(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    subnets = as_list(get(args.props, "vpcOptions", "subnetIds"))
    if not subnets:
        report("vpcOptions sets no subnets: the domain gets a public endpoint, reachable from the internet and "
               "guarded only by its access policy.")
    elif not as_list(get(args.props, "vpcOptions", "securityGroupIds")):
        report("vpcOptions names no security group: the VPC's default group decides who reaches the domain.")


def _check_os_at_rest(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _true(get(args.props, "encryptAtRest", "enabled")):
        report("encryptAtRest is not enabled: indices, logs, swap and automated snapshots are unencrypted.")
    elif settings["requireCustomerManagedKey"] and not get(args.props, "encryptAtRest", "kmsKeyId"):
        report("encryptAtRest.kmsKeyId is not set, so the AWS-managed aws/es key encrypts the domain.")


def _check_os_node_to_node(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _true(get(args.props, "nodeToNodeEncryption", "enabled")):
        report("nodeToNodeEncryption is not enabled: nodes exchange data in plain text inside the VPC.")


def _check_os_https(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "domainEndpointOptions", "enforceHttps") is False:
        report("domainEndpointOptions.enforceHttps is false: clients may send logs and queries over plain HTTP.")
    policy = get(args.props, "domainEndpointOptions", "tlsSecurityPolicy")
    allowed = list(settings["allowedTlsPolicies"])
    if policy not in allowed:
        shown = f"'{policy}'" if policy else "not set (older domains default to Policy-Min-TLS-1-0-2019-07)"
        report(f"domainEndpointOptions.tlsSecurityPolicy is {shown}; use one of {', '.join(allowed)}.")


def _check_os_fgac(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    options = get(args.props, "advancedSecurityOptions")
    if not _true(get(options, "enabled")):
        report("advancedSecurityOptions is not enabled: without fine-grained access control every principal the "
               "access policy admits may read and delete every index.")
        return
    if settings["forbidInternalUsers"] and _true(get(options, "internalUserDatabaseEnabled")):
        report("internalUserDatabaseEnabled is true: passwords in the domain's own user database bypass IAM; map "
               "IAM roles instead.")
    if not get(options, "masterUserOptions", "masterUserArn") and settings["forbidInternalUsers"]:
        report("masterUserOptions.masterUserArn is not set: the fine-grained access control master must be an IAM "
               "role.")


def _check_os_logs(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    enabled = {str(get(o, "logType")) for o in as_list(get(args.props, "logPublishingOptions"))
               if get(o, "enabled", default=True) is not False and get(o, "cloudwatchLogGroupArn")}
    missing = [t for t in settings["requiredLogTypes"] if t not in enabled]
    if missing:
        report(f"logPublishingOptions do not publish {', '.join(missing)} to CloudWatch Logs.")


_CMK_SETTING = {"requireCustomerManagedKey": {"type": "boolean", "default": True,
                                              "description": "Require a customer-managed KMS key, not the AWS "
                                                             "default key."}}

POLICIES: list[Policy] = [
    stack_policy(
        "docdb-tls-required",
        description="DocumentDB clusters accept only TLS 1.2 or newer connections (cluster parameter tls).",
        check=_check_docdb_tls, severity=Severity.HIGH,
        remediation="Give the cluster its own aws.docdb.ClusterParameterGroup with the parameter tls=tls1.2+ "
                    "(static: applied at the next reboot) and connect with tls=true and the RDS CA bundle.",
        refs=[pci_dss("4.2.1", "Strong cryptography protects data in transmission"), _CC6_7],
        config={"allowedTlsValues": {"type": "array", "items": {"type": "string"}, "default": TLS_12_VALUES,
                                     "description": "Values of the tls parameter accepted."}},
    ),
    resource_policy(
        "docdb-storage-encrypted-cmk",
        description="DocumentDB clusters encrypt storage with a customer-managed KMS key.",
        resource_types=[DOCDB_CLUSTER], check=_check_docdb_encryption, severity=Severity.HIGH,
        remediation="Set storage_encrypted=True and kms_key_id to a rotating CMK (only at creation: snapshot, "
                    "restore the snapshot into a new encrypted cluster).",
        refs=[_CC6_1, pci_dss("3.5.1")],
        config=_CMK_SETTING,
    ),
    resource_policy(
        "docdb-backup-retention",
        description="DocumentDB automated backups (point-in-time recovery) are kept at least the tier's minimum.",
        resource_types=[DOCDB_CLUSTER], check=_check_docdb_backups, severity=Severity.MEDIUM,
        remediation="Raise backup_retention_period (dataTier.documentStore.backupRetentionDays) to the minimum.",
        refs=[_A1_2], topic=("availability",),
        config={"minRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7,
                                     "description": "Fewest days of automated backups (generated from the tier)."}},
    ),
    resource_policy(
        "docdb-deletion-protection",
        description="In protected environments DocumentDB clusters have deletion protection and take a final "
                    "snapshot.",
        resource_types=[DOCDB_CLUSTER], check=_check_docdb_deletion, severity=Severity.HIGH,
        remediation="Set deletion_protection=True, skip_final_snapshot=False and a final_snapshot_identifier (the "
                    "DataTier does this whenever the stack's protect flag is on).",
        refs=[_A1_2], topic=("availability",),
        config=_PROTECTED,
    ),
    resource_policy(
        "docdb-log-exports",
        description="DocumentDB clusters export audit and profiler logs to CloudWatch Logs.",
        resource_types=[DOCDB_CLUSTER], check=_check_docdb_logs, severity=Severity.MEDIUM,
        remediation="Set enabled_cloudwatch_logs_exports=[\"audit\", \"profiler\"], audit_logs and profiler "
                    "enabled in the parameter group, and create /aws/docdb/<cluster>/<type> first, encrypted.",
        refs=[soc2("CC7.2"), pci_dss("10.2.1")],
        config={"requiredLogTypes": {"type": "array", "items": {"type": "string"}, "default": ["audit", "profiler"],
                                     "description": "Log types every cluster must export."}},
    ),
    resource_policy(
        "opensearch-vpc-only",
        description="OpenSearch domains live in the VPC (no public endpoint), behind their own security group.",
        resource_types=[OPENSEARCH_DOMAIN], check=_check_os_vpc, severity=Severity.CRITICAL,
        remediation="Set vpc_options with private subnet_ids and a security group that admits 443 from the "
                    "workloads only (a public domain cannot be moved into a VPC: create a new one).",
        refs=[pci_dss("1.4.4"), soc2("CC6.6")],
    ),
    resource_policy(
        "opensearch-encrypted-at-rest-cmk",
        description="OpenSearch domains encrypt data at rest with a customer-managed KMS key.",
        resource_types=[OPENSEARCH_DOMAIN], check=_check_os_at_rest, severity=Severity.HIGH,
        remediation="Set encrypt_at_rest={enabled: True, kms_key_id: <CMK>} (only at creation).",
        refs=[_CC6_1, pci_dss("3.5.1")],
        config=_CMK_SETTING,
    ),
    resource_policy(
        "opensearch-node-to-node-encryption",
        description="OpenSearch domains encrypt traffic between their nodes.",
        resource_types=[OPENSEARCH_DOMAIN], check=_check_os_node_to_node, severity=Severity.HIGH,
        remediation="Set node_to_node_encryption={enabled: True}.",
        refs=[_CC6_7, pci_dss("4.2.1")],
    ),
    resource_policy(
        "opensearch-https-tls12",
        description="OpenSearch domains require HTTPS with a TLS 1.2+ security policy with forward secrecy.",
        resource_types=[OPENSEARCH_DOMAIN], check=_check_os_https, severity=Severity.HIGH,
        remediation="Set domain_endpoint_options={enforce_https: True, tls_security_policy: "
                    "\"Policy-Min-TLS-1-2-PFS-2023-10\"}.",
        refs=[_CC6_7, pci_dss("4.2.1", "Strong cryptography protects data in transmission")],
        config={"allowedTlsPolicies": {"type": "array", "items": {"type": "string"},
                                       "default": list(OPENSEARCH_LATEST_TLS_POLICIES),
                                       "description": "TLS security policies accepted (Policy-Min-TLS-1-2-2019-07 "
                                                      "also refuses TLS 1.0/1.1 but allows ciphers without forward "
                                                      "secrecy)."}},
    ),
    resource_policy(
        "opensearch-fine-grained-access-control",
        description="OpenSearch domains use fine-grained access control with an IAM master and no internal users.",
        resource_types=[OPENSEARCH_DOMAIN], check=_check_os_fgac, severity=Severity.HIGH,
        remediation="Set advanced_security_options={enabled: True, internal_user_database_enabled: False, "
                    "master_user_options: {master_user_arn: <admin role>}} and map writer roles inside OpenSearch.",
        refs=[_CC6_1],
        config={"forbidInternalUsers": {"type": "boolean", "default": True,
                                        "description": "Refuse the internal user database (passwords)."}},
    ),
    resource_policy(
        "opensearch-log-publishing",
        description="OpenSearch domains publish audit and error logs to CloudWatch Logs.",
        resource_types=[OPENSEARCH_DOMAIN], check=_check_os_logs, severity=Severity.MEDIUM,
        remediation="Add log_publishing_options for AUDIT_LOGS and ES_APPLICATION_LOGS (and the slow logs) to "
                    "encrypted log groups, with a CloudWatch Logs resource policy for es.amazonaws.com.",
        refs=[soc2("CC7.2"), pci_dss("10.2.1")],
        config={"requiredLogTypes": {"type": "array", "items": {"type": "string"},
                                     "default": ["AUDIT_LOGS", "ES_APPLICATION_LOGS"],
                                     "description": "Log types every domain must publish."}},
    ),
    stack_policy(
        "docdb-master-secret-bootstrap-only",
        description="Only the database bootstrap may read a DocumentDB cluster's managed master secret; services log "
                    "in as the least-privilege application user.",
        check=_check_docdb_master_secret, severity=Severity.HIGH,
        remediation="List the 'mongodb' platform secret (the application user's, components/data/secrets.py "
                    "document_store_credentials) instead of the cluster's master_user_secrets; grant "
                    "secretsmanager:GetSecretValue on the master secret only to the bootstrap role (tag "
                    f"{ROLE_TAG}={DB_BOOTSTRAP_ROLE}).",
        refs=[_CC6_1, pci_dss("7.2.2", "Access is assigned based on job classification and function")],
    ),
    resource_policy(
        "docdb-managed-master-password",
        description="The DocumentDB master password is generated, stored and rotated by DocumentDB in Secrets "
                    "Manager.",
        resource_types=[DOCDB_CLUSTER], check=_check_docdb_master_password, severity=Severity.HIGH,
        remediation="Drop master_password and set manage_master_user_password=True.",
        refs=[_CC6_1, pci_dss("8.3.9")],
    ),
]
