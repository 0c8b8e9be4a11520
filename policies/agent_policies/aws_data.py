"""Data-tier policies: RDS, ElastiCache, S3 buckets, Secrets Manager and who may reach the data stores.

Bucket settings live on separate resources (public-access block, encryption, versioning, policy,
logging, lifecycle), tied to their bucket through the ``bucket`` input's dependency; the older inline
bucket arguments count too. Every check reports nothing about a value that is unknown during preview.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from agent_contract.tags import ROLE_TAG, ROTATABLE_SECRET_KINDS, SECRET_KIND_TAG
from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ._common import (
    Report,
    Settings,
    as_list,
    cis_aws,
    depends_on,
    get,
    known,
    of_type,
    parse_document,
    pci_dss,
    resource_policy,
    soc2,
    stack_policy,
    statements,
    tag_map,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
# PostgreSQL settings that weaken the server, and the values they must keep (config/data.py refuses the same ones
# in the stack config; this catches parameter groups that did not come from it).
WEAKENING_PARAMETERS: dict[str, list[str]] = {
    "rds.force_ssl": ["1"],
    "password_encryption": ["scram-sha-256"],
    "ssl": ["1", "on"],
    "ssl_min_protocol_version": ["TLSv1.2", "TLSv1.3"],
    "rds.accepted_password_auth_method": ["scram"],
}
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION_TYPES = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy",)
LOGGING_TYPES = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LIFECYCLE_TYPES = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                   "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
LOAD_BALANCER_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"

DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
ENGINE_PORTS = {"docdb": 27017, "postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306, "mariadb": 3306,
                "aurora-mysql": 3306, "redis": 6379, "valkey": 6379}
_A1_2 = soc2("A1.2", "Environmental protections, software, data backup processes, and recovery infrastructure")
_CC6_1 = soc2("CC6.1", "Logical access security over protected information assets")
_UNKNOWN = object()


def _true(value: Any) -> bool:
    """Some provider flags are typed as strings ("true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- RDS ------------------------------------------------------------------------------------------------------


def _check_rds_encryption(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _true(get(args.props, "storageEncrypted")):
        report("storageEncrypted is not true: the database, its snapshots and replicas are stored unencrypted.")
    elif settings["requireCustomerManagedKey"] and not get(args.props, "kmsKeyId"):
        report("kmsKeyId is not set, so storage uses the AWS-managed aws/rds key, whose policy we cannot restrict.")


def _check_rds_public(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "publiclyAccessible") is True:
        report("publiclyAccessible is true: the instance gets a public DNS name and address.")


def _check_rds_multi_az(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "replicateSourceDb"):
        return  # read replicas follow their source
    if get(args.props, "multiAz") is not True:
        report("multiAz is not true: an AZ outage or a host failure takes the database down until it is rebuilt.")


def _check_rds_retention(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "replicateSourceDb"):
        return
    report_short_retention(args.props, settings, report)


def _check_rds_deletion(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not settings["protectedEnvironment"]:
        return
    if get(args.props, "deletionProtection") is not True:
        report("deletionProtection is not true: one API call deletes the database.")
    if get(args.props, "replicateSourceDb"):
        return
    report_no_final_snapshot(args.props, report, what="instance")


def _check_rds_iam_auth(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "iamDatabaseAuthenticationEnabled") is not True:
        report("iamDatabaseAuthenticationEnabled is not true: only passwords can authenticate to the database.")


def _check_rds_logs(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    engine = str(get(args.props, "engine", default=""))
    exported = set(as_list(get(args.props, "enabledCloudwatchLogsExports")))
    if engine.startswith("postgres") or engine == "aurora-postgresql":
        missing = [t for t in settings["requiredPostgresLogTypes"] if t not in exported]
        if missing:
            report(f"enabledCloudwatchLogsExports lacks {', '.join(missing)}: those logs stay on the instance and "
                   "are lost with it.")
    elif not exported:
        report("enabledCloudwatchLogsExports is empty: no database log reaches CloudWatch Logs.")


def _check_rds_insights(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    enabled = get(args.props, "performanceInsightsEnabled") is True
    if not enabled:
        if settings["requireEnabled"]:
            report("performanceInsightsEnabled is not true: database load cannot be attributed to queries.")
        return
    if not get(args.props, "performanceInsightsKmsKeyId"):
        report("performanceInsightsKmsKeyId is not set: Performance Insights data (SQL text included) is "
               "encrypted only with the AWS-managed key.")


def _check_rds_minor_upgrades(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if get(args.props, "autoMinorVersionUpgrade", default=True) is False:
        report("autoMinorVersionUpgrade is false: security fixes in minor versions are never applied.")


def report_short_retention(props: Any, settings: Settings, report: Report) -> None:
    """Automated backups kept fewer days than the stack's minimum (RDS and DocumentDB share the field)."""
    days = int(get(props, "backupRetentionPeriod", default=1))  # the API default is 1 day
    minimum = int(settings["minRetentionDays"])
    if days < minimum:
        report(f"backupRetentionPeriod is {days} day(s); this stack keeps at least {minimum}.")


def report_no_final_snapshot(props: Any, report: Report, *, what: str) -> None:
    """Deleting the ``what`` (instance, cluster) would keep no final snapshot."""
    if get(props, "skipFinalSnapshot", default=False) is True:
        report(f"skipFinalSnapshot is true: deleting the {what} keeps no final snapshot.")
    elif not get(props, "finalSnapshotIdentifier"):
        report("finalSnapshotIdentifier is not set, so the final snapshot on deletion cannot be taken.")


def report_unmanaged_master_password(props: Any, report: Report, *, engine: str, skip_when: tuple[str, ...],
                                     password_keys: tuple[str, str]) -> None:
    """The master password must be kept and rotated by the service in Secrets Manager, never set by the program.

    ``skip_when``: inputs that mean the resource has no master user of its own (replicas, restores)."""
    if any(get(props, key) for key in skip_when):
        return
    present = set(props)  # keys only: a password that is still unknown is a password all the same
    if any(key in present for key in password_keys):
        report("The master password is set by the program, so it sits in the state and never rotates; use "
               "manageMasterUserPassword instead.")
    elif get(props, "manageMasterUserPassword") is not True:
        report(f"manageMasterUserPassword is not true: {engine} does not keep and rotate the master password in "
               "Secrets Manager.")


def _check_rds_master_password(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    # Replicas have no master user; restores keep the snapshot's.
    report_unmanaged_master_password(args.props, report, engine="RDS",
                                     skip_when=("replicateSourceDb", "snapshotIdentifier"),
                                     password_keys=("password", "passwordWo"))


# --- ElastiCache ---------------------------------------------------------------------------------------------


def _check_cache_transit(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _true(get(args.props, "transitEncryptionEnabled")):
        report("transitEncryptionEnabled is not true: clients talk to the cache in plain text.")
    elif get(args.props, "transitEncryptionMode") == "preferred":
        report("transitEncryptionMode is \"preferred\": unencrypted connections are still accepted; use "
               "\"required\".")


def _check_cache_at_rest(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not _true(get(args.props, "atRestEncryptionEnabled")):
        report("atRestEncryptionEnabled is not true: snapshots and swap are stored unencrypted.")
    elif settings["requireCustomerManagedKey"] and not get(args.props, "kmsKeyId"):
        report("kmsKeyId is not set, so data at rest uses the service-owned key.")


def _check_cache_auth(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    present = set(args.props)
    if "authToken" in present or "authTokenWo" in present:
        return
    if len(as_list(get(args.props, "userGroupIds"))) > 0:
        return
    report("Neither authToken nor userGroupIds is set: any client that reaches the port can read and write.")


def _check_cache_failover(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    props = args.props
    if get(props, "automaticFailoverEnabled") is not True:
        report("automaticFailoverEnabled is not true: losing the primary node loses the cache until it is "
               "replaced.")
    if get(props, "multiAzEnabled") is not True:
        report("multiAzEnabled is not true: replicas may share the primary's availability zone.")
    nodes = get(props, "numCacheClusters")
    if nodes is not None and int(nodes) < 2:
        report(f"numCacheClusters is {int(nodes)}: failover needs a replica.")


def _check_cache_snapshots(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    days = int(get(args.props, "snapshotRetentionLimit", default=0))
    minimum = int(settings["minRetentionDays"])
    if days < minimum:
        report(f"snapshotRetentionLimit is {days} day(s); this stack keeps at least {minimum} "
               "(AWS Backup does not cover ElastiCache, so its snapshots are the backup).")


# --- S3 --------------------------------------------------------------------------------------------------------


def _by_bucket(resources: Sequence[PolicyResource], types: Iterable[str]) -> dict[str, list[PolicyResource]]:
    """Bucket URN to the configuration resources that name it in their ``bucket`` input."""
    found: dict[str, list[PolicyResource]] = {}
    for res in of_type(resources, *types):
        for dep in depends_on(res, "bucket"):
            if dep.resource_type in BUCKET_TYPES:
                found.setdefault(dep.urn, []).append(res)
    return found


def _log_buckets(resources: Sequence[PolicyResource], settings: Settings) -> set[str]:
    """Buckets that hold access logs: tagged with a log role, or the target of access logging."""
    found: set[str] = set()
    for res in of_type(resources, *LOGGING_TYPES):
        found.update(d.urn for d in depends_on(res, "targetBucket") if d.resource_type in BUCKET_TYPES)
    for res in of_type(resources, *LOAD_BALANCER_TYPES):
        found.update(d.urn for d in res.property_dependencies.get("accessLogs") or []
                     if d.resource_type in BUCKET_TYPES)
    for bucket in of_type(resources, *BUCKET_TYPES):
        tags = known(lambda bucket=bucket: tag_map(get(bucket.props, "tags")), {}) or {}
        if tags.get(settings["roleTag"]) in settings["logBucketRoles"]:
            found.add(bucket.urn)
    return found


_LOG_BUCKET_SETTINGS = {
    "roleTag": {"type": "string", "default": ROLE_TAG,
                "description": "Tag that marks a bucket's role."},
    "logBucketRoles": {"type": "array", "items": {"type": "string"}, "default": ["logs"],
                       "description": "Roles of buckets that receive access logs."},
}


def _each_bucket(args: StackValidationArgs, report: ReportViolation, types: Iterable[str],
                 judge: Callable[[PolicyResource, list[PolicyResource]], str | None]) -> None:
    """``judge(bucket, configs)`` returns a problem or None; buckets with unknown values are skipped."""
    configs = _by_bucket(args.resources, types)
    for bucket in of_type(args.resources, *BUCKET_TYPES):
        problem = known(lambda bucket=bucket: judge(bucket, configs.get(bucket.urn, [])))
        if problem:
            report(f"Bucket {bucket.name}: {problem}", bucket.urn)


def _check_public_access(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

    def judge(bucket: PolicyResource, blocks: list[PolicyResource]) -> str | None:
        if not blocks:
            return "no aws.s3.BucketPublicAccessBlock; public ACLs or a public policy could expose it."
        best = min(([f for f in flags if get(b.props, f) is not True] for b in blocks), key=len)
        return f"the public-access block leaves {', '.join(best)} off." if best else None

    _each_bucket(args, report, [PUBLIC_ACCESS_BLOCK], judge)


def _sse_rules(bucket: PolicyResource, configs: list[PolicyResource]) -> list[Any]:
    rules = [r for c in configs for r in as_list(get(c.props, "rules"))]
    inline = get(bucket.props, "serverSideEncryptionConfiguration", "rule")
    return [*rules, *as_list(inline)]


def _check_encryption(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    logs = _log_buckets(args.resources, settings)

    def judge(bucket: PolicyResource, configs: list[PolicyResource]) -> str | None:
        rules = _sse_rules(bucket, configs)
        if not rules:
            return "no default encryption configuration."
        defaults = [get(r, "applyServerSideEncryptionByDefault", default={}) for r in rules]
        algorithms = {get(d, "sseAlgorithm") for d in defaults}
        if bucket.urn in logs and algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}:
            return None  # load balancers can deliver logs only to SSE-S3 buckets
        kms = [d for d in defaults if get(d, "sseAlgorithm") in ("aws:kms", "aws:kms:dsse")]
        if not kms:
            return f"default encryption is {', '.join(sorted(map(str, algorithms)))}; data buckets use SSE-KMS."
        if settings["requireCustomerManagedKey"] and not any(get(d, "kmsMasterKeyId") for d in kms):
            return "SSE-KMS without kmsMasterKeyId uses the AWS-managed aws/s3 key; name a customer-managed key."
        return None

    _each_bucket(args, report, ENCRYPTION_TYPES, judge)


def _check_versioning(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    def judge(bucket: PolicyResource, configs: list[PolicyResource]) -> str | None:
        statuses = [get(c.props, "versioningConfiguration", "status") for c in configs]
        if "Enabled" in statuses or get(bucket.props, "versioning", "enabled") is True:
            return None
        return "versioning is not enabled: an overwrite or delete loses the object for good."

    _each_bucket(args, report, VERSIONING_TYPES, judge)


def _denies_plain_http(stmt: Mapping[str, Any]) -> bool:
    principal = stmt.get("Principal")
    if stmt.get("Effect") != "Deny" or not (principal == "*" or (
            isinstance(principal, Mapping) and as_list(principal.get("AWS")) == ["*"])):
        return False
    if not {"s3:*", "*"} & set(as_list(stmt.get("Action"))):
        return False
    if not any(str(r) == "*" or str(r).endswith("/*") for r in as_list(stmt.get("Resource"))):
        return False
    condition = stmt.get("Condition") or {}
    for operator in ("Bool", "BoolIfExists"):
        values = as_list((condition.get(operator) or {}).get("aws:SecureTransport"))
        if [str(v).lower() for v in values] == ["false"]:
            return True
    return False


def _check_tls_only(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    def judge(bucket: PolicyResource, policies: list[PolicyResource]) -> str | None:
        documents = [parse_document(get(p.props, "policy")) for p in policies]
        documents.append(parse_document(get(bucket.props, "policy")))
        if any(_denies_plain_http(s) for d in documents for s in statements(d)):
            return None
        return ("no bucket policy statement denies requests without TLS (Deny s3:* to \"*\" when "
                "aws:SecureTransport is false).")

    _each_bucket(args, report, POLICY_TYPES, judge)


def _check_access_logging(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    logs = _log_buckets(args.resources, settings)

    def judge(bucket: PolicyResource, configs: list[PolicyResource]) -> str | None:
        if bucket.urn in logs or configs or get(bucket.props, "logging", "targetBucket"):
            return None
        return "no server access logging: requests to it leave no record."

    _each_bucket(args, report, LOGGING_TYPES, judge)


def _enabled_rules(bucket: PolicyResource, configs: list[PolicyResource]) -> tuple[list[Any], list[Any]]:
    rules = [r for c in configs for r in as_list(get(c.props, "rules")) if get(r, "status") == "Enabled"]
    inline = [r for r in as_list(get(bucket.props, "lifecycleRules")) if get(r, "enabled") is True]
    return rules, inline


def _check_lifecycle(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    versioning = _by_bucket(args.resources, VERSIONING_TYPES)

    def judge(bucket: PolicyResource, configs: list[PolicyResource]) -> str | None:
        rules, inline = _enabled_rules(bucket, configs)
        if not rules and not inline:
            return "no lifecycle rules: old versions and abandoned uploads are kept (and billed) forever."
        problems = []
        if not any(get(r, "abortIncompleteMultipartUpload", "daysAfterInitiation") for r in rules) and \
                not any(get(r, "abortIncompleteMultipartUploadDays") for r in inline):
            problems.append("no rule aborts incomplete multipart uploads")
        versioned = any(get(v.props, "versioningConfiguration", "status") == "Enabled"
                        for v in versioning.get(bucket.urn, [])) or get(bucket.props, "versioning", "enabled") is True
        if versioned and not any(get(r, "noncurrentVersionExpiration", "noncurrentDays") for r in rules) and \
                not any(get(r, "noncurrentVersionExpiration", "days") for r in inline):
            problems.append("no rule expires noncurrent versions")
        return "; ".join(problems) + "." if problems else None

    _each_bucket(args, report, LIFECYCLE_TYPES, judge)


# --- Secrets Manager -------------------------------------------------------------------------------------------


def _check_secret_cmk(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not get(args.props, "kmsKeyId"):
        report("kmsKeyId is not set: the secret is encrypted with aws/secretsmanager, whose key policy lets anyone "
               "in the account with secret access decrypt it.")


def _check_parameters(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    rules: dict[str, list[str]] = settings["requiredValues"]
    for i in range(len(as_list(get(args.props, "parameters", default=[])))):
        name = known(lambda i=i: get(args.props, "parameters", i, "name"))
        value = known(lambda i=i: get(args.props, "parameters", i, "value"))
        if isinstance(name, str) and name in rules and value is not None and str(value) not in rules[name]:
            report(f"Parameter {name} is {value}; it must be {' or '.join(rules[name])}.")


def _check_recovery_window(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    # Secrets Manager's default recovery window is 30 days; 0 (force delete) is only possible when set explicitly.
    days = get(args.props, "recoveryWindowInDays", default=30)
    minimum = int(settings["minRecoveryWindowDays"])
    if int(days) < minimum:
        report(f"recoveryWindowInDays is {days}: a deleted secret "
               f"{'is gone at once' if int(days) == 0 else f'can be restored for only {days} days'}; keep at least "
               f"{minimum} days so a mistaken delete can be undone.")


def _check_rotation(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    longest = int(settings["maxRotationDays"])
    rotations: dict[str, list[PolicyResource]] = {}
    for rotation in of_type(args.resources, SECRET_ROTATION):
        for dep in depends_on(rotation, "secretId"):
            if dep.resource_type == SECRET:
                rotations.setdefault(dep.urn, []).append(rotation)
        rules = known(lambda r=rotation: get(r.props, "rotationRules", default={}), _UNKNOWN)
        if rules is _UNKNOWN:
            continue
        days = known(lambda rules=rules: get(rules, "automaticallyAfterDays"), _UNKNOWN)
        schedule = known(lambda rules=rules: get(rules, "scheduleExpression"), _UNKNOWN)
        if days is None and schedule is None:
            report(f"Rotation {rotation.name} sets no rotationRules.automaticallyAfterDays or scheduleExpression.",
                   rotation.urn)
        elif isinstance(days, int | float) and int(days) > longest:
            report(f"Rotation {rotation.name} rotates every {int(days)} days; at most {longest} is allowed.",
                   rotation.urn)
    kinds = set(settings["rotatableKinds"])
    for entry in of_type(args.resources, SECRET):
        tags = known(lambda e=entry: tag_map(get(e.props, "tags")))
        if tags is None or tags.get(settings["kindTag"]) not in kinds:
            continue
        active = [r for r in rotations.get(entry.urn, [])
                  if known(lambda r=r: get(r.props, "rotationEnabled", default=True), True) is not False]
        if not active:
            report(f"Secret {entry.name} holds {tags.get(settings['kindTag'])}, which AWS can rotate, but no "
                   "aws.secretsmanager.SecretRotation rotates it.", entry.urn)


# --- who reaches the data stores ----------------------------------------------------------------------------------


def _store_groups(resources: Sequence[PolicyResource]) -> dict[str, tuple[PolicyResource, int | None]]:
    """Security-group URN to the data store it guards and the store's port."""
    guarded: dict[str, tuple[PolicyResource, int | None]] = {}
    for store in of_type(resources, RDS_INSTANCE):
        engine = known(lambda s=store: str(get(s.props, "engine", default="")), "")
        port = known(lambda s=store, e=engine: get(s.props, "port", default=ENGINE_PORTS.get(e)), None)
        for dep in store.property_dependencies.get("vpcSecurityGroupIds") or []:
            if dep.resource_type == SECURITY_GROUP:
                guarded[dep.urn] = (store, None if port is None else int(port))
    for store in of_type(resources, DOCDB_CLUSTER):
        port = known(lambda s=store: get(s.props, "port", default=27017), None)
        for dep in store.property_dependencies.get("vpcSecurityGroupIds") or []:
            if dep.resource_type == SECURITY_GROUP:
                guarded[dep.urn] = (store, None if port is None else int(port))
    for store in of_type(resources, "aws:opensearch/domain:Domain"):
        for dep in store.property_dependencies.get("vpcOptions") or []:
            if dep.resource_type == SECURITY_GROUP:
                guarded[dep.urn] = (store, 443)
    for store in of_type(resources, REPLICATION_GROUP):
        port = known(lambda s=store: get(s.props, "port", default=6379), None)
        for dep in store.property_dependencies.get("securityGroupIds") or []:
            if dep.resource_type == SECURITY_GROUP:
                guarded[dep.urn] = (store, None if port is None else int(port))
    return guarded


def _names_source(value: Any) -> bool:
    if isinstance(value, bool):
        return value  # ``self``
    if isinstance(value, str):
        return bool(value)
    return value is not None and len(value) > 0


def _rule_problem(props: Any, port: int | None, *, protocol_key: str, cidr_keys: Sequence[str],
                  source_keys: Sequence[str]) -> str | None:
    cidrs = [str(c) for key in cidr_keys for c in as_list(get(props, key))]
    if cidrs:
        return f"admits address range(s) {', '.join(cidrs)} instead of a workload security group"
    # Source group ids are usually unknown during preview (the groups are new): their presence is what counts.
    present = set(props)
    named = [key for key in source_keys if key in present]
    if not any(known(lambda key=key: _names_source(get(props, key)), True) for key in named):
        return "names no source security group"
    if port is None:
        return None
    protocol = str(get(props, protocol_key, default="-1")).lower()
    low, high = get(props, "fromPort"), get(props, "toPort")
    if protocol in ("tcp", "6") and low is not None and high is not None and int(low) == int(high) == port:
        return None
    opened = "all traffic" if protocol in ("-1", "all") else f"{protocol} {low}-{high}"
    return f"opens {opened}, more than the store's port {port}"


def _check_store_ingress(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    guarded = _store_groups(args.resources)
    for rule in of_type(args.resources, INGRESS_RULE, LEGACY_RULE):
        groups = [d for d in depends_on(rule, "securityGroupId") if d.urn in guarded]
        legacy_egress = rule.resource_type == LEGACY_RULE and known(lambda r=rule: get(r.props, "type")) != "ingress"
        if not groups or legacy_egress:
            continue
        store, port = guarded[groups[0].urn]
        if rule.resource_type == INGRESS_RULE:
            problem = known(lambda r=rule, p=port: _rule_problem(
                r.props, p, protocol_key="ipProtocol", cidr_keys=("cidrIpv4", "cidrIpv6", "prefixListId"),
                source_keys=("referencedSecurityGroupId",)))
        else:
            problem = known(lambda r=rule, p=port: _rule_problem(
                r.props, p, protocol_key="protocol", cidr_keys=("cidrBlocks", "ipv6CidrBlocks", "prefixListIds"),
                source_keys=("sourceSecurityGroupId", "self")))
        if problem:
            report(f"Rule {rule.name} on the security group of {store.name} {problem}.", rule.urn)
    for urn, (store, port) in guarded.items():
        group = next(r for r in args.resources if r.urn == urn)
        count = known(lambda g=group: len(get(g.props, "ingress", default=[])), 0)
        for i in range(count):
            problem = known(lambda g=group, i=i, p=port: _rule_problem(
                get(g.props, "ingress", i), p, protocol_key="protocol",
                cidr_keys=("cidrBlocks", "ipv6CidrBlocks", "prefixListIds"), source_keys=("securityGroups", "self")))
            if problem:
                report(f"Inline ingress #{i + 1} of {group.name} (guarding {store.name}) {problem}.", group.urn)


# --- the policies ---------------------------------------------------------------------------------------------

_CMK_SETTING = {"requireCustomerManagedKey": {"type": "boolean", "default": True,
                                              "description": "Require a customer-managed KMS key, not the AWS "
                                                             "default key."}}

POLICIES: list[Policy] = [
    resource_policy(
        "rds-storage-encrypted-cmk",
        description="RDS instances encrypt storage with a customer-managed KMS key.",
        resource_types=[RDS_INSTANCE], check=_check_rds_encryption, severity=Severity.HIGH,
        remediation="Set storage_encrypted=True and kms_key_id to a rotating CMK (encryption can only be chosen at "
                    "creation: snapshot, copy the snapshot with the key, restore).",
        refs=[cis_aws("2.3.1", "Ensure that encryption-at-rest is enabled for RDS Instances"), _CC6_1],
        config=_CMK_SETTING,
    ),
    resource_policy(
        "rds-not-publicly-accessible",
        description="RDS instances are never publicly accessible.",
        resource_types=[RDS_INSTANCE], check=_check_rds_public, severity=Severity.CRITICAL,
        remediation="Set publicly_accessible=False and place the instance in isolated subnets; reach it from the "
                    "cluster or through a bastion session.",
        refs=[cis_aws("2.3.3", "Ensure that public access is not given to RDS Instance"),
              pci_dss("1.4.4"), soc2("CC6.6")],
    ),
    resource_policy(
        "rds-multi-az",
        description="RDS instances run Multi-AZ, with a synchronous standby in another availability zone.",
        resource_types=[RDS_INSTANCE], check=_check_rds_multi_az, severity=Severity.MEDIUM,
        remediation="Set multi_az=True (dataTier.postgres.multiAz); the change applies in the maintenance window "
                    "without downtime.",
        refs=[_A1_2], topic=("availability",),
    ),
    resource_policy(
        "rds-backup-retention",
        description="RDS automated backups (point-in-time recovery) are kept long enough.",
        resource_types=[RDS_INSTANCE], check=_check_rds_retention, severity=Severity.MEDIUM,
        remediation="Raise backup_retention_period (dataTier.postgres.backupRetentionDays) to the stack minimum.",
        refs=[_A1_2], topic=("availability",),
        config={"minRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7,
                                     "description": "Fewest days of automated backups."}},
    ),
    resource_policy(
        "rds-deletion-protection",
        description="In protected environments RDS instances have deletion protection and take a final snapshot.",
        resource_types=[RDS_INSTANCE], check=_check_rds_deletion, severity=Severity.HIGH,
        remediation="Set deletion_protection=True, skip_final_snapshot=False and a final_snapshot_identifier (the "
                    "DataTier does this whenever the stack's protect flag is on).",
        refs=[_A1_2], topic=("availability",),
        config={"protectedEnvironment": {"type": "boolean", "default": True,
                                         "description": "Whether this stack's databases must be protected."}},
    ),
    resource_policy(
        "rds-iam-authentication",
        description="RDS instances accept IAM database authentication.",
        resource_types=[RDS_INSTANCE], check=_check_rds_iam_auth, severity=Severity.MEDIUM,
        remediation="Set iam_database_authentication_enabled=True so roles (IRSA) can log in with short-lived "
                    "tokens instead of stored passwords.",
        refs=[_CC6_1, pci_dss("8.3.1")],
    ),
    resource_policy(
        "rds-log-exports",
        description="RDS instances export their database logs to CloudWatch Logs.",
        resource_types=[RDS_INSTANCE], check=_check_rds_logs, severity=Severity.MEDIUM,
        remediation="Set enabled_cloudwatch_logs_exports (PostgreSQL: [\"postgresql\", \"upgrade\"]) and create the "
                    "/aws/rds/instance/<id>/<type> log groups first, encrypted and with retention.",
        refs=[soc2("CC7.2"), pci_dss("10.2.1")],
        config={"requiredPostgresLogTypes": {"type": "array", "items": {"type": "string"},
                                             "default": ["postgresql"],
                                             "description": "Log types PostgreSQL instances must export."}},
    ),
    resource_policy(
        "rds-performance-insights-encrypted",
        description="RDS Performance Insights is on and encrypted with a customer-managed key.",
        resource_types=[RDS_INSTANCE], check=_check_rds_insights, severity=Severity.MEDIUM,
        remediation="Set performance_insights_enabled=True and performance_insights_kms_key_id to the database CMK "
                    "(the key can only be chosen when Performance Insights is first enabled).",
        refs=[_CC6_1, soc2("CC7.2")],
        config={"requireEnabled": {"type": "boolean", "default": True,
                                   "description": "Require Performance Insights to be on (not only encrypted)."}},
    ),
    resource_policy(
        "rds-auto-minor-version-upgrade",
        description="RDS instances take minor engine versions automatically in their maintenance window.",
        resource_types=[RDS_INSTANCE], check=_check_rds_minor_upgrades, severity=Severity.MEDIUM,
        remediation="Set auto_minor_version_upgrade=True and pin only the major version (engine_version=\"16\").",
        refs=[cis_aws("2.3.2", "Ensure Auto Minor Version Upgrade feature is Enabled for RDS Instances")],
    ),
    resource_policy(
        "rds-managed-master-password",
        description="The RDS master password is generated, stored and rotated by RDS in Secrets Manager.",
        resource_types=[RDS_INSTANCE], check=_check_rds_master_password, severity=Severity.HIGH,
        remediation="Drop password and set manage_master_user_password=True with master_user_secret_kms_key_id; "
                    "applications get their own least-privilege role instead of the master login.",
        refs=[_CC6_1, pci_dss("8.3.9")],
    ),
    resource_policy(
        "elasticache-transit-encryption",
        description="ElastiCache replication groups require TLS.",
        resource_types=[REPLICATION_GROUP], check=_check_cache_transit, severity=Severity.HIGH,
        remediation="Set transit_encryption_enabled=True and transit_encryption_mode=\"required\" (clients connect "
                    "with rediss://).",
        refs=[pci_dss("4.2.1"), soc2("CC6.7")],
    ),
    resource_policy(
        "elasticache-at-rest-encryption-cmk",
        description="ElastiCache replication groups encrypt data at rest with a customer-managed key.",
        resource_types=[REPLICATION_GROUP], check=_check_cache_at_rest, severity=Severity.HIGH,
        remediation="Set at_rest_encryption_enabled=True and kms_key_id (both only at creation: restore a snapshot "
                    "into a new group).",
        refs=[_CC6_1],
        config=_CMK_SETTING,
    ),
    resource_policy(
        "elasticache-auth-required",
        description="ElastiCache replication groups require authentication (AUTH token or RBAC user group).",
        resource_types=[REPLICATION_GROUP], check=_check_cache_auth, severity=Severity.HIGH,
        remediation="Set auth_token from a generated secret (with auth_token_update_strategy=\"ROTATE\") or "
                    "user_group_ids; keep the token in Secrets Manager.",
        refs=[_CC6_1, pci_dss("8.3.1")],
    ),
    resource_policy(
        "elasticache-automatic-failover",
        description="ElastiCache replication groups fail over automatically to a replica in another AZ.",
        resource_types=[REPLICATION_GROUP], check=_check_cache_failover, severity=Severity.MEDIUM,
        remediation="Set num_cache_clusters>=2, automatic_failover_enabled=True and multi_az_enabled=True "
                    "(dataTier.redis.automaticFailover).",
        refs=[_A1_2], topic=("availability",),
    ),
    resource_policy(
        "elasticache-snapshot-retention",
        description="ElastiCache replication groups keep daily snapshots long enough.",
        resource_types=[REPLICATION_GROUP], check=_check_cache_snapshots, severity=Severity.MEDIUM,
        remediation="Raise snapshot_retention_limit (dataTier.redis.snapshotRetentionDays).",
        refs=[_A1_2], topic=("availability",),
        config={"minRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 1,
                                     "description": "Fewest days of snapshots."}},
    ),
    stack_policy(
        "s3-public-access-blocked",
        description="Every S3 bucket has all four public-access blocks on.",
        check=_check_public_access, severity=Severity.CRITICAL,
        remediation="Add aws.s3.BucketPublicAccessBlock with block_public_acls, block_public_policy, "
                    "ignore_public_acls and restrict_public_buckets all True.",
        refs=[cis_aws("2.1.4", "Ensure that S3 Buckets are configured with 'Block public access (bucket "
                               "settings)'"), pci_dss("1.4.4")],
    ),
    stack_policy(
        "s3-default-encryption",
        description="Every S3 bucket has default encryption: SSE-KMS with a customer-managed key for data, SSE-S3 "
                    "allowed only for log buckets.",
        check=_check_encryption, severity=Severity.HIGH,
        remediation="Add aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm \"aws:kms\", "
                    "kms_master_key_id and bucket_key_enabled=True (log buckets: \"AES256\", which load balancers "
                    "require).",
        refs=[_CC6_1, pci_dss("3.5.1")],
        config={**_CMK_SETTING, **_LOG_BUCKET_SETTINGS},
    ),
    stack_policy(
        "s3-versioning-enabled",
        description="Every S3 bucket keeps object versions.",
        check=_check_versioning, severity=Severity.MEDIUM,
        remediation="Add aws.s3.BucketVersioning with versioning_configuration={\"status\": \"Enabled\"} and a "
                    "lifecycle rule that expires noncurrent versions.",
        refs=[_A1_2], topic=("security", "availability"),
    ),
    stack_policy(
        "s3-tls-only",
        description="Every S3 bucket policy denies requests that do not use TLS.",
        check=_check_tls_only, severity=Severity.HIGH,
        remediation="Add a bucket policy statement: Effect Deny, Principal \"*\", Action \"s3:*\", Resource the "
                    "bucket and bucket/*, Condition {\"Bool\": {\"aws:SecureTransport\": \"false\"}}.",
        refs=[cis_aws("2.1.1", "Ensure S3 Bucket Policy is set to deny HTTP requests"), pci_dss("4.2.1")],
    ),
    stack_policy(
        "s3-access-logging",
        description="Every S3 bucket that is not itself a log bucket records server access logs.",
        check=_check_access_logging, severity=Severity.MEDIUM,
        remediation="Add aws.s3.BucketLogging with target_bucket the stack's logs bucket (DataTier.logs_bucket_name) "
                    "and target_prefix \"s3-access/<bucket>/\".",
        refs=[soc2("CC7.2"), pci_dss("10.2.1")],
        config=_LOG_BUCKET_SETTINGS,
    ),
    stack_policy(
        "s3-lifecycle-configured",
        description="Every S3 bucket has lifecycle rules that abort incomplete uploads and, when versioned, expire "
                    "noncurrent versions.",
        check=_check_lifecycle, severity=Severity.LOW,
        remediation="Add aws.s3.BucketLifecycleConfiguration with an abort_incomplete_multipart_upload rule and a "
                    "noncurrent_version_expiration rule (plus transitions to STANDARD_IA where objects age).",
        topic=("cost",),
    ),
    resource_policy(
        "secretsmanager-cmk-encryption",
        description="Secrets Manager secrets are encrypted with a customer-managed KMS key.",
        resource_types=[SECRET], check=_check_secret_cmk, severity=Severity.MEDIUM,
        remediation="Set kms_key_id to the secrets CMK; grant workloads kms:Decrypt on it only through "
                    "secretsmanager (kms:ViaService).",
        refs=[_CC6_1],
    ),
    resource_policy(
        "rds-parameters-hardened",
        description="Database parameter groups keep TLS required (1.2 or newer) and SCRAM password hashing.",
        resource_types=[RDS_PARAMETER_GROUP], check=_check_parameters, severity=Severity.HIGH,
        remediation="Remove the parameter override (dataTier.postgres.parameters) or set it to an allowed value: "
                    "rds.force_ssl 1, password_encryption scram-sha-256, ssl_min_protocol_version TLSv1.2 or newer.",
        refs=[pci_dss("4.2.1", "Strong cryptography protects data in transmission"), _CC6_1],
        config={"requiredValues": {"type": "object", "additionalProperties": {"type": "array",
                                                                              "items": {"type": "string"}},
                                   "default": WEAKENING_PARAMETERS,
                                   "description": "Parameter name to the values it may take."}},
    ),
    resource_policy(
        "secretsmanager-recovery-window",
        description="Deleted secrets stay restorable for a recovery window (never deleted at once).",
        resource_types=[SECRET], check=_check_recovery_window, severity=Severity.MEDIUM,
        remediation="Set recovery_window_in_days to 7-30 (dataTier.secrets.recoveryWindowDays); 0 deletes a secret "
                    "with no way back and is for disposable dev stacks only.",
        refs=[_CC6_1],
        # Recoverability of data, like rds-multi-az: advisory in dev, where the preset deletes secrets at once.
        topic=("availability",),
        config={"minRecoveryWindowDays": {"type": "integer", "minimum": 0, "maximum": 30, "default": 7,
                                          "description": "Shortest recovery window accepted (Secrets Manager "
                                                         "allows 0 or 7-30)."}},
    ),
    stack_policy(
        "secretsmanager-rotation",
        description="Secrets AWS can rotate (database credentials) have a rotation schedule, and no schedule is too "
                    "slow.",
        check=_check_rotation, severity=Severity.HIGH,
        remediation="Add aws.secretsmanager.SecretRotation with AWS's rotation function for the engine and "
                    "rotation_rules.automatically_after_days within the limit; tag every secret with its kind so "
                    "this policy can tell what is rotatable.",
        refs=[pci_dss("8.3.9", "Passwords are changed at least once every 90 days"), _CC6_1],
        config={
            "maxRotationDays": {"type": "integer", "minimum": 1, "maximum": 365, "default": 90,
                                "description": "Longest interval between rotations."},
            "kindTag": {"type": "string", "default": SECRET_KIND_TAG,
                        "description": "Tag that says what a secret holds."},
            "rotatableKinds": {"type": "array", "items": {"type": "string"}, "default": list(ROTATABLE_SECRET_KINDS),
                               "description": "Secret kinds an AWS rotation function can rotate."},
        },
    ),
    stack_policy(
        "data-store-ingress-from-security-groups-only",
        description="Security groups of databases, caches and document stores admit only the store's port, and "
                    "only from other security groups (never an address range).",
        check=_check_store_ingress, severity=Severity.HIGH,
        remediation="Replace CIDR rules with aws.vpc.SecurityGroupIngressRule(referenced_security_group_id=<workload "
                    "group>, ip_protocol=\"tcp\", from_port=to_port=<store port>).",
        refs=[pci_dss("1.3.1"), soc2("CC6.6")],
    ),
]
