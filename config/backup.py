"""Backup intent: schedules, retention, immutability, off-region copies and restore tests.

AWS Backup schedules, keeps, locks and copies the recovery points of the data tier's PostgreSQL and
data bucket. Rules are declared by kind (continuous, hourly, daily, weekly, monthly) rather than as
raw cron strings so that the recovery point objective, the vault lock bounds and the restore-test
window can be checked against them before anything is deployed.
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from config.base import Matching, Model, Region, RoleArn, unique
from config.catalog import db_instance_class_problem
from config.cron import cron_problem

ResourceType = Literal["RDS", "Aurora", "S3", "DynamoDB", "EFS", "EBS", "DocumentDB"]
Weekday = Literal["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
LockMode = Literal["none", "governance", "compliance"]

# AWS Backup's "Feature availability by resource": only these types can move recovery points to cold
# storage (AWS ignores the transition for the others), and only these have continuous backup (PITR).
COLD_STORAGE_TYPES = frozenset({"DynamoDB", "EFS", "EBS"})
CONTINUOUS_TYPES = frozenset({"RDS", "Aurora", "S3"})
COLD_STORAGE_MIN_DAYS = 90  # a recovery point stays at least 90 days in cold storage
CONTINUOUS_MAX_RETENTION_DAYS = 35
MIN_COOLING_OFF_DAYS = 3  # AWS minimum before a compliance-mode lock becomes immutable
# RDS ships transaction logs every 5 minutes; 15 leaves margin for S3's event-driven continuous backup.
CONTINUOUS_RPO_MINUTES = 15

_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"


class ContinuousBackup(Model):
    """Point-in-time restore (PITR) for the RDS and S3 resources the plan selects."""

    enabled: bool = Field(default=False, description="Continuous backup: restore to any second within retention.")
    retention_days: int = Field(default=CONTINUOUS_MAX_RETENTION_DAYS, ge=1, le=CONTINUOUS_MAX_RETENTION_DAYS,
                                description="AWS allows 1 to 35 days for continuous recovery points.")


class HourlyRule(Model):
    """Snapshots more often than daily, for an RPO of hours where continuous backup is off."""

    enabled: bool = False
    every_hours: Literal[1, 2, 3, 4, 6, 8, 12] = Field(default=1, description="AWS Backup's shortest interval is 1 h.")
    retention_days: int = Field(default=2, ge=1, le=36500)

    @property
    def schedule(self) -> str:
        hours = "*" if self.every_hours == 1 else f"0/{self.every_hours}"
        return f"cron(0 {hours} * * ? *)"

    @property
    def interval_minutes(self) -> int:
        return self.every_hours * 60


class SnapshotRule(Model):
    """A scheduled snapshot rule; copies go to the DR vault when ``backup.drRegion`` is set."""

    enabled: bool = False
    at: Matching(_TIME, "a time of day HH:MM (24 h)", "06:00") = Field(  # type: ignore[valid-type]
                    default="06:00",
                    description="Start time (HH:MM in backup.timezone); keep it clear of the database's backup "
                                "and maintenance windows (dataTier.postgres, UTC), when RDS defers snapshot jobs.")
    retention_days: int = Field(default=7, ge=1, le=36500)
    cold_storage_after_days: int | None = Field(
        default=None, ge=1, le=36500,
        description="Move to cold storage after N days; applied only when a cold-storage-capable resource type "
                    "is selected (RDS and S3 recovery points stay warm).")
    copy_to_dr_region: bool = Field(default=True, description="Copy recovery points to the DR vault.")
    dr_retention_days: int | None = Field(default=None, ge=1, le=36500,
                                          description="Retention of the DR copies (default: retentionDays).")

    @property
    def hour(self) -> int:
        return int(self.at.split(":")[0])

    @property
    def minute(self) -> int:
        return int(self.at.split(":")[1])

    @property
    def copy_retention_days(self) -> int:
        return self.dr_retention_days or self.retention_days


class DailyRule(SnapshotRule):
    enabled: bool = True

    @property
    def schedule(self) -> str:
        return f"cron({self.minute} {self.hour} * * ? *)"

    @property
    def interval_minutes(self) -> int:
        return 24 * 60


class WeeklyRule(SnapshotRule):
    day_of_week: Weekday = "SUN"
    retention_days: int = Field(default=35, ge=1, le=36500)

    @property
    def schedule(self) -> str:
        return f"cron({self.minute} {self.hour} ? * {self.day_of_week} *)"

    @property
    def interval_minutes(self) -> int:
        return 7 * 24 * 60


class MonthlyRule(SnapshotRule):
    day_of_month: int = Field(default=1, ge=1, le=28, description="1-28, so every month has the day.")
    retention_days: int = Field(default=365, ge=1, le=36500)

    @property
    def schedule(self) -> str:
        return f"cron({self.minute} {self.hour} {self.day_of_month} * ? *)"

    @property
    def interval_minutes(self) -> int:
        return 31 * 24 * 60


class VaultLock(Model):
    """AWS Backup Vault Lock: recovery points cannot be deleted or shortened below minRetentionDays.

    Governance mode can be removed by principals allowed ``backup:DeleteBackupVaultLockConfiguration``;
    compliance mode becomes immutable (even for the account root) once ``changeableForDays`` have passed.
    """

    mode: LockMode = "none"
    min_retention_days: int = Field(default=1, ge=1, le=36500)
    max_retention_days: int = Field(default=36500, ge=1, le=36500)
    changeable_for_days: int | None = Field(
        default=None, ge=1, le=36500,
        description=f"Compliance mode only: cooling-off (at least {MIN_COOLING_OFF_DAYS} days) during which the "
                    "lock can still be changed or removed.")


class RestoreTesting(Model):
    """Scheduled AWS Backup restore tests: restores really run, are timed, then cleaned up."""

    enabled: bool = False
    schedule: str = Field(default="cron(0 6 ? * SAT *)", description="When tests start (an AWS cron expression).",
                          json_schema_extra={"allowed": "cron(minutes hours day-of-month month day-of-week year), "
                                                        "one of the two days '?'"})
    start_window_hours: int = Field(default=8, ge=1, le=168)
    selection_window_days: int = Field(default=7, ge=1, le=365,
                                       description="Test the latest recovery point created within N days.")
    validation_window_hours: int = Field(default=2, ge=1, le=168,
                                         description="How long a restored copy is kept for validation.")
    resource_types: list[Literal["RDS", "S3"]] = Field(default_factory=lambda: ["RDS", "S3"], min_length=1)
    db_instance_class: str | None = Field(default=None,
                                          description="Instance class of the restored test database "
                                                      "(default: the source's).")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        problem = cron_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("db_instance_class")
    @classmethod
    def _db_class(cls, value: str | None) -> str | None:
        problem = db_instance_class_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("resource_types")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return unique(value, "resource type")


class Replication(Model):
    """Continuous copies of the data stores in ``backup.drRegion``: minutes of data loss on region loss, not a day.

    AWS Backup copies run once per snapshot rule (daily at best); these replicate as the data changes. What each
    store gets is in docs/disaster-recovery.md (PostgreSQL: automated backups replicated for point-in-time restore;
    the data bucket: S3 Cross-Region Replication; secrets: Secrets Manager replicas; images: ECR replication).
    """

    enabled: bool = Field(default=True, description="Replicate the data stores to backup.drRegion (when it is set).")
    replication_time_control: bool = Field(
        default=True,
        description="S3 Replication Time Control on the data bucket's replication: AWS replicates 99.99% of objects "
                    "within 15 minutes and reports late ones; without it replication has no time bound.")
    database_retention_days: int | None = Field(
        default=None, ge=1, le=35,
        description="Days of replicated automated backups (point-in-time restore window in the DR region; default: "
                    "dataTier.postgres.backupRetentionDays, at most 35).")
    images: bool = Field(
        default=False,
        description="Own the account's ECR replication configuration (one per registry: a second stack of the same "
                    "account that sets this would overwrite it) and replicate this stack's repositories.")
    standby_cidr: str = Field(
        default="10.255.0.0/24",
        description="The standby VPC in backup.drRegion (isolated subnets only): where the DocumentDB global "
                    "cluster's secondary and the DR region's restore tests live. Keep it apart from the DR stack's "
                    "network.cidr.")

    @field_validator("standby_cidr")
    @classmethod
    def _standby_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a CIDR block (e.g. 10.255.0.0/24)") from None
        # /16../26: three subnets of at least /28 (DB subnet groups span 2+ AZs; AWS subnets are /16../28).
        if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 26:
            raise ValueError(f"'{value}' must be a private IPv4 block between /16 and /26 (e.g. 10.255.0.0/24)")
        return value


# RPO of each replication, from AWS's own statements, for the cross-region checks of `backup.rpoTargetMinutes`.
# S3 RTC: "replicates 99.99 percent of new objects stored in Amazon S3 within 15 minutes" (S3 user guide,
# "Meeting compliance requirements with S3 Replication Time Control").
S3_RTC_MINUTES = 15


class Recovery(Model):
    """A DR stack: the platform rebuilt in the DR region from what the source stack replicated there.

    The values are the source stack's outputs (``pulumi stack output -s <source> drState``), recorded in the DR
    stack file ahead of a disaster so the rebuild needs nothing from the lost region.
    """

    source_stack: str = Field(min_length=1, description="The stack whose replicated state this stack restores.",
                              examples=["prod"])
    source_region: Region = Field(description="Region of the source stack (must differ from this stack's region).",
                                  examples=["us-east-1"])
    database_automated_backups_arn: Matching(  # type: ignore[valid-type]
        r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:auto-backup:ab-[A-Za-z0-9]+$",
        "the ARN of the replicated automated backups (arn:aws:rds:<dr-region>:<account>:auto-backup:ab-...)",
        "arn:aws:rds:us-west-2:111122223333:auto-backup:ab-L2IJCEXJP7XQ7HOJ4SIEXAMPLE") = Field(
        description="Replicated automated backups to restore PostgreSQL from (aws rds "
                    "describe-db-instance-automated-backups --region <dr-region>).",
        examples=["arn:aws:rds:us-west-2:111122223333:auto-backup:ab-L2IJCEXJP7XQ7HOJ4SIEXAMPLE"])
    restore_time: Matching(  # type: ignore[valid-type]
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", "a UTC time (YYYY-MM-DDThh:mm:ssZ)",
        "2026-12-01T12:00:00Z") | None = Field(
        default=None, description="Restore PostgreSQL to this time; default: the latest restorable time.")
    data_bucket_name: str = Field(min_length=3, max_length=63,
                                  description="The replica bucket the source stack replicates its data bucket to.",
                                  examples=["data-data-replica-4f1c2b9"])
    data_key_arn: Matching(  # type: ignore[valid-type]
        r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]+$", "a KMS key ARN",
        "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab") = Field(
        description="The DR key that encrypts the replica bucket.",
        examples=["arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"])
    secrets_key_arn: Matching(  # type: ignore[valid-type]
        r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]+$", "a KMS key ARN",
        "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab") = Field(
        description="The DR key that encrypts the replicated secrets (and this stack's own secrets).",
        examples=["arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"])
    secret_arns: dict[str, Matching(  # type: ignore[valid-type]
        r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$", "a Secrets Manager secret ARN",
        "arn:aws:secretsmanager:us-west-2:111122223333:secret:agent-platform-prod/jwt-AbCdEf")] = Field(
        description="Replica ARNs of the secrets whose values must survive: jwt, encryption-key and one per "
                    "dataTier.secrets.llmProviders entry.",
        examples=[{"jwt": "arn:aws:secretsmanager:us-west-2:111122223333:secret:agent-platform-prod/jwt-AbCdEf"}])

    document_store_snapshot_arn: Matching(  # type: ignore[valid-type]
        r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster-snapshot:[A-Za-z][A-Za-z0-9-]*$",
        "the ARN of a DocumentDB cluster snapshot (arn:aws:rds:<dr-region>:<account>:cluster-snapshot:<name>)",
        "arn:aws:rds:us-west-2:111122223333:cluster-snapshot:gatekeeper-prod-promoted") | None = Field(
        default=None,
        description="With dataTier.documentStore: restore the document store from this snapshot of the promoted "
                    "global-cluster secondary (runbook step 'DocumentDB') instead of starting empty.",
        examples=["arn:aws:rds:us-west-2:111122223333:cluster-snapshot:gatekeeper-prod-promoted"])

    def problems(self, region: str, llm_providers: list[str]) -> list[str]:
        out: list[str] = []
        if self.source_region == region:
            out.append(f"recovery.sourceRegion: must differ from the stack's region ({region}): a DR stack rebuilds "
                       "the platform in another region")
        for path, arn in (("databaseAutomatedBackupsArn", self.database_automated_backups_arn),
                          ("dataKeyArn", self.data_key_arn), ("secretsKeyArn", self.secrets_key_arn),
                          *((f"secretArns.{k}", v) for k, v in self.secret_arns.items()),
                          *((("documentStoreSnapshotArn", self.document_store_snapshot_arn),)
                            if self.document_store_snapshot_arn else ())):
            if arn.split(":")[3] != region:
                out.append(f"recovery.{path}: must be in the stack's region ({region}), where the replicas are "
                           f"(got {arn.split(':')[3]})")
        missing = [k for k in ("jwt", "encryption-key", *llm_providers) if k not in self.secret_arns]
        if missing:
            out.append(f"recovery.secretArns: missing {', '.join(missing)} (the replicas of the source's secrets)")
        return out


class BackupConfig(Model):
    resource_types: list[ResourceType] = Field(
        default_factory=lambda: ["RDS", "S3"], min_length=1,
        description="AWS Backup resource types the plan selects (and only when tagged for this stack's plan).")
    timezone: str = Field(default="Etc/UTC", description="IANA time zone of every schedule.")
    start_window_minutes: int = Field(default=60, ge=60, le=1440,
                                      description="A job that cannot start within this window is cancelled.")
    completion_window_minutes: int = Field(default=480, ge=120, le=10080,
                                           description="Counted from the scheduled time, start window included.")
    continuous: ContinuousBackup = ContinuousBackup()
    hourly: HourlyRule = HourlyRule()
    daily: DailyRule = DailyRule()
    weekly: WeeklyRule = WeeklyRule()
    monthly: MonthlyRule = MonthlyRule()
    dr_region: Region | None = Field(default=None,
                                  description="Region of the DR vault that receives copies of recovery points.")
    lock: VaultLock = VaultLock()
    break_glass_role_arn: RoleArn | None = Field(
        default=None,
        description="The only principal allowed to delete recovery points or shorten their lifecycle; without "
                    "one, nobody can (they expire by their lifecycle).")
    vault_admin_role_arns: list[RoleArn] = Field(
        default_factory=list,
        description="Roles (the deploy role) allowed, besides the break-glass role, to change or remove the vault "
                    "access policy or delete the vault. With neither set, those actions are left to IAM.")
    rpo_target_minutes: int = Field(default=24 * 60, ge=CONTINUOUS_RPO_MINUTES, le=31 * 24 * 60,
                                    description="Recovery point objective the enabled rules must meet.")
    restore_testing: RestoreTesting = RestoreTesting()
    replication: Replication = Replication()

    @field_validator("resource_types")
    @classmethod
    def _unique_types(cls, value: list[str]) -> list[str]:
        return unique(value, "resource type")

    @field_validator("vault_admin_role_arns")
    @classmethod
    def _unique_roles(cls, value: list[str]) -> list[str]:
        return unique(value, "role")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA time zone (e.g. Etc/UTC, Europe/Berlin)") from None
        return value

    def scheduled_rules(self) -> Iterator[tuple[str, HourlyRule | DailyRule | WeeklyRule | MonthlyRule]]:
        """The enabled snapshot rules, by name, most frequent first."""
        for name, rule in (("hourly", self.hourly), ("daily", self.daily), ("weekly", self.weekly),
                           ("monthly", self.monthly)):
            if rule.enabled:
                yield name, rule

    @property
    def continuous_enabled(self) -> bool:
        """Continuous backup only means something for the selected types that support it."""
        return self.continuous.enabled and bool(CONTINUOUS_TYPES & set(self.resource_types))

    @property
    def cold_storage_applies(self) -> bool:
        return bool(COLD_STORAGE_TYPES & set(self.resource_types))

    @property
    def rpo_minutes(self) -> int | None:
        """Worst-case data loss with the enabled rules (``None``: nothing is backed up)."""
        intervals = [rule.interval_minutes for _, rule in self.scheduled_rules()]
        if self.continuous_enabled:
            intervals.append(CONTINUOUS_RPO_MINUTES)
        return min(intervals) if intervals else None

    @property
    def replicates(self) -> bool:
        """Whether the data stores are replicated continuously to the DR region."""
        return self.dr_region is not None and self.replication.enabled

    def copies_to_dr(self) -> bool:
        return self.dr_region is not None and any(
            isinstance(rule, SnapshotRule) and rule.copy_to_dr_region for _, rule in self.scheduled_rules())

    def problems(self, *, environment: str, region: str, database_retention_days: int | None) -> list[str]:
        """Rules across fields and tiers, one ``backup.<path>: reason`` line each (the platform validator's form)."""
        out: list[str] = []
        out += self._window_problems()
        out += self._rule_problems()
        out += self._lock_problems()
        out += self._dr_problems(region)
        out += self._rpo_problems()
        out += self._restore_test_problems()
        out += self._tier_problems(environment)
        if self.continuous_enabled and "RDS" in self.resource_types and database_retention_days is not None \
                and database_retention_days != self.continuous.retention_days:
            out.append(f"backup.continuous.retentionDays: AWS Backup sets the database's automated-backup retention "
                       f"to the continuous rule's ({self.continuous.retention_days} days) while it manages PITR; "
                       f"make it equal to dataTier.postgres.backupRetentionDays ({database_retention_days}) so the "
                       "two never fight over the setting (they must be equal)")
        return out

    def _window_problems(self) -> list[str]:
        if self.completion_window_minutes < self.start_window_minutes + 60:
            return [f"backup.completionWindowMinutes: must be at least 60 minutes longer than startWindowMinutes "
                    f"({self.start_window_minutes}); it counts from the scheduled time (got "
                    f"{self.completion_window_minutes})"]
        return []

    def _rule_problems(self) -> list[str]:
        out: list[str] = []
        if self.rpo_minutes is None:
            out.append("backup: no rule is enabled; enable one of continuous, hourly, daily, weekly or monthly")
        if self.continuous.enabled and not self.continuous_enabled:
            out.append(f"backup.continuous.enabled: none of backup.resourceTypes ({', '.join(self.resource_types)}) "
                       f"supports continuous backup ({', '.join(sorted(CONTINUOUS_TYPES))} do)")
        for name, rule in self.scheduled_rules():
            if not isinstance(rule, SnapshotRule) or rule.cold_storage_after_days is None:
                continue
            floor = rule.cold_storage_after_days + COLD_STORAGE_MIN_DAYS
            for field, days in (("retentionDays", rule.retention_days), ("drRetentionDays", rule.copy_retention_days)):
                if days < floor:
                    out.append(f"backup.{name}.{field}: must be at least coldStorageAfterDays + "
                               f"{COLD_STORAGE_MIN_DAYS} ({floor}); cold recovery points are kept 90 days minimum "
                               f"(got {days})")
        return out

    def retentions(self) -> list[tuple[str, int]]:
        """Every retention a recovery point in the vaults can get, with its config path."""
        found: list[tuple[str, int]] = []
        if self.continuous_enabled:
            found.append(("backup.continuous.retentionDays", self.continuous.retention_days))
        for name, rule in self.scheduled_rules():
            found.append((f"backup.{name}.retentionDays", rule.retention_days))
            if isinstance(rule, SnapshotRule) and rule.copy_to_dr_region and self.dr_region:
                found.append((f"backup.{name}.drRetentionDays", rule.copy_retention_days))
        return found

    def _lock_problems(self) -> list[str]:
        lock, out = self.lock, []
        if lock.mode != "compliance" and lock.changeable_for_days is not None:
            out.append("backup.lock.changeableForDays: only a compliance-mode lock has a cooling-off period "
                       f"(mode is {lock.mode})")
        if lock.mode == "none":
            return out
        if lock.mode == "compliance":
            if lock.changeable_for_days is None:
                out.append(f"backup.lock.changeableForDays: a compliance-mode lock needs a cooling-off of at least "
                           f"{MIN_COOLING_OFF_DAYS} days before it becomes immutable")
            elif lock.changeable_for_days < MIN_COOLING_OFF_DAYS:
                out.append(f"backup.lock.changeableForDays: must be at least {MIN_COOLING_OFF_DAYS} days, the "
                           f"cooling-off before a compliance-mode lock becomes immutable (got "
                           f"{lock.changeable_for_days})")
        if lock.min_retention_days > lock.max_retention_days:
            out.append(f"backup.lock.minRetentionDays: must not exceed maxRetentionDays ({lock.max_retention_days})")
            return out
        for path, days in self.retentions():
            if days < lock.min_retention_days:
                out.append(f"{path}: {days} days is below backup.lock.minRetentionDays ({lock.min_retention_days}); "
                           "the locked vault would reject these recovery points; use a retention within the lock's "
                           "bounds")
            elif days > lock.max_retention_days:
                out.append(f"{path}: {days} days is above backup.lock.maxRetentionDays ({lock.max_retention_days}); "
                           "the locked vault would reject these recovery points; use a retention within the lock's "
                           "bounds")
        return out

    def _dr_problems(self, region: str) -> list[str]:
        if self.dr_region is None:
            return []
        if self.dr_region == region:
            return [f"backup.drRegion: must differ from the stack's region ({region}), or a regional outage takes "
                    "both copies"]
        if not self.copies_to_dr():
            return ["backup.drRegion: no rule copies to it; enable daily, weekly or monthly with copyToDrRegion"]
        return []

    def _rpo_problems(self) -> list[str]:
        rpo = self.rpo_minutes
        if rpo is None or rpo <= self.rpo_target_minutes:
            return []
        target = self.rpo_target_minutes
        if target < 60:
            fix = "enable backup.continuous"
        elif target < 24 * 60:
            fix = f"enable backup.continuous or backup.hourly (everyHours <= {target // 60})"
        else:
            fix = "enable backup.daily (or a more frequent rule)"
        return [f"backup.rpoTargetMinutes: the enabled rules lose up to {rpo} minutes of data, more than the "
                f"target {target}; {fix}"]

    def _restore_test_problems(self) -> list[str]:
        tests, out = self.restore_testing, []
        if not tests.enabled:
            return out
        missing = [t for t in tests.resource_types if t not in self.resource_types]
        if missing:
            out.append(f"backup.restoreTesting.resourceTypes: {', '.join(missing)} not backed up "
                       f"(backup.resourceTypes is {', '.join(self.resource_types)})")
        rpo = self.rpo_minutes
        if rpo is not None and tests.selection_window_days * 24 * 60 < rpo:
            out.append(f"backup.restoreTesting.selectionWindowDays: {tests.selection_window_days} day(s) may hold no "
                       f"recovery point; the most frequent rule runs every {rpo // (24 * 60)} days")
        return out

    def _tier_problems(self, environment: str) -> list[str]:
        out: list[str] = []
        if environment in ("staging", "prod") and self.lock.mode == "none":
            out.append(f"backup.lock.mode: {environment} needs a vault lock (governance or compliance) so "
                       "recovery points cannot be deleted early")
        if environment != "prod":
            return out
        if self.lock.mode == "governance":
            out.append("backup.lock.mode: prod needs a compliance-mode lock (governance mode can be lifted)")
        if self.dr_region is None:
            out.append("backup.drRegion: prod needs a DR region to copy its recovery points to")
        if self.rpo_target_minutes > 60:
            out.append(f"backup.rpoTargetMinutes: prod's recovery point objective is 1 hour or better "
                       f"(got {self.rpo_target_minutes})")
        if not self.restore_testing.enabled:
            out.append("backup.restoreTesting.enabled: prod restores must be tested on a schedule, not assumed")
        if self.dr_region is not None and not self.replication.enabled:
            out.append("backup.replication.enabled: prod replicates its data stores to backup.drRegion; daily "
                       "backup copies alone lose up to a day of data with the region")
        if self.replicates and not self.replication.replication_time_control:
            out.append(f"backup.replication.replicationTimeControl: prod's RPO ({self.rpo_target_minutes} minutes) "
                       "needs a bound on S3 replication; only Replication Time Control gives one "
                       f"({S3_RTC_MINUTES} minutes)")
        return out
