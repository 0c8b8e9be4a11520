"""ECR replication of this stack's repositories to the DR region, so a DR stack runs the very images (by digest).

``aws.ecr.ReplicationConfiguration`` is one per registry (account and region): whoever writes it replaces every
rule another writer set. So exactly one stack per account owns it, by opting in with ``backup.replication.images``
(the committed example stacks share one account: only prod sets it). A second stack of the account that needs
its images replicated adds its prefix to the owner's rules instead (docs/disaster-recovery.md).

Replicated repositories are created by ECR in the DR region on the first replicated push, with the settings of the
repository creation template whose prefix matches and which applies to ``REPLICATION`` (ECR user guide,
"Repository creation templates"); without one they would get AES256 encryption and mutable tags. The template here
gives them the DR CMK and immutable tags. Scanning is a registry setting, not a repository one: images are
scanned on push in the primary region, and the DR stack deploys the same digests (runbook step "scan").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core import iam, kms
from components.core.context import StackContext

COMPONENT = "backup"
KEEP_IMAGES = 30


@dataclass(frozen=True)
class ImageReplicationArgs:
    """Which repositories (those named ``<prefix>/...``) replicate to which region."""

    context: StackContext
    dr_region: str
    dr_provider: aws.Provider


class ImageReplication(pulumi.ComponentResource):
    """The registry's replication rule for this stack's repositories and the DR region's repository template."""

    prefix: str

    def __init__(self, name: str, args: ImageReplicationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:backup:ImageReplication", name, None, opts)
        context = args.context
        # Repository names are "<context.name>/<service>" (components/services/image.py), so the stack's prefix
        # takes exactly its repositories; the slash keeps agent-platform-prod from matching agent-platform-prod-dr.
        self.prefix = f"{context.name}/"
        tags = context.tags(COMPONENT)
        on_dr = pulumi.ResourceOptions(parent=self, provider=args.dr_provider)

        role = aws.iam.Role(
            f"{name}-template-role",
            description="ECR: create replicated repositories with the DR key and tags",
            # The trust of ECR user guide "Create an IAM role for repository creation templates": the service
            # principal ecr.amazonaws.com alone.
            assume_role_policy=iam.service_trust("ecr.amazonaws.com"),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = kms.customer_key(f"{name}-key", "images-dr", account_id=context.account_id,
                               partition=context.partition, tags=tags, protect=context.protect, parent=self,
                               provider=args.dr_provider, role_principals=[role.arn])
        repositories = pulumi.Output.concat("arn:", context.partition, ":ecr:", args.dr_region, ":",
                                            context.account_id, ":repository/", self.prefix, "*")
        # The custom role's permissions, ECR user guide "Create a custom policy for repository creation templates"
        # (ecr:CreateRepository, ecr:ReplicateImage, ecr:TagResource; kms:CreateGrant, kms:RetireGrant,
        # kms:DescribeKey), scoped here to this stack's repositories in the DR region and to the DR key.
        policy = aws.iam.RolePolicy(
            f"{name}-template-policy", role=role.id,
            policy=iam.document(
                iam.statement(["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"], [repositories],
                              sid="CreateReplicatedRepositories"),
                iam.statement(["kms:CreateGrant", "kms:RetireGrant", "kms:DescribeKey"], [key.arn], sid="UseDrKey"),
            ),
            opts=pulumi.ResourceOptions(parent=role))
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-template",
            # "There is always an assumed / applied to the end of the prefix" (ECR CreateRepositoryCreationTemplate).
            prefix=context.name,
            description=f"Repositories ECR creates in {args.dr_region} when it replicates {self.prefix}*",
            applied_fors=["REPLICATION"],
            custom_role_arn=role.arn,
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
            image_tag_mutability="IMMUTABLE",
            lifecycle_policy=json.dumps({"rules": [{
                "rulePriority": 1, "description": f"Keep the newest {KEEP_IMAGES} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
                "action": {"type": "expire"},
            }]}),
            resource_tags=tags,
            opts=pulumi.ResourceOptions.merge(on_dr, pulumi.ResourceOptions(depends_on=[policy])),
        )
        aws.ecr.ReplicationConfiguration(
            f"{name}-replication",
            replication_configuration={"rules": [{
                "destinations": [{"region": args.dr_region, "registry_id": context.account_id}],
                # PREFIX_MATCH is the only filter type; a trailing "/" fits the filter pattern
                # ^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$ (ECR API RepositoryFilter).
                "repository_filters": [{"filter": self.prefix, "filter_type": "PREFIX_MATCH"}],
            }]},
            # Replication creates repositories from the template, so the template must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[template]),
        )
        self.register_outputs({"prefix": self.prefix})
