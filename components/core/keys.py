"""Keys shared across components: one CMK for every CloudWatch Logs group of the environment."""

from __future__ import annotations

import pulumi

from components.core import kms
from components.core.context import Platform


class SharedKeys(pulumi.ComponentResource):
    """CloudWatch Logs may only use the key for log groups in this account and region."""

    logs_key_arn: pulumi.Output[str]

    def __init__(self, name: str, platform: Platform, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:security:SharedKeys", name, None, opts)
        region = platform.region
        logs_key = kms.customer_key(
            f"{name}-logs",
            "logs",
            account_id=platform.account_id,
            partition=platform.partition,
            tags=platform.tags("security"),
            protect=platform.protect,
            service_principals=[f"logs.{region}.amazonaws.com"],
            service_conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": pulumi.Output.concat(
                "arn:", platform.partition, ":logs:", region, ":", platform.account_id, ":log-group:*")}},
            parent=self,
        )
        self.logs_key_arn = logs_key.arn
        self.register_outputs({"logs_key_arn": self.logs_key_arn})
