"""IAM and resource policy documents built as JSON in the program (no invokes, readable by policies)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi


def statement(
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]] | pulumi.Input[str],
    *,
    sid: str | None = None,
    effect: str = "Allow",
    principal: Mapping[str, Any] | str | None = None,
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": effect, "Action": list(actions), "Resource": resources}
    if sid:
        stmt["Sid"] = sid
    if principal is not None:
        stmt["Principal"] = principal
    if condition:
        stmt["Condition"] = condition
    return stmt


def document(*statements: Mapping[str, Any]) -> pulumi.Output[str]:
    """A policy document as a JSON string Output (ARNs inside may still be unknown)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust_policy(
    principal: Mapping[str, Any],
    *,
    action: str = "sts:AssumeRole",
    condition: pulumi.Input[Mapping[str, Any]] | None = None,
) -> pulumi.Output[str]:
    """A role trust policy (trust statements name a principal and carry no Resource)."""
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": dict(principal), "Action": action}
    if condition is not None:
        stmt["Condition"] = condition
    return document(stmt)


def service_trust(service: str, account_id: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """Trust an AWS service, limited to calls on behalf of this account (confused-deputy guard)."""
    condition = {"StringEquals": {"aws:SourceAccount": account_id}} if account_id is not None else None
    return trust_policy({"Service": service}, condition=condition)
