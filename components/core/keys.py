"""The one key shared across components: the CMK of every CloudWatch Logs group of the environment.

The class was ``SharedKeys`` while it was meant to hold more; its type token keeps that name (tokens never change).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.core import kms
from components.core.context import StackContext


@dataclass(frozen=True)
class LogsKeyArgs:
    context: StackContext


class LogsKey(pulumi.ComponentResource):
    """CloudWatch Logs may only use the key for log groups in this account and region."""

    logs_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LogsKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:security:SharedKeys", name, None, opts)
        context = args.context
        region = context.region
        logs_key = kms.customer_key(
            f"{name}-logs",
            "logs",
            account_id=context.account_id,
            partition=context.partition,
            tags=context.tags("security"),
            protect=context.protect,
            service_principals=[f"logs.{region}.amazonaws.com"],
            service_conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                "arn:", context.partition, ":logs:", region, ":", context.account_id, ":log-group:*")}},
            parent=self,
        )
        self.logs_key_arn = logs_key.arn
        self.register_outputs({"logs_key_arn": self.logs_key_arn})
