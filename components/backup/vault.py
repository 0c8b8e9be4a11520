"""AWS Backup for the data tier: an encrypted, locked vault, tiered plans, DR copies and tested restores.

What gets backed up is decided by tags, not by wiring: the data tier tags what AWS Backup must protect
with ``backup-plan=default`` and the selection takes exactly the tagged resources of this stack. The
stack policy ``backup-coverage`` proves every stateful resource is either selected or, for ElastiCache
(which AWS Backup does not support), kept by its own snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.backup.alerts import backup_alerts
from components.backup.plan import (
    hourly_dr_conditions,
    hourly_dr_rule,
    plan_rules,
    resource_patterns,
    tag_conditions,
)
from components.backup.restore_testing import RestoreTestTarget, restore_tests
from components.core import iam, kms
from components.core.context import StackContext
from config.backup import BackupConfig

COMPONENT = "backup"
# The component tag of the vector store's volumes (components/services/eks|vm/vector_store.py).
VECTOR_STORE_COMPONENT = "vector-store"

# Removing recovery points early, directly or by shortening their lifecycle: only the break-glass role.
RECOVERY_POINT_ACTIONS = (
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DisassociateRecoveryPoint",
    "backup:DisassociateRecoveryPointFromParent",
)
# Removing the guard itself: the break-glass role and the roles that deploy this program.
VAULT_ADMIN_ACTIONS = (
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:PutBackupVaultAccessPolicy",
)


def _managed_policies(partition: pulumi.Input[str], resource_types: Sequence[str]) -> dict[str, pulumi.Output[str]]:
    """AWS's own backup and restore policies: scoped by AWS to what each service needs, and kept current."""
    names = {"backup": "service-role/AWSBackupServiceRolePolicyForBackup",
             "restores": "service-role/AWSBackupServiceRolePolicyForRestores"}
    if "S3" in resource_types:
        names |= {"s3-backup": "AWSBackupServiceRolePolicyForS3Backup",
                  "s3-restore": "AWSBackupServiceRolePolicyForS3Restore"}
    return {role: pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", n) for role, n in names.items()}


def vault_access_policy(break_glass_role_arn: str | None, vault_admin_role_arns: Sequence[str], *,
                        protected: bool = True) -> pulumi.Output[str]:
    """Deny early deletion to every principal but the break-glass role, whatever their IAM policies allow.

    Without a break-glass role nobody may delete recovery points (they expire by their lifecycle). The guard
    on the policy itself needs someone exempt, or no later deployment could change it: it is added only when
    a break-glass or vault admin role is configured; the vault admins include the roles that deploy.

    In an unprotected tier (dev) the deploying roles may also delete recovery points: `pulumi destroy` empties
    the vault (force_destroy deletes its recovery points as the deployer) before deleting it.
    """

    def exempt(arns: Sequence[str]) -> dict[str, Any] | None:
        return {"ArnNotEquals": {"aws:PrincipalArn": list(arns)}} if arns else None

    guardians = [break_glass_role_arn] if break_glass_role_arn else []
    admins = [*guardians, *(a for a in dict.fromkeys(vault_admin_role_arns) if a not in guardians)]
    statements = [iam.statement(RECOVERY_POINT_ACTIONS, "*", sid="DenyEarlyRecoveryPointDeletion", effect="Deny",
                                principal={"AWS": "*"}, condition=exempt(guardians if protected else admins))]
    if admins:
        statements.append(iam.statement(VAULT_ADMIN_ACTIONS, "*", sid="DenyVaultGuardRemoval", effect="Deny",
                                        principal={"AWS": "*"}, condition=exempt(admins)))
    return iam.document(*statements)


@dataclass(frozen=True)
class BackupVaultArgs:
    """Backup intent plus where alerts go, where restore tests may run and, for DR copies, the DR provider."""

    config: BackupConfig
    context: StackContext
    alert_topic_arn: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    isolated_subnet_ids: Sequence[pulumi.Input[str]]
    dr_provider: aws.Provider | None = None
    dr_vpc_id: pulumi.Input[str] | None = None
    dr_isolated_subnet_ids: Sequence[pulumi.Input[str]] = ()
    """The standby network in the DR region (components.network.standby): where DR restore tests restore databases;
    without it the DR region's restore tests cover S3 only."""
    deploy_role_arns: Sequence[str] = ()
    """The roles that run `pulumi up`: vault admins besides backup.vaultAdminRoleArns."""
    volume_backups: bool = False
    """EBS volumes hold data (a dedicated vector store): the selection takes tagged EBS volumes too."""
    data_resource_types: Sequence[str] = ()
    """Types the data tier holds beyond backup.resourceTypes (DocumentDB when a document store exists): the
    selection takes them too, so enabling a store never leaves it outside the plan."""

    @property
    def resource_types(self) -> list[str]:
        """What the selection takes: backup.resourceTypes, the data tier's own types, and EBS when volumes hold
        data."""
        extra = ["EBS"] if self.volume_backups else []
        return list(dict.fromkeys([*self.config.resource_types, *self.data_resource_types, *extra]))


class BackupVault(pulumi.ComponentResource):
    """The backup vault(s), plan, selection, notifications and restore tests of one environment."""

    vault_arn: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    plan_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    dr_vault_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: BackupVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:backup:BackupVault", name, None, opts)
        cfg, context = args.config, args.context
        if (cfg.dr_region is None) != (args.dr_provider is None):
            raise ValueError("BackupVault: pass dr_provider exactly when backup.drRegion is set "
                             f"(drRegion={cfg.dr_region!r}, dr_provider={'set' if args.dr_provider else 'None'})")
        self._name, self._context, self._cfg = name, context, cfg
        self._vault_admins = [*args.deploy_role_arns, *cfg.vault_admin_role_arns]
        tags = context.tags(COMPONENT)

        role = self._service_role(tags, args.resource_types)
        vault = self._locked_vault(f"{name}-vault", "backup", role, provider=None)
        dr_vault = self._locked_vault(f"{name}-dr-vault", "backup-dr", role, provider=args.dr_provider) \
            if args.dr_provider is not None else None

        plan = aws.backup.Plan(
            f"{name}-plan",
            rules=plan_rules(cfg, vault_name=vault.name, dr_vault_arn=dr_vault.arn if dr_vault else None,
                             recovery_point_tags=tags),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.backup.Selection(
            f"{name}-selection",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=resource_patterns(args.resource_types, partition=context.partition, region=context.region,
                                        account=context.account_id),
            conditions=[{"string_equals": tag_conditions(project=context.project,
                                                         stack=context.stack)}],
            opts=pulumi.ResourceOptions(parent=plan, depends_on=self._role_policies),
        )
        if dr_vault is not None and cfg.replicates:
            self._hourly_dr_plan(args, vault, dr_vault, role, tags)
        backup_alerts(name, vault_name=vault.name, topic_arn=args.alert_topic_arn, tags=tags, parent=self)
        if cfg.restore_testing.enabled:
            restore_tests(
                f"{name}-restore-tests",
                cfg.restore_testing,
                RestoreTestTarget(vault_arn=vault.arn, role_arn=role.arn, vpc_id=args.vpc_id,
                                  isolated_subnet_ids=args.isolated_subnet_ids, continuous=cfg.continuous_enabled),
                context=context, timezone=cfg.timezone, tags=tags, parent=self,
                resource_types=self._restore_types(args),
            )
            dr_types = self._dr_restore_types(args)
            if dr_vault is not None and dr_types:
                # The copies in the DR region are what a region loss leaves: test that they restore, there, with the
                # primary's guards (databases in isolated subnets behind a group with no rules).
                restore_tests(
                    f"{name}-dr-restore-tests",
                    cfg.restore_testing,
                    RestoreTestTarget(vault_arn=dr_vault.arn, role_arn=role.arn, vpc_id=args.dr_vpc_id or "",
                                      isolated_subnet_ids=args.dr_isolated_subnet_ids, continuous=False),
                    context=context, timezone=cfg.timezone, tags=tags, parent=self, provider=args.dr_provider,
                    resource_types=dr_types,
                )

        self.vault_arn = vault.arn
        self.vault_name = vault.name
        self.plan_id = plan.id
        self.role_arn = role.arn
        self.dr_vault_arn = dr_vault.arn if dr_vault else None
        self.register_outputs({
            "vault_arn": self.vault_arn, "vault_name": self.vault_name, "plan_id": self.plan_id,
            "role_arn": self.role_arn, "dr_vault_arn": self.dr_vault_arn,
        })

    def _restore_types(self, args: BackupVaultArgs) -> list[str]:
        """What the primary region's restore tests restore: the configured types, and the document store when the
        data tier has one (the same bar as PostgreSQL: a backup that was never restored is not known to restore)."""
        configured = list(self._cfg.restore_testing.resource_types)
        return configured + (["DocumentDB"] if "DocumentDB" in args.data_resource_types else [])

    def _dr_restore_types(self, args: BackupVaultArgs) -> list[str]:
        """What the DR region's restore tests restore: S3, and the databases where the standby network gives them
        subnets there (RDS, and DocumentDB when the data tier has a document store)."""
        configured = self._cfg.restore_testing.resource_types
        types = [t for t in configured if t == "S3"]
        if args.dr_vpc_id is not None and args.dr_isolated_subnet_ids:
            types += [t for t in configured if t == "RDS"]
            types += ["DocumentDB"] if "DocumentDB" in args.data_resource_types else []
        return types

    def _hourly_dr_plan(self, args: BackupVaultArgs, vault: aws.backup.Vault, dr_vault: aws.backup.Vault,
                        role: aws.iam.Role, tags: dict[str, str]) -> None:
        """RPO of about an hour on region loss for the stores nothing replicates continuously: an hourly rule copied
        to the DR vault, selecting only DocumentDB clusters and the vector store's volumes (the daily plan keeps
        selecting them too, for the longer history)."""
        context = self._context
        selections = {}
        if "DocumentDB" in args.data_resource_types:
            # The cluster ARN pattern is the limit: the data tier's only RDS cluster is the document store.
            selections["documentdb"] = ("DocumentDB", tag_conditions(project=context.project, stack=context.stack))
        if args.volume_backups:
            # Only the vector store's volumes (component=vector-store, the tag its StorageClass and VM volume set).
            selections["vector-volumes"] = ("EBS", hourly_dr_conditions(project=context.project, stack=context.stack,
                                                                        component=VECTOR_STORE_COMPONENT))
        if not selections:
            return
        plan = aws.backup.Plan(
            f"{self._name}-hourly-plan",
            rules=[hourly_dr_rule(self._cfg, vault_name=vault.name, dr_vault_arn=dr_vault.arn,
                                  recovery_point_tags=tags)],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for purpose, (resource_type, conditions) in selections.items():
            aws.backup.Selection(
                f"{self._name}-hourly-{purpose}-selection",
                plan_id=plan.id,
                iam_role_arn=role.arn,
                resources=resource_patterns([resource_type], partition=context.partition, region=context.region,
                                            account=context.account_id),
                conditions=[{"string_equals": conditions}],
                opts=pulumi.ResourceOptions(parent=plan, depends_on=self._role_policies),
            )

    def _service_role(self, tags: dict[str, str], resource_types: Sequence[str]) -> aws.iam.Role:
        """The role AWS Backup assumes for this account's jobs only (SourceAccount guards the confused deputy)."""
        context = self._context
        role = aws.iam.Role(
            f"{self._name}-role",
            description="AWS Backup: back up, copy and restore the data tier's tagged resources",
            assume_role_policy=iam.service_trust("backup.amazonaws.com", context.account_id),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._role_policies: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(f"{self._name}-role-{purpose}", role=role.name, policy_arn=arn,
                                         opts=pulumi.ResourceOptions(parent=role))
            for purpose, arn in _managed_policies(context.partition, resource_types).items()
        ]
        return role

    def _locked_vault(self, name: str, purpose: str, role: aws.iam.Role,
                      provider: aws.Provider | None) -> aws.backup.Vault:
        """A vault with its own CMK, an access policy against early deletion and, where configured, a lock."""
        context, cfg = self._context, self._cfg
        tags = context.tags(COMPONENT)
        key = kms.customer_key(
            f"{name}-key", purpose, account_id=context.account_id, partition=context.partition, tags=tags,
            protect=context.protect, role_principals=[role.arn], parent=self, provider=provider,
        )
        vault = aws.backup.Vault(
            name,
            kms_key_arn=key.arn,
            # Unprotected tiers are disposable: `pulumi destroy` deletes the recovery points with the vault.
            force_destroy=not context.protect,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, provider=provider, protect=context.protect,
                                        retain_on_delete=context.protect),
        )
        on_vault = pulumi.ResourceOptions(parent=vault, provider=provider)
        aws.backup.VaultPolicy(
            f"{name}-policy",
            backup_vault_name=vault.name,
            policy=vault_access_policy(cfg.break_glass_role_arn, self._vault_admins, protected=context.protect),
            opts=on_vault,
        )
        lock = cfg.lock
        if lock.mode != "none":
            aws.backup.VaultLockConfiguration(
                f"{name}-lock",
                backup_vault_name=vault.name,
                min_retention_days=lock.min_retention_days,
                max_retention_days=lock.max_retention_days,
                # Compliance mode is the same resource with a cooling-off; without one, governance mode.
                changeable_for_days=lock.changeable_for_days if lock.mode == "compliance" else None,
                opts=pulumi.ResourceOptions(parent=vault, provider=provider, protect=context.protect),
            )
        return vault
