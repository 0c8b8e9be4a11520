"""Where a service's image lives (a hardened ECR repository) and which exact image the pods run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.core.context import StackContext
from config.delivery import PULL_ACTIONS, ImagePullConfig
from config.services import ImageBuild

if TYPE_CHECKING:
    import pulumi_docker as docker

# Never part of what an image is built from: VCS metadata and local caches.
_IGNORED_DIRS = frozenset({".git", "__pycache__", "node_modules", ".venv", ".mypy_cache", ".pytest_cache"})


def repository(
    resource_name: str,
    service: str,
    *,
    context: StackContext,
    key_arn: pulumi.Input[str],
    keep_images: int,
    parent: pulumi.Resource,
    image_pull: ImagePullConfig | None = None,
) -> aws.ecr.Repository:
    """An ECR repository with immutable tags, scan on push and CMK encryption, keeping the newest images.

    The repository name is stable (``agent-platform-<stack>/<service>``) because CI pushes to it. With
    ``image_pull`` naming other accounts, a repository policy lets their deploy roles pull (``pull_policy``).
    """
    repo = aws.ecr.Repository(
        resource_name,
        name=f"{context.name}/{service}",
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": key_arn}],
        force_delete=not context.protect,
        tags=context.tags("services", service=service),
        opts=pulumi.ResourceOptions(parent=parent, protect=context.protect),
    )
    aws.ecr.LifecyclePolicy(
        f"{resource_name}-lifecycle",
        repository=repo.name,
        policy=json.dumps({"rules": [{
            "rulePriority": 1,
            "description": f"Keep the newest {keep_images} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
            "action": {"type": "expire"},
        }]}),
        opts=pulumi.ResourceOptions(parent=repo),
    )
    if image_pull is not None and image_pull.account_ids:
        aws.ecr.RepositoryPolicy(
            f"{resource_name}-pull",
            repository=repo.name,
            policy=pull_policy(image_pull, context.partition),
            opts=pulumi.ResourceOptions(parent=repo),
        )
    return repo


def pull_policy(image_pull: ImagePullConfig, partition: pulumi.Input[str]) -> pulumi.Output[str]:
    """Only the pull actions, only to the named deploy role of each other account (promotion by digest).

    The principal is each account (``arn:<partition>:iam::<account>:root``) and ``aws:PrincipalArn`` narrows it to
    the deploy role: naming the role as the principal would make ECR reject the policy while that role does not
    exist yet (another account may be set up after this one), and a recreated role would silently stop matching
    (IAM resolves a role principal to the role's unique id); the condition key has neither problem (IAM user guide,
    "AWS global condition context keys", aws:PrincipalArn; ECR user guide, "Private repository policy examples":
    another account is granted through its root principal).

    No KMS key statement goes with it: ECR decrypts layers itself, through the grants it creates on the
    repository's key (ECR user guide, "Encryption at rest": at creation ECR sends CreateGrant with the repository
    as grantee; on a pull ECR sends the Decrypt request and S3 uses the data key), so the pulling role never calls KMS.
    """
    def render(part: str) -> str:
        accounts = image_pull.account_ids
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "PromotionPull",
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:{part}:iam::{account}:root" for account in accounts]},
            "Action": list(PULL_ACTIONS),
            "Condition": {"ArnEquals": {"aws:PrincipalArn": [
                f"arn:{part}:iam::{account}:role/{image_pull.role_name}" for account in accounts]}},
        }]})

    return pulumi.Output.from_input(partition).apply(render)


def context_digest(context: Path) -> str:
    """A digest of every file in the build context: the tag of an image built from it.

    Tags are immutable, so the tag must change exactly when the source does; a digest of paths and
    contents does that without reading git state.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context)
        if _IGNORED_DIRS.intersection(relative.parts):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def built_image(
    resource_name: str,
    build: ImageBuild,
    repo: aws.ecr.Repository,
    *,
    parent: pulumi.Resource,
) -> docker.Image:
    """Build ``build.context`` and push it to ``repo``; deploy ``repo_digest``, never the tag."""
    # Imported here: only services built from source need the Docker provider, and its SDK costs a noticeable
    # share of every plan's start-up (services pinned by digest, as every stack file's are, never load it).
    import pulumi_docker as docker

    token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id)
    tag = f"src-{context_digest(build.context_dir)[:20]}"
    return docker.Image(
        resource_name,
        image_name=pulumi.Output.concat(repo.repository_url, ":", tag),
        build=docker.DockerBuildArgs(
            context=str(build.context_dir),
            dockerfile=str(build.dockerfile_path),
            platform=build.platform,
            target=build.target,
            args=dict(build.args) or None,
        ),
        registry=docker.RegistryArgs(
            server=repo.repository_url,
            username=token.user_name,
            password=pulumi.Output.secret(token.password),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
