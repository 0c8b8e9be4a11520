"""IAM roles for Kubernetes service accounts (IRSA): one role per workload, trusted by one SA only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core import iam


@dataclass(frozen=True)
class OidcIssuer:
    provider_arn: pulumi.Output[str]
    url: pulumi.Output[str]  # issuer host and path, without https://


def service_account_role(
    resource_name: str,
    issuer: OidcIssuer,
    *,
    namespace: str,
    service_account: str,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    managed_policy_arns: Mapping[str, pulumi.Input[str]] | None = None,
    inline_policy: pulumi.Input[str] | None = None,
) -> aws.iam.Role:
    """A role only ``namespace/service_account`` can assume through the cluster's OIDC issuer."""
    condition = issuer.url.apply(lambda url: {"StringEquals": {
        f"{url}:sub": f"system:serviceaccount:{namespace}:{service_account}",
        f"{url}:aud": "sts.amazonaws.com",
    }})
    role = aws.iam.Role(
        resource_name,
        assume_role_policy=iam.trust_policy({"Federated": issuer.provider_arn},
                                            action="sts:AssumeRoleWithWebIdentity", condition=condition),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    # Keyed by policy name (ARNs are outputs): adding a policy renames no attachment; the index names they
    # had are aliases.
    for i, (policy, arn) in enumerate((managed_policy_arns or {}).items()):
        aws.iam.RolePolicyAttachment(
            f"{resource_name}-{policy}", role=role.name, policy_arn=arn,
            opts=pulumi.ResourceOptions(parent=role, aliases=[pulumi.Alias(name=f"{resource_name}-managed-{i}")]))
    if inline_policy is not None:
        aws.iam.RolePolicy(f"{resource_name}-policy", role=role.id, policy=inline_policy,
                           opts=pulumi.ResourceOptions(parent=role))
    return role
