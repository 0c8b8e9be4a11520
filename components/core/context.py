"""Who and where this stack is: the facts every component needs, looked up once per program run.

A ``StackContext`` holds no configuration section: what a component uses of the config arrives in its own
``Args`` (its section, or a value __main__.py passes), so its Args say everything it depends on.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core.tags import Tagger
from config import PlatformConfig


@dataclass(frozen=True)
class StackContext:
    """Names, account, region, protection and the tag helper of one stack."""

    name: str  # "<project>-<stack>": the prefix of the few physical names that must be stable
    project: str
    stack: str
    environment: str
    region: str
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    protect: bool  # Pulumi protect on stateful resources
    protected_tier: bool  # staging and prod: deletion protection, retention minimums, Multi-AZ
    tags: Tagger

    @staticmethod
    def from_config(config: PlatformConfig) -> StackContext:
        identity = aws.get_caller_identity_output()
        partition = aws.get_partition_output()
        return StackContext(
            name=config.name,
            project=config.project,
            stack=config.stack,
            environment=config.environment,
            region=config.region,
            account_id=identity.account_id,
            partition=partition.partition,
            protect=config.protect,
            protected_tier=config.protected_tier,
            tags=Tagger(project=config.project, stack=config.stack, environment=config.environment,
                        owner=config.owner, cost_center=config.cost_center),
        )
