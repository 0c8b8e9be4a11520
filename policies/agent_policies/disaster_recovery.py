"""Disaster recovery: every stateful store has a copy in another region that is recent enough for the stack's RPO,
and the restore tests also restore from that region.

AWS Backup's off-region copies (``backup-cross-region-copy``) run once per snapshot rule, so on their own they lose
up to a day with the region. These policies ask for continuous replication of each store, and compare what AWS
states about each replication's lag with ``maxRpoMinutes``:

- PostgreSQL (RDS): automated backups replicated to another region. "Amazon RDS PITR snapshot replication is based
  on asynchronous replication, so the underlying RPO is ... ranging 5-30 minutes" (AWS Prescriptive Guidance,
  "Amazon RDS PITR snapshot replication"); counted as 30.
- S3 buckets holding data: Cross-Region Replication with Replication Time Control, which replicates "99.99 percent
  of new objects ... within 15 minutes" (S3 user guide, S3 RTC); without RTC replication has no time bound.
- Application secrets: Secrets Manager replicas in another region (replicated with every new version).
- Images, where the stack owns the registry's replication: its repositories match a cross-region ECR rule.
- DocumentDB clusters: a global cluster (its sourceDbClusterIdentifier) with a secondary cluster in another region
  under a key of that region; AWS: replication "latency is typically under a second" (DocumentDB developer guide,
  "Overview of Amazon DocumentDB global clusters"). A global cluster's secondary is itself the copy.
- Dedicated vector stores: the snapshot CronJob (EKS) or timer (VM runtime, its gap a tag of the data volume) writes
  to the data bucket, which replicates with RTC, so the RPO is the schedule's longest gap plus 15 minutes, compared
  with ``maxRpoMinutes``.
- The vector store's EBS volumes (VM data volume, or the EKS StorageClass that tags the volumes it provisions):
  nothing replicates them continuously, so an AWS Backup rule at least hourly (AWS Backup's shortest interval: it
  rejects rules "less than 60 minutes" apart) must select them and copy to another region. Their RPO is the interval
  plus the copy's own duration, for which AWS states no bound (an incremental snapshot copy usually takes minutes):
  about an hour, the best AWS Backup offers; a target under 60 minutes is reported.

ElastiCache is not asked for: the platform keeps no state there that PostgreSQL cannot rebuild
(docs/disaster-recovery.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_contract.schedules import max_gap_minutes
from agent_contract.tags import (
    BACKUP_PLAN_TAG,
    ROLE_TAG,
    SECRET_KIND_TAG,
    SNAPSHOT_GIB_ANNOTATION,
    SNAPSHOT_MAX_GAP_TAG,
)
from pulumi_policy import Policy, PolicyResource, ReportViolation, Severity, StackValidationArgs

from ._common import Settings, as_list, get, known, of_type, soc2, stack_policy, tag_map
from .backup import BUCKET_TYPES, PLAN, SELECTION, VAULT, _log_targets, _provider_urn, _region

RDS_INSTANCE = "aws:rds/instance:Instance"
DB_BACKUPS_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
SECRET = "aws:secretsmanager/secret:Secret"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_REPLICATION = "aws:ecr/replicationConfiguration:ReplicationConfiguration"
RESTORE_TESTING_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"

DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_GLOBAL_CLUSTER = "aws:docdb/globalCluster:GlobalCluster"
CRON_JOB = "kubernetes:batch/v1:CronJob"
# The vector store's snapshot CronJob (components/services/eks/vector_store.py SNAPSHOT_JOB).
VECTOR_SNAPSHOT_JOB = "vector-store-snapshot"
EBS_VOLUME = "aws:ebs/volume:Volume"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
# The component tag of the vector store's volumes (policies/agent_policies/vector_stores.py VM_COMPONENT).
VECTOR_STORE_COMPONENT = "vector-store"
# AWS Backup: "The interval between backup jobs shouldn't be less than 60 minutes" (its error for shorter rules).
BACKUP_MIN_INTERVAL_MINUTES = 60

RDS_REPLICATION_RPO_MINUTES = 30
S3_RTC_MINUTES = 15
# Buckets with these roles need no replica: access logs, and the replicas themselves.
NON_DATA_ROLES = ("logs", "replica")
_A1_2 = soc2("A1.2", "Environmental protections, software, data backup processes, and recovery infrastructure")
_A1_3 = soc2("A1.3", "Recovery plan procedures supporting system recovery are tested")


def _off_region(copy: PolicyResource, source: PolicyResource) -> bool | None:
    """Whether ``copy`` lives in another region than ``source`` (``None``: the plan cannot tell)."""
    copy_region, source_region = _region(copy), _region(source)
    if copy_region and source_region:
        return copy_region != source_region
    if _provider_urn(copy) == _provider_urn(source):
        return False  # one provider, one region
    return True if copy_region else None


def _depends_on(res: PolicyResource, prop: str, target: PolicyResource) -> bool:
    return any(d.urn == target.urn for d in res.property_dependencies.get(prop) or ())


def _check_database(db: PolicyResource, replications: Sequence[PolicyResource], target: int,
                    report: ReportViolation) -> None:
    if known(lambda: get(db.props, "replicateSourceDb")):
        return  # a read replica: its source's backups are the ones replicated
    mine = [r for r in replications if _depends_on(r, "sourceDbInstanceArn", db)]
    off = [r for r in mine if _off_region(r, db) is not False]
    if not off:
        report(f"RDS instance {db.name} has no automated-backup replication to another region: losing its region "
               "loses the database back to the last daily AWS Backup copy.", db.urn)
        return
    for replication in off:
        if not known(lambda r=replication: get(r.props, "kmsKeyId"), "unknown"):
            report(f"Automated-backup replication {replication.name} names no kmsKeyId: the replicated backups of "
                   "an encrypted database need a customer-managed key in the destination region.", replication.urn)
    if target < RDS_REPLICATION_RPO_MINUTES:
        report(f"RDS instance {db.name} replicates its backups with up to {RDS_REPLICATION_RPO_MINUTES} minutes of "
               f"lag (AWS: 5-30 minutes); this stack's RPO is {target} minutes: use a cross-region read replica.",
               db.urn)


def _data_buckets(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    log_targets = _log_targets(resources)
    out = []
    for bucket in of_type(resources, *BUCKET_TYPES):
        tags = known(lambda b=bucket: tag_map(get(b.props, "tags")))
        if tags is None or tags.get(ROLE_TAG) in NON_DATA_ROLES or bucket.urn in log_targets:
            continue
        out.append(bucket)
    return out


def _rule_problems(rule: object, target: int) -> list[str]:
    problems = []
    if get(rule, "sourceSelectionCriteria", "sseKmsEncryptedObjects", "status") != "Enabled":
        problems.append("does not replicate SSE-KMS objects (sourceSelectionCriteria.sseKmsEncryptedObjects), so "
                        "none of this platform's objects would be copied")
    if get(rule, "destination", "replicationTime", "status") != "Enabled":
        problems.append(f"has no Replication Time Control, so nothing bounds its lag; this stack's RPO is {target} "
                        "minutes")
    elif target < S3_RTC_MINUTES:
        problems.append(f"replicates within {S3_RTC_MINUTES} minutes (RTC), above this stack's RPO of {target}")
    return problems


def _check_bucket(bucket: PolicyResource, configs: Sequence[PolicyResource], resources: Sequence[PolicyResource],
                  target: int, report: ReportViolation) -> None:
    mine = [c for c in configs if _depends_on(c, "bucket", bucket)]
    if not mine:
        report(f"S3 bucket {bucket.name} holds data but is not replicated to another region (S3 Cross-Region "
               "Replication): losing its region loses every object since the last daily backup copy.", bucket.urn)
        return
    by_urn = {r.urn: r for r in resources}
    for config in mine:
        destinations = [by_urn[d.urn] for d in config.property_dependencies.get("rules") or ()
                        if d.urn in by_urn and by_urn[d.urn].resource_type in BUCKET_TYPES]
        if destinations and all(_off_region(d, bucket) is False for d in destinations):
            report(f"S3 bucket {bucket.name} replicates only within its own region ({config.name}); a regional "
                   "outage takes both copies.", config.urn)
            continue
        rules = [r for r in as_list(known(lambda c=config: get(c.props, "rules"), [])) if get(r, "status") == "Enabled"]
        if not rules:
            report(f"Replication configuration {config.name} of bucket {bucket.name} has no enabled rule.", config.urn)
        for rule in rules:
            for problem in known(lambda r=rule: _rule_problems(r, target), []):
                report(f"Replication rule {get(rule, 'id') or '?'} of bucket {bucket.name} {problem}.", config.urn)


def _check_secret(secret: PolicyResource, report: ReportViolation) -> None:
    tags = known(lambda: tag_map(get(secret.props, "tags")))
    if tags is None or SECRET_KIND_TAG not in tags:
        return  # not an application secret (operational ones are recreated by a DR stack)
    replicas = known(lambda: as_list(get(secret.props, "replicas")), None)
    if replicas is None:
        return
    home = _region(secret)
    off = [r for r in replicas if get(r, "region") and get(r, "region") != home]
    if not off:
        report(f"Secret {secret.name} has no replica in another region: a DR stack could not read it, and values "
               "that cannot be regenerated (keys, signing secrets) would be lost with the region.", secret.urn)
    for replica in off:
        if not get(replica, "kmsKeyId"):
            report(f"Secret {secret.name}'s replica in {get(replica, 'region')} names no kmsKeyId, so it is "
                   "encrypted with the AWS-managed key aws/secretsmanager; name a customer-managed key of that "
                   "region.", secret.urn)


def _check_images(resources: Sequence[PolicyResource], report: ReportViolation) -> None:
    prefixes: list[str] = []
    for config in of_type(resources, ECR_REPLICATION):
        home = _region(config)
        for rule in as_list(known(lambda c=config: get(c.props, "replicationConfiguration", "rules"), [])):
            if not any(get(d, "region") and get(d, "region") != home for d in as_list(get(rule, "destinations"))):
                continue
            filters = as_list(get(rule, "repositoryFilters"))
            prefixes += [str(get(f, "filter")) for f in filters] if filters else [""]
    for repo in of_type(resources, ECR_REPOSITORY):
        name = known(lambda r=repo: get(r.props, "name"))
        if isinstance(name, str) and not any(name.startswith(p) for p in prefixes):
            report(f"ECR repository {repo.name} ({name}) is not replicated to another region: a DR stack would have "
                   "no image to run.", repo.urn)


def _interval_minutes(schedule: object) -> int | None:
    """Minutes between runs of an AWS Backup cron rule: every N hours, or 1440 for any rule at fixed hours (daily or
    rarer); ``None``: not a cron expression this check reads."""
    text = str(schedule or "")
    if not (text.startswith("cron(") and text.endswith(")")):
        return None
    fields = text[5:-1].split()
    if len(fields) != 6 or not fields[0].isdigit():
        return None
    hours = fields[1]
    if hours == "*":
        return 60
    start, _, step = hours.partition("/")
    if step.isdigit() and start in ("*", "0"):
        return int(step) * 60
    return 24 * 60


def _selected_by(resource_tags: dict[str, str], arn_part: str, selection: PolicyResource) -> bool:
    """Whether ``selection`` takes a resource of this ARN shape and tags (unknown in a preview: assumed so)."""
    unknown = object()
    patterns = known(lambda: get(selection.props, "resources"), unknown)
    conditions = known(lambda: get(selection.props, "conditions"), unknown)
    if patterns is unknown or conditions is unknown:
        return True
    if not any(arn_part in str(p) for p in as_list(patterns)):
        return False
    for condition in as_list(conditions):
        for match in as_list(get(condition, "stringEquals")):
            key = str(get(match, "key") or "").removeprefix("aws:ResourceTag/")
            if resource_tags.get(key) != get(match, "value"):
                return False
    return True


def _hourly_dr_interval(plan: PolicyResource, dr_vaults: Sequence[PolicyResource]) -> int | None:
    """The shortest interval of a plan's rules that copy to another region's vault (``None``: none does)."""
    if not any(_depends_on(plan, "rules", v) for v in dr_vaults):
        return None
    intervals = [_interval_minutes(get(r, "schedule")) for r in as_list(known(lambda: get(plan.props, "rules"), []))
                 if as_list(get(r, "copyActions"))]
    found = [i for i in intervals if i is not None]
    return min(found) if found else None


def _storage_class_tags(klass: PolicyResource) -> dict[str, str]:
    """The tags the EBS CSI driver puts on the volumes of a StorageClass (``tagSpecification_<n>: key=value``)."""
    params = known(lambda: get(klass.props, "parameters"), {}) or {}
    pairs = (str(v).partition("=") for k, v in params.items() if str(k).startswith("tagSpecification_"))
    return {k: v for k, _, v in pairs}


def _snapshot_stores(resources: Sequence[PolicyResource]) -> list[tuple[PolicyResource, str, dict[str, str]]]:
    """Vector-store volumes (or their StorageClass), with the ARN part of their selection and their tags."""
    found = []
    for volume in of_type(resources, EBS_VOLUME):
        tags = known(lambda v=volume: tag_map(get(v.props, "tags")), {}) or {}
        if tags.get("component") == VECTOR_STORE_COMPONENT:
            found.append((volume, ":volume/", tags))
    for klass in of_type(resources, STORAGE_CLASS):
        tags = _storage_class_tags(klass)
        # Only the class whose volumes hold data: the scratch class carries no backup-plan tag.
        if tags.get("component") == VECTOR_STORE_COMPONENT and BACKUP_PLAN_TAG in tags:
            found.append((klass, ":volume/", tags))
    return found


def _check_snapshot_stores(resources: Sequence[PolicyResource], target: int, report: ReportViolation) -> None:
    stores = _snapshot_stores(resources)
    if not stores:
        return
    dr_vaults = _dr_vaults(resources)
    plans = {p.urn: _hourly_dr_interval(p, dr_vaults) for p in of_type(resources, PLAN)}
    selections = list(of_type(resources, SELECTION))
    for store, arn_part, tags in stores:
        intervals = [plans[d.urn] for s in selections if _selected_by(tags, arn_part, s)
                     for d in s.property_dependencies.get("planId") or () if plans.get(d.urn) is not None]
        best = min(intervals, default=None)
        if best is None or best > max(target, BACKUP_MIN_INTERVAL_MINUTES):
            got = f"its most frequent copy to another region runs every {best} minutes" if best else \
                "no AWS Backup rule that selects it copies it to another region"
            report(f"{store.name} is not replicated continuously and {got}: losing the region loses more than "
                   f"this stack's RPO of {target} minutes. Select it in an hourly backup rule with a copy action to "
                   "the DR vault (the backup vault's hourly plan).", store.urn)
        elif target < best:
            report(f"{store.name} is copied to another region every {best} minutes (AWS Backup's shortest interval) "
                   f"plus the copy's duration, above this stack's RPO of {target} minutes.", store.urn)


def _is_secondary(cluster: PolicyResource) -> bool:
    """A cluster created into a global cluster (its globalClusterIdentifier input; unknown in a preview: so)."""
    return bool(known(lambda: get(cluster.props, "globalClusterIdentifier"), True))


def _check_document_stores(resources: Sequence[PolicyResource], report: ReportViolation) -> None:
    clusters = list(of_type(resources, DOCDB_CLUSTER))
    globals_ = list(of_type(resources, DOCDB_GLOBAL_CLUSTER))
    for cluster in clusters:
        if _is_secondary(cluster):
            continue
        mine = [g for g in globals_ if _depends_on(g, "sourceDbClusterIdentifier", cluster)]
        secondaries = [c for g in mine for c in clusters
                       if _depends_on(c, "globalClusterIdentifier", g) and _off_region(c, cluster) is not False]
        if not secondaries:
            got = "its global cluster has no secondary in another region" if mine else "it is in no global cluster"
            report(f"DocumentDB cluster {cluster.name} is not replicated continuously to another region ({got}): "
                   "an hourly AWS Backup copy loses an hour plus the copy's duration. Join it to an "
                   "aws.docdb.GlobalCluster (sourceDbClusterIdentifier) with a secondary cluster in the DR region.",
                   cluster.urn)
        for secondary in secondaries:
            if not known(lambda c=secondary: get(c.props, "kmsKeyId"), "unknown"):
                report(f"DocumentDB secondary {secondary.name} names no kmsKeyId: its storage would use the AWS "
                       "managed key of its region; name a customer-managed key there.", secondary.urn)


def _snapshot_gaps(resources: Sequence[PolicyResource]) -> list[tuple[PolicyResource, int | None, str]]:
    """Each vector store snapshot writer with the longest gap between its runs (None: not understood) and how it
    runs: the EKS CronJob by its spec.schedule, the VM data volume by the timer's gap it is tagged with."""
    found: list[tuple[PolicyResource, int | None, str]] = []
    for job in of_type(resources, CRON_JOB):
        if known(lambda j=job: get(j.props, "metadata", "name")) != VECTOR_SNAPSHOT_JOB:
            continue
        schedule = known(lambda j=job: get(j.props, "spec", "schedule"))
        if schedule is not None:
            found.append((job, max_gap_minutes(str(schedule)), f"on '{schedule}'"))
    for volume in of_type(resources, EBS_VOLUME):
        tags = known(lambda v=volume: tag_map(get(v.props, "tags")), {}) or {}
        if tags.get("component") != VECTOR_STORE_COMPONENT or SNAPSHOT_GIB_ANNOTATION not in tags:
            continue
        gap = tags.get(SNAPSHOT_MAX_GAP_TAG)
        found.append((volume, int(gap) if str(gap).isdigit() else None, f"with no {SNAPSHOT_MAX_GAP_TAG} tag"))
    return found


def _check_vector_snapshots(resources: Sequence[PolicyResource], target: int, report: ReportViolation) -> None:
    """The vector store's snapshots reach the DR region through the replicated data bucket: gap + RTC <= RPO."""
    for writer, gap, how in _snapshot_gaps(resources):
        if gap is None or gap + S3_RTC_MINUTES > target:
            every = f"up to {gap} minutes apart" if gap is not None else how
            report(f"The vector store's snapshots ({writer.name}) run {every}; with {S3_RTC_MINUTES} minutes of S3 "
                   f"replication (RTC) to the DR region a region loss loses more than this stack's RPO of {target} "
                   f"minutes. Snapshot at least every {max(target - S3_RTC_MINUTES - 15, 5)} minutes "
                   "(dataTier.<qdrant|weaviate>.snapshotSchedule).", writer.urn)


def _check_replication(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if not settings["required"]:
        return
    target = int(settings["maxRpoMinutes"])
    resources = list(args.resources)
    replications = list(of_type(resources, DB_BACKUPS_REPLICATION))
    for db in of_type(resources, RDS_INSTANCE):
        _check_database(db, replications, target, report)
    configs = list(of_type(resources, BUCKET_REPLICATION))
    for bucket in _data_buckets(resources):
        _check_bucket(bucket, configs, resources, target, report)
    for secret in of_type(resources, SECRET):
        _check_secret(secret, report)
    if settings["requireImageReplication"]:
        _check_images(resources, report)
    _check_document_stores(resources, report)
    _check_vector_snapshots(resources, target, report)
    _check_snapshot_stores(resources, target, report)


def _dr_vaults(resources: Sequence[PolicyResource]) -> list[PolicyResource]:
    """Vaults a backup plan copies to in another region."""
    vaults = {v.urn: v for v in of_type(resources, VAULT)}
    found: dict[str, PolicyResource] = {}
    for plan in of_type(resources, PLAN):
        for dep in plan.property_dependencies.get("rules") or ():
            vault = vaults.get(dep.urn)
            if vault is not None and _provider_urn(vault) != _provider_urn(plan):
                found[vault.urn] = vault
    return list(found.values())


def _check_dr_restore_tests(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if not settings["required"]:
        return
    resources = list(args.resources)
    tests = list(of_type(resources, RESTORE_TESTING_PLAN))
    dr_vaults = _dr_vaults(resources)
    if not tests or not dr_vaults:
        return  # no restore tests at all, or no DR vault: backup-cross-region-copy and the config report those
    dr_tests = [t for t in tests if any(_depends_on(t, "recoveryPointSelection", v) for v in dr_vaults)]
    if not dr_tests:
        names = ", ".join(v.name for v in dr_vaults)
        report(f"No restore testing plan restores from the DR vault(s) {names}: the copies a region loss leaves are "
               "never shown to restore.", dr_vaults[0].urn)
        return
    selections = [s for s in of_type(resources, RESTORE_SELECTION)
                  if any(_depends_on(s, "restoreTestingPlanName", t) for t in dr_tests)]
    by_type: dict[str, list[PolicyResource]] = {}
    for selection in selections:
        kind = known(lambda s=selection: get(s.props, "protectedResourceType"))
        by_type.setdefault(str(kind), []).append(selection)
    wanted = {"RDS": any(not known(lambda d=d: get(d.props, "replicateSourceDb"))
                         for d in of_type(resources, RDS_INSTANCE)),
              "DocumentDB": any(not _is_secondary(c) for c in of_type(resources, DOCDB_CLUSTER))}
    for kind, present in wanted.items():
        if present and kind not in by_type:
            report(f"The DR region's restore tests ({dr_tests[0].name}) restore no {kind} copy: the database a region "
                   "loss leaves is never shown to restore there. Add a restore testing selection of that type.",
                   dr_tests[0].urn)
    for kind in ("RDS", "DocumentDB"):
        for selection in by_type.get(kind, []):
            overrides = known(lambda s=selection: get(s.props, "restoreMetadataOverrides"), "unknown")
            if overrides == "unknown":
                continue
            keys = {str(k).lower() for k in (overrides or {})}
            missing = [k for k in ("dbSubnetGroupName", "vpcSecurityGroupIds") if k.lower() not in keys]
            if missing:
                report(f"Restore testing selection {selection.name} sets no {', '.join(missing)}: the restored "
                       f"{kind} copy lands in the region's default VPC and security group (or fails where there is "
                       "none) instead of isolated subnets behind a group with no rules.", selection.urn)


_REQUIRED = {"type": "boolean", "default": False,
             "description": "Whether this stack must keep cross-region copies (prod always; staging when it sets "
                            "backup.drRegion). Generated from the stack config."}

POLICIES: list[Policy] = [
    stack_policy(
        "dr-cross-region-replication",
        description="Every stateful store (RDS, S3 buckets with data, DocumentDB through a global cluster, "
                    "application secrets, and images where the stack owns the registry's replication) has a "
                    "continuous copy in another region whose lag meets the stack's RPO; a vector store's snapshot "
                    "schedule plus the data bucket's replication fits the RPO; its volumes, which nothing replicates "
                    "continuously, an hourly AWS Backup rule copying to another region.",
        check=_check_replication,
        severity=Severity.HIGH,
        remediation="Set backup.drRegion with backup.replication enabled (docs/disaster-recovery.md): the data tier "
                    "then replicates PostgreSQL's automated backups, the data bucket (S3 CRR with Replication Time "
                    "Control), its secrets (Secrets Manager replicas) and DocumentDB (a global cluster with a "
                    "headless secondary) to that region, each under a key there; the backup vault adds an hourly "
                    "plan copying DocumentDB and the vector store's volumes there; vector stores snapshot every "
                    "30 minutes in prod (dataTier.<store>.snapshotSchedule).",
        refs=[_A1_2, _A1_3],
        topic=("availability",),
        config={
            "required": _REQUIRED,
            "maxRpoMinutes": {"type": "integer", "minimum": 1, "default": 60,
                              "description": "Longest acceptable data loss on region loss (backup.rpoTargetMinutes)."},
            "requireImageReplication": {"type": "boolean", "default": False,
                                        "description": "Whether this stack's ECR repositories must match a "
                                                       "cross-region replication rule (backup.replication.images)."},
        },
    ),
    stack_policy(
        "dr-restore-testing",
        description="Where recovery points are copied to another region, a restore testing plan restores from there: "
                    "the database copies too (RDS, and DocumentDB where present), into isolated subnets behind a "
                    "security group with no rules.",
        check=_check_dr_restore_tests,
        severity=Severity.MEDIUM,
        remediation="Enable backup.restoreTesting with backup.drRegion set: the backup vault adds a restore testing "
                    "plan in the DR region over the DR vault, restoring the databases into the standby network "
                    "(restoreMetadataOverrides dbSubnetGroupName and vpcSecurityGroupIds).",
        refs=[_A1_3],
        topic=("availability",),
        config={"required": _REQUIRED},
    ),
]
