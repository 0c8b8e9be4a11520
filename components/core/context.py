"""Facts about the target account every component needs, looked up once per program run."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core.tags import Tagger
from config import PlatformConfig


@dataclass(frozen=True)
class Platform:
    """The validated config plus account facts and the tag helper, passed to every component."""

    config: PlatformConfig
    tags: Tagger
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def protect(self) -> bool:
        return self.config.protect

    @staticmethod
    def from_config(config: PlatformConfig) -> Platform:
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        return Platform(
            config=config,
            tags=Tagger(project=config.project, stack=config.stack, environment=config.environment,
                        owner=config.owner, cost_center=config.cost_center),
            account_id=identity.account_id,
            partition=partition.partition,
        )
