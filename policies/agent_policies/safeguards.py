"""Safeguards that must exist: removing one is a change nobody notices until the day it was needed.

Resource policies judge what is there; these stack policies fail when a budget, a backup guard-rail (vault
policy, failure alerts, notifications, restore tests) or a monitoring guard-rail (database storage alarms,
Kubernetes alert rules) is missing from a stack that should have it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pulumi_policy import Policy, PolicyResource, ReportViolation, Severity, StackValidationArgs

from ._common import (
    Settings,
    as_list,
    depends_on,
    get,
    known,
    known_plain,
    of_type,
    soc2,
    stack_policy,
)

BUDGET = "aws:budgets/budget:Budget"
VAULT = "aws:backup/vault:Vault"
VAULT_POLICY = "aws:backup/vaultPolicy:VaultPolicy"
VAULT_NOTIFICATIONS = "aws:backup/vaultNotifications:VaultNotifications"
BACKUP_PLAN = "aws:backup/plan:Plan"
RESTORE_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RDS_INSTANCE = "aws:rds/instance:Instance"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
# Vault events that report a failure (BackupVaultEvents, AWS Backup PutBackupVaultNotifications API reference);
# failed backup jobs themselves are only reported through EventBridge.
FAILURE_EVENTS = ("COPY_JOB_FAILED", "S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED")

_PROTECTED = {"protectedEnvironment": {"type": "boolean", "default": True,
                                       "description": "Whether this stack is a protected tier (staging, prod) that "
                                                      "must carry every safeguard."}}


def _targets(resources: Sequence[PolicyResource], of: str, prop: str, types: Sequence[str]) -> set[str]:
    """URNs of ``types`` that resources of type ``of`` point at through ``prop``."""
    return {d.urn for r in of_type(resources, of) for d in depends_on(r, prop) if d.resource_type in types}


def _check_budget(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    if not settings["requireBudget"]:
        return
    budgets = list(of_type(args.resources, BUDGET))
    cost = [b for b in budgets if known(lambda b=b: get(b.props, "budgetType"), "COST") in ("COST", None)]
    if not cost:
        report("The stack has no AWS Budget of type COST: overspend (a runaway node group, NAT traffic, an LLM "
               "loop) goes unnoticed until the invoice.", None)


def _backup_failure_rule(resources: Sequence[PolicyResource]) -> bool:
    targeted = {d.urn for t in of_type(resources, EVENT_TARGET) for d in depends_on(t, "rule")}
    for rule in of_type(resources, EVENT_RULE):
        raw = known(lambda r=rule: get(r.props, "eventPattern"))
        try:
            pattern = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            continue
        sources = [str(s) for s in as_list(pattern.get("source"))] if isinstance(pattern, dict) else []
        if "aws.backup" in sources and "FAILED" in str(raw) and rule.urn in targeted:
            return True
    return False


def _check_backup(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    resources = args.resources
    vaults = list(of_type(resources, VAULT))
    plans = list(of_type(resources, BACKUP_PLAN))
    if not vaults and not plans:
        return
    guarded = _targets(resources, VAULT_POLICY, "backupVaultName", [VAULT])
    for vault in vaults:
        if vault.urn not in guarded:
            report(f"Backup vault {vault.name} has no aws.backup.VaultPolicy: nothing denies deleting its recovery "
                   "points or changing its access policy.", vault.urn)
    notified: set[str] = set()
    for notes in of_type(resources, VAULT_NOTIFICATIONS):
        events = [str(e) for e in as_list(known(lambda n=notes: get(n.props, "backupVaultEvents"), []))]
        if any(e in FAILURE_EVENTS for e in events):
            notified.update(d.urn for d in depends_on(notes, "backupVaultName") if d.resource_type == VAULT)
    plan_vaults = {d.urn for p in plans for d in depends_on(p, "rules") if d.resource_type == VAULT}
    if plan_vaults and not plan_vaults & notified:
        report("No backup vault that a backup plan writes to has aws.backup.VaultNotifications sending its failure "
               f"events ({', '.join(FAILURE_EVENTS)}) to a topic.", None)
    if plans and not _backup_failure_rule(resources):
        report("No EventBridge rule with a target catches AWS Backup jobs that FAILED: a failing backup stays "
               "silent until a restore is needed.", None)
    if settings["protectedEnvironment"] and plans:
        restore_plans = list(of_type(resources, RESTORE_PLAN))
        selected = _targets(resources, RESTORE_SELECTION, "restoreTestingPlanName", [RESTORE_PLAN])
        if not restore_plans:
            report("The stack backs up data but has no aws.backup.RestoreTestingPlan: backups are never proven "
                   "restorable.", None)
        for plan in restore_plans:
            if plan.urn not in selected:
                report(f"Restore testing plan {plan.name} has no RestoreTestingSelection, so it tests nothing.",
                       plan.urn)


def _alarm_metrics(alarm: PolicyResource) -> list[tuple[str | None, dict[str, Any]]]:
    props = known_plain(alarm.props) or {}
    found = [(props.get("metricName"), props.get("dimensions") or {})]
    for query in props.get("metricQueries") or []:
        metric = (query or {}).get("metric") or {}
        found.append((metric.get("metricName"), metric.get("dimensions") or {}))
    return found


def _check_monitoring(args: StackValidationArgs, settings: Settings, report: ReportViolation) -> None:
    resources = args.resources
    alarms = list(of_type(resources, METRIC_ALARM))
    storage_metric = str(settings["databaseStorageMetric"])
    for db in of_type(resources, RDS_INSTANCE):
        identifier = known(lambda d=db: get(d.props, "identifier"))
        watched = False
        for alarm in alarms:
            for metric, dimensions in _alarm_metrics(alarm):
                if metric != storage_metric:
                    continue
                if dimensions.get("DBInstanceIdentifier") in (identifier, None) or db in alarm.dependencies:
                    watched = True
        if not watched:
            report(f"RDS instance {db.name} has no CloudWatch alarm on {storage_metric}: a full disk stops the "
                   "database without warning.", db.urn)
    if (settings["requireKubernetesAlertRules"] and any(of_type(resources, EKS_CLUSTER))
            and not any(of_type(resources, PROMETHEUS_RULE))):
        report("The stack runs an EKS cluster but defines no PrometheusRule: the agent services' alerts (error "
               "rate, queue depth, crash loops) do not exist.", None)


POLICIES: list[Policy] = [
    stack_policy(
        "budget-exists",
        description="Every stack has an AWS Budget of type COST.",
        check=_check_budget,
        severity=Severity.MEDIUM,
        remediation="Keep the aws.budgets.Budget the observability component creates (cost.monthlyBudgetUsd) with "
                    "its notifications.",
        topic=("cost", "governance"),
        refs=[soc2("CC9.1")],
        # Off by default so that a partial plan (a test, a library stack) is not judged; the protected tiers' configs
        # (staging, prod) turn it on.
        config={"requireBudget": {"type": "boolean", "default": False,
                                  "description": "Whether the stack must define a COST budget (true in the "
                                                 "protected tiers)."}},
    ),
    stack_policy(
        "backup-safeguards-present",
        description="Backed-up stacks keep their guard-rails: a vault policy on every vault, failure notifications "
                    "on every target vault, an EventBridge rule on failed jobs, and (protected tiers) restore tests.",
        check=_check_backup,
        severity=Severity.HIGH,
        remediation="Keep the BackupVault component's VaultPolicy, VaultNotifications (BACKUP_JOB_FAILED, "
                    "COPY_JOB_FAILED ...), the backup-job-failures EventRule with its target, and in staging/prod the "
                    "RestoreTestingPlan with its selections.",
        topic=("availability", "security"),
        refs=[soc2("A1.2"), soc2("CC7.2")],
        config=_PROTECTED,
    ),
    stack_policy(
        "monitoring-safeguards-present",
        description="Every RDS instance has a free-storage alarm, and a stack with an EKS cluster defines "
                    "Prometheus alert rules.",
        check=_check_monitoring,
        severity=Severity.MEDIUM,
        remediation="Keep the observability component's FreeStorageSpace alarm per database and its PrometheusRule "
                    "for the agent services.",
        topic=("availability",),
        refs=[soc2("CC7.2")],
        config={
            "databaseStorageMetric": {"type": "string", "default": "FreeStorageSpace",
                                      "description": "CloudWatch metric an RDS storage alarm watches."},
            "requireKubernetesAlertRules": {"type": "boolean", "default": True,
                                            "description": "Require a PrometheusRule when an EKS cluster exists."},
        },
    ),
]
