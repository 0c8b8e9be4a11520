"""CloudWatch Logs policies: log data is encrypted with our keys and kept for a bounded time."""

from __future__ import annotations

from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import Report, Settings, get, pci_dss, resource_policy, soc2

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _check_encrypted(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if not get(args.props, "kmsKeyId"):
        report("kmsKeyId is not set; the log group is encrypted only with a key AWS owns and we cannot revoke.")


def _check_retention(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    days = get(args.props, "retentionInDays")
    low, high = int(settings["minRetentionDays"]), int(settings["maxRetentionDays"])
    if days is None or int(days) == 0:
        report(f"retentionInDays is not set, so logs never expire; choose between {low} and {high} days.")
    elif not low <= int(days) <= high:
        report(f"retentionInDays is {int(days)}; this stack requires between {low} and {high} days.")


POLICIES: list[Policy] = [
    resource_policy(
        "log-group-kms-encrypted",
        description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
        resource_types=[LOG_GROUP],
        check=_check_encrypted,
        severity=Severity.MEDIUM,
        remediation="Set kms_key_id to the ARN of the logs KMS key; its key policy must let "
                    "logs.<region>.amazonaws.com use it for this account's log groups.",
        refs=[soc2("CC6.1")],
    ),
    resource_policy(
        "log-group-retention",
        description="CloudWatch log groups expire their data within the stack's retention bounds.",
        resource_types=[LOG_GROUP],
        check=_check_retention,
        severity=Severity.MEDIUM,
        remediation="Set retention_in_days to a CloudWatch-supported value (7, 14, 30, 60, 90, 180, 365, 400, "
                    "731, 1096, 1827, 3653, ...) within the stack's minRetentionDays..maxRetentionDays.",
        refs=[pci_dss("10.5.1", "Retain audit log history for at least 12 months"), soc2("CC7.2")],
        topic=("security", "cost"),
        config={
            "minRetentionDays": {"type": "integer", "minimum": 1, "default": 7,
                                 "description": "Shortest allowed retention (audit requirements)."},
            "maxRetentionDays": {"type": "integer", "minimum": 1, "default": 3653,
                                 "description": "Longest allowed retention (storage cost, data minimisation)."},
        },
    ),
]
