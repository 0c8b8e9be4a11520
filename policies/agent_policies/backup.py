"""AWS Backup policies: vaults are encrypted and locked, every stateful resource is backed up, recovery
points are kept long enough, copied off-region in production, and taken often enough for the RPO."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import pairwise
from typing import Any

from agent_contract.tags import ROLE_TAG
from pulumi_policy import Policy, PolicyResource, ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from ._common import (
    Report,
    Settings,
    as_list,
    get,
    known,
    of_type,
    resource_policy,
    soc2,
    stack_policy,
    tag_map,
)

VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"

# How AWS Backup names each stateful type in an ARN: service, and the resource part before the id.
ARN_SHAPES: Mapping[str, tuple[str, str]] = {
    "aws:rds/instance:Instance": ("rds", "db:"),
    "aws:rds/cluster:Cluster": ("rds", "cluster:"),
    # DocumentDB clusters live in the RDS ARN namespace (AWS Backup resource type DocumentDB).
    "aws:docdb/cluster:Cluster": ("rds", "cluster:"),
    "aws:s3/bucket:Bucket": ("s3", ""),
    "aws:s3/bucketV2:BucketV2": ("s3", ""),
    "aws:dynamodb/table:Table": ("dynamodb", "table/"),
    "aws:efs/fileSystem:FileSystem": ("elasticfilesystem", "file-system/"),
    "aws:ebs/volume:Volume": ("ec2", "volume/"),
}
# The physical name input of each type, when the program sets it (the ARN ends with it).
_ID_PROPS = {"aws:rds/instance:Instance": "identifier", "aws:rds/cluster:Cluster": "clusterIdentifier",
             "aws:docdb/cluster:Cluster": "clusterIdentifier",
             "aws:s3/bucket:Bucket": "bucket", "aws:s3/bucketV2:BucketV2": "bucket", "aws:dynamodb/table:Table": "name"}
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
LOGGING_TYPES = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
LOAD_BALANCER_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
CONTINUOUS_RPO_MINUTES = 15
_UNKNOWN = object()
_A1_2 = soc2("A1.2", "Environmental protections, software, data backup processes, and recovery infrastructure")


# --- vault encryption and lock --------------------------------------------------------------------------------


def _check_vault_cmk(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    key = get(args.props, "kmsKeyArn")
    if not key:
        report("kmsKeyArn is not set, so recovery points are encrypted with the AWS-managed key aws/backup, whose "
               "policy this account cannot restrict.")
    elif re.search(r"(^|:)alias/aws/", str(key)):
        report(f"kmsKeyArn is the AWS-managed key {key}; use a customer-managed key.")


def _depends_on(res: PolicyResource, prop: str, target: PolicyResource) -> bool:
    deps = res.property_dependencies.get(prop) or res.dependencies
    return any(d.urn == target.urn for d in deps)


def _lock_of(vault: PolicyResource, locks: Sequence[PolicyResource]) -> PolicyResource | None:
    name = known(lambda: get(vault.props, "name"))
    for lock in locks:
        if _depends_on(lock, "backupVaultName", vault) or \
                (name is not None and known(lambda lock=lock: get(lock.props, "backupVaultName")) == name):
            return lock
    return None


def _check_vault_locked(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if not settings["protectedEnvironment"]:
        return
    locks = list(of_type(args.resources, LOCK))
    for vault in of_type(args.resources, VAULT):
        lock = _lock_of(vault, locks)
        if lock is None:
            report(f"Backup vault {vault.name} has no vault lock: anyone allowed to delete recovery points can "
                   "empty it.", vault.urn)
            continue
        changeable = known(lambda lock=lock: get(lock.props, "changeableForDays"), _UNKNOWN)
        if settings["requireComplianceMode"] and changeable is None:
            report(f"Backup vault {vault.name} is locked in governance mode, which privileged principals can lift; "
                   "this stack requires compliance mode (set changeable_for_days).", vault.urn)
        low = known(lambda lock=lock: get(lock.props, "minRetentionDays"), _UNKNOWN)
        required = int(settings["minLockRetentionDays"])
        if low is None:
            report(f"Backup vault {vault.name}'s lock sets no min_retention_days, so recovery points can still be "
                   f"deleted right away; this stack requires min_retention_days >= {required}.", vault.urn)
        elif low is not _UNKNOWN and int(low) < required:
            report(f"Backup vault {vault.name}'s lock keeps recovery points at least {int(low)} days; this stack "
                   f"requires min_retention_days >= {required}.", vault.urn)


# --- coverage --------------------------------------------------------------------------------------------------


def _tag_key(condition_key: str) -> str:
    return condition_key.removeprefix("aws:ResourceTag/")


@dataclass(frozen=True)
class _Selection:
    """One backup selection as AWS evaluates it: (Resources OR ListOfTags) AND Conditions, minus NotResources."""

    resource: PolicyResource
    patterns: tuple[str, ...]
    by_reference: frozenset[str]
    any_tags: tuple[tuple[str, str], ...]
    conditions: tuple[tuple[str, str, str], ...]
    excluded: frozenset[str]

    @staticmethod
    def read(res: PolicyResource) -> _Selection:
        props = res.props
        conditions: list[tuple[str, str, str]] = []
        for block in as_list(get(props, "conditions")):
            for op in ("stringEquals", "stringLikes", "stringNotEquals", "stringNotLikes"):
                for entry in as_list(get(block, op)):
                    conditions.append((op, _tag_key(str(get(entry, "key"))), str(get(entry, "value"))))
        refs = frozenset(d.urn for d in res.property_dependencies.get("resources") or [])
        patterns = tuple(str(p) for p in as_list(get(props, "resources")))
        return _Selection(
            resource=res,
            patterns=patterns,
            by_reference=refs,
            any_tags=tuple((_tag_key(str(get(t, "key"))), str(get(t, "value")))
                           for t in as_list(get(props, "selectionTags"))
                           if str(get(t, "type", default="STRINGEQUALS")).upper() == "STRINGEQUALS"),
            conditions=tuple(conditions),
            excluded=frozenset(d.urn for d in res.property_dependencies.get("notResources") or []),
        )

    def _pattern_covers(self, pattern: str, res: PolicyResource, ident: str | None) -> bool:
        if pattern == "*":
            return True
        parts = pattern.split(":", 5)
        service, prefix = ARN_SHAPES[res.resource_type]
        if len(parts) < 6 or not fnmatchcase(service, parts[2]):
            return False
        return fnmatchcase(f"{prefix}{ident or '*'}", parts[5])

    def selects(self, res: PolicyResource, tags: Mapping[str, Any], ident: str | None) -> bool | None:
        """Whether this selection takes ``res``; ``None`` when a tag it depends on is still unknown."""
        if res.urn in self.excluded:
            return False
        by_arn = res.urn in self.by_reference or any(self._pattern_covers(p, res, ident) for p in self.patterns)
        undecided = False
        by_tag = False
        for key, value in self.any_tags:
            if tags.get(key) == UNKNOWN_STRING_VALUE:
                undecided = True
            elif tags.get(key) == value:
                by_tag = True
        if not (by_arn or by_tag):
            return None if undecided else False
        for op, key, value in self.conditions:
            actual = tags.get(key)
            if actual == UNKNOWN_STRING_VALUE:
                return None
            matched = {"stringEquals": actual == value, "stringNotEquals": actual != value,
                       "stringLikes": actual is not None and fnmatchcase(actual, value),
                       "stringNotLikes": actual is None or not fnmatchcase(actual, value)}[op]
            if not matched:
                return False
        return True


def _log_targets(resources: Sequence[PolicyResource]) -> set[str]:
    """Buckets that receive access logs: the target of server access logging or of a load balancer's logs."""
    targets: set[str] = set()
    for logging in of_type(resources, *LOGGING_TYPES):
        targets.update(d.urn for d in logging.property_dependencies.get("targetBucket") or [])
    for balancer in of_type(resources, *LOAD_BALANCER_TYPES):
        targets.update(d.urn for d in balancer.property_dependencies.get("accessLogs") or [])
    return targets


def _is_data_bucket(res: PolicyResource, tags: Mapping[str, Any], log_targets: set[str],
                    settings: Settings) -> bool | None:
    """Buckets hold data unless tagged with a no-data role or, where allowed, they are where access logs go."""
    role = tags.get(settings["nonDataBucketRoleTag"])
    if role == UNKNOWN_STRING_VALUE:
        return None
    if role in settings["nonDataBucketRoles"]:
        return False
    return not (settings["logTargetsHoldNoData"] and res.urn in log_targets)


def _check_coverage(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    selections = [s for s in (known(lambda r=r: _Selection.read(r)) for r in of_type(args.resources, SELECTION)) if s]
    unreadable = len(selections) < len(list(of_type(args.resources, SELECTION)))
    must_select = set(settings["selectedTypes"]) & set(ARN_SHAPES)
    log_targets = _log_targets(args.resources)
    for res in args.resources:
        if res.resource_type in must_select:
            tags = known(lambda res=res: tag_map(get(res.props, "tags")))
            if tags is None:
                continue
            if res.resource_type in BUCKET_TYPES and _is_data_bucket(res, tags, log_targets, settings) is not True:
                continue
            if res.resource_type == "aws:docdb/cluster:Cluster" and known(
                    lambda res=res: get(res.props, "globalClusterIdentifier"), True):
                # A global cluster's secondary, created into it: its storage is the primary's, which is selected
                # (the primary joins by the global cluster's sourceDbClusterIdentifier, not by this input).
                continue
            ident = known(lambda res=res: get(res.props, _ID_PROPS.get(res.resource_type, "")))
            verdicts = [s.selects(res, tags, ident if isinstance(ident, str) else None) for s in selections]
            if True in verdicts or None in verdicts or unreadable:
                continue
            kind = res.resource_type.rsplit(":", 1)[-1]
            report(f"{kind} {res.name} holds data but no AWS Backup selection covers it: tag it for the backup "
                   f"plan (e.g. {settings['planTagExample']}) and make sure a selection takes its type; a bucket "
                   f"without data is tagged {settings['nonDataBucketRoleTag']} with one of "
                   f"{settings['nonDataBucketRoles']}.", res.urn)
        elif res.resource_type == REPLICATION_GROUP:
            kept = known(lambda res=res: get(res.props, "snapshotRetentionLimit", default=0), _UNKNOWN)
            if kept is not _UNKNOWN and int(kept) < int(settings["minSnapshotRetentionDays"]):
                report(f"ElastiCache replication group {res.name} keeps snapshots {int(kept)} day(s); AWS Backup does "
                       f"not support ElastiCache, so its own snapshots are its backup: set snapshot_retention_limit >= "
                       f"{settings['minSnapshotRetentionDays']}.", res.urn)


# --- retention and RPO -----------------------------------------------------------------------------------------


def _span(values: Sequence[int], period: int) -> int:
    """The longest gap between sorted points on a cycle of ``period``."""
    points = sorted(set(values))
    gaps = [b - a for a, b in pairwise(points)] + [period - points[-1] + points[0]]
    return max(gaps)


def _field_points(field: str, low: int, high: int) -> list[int] | None:
    """The values a cron field fires at, or ``None`` for a shape this parser does not know."""
    if field in ("*", "?"):
        return list(range(low, high + 1))
    step = re.fullmatch(r"(\*|\d+)/(\d+)", field)
    if step:
        start = low if step[1] == "*" else int(step[1])
        return list(range(start, high + 1, int(step[2])))
    if re.fullmatch(r"\d+(,\d+)*", field):
        return [int(v) for v in field.split(",")]
    return None


def interval_minutes(schedule: str) -> int | None:
    """The longest time between runs of an AWS cron schedule; ``None`` when it cannot be read."""
    match = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", schedule.strip())
    if not match:
        return None
    _, hours, dom, _, dow, _ = match.groups()
    hour_points = _field_points(hours, 0, 23)
    if hour_points is None or not hour_points:
        return None
    if dom in ("*", "?") and dow in ("*", "?"):
        return _span(hour_points, 24) * 60
    if dom in ("*", "?"):
        return 7 * 24 * 60 if "," not in dow and "-" not in dow else 24 * 60 * 7 // (dow.count(",") + 1)
    return 31 * 24 * 60


def _rule_interval(rule: Mapping[str, Any]) -> int | None:
    if get(rule, "enableContinuousBackup") is True:
        return CONTINUOUS_RPO_MINUTES
    schedule = get(rule, "schedule")
    return interval_minutes(str(schedule)) if schedule else None


def _check_retention(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    low, sub_daily = int(settings["minRetentionDays"]), int(settings["minSubDailyRetentionDays"])
    for rule in as_list(get(args.props, "rules")):
        name = get(rule, "ruleName")
        interval = known(lambda rule=rule: _rule_interval(rule))
        if get(rule, "enableContinuousBackup") is True:
            floor = min(low, 35)
        elif interval is not None and interval < 24 * 60:
            floor = sub_daily
        else:
            floor = low
        kept = get(rule, "lifecycle", "deleteAfter")
        if kept is not None and int(kept) < floor:
            report(f"Rule {name} keeps recovery points {int(kept)} day(s); this stack requires at least {floor}.")
        for action in as_list(get(rule, "copyActions")):
            copied = get(action, "lifecycle", "deleteAfter")
            if copied is not None and int(copied) < low:
                report(f"Rule {name} keeps its copies {int(copied)} day(s); this stack requires at least {low}.")


def _check_rpo(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    target = int(settings["maxRpoMinutes"])
    intervals = [known(lambda rule=rule: _rule_interval(rule), _UNKNOWN) for rule in as_list(get(args.props, "rules"))]
    readable = [int(i) for i in intervals if isinstance(i, int)]
    best = min(readable, default=None)
    if best is not None and best <= target:
        return
    if len(readable) < len(intervals):
        return  # a schedule that is unknown or unreadable might meet the target: report nothing rather than guess
    taken = f"up to {best} minutes between recovery points" if best is not None else "no recovery points"
    report(f"The plan's rules leave {taken}; this stack's RPO is {target} minutes. Add a continuous-backup rule or "
           "a rule that runs often enough.")


# --- cross-region copy ------------------------------------------------------------------------------------------


def _region(res: PolicyResource) -> str | None:
    """A resource's region when the program pins it (its own ``region`` input or its explicit provider's)."""
    own = known(lambda: get(res.props, "region"))
    if own:
        return str(own)
    if res.provider is not None:
        value = known(lambda: get(res.provider.props, "region"))  # type: ignore[union-attr]
        return str(value) if value else None
    return None


def _provider_urn(res: PolicyResource) -> str | None:
    return res.provider.urn if res.provider is not None else None


def _copies_off_region(plan: PolicyResource) -> bool | None:
    """Whether a copy action of ``plan`` targets a vault in another region (``None``: cannot tell yet)."""
    rules = as_list(get(plan.props, "rules"))
    destinations = [get(a, "destinationVaultArn") for r in rules for a in as_list(get(r, "copyActions"))]
    if not destinations:
        return False
    home = _region(plan)
    vaults = [d for d in plan.property_dependencies.get("rules") or plan.dependencies if d.resource_type == VAULT]
    for vault in vaults:
        if _provider_urn(vault) != _provider_urn(plan) and _region(vault) not in (None, home):
            return True
    for arn in destinations:
        parts = str(arn).split(":")
        if len(parts) > 3 and home is not None and parts[3] and parts[3] != home:
            return True
    return None if home is None else False


def _check_cross_region(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    for plan in of_type(args.resources, PLAN):
        if known(lambda plan=plan: _copies_off_region(plan), True) is False:
            report(f"Backup plan {plan.name} copies no recovery point to another region; a regional outage would "
                   "take the backups with the data.", plan.urn)


_EXAMPLE_TAG = "backup-plan=default"

POLICIES: list[Policy] = [
    resource_policy(
        "backup-vault-cmk-encrypted",
        description="Backup vaults encrypt recovery points with a customer-managed KMS key.",
        resource_types=[VAULT],
        check=_check_vault_cmk,
        severity=Severity.HIGH,
        remediation="Create a KMS key for the vault (components.core.kms.customer_key) and set kms_key_arn to its ARN; "
                    "a vault's key cannot be changed, so this means a new vault.",
        refs=[soc2("CC6.1", "Logical access security over protected information assets")],
    ),
    stack_policy(
        "backup-vault-locked",
        description="In protected environments every backup vault has a vault lock with a minimum retention.",
        check=_check_vault_locked,
        severity=Severity.HIGH,
        remediation="Add aws.backup.VaultLockConfiguration for the vault with min_retention_days and "
                    "max_retention_days (backup.lock in the stack config); set changeable_for_days (>= 3) for "
                    "compliance mode where required.",
        refs=[_A1_2, soc2("CC6.1")],
        topic=("security", "availability"),
        config={
            "protectedEnvironment": {"type": "boolean", "default": True,
                                     "description": "Whether this stack must lock its vaults."},
            "requireComplianceMode": {"type": "boolean", "default": False,
                                      "description": "Require compliance mode (immutable after its cooling-off)."},
            "minLockRetentionDays": {"type": "integer", "minimum": 1, "default": 1,
                                     "description": "Smallest min_retention_days a lock may enforce."},
        },
    ),
    stack_policy(
        "backup-coverage",
        description="Every stateful resource is covered by an AWS Backup selection or, for ElastiCache, by its "
                    "own snapshots.",
        check=_check_coverage,
        severity=Severity.HIGH,
        remediation="Tag the resource for the stack's backup plan (Tagger(..., backup_plan=\"default\")); the "
                    "selection takes tagged resources of the types in backup.resourceTypes. Buckets that hold no "
                    "data (access logs) are tagged with their role instead. ElastiCache: set "
                    "snapshot_retention_limit.",
        refs=[_A1_2],
        topic=("availability",),
        config={
            "selectedTypes": {"type": "array", "items": {"type": "string", "enum": sorted(ARN_SHAPES)},
                              "default": ["aws:rds/instance:Instance", "aws:rds/cluster:Cluster",
                                          "aws:docdb/cluster:Cluster",
                                          "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
                                          "aws:dynamodb/table:Table", "aws:efs/fileSystem:FileSystem"],
                              "description": "Resource types that must be taken by a backup selection."},
            "nonDataBucketRoleTag": {"type": "string", "default": ROLE_TAG,
                                     "description": "Tag that marks a bucket's role."},
            "nonDataBucketRoles": {"type": "array", "items": {"type": "string"}, "default": ["logs", "replica"],
                                   "description": "Bucket roles that need no backup selection: access logs, and "
                                                  "cross-region replicas (themselves the off-region copy, in a "
                                                  "region the stack's backup plan does not run in)."},
            "logTargetsHoldNoData": {"type": "boolean", "default": True,
                                     "description": "Treat buckets that receive S3 server access logs or load "
                                                    "balancer logs as log buckets (no backup needed)."},
            "minSnapshotRetentionDays": {"type": "integer", "minimum": 1, "default": 1,
                                         "description": "ElastiCache snapshot retention that counts as covered."},
            "planTagExample": {"type": "string", "default": _EXAMPLE_TAG,
                               "description": "The tag shown in messages as the way to opt a resource in."},
        },
    ),
    resource_policy(
        "backup-retention-minimum",
        description="Backup rules and their copies keep recovery points at least the stack's minimum.",
        resource_types=[PLAN],
        check=_check_retention,
        severity=Severity.MEDIUM,
        remediation="Raise the rule's retentionDays (and drRetentionDays) in the stack's backup config; rules "
                    "that run more often than daily may keep less (minSubDailyRetentionDays).",
        refs=[_A1_2],
        topic=("availability",),
        config={
            "minRetentionDays": {"type": "integer", "minimum": 1, "default": 7,
                                 "description": "Shortest retention of daily-or-slower rules and of copies "
                                                "(continuous rules: at most 35)."},
            "minSubDailyRetentionDays": {"type": "integer", "minimum": 1, "default": 1,
                                         "description": "Shortest retention of rules that run more than daily."},
        },
    ),
    resource_policy(
        "backup-rpo",
        description="Each backup plan takes recovery points often enough for the stack's recovery point objective.",
        resource_types=[PLAN],
        check=_check_rpo,
        severity=Severity.HIGH,
        remediation="Enable continuous backup (backup.continuous) or an hourly rule (backup.hourly) in the stack's "
                    "backup config.",
        refs=[_A1_2],
        topic=("availability",),
        config={"maxRpoMinutes": {"type": "integer", "minimum": 1, "default": 1440,
                                  "description": "Longest acceptable time between recovery points."}},
    ),
    stack_policy(
        "backup-cross-region-copy",
        description="Every backup plan copies recovery points to a vault in another region.",
        check=_check_cross_region,
        severity=Severity.HIGH,
        remediation="Set backup.drRegion; the program creates a vault there (through a provider for that region) and "
                    "adds copy actions to the plan's snapshot rules.",
        refs=[_A1_2, soc2("A1.3", "Recovery plan procedures supporting system recovery are tested")],
        topic=("availability",),
    ),
]
