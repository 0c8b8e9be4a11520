"""The pack's identity and the full, ordered list of its policies.

Adding a domain is one line: create ``agent_policies/<domain>.py`` exporting ``POLICIES`` and list it in
``DOMAINS``.
"""

from __future__ import annotations

import importlib

from pulumi_policy import EnforcementLevel, Policy

PACK_NAME = "agent-platform"
# Every policy sets its own level; this only applies to a policy that forgets to.
DEFAULT_ENFORCEMENT = EnforcementLevel.MANDATORY
DESCRIPTION = "Security, availability and cost guardrails for the agent-platform stacks on AWS and EKS."
DOMAINS: tuple[str, ...] = (
    "aws_network",
    "aws_nat",
    "aws_eks",
    "aws_compute",
    "aws_identity",
    "aws_logging",
    "aws_data",
    "aws_stores",
    "backup",
    "disaster_recovery",
    "aws_ecr",
    "aws_edge",
    "edge_routing",
    "kubernetes",
    "kubernetes_capacity",
    "tagging",
    "stack",
    "budget",
    "observability",
    "aws_trust",
    "exposure",
    "secrets_placement",
    "transit",
    "netpol",
    "safeguards",
    "reliability",
    "helm_values",
    "hygiene",
    "vector_stores",
    "vm_shared",
    "edge_exposure",
)


def all_policies() -> list[Policy]:
    """Every policy of every domain, in ``DOMAINS`` order; policy names must be unique across the pack."""
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for domain in DOMAINS:
        module = importlib.import_module(f"{__package__}.{domain}")
        for policy in module.POLICIES:
            if policy.name in seen:
                raise ValueError(f"policy {policy.name} is defined in both {seen[policy.name]} and {domain}")
            seen[policy.name] = domain
            policies.append(policy)
    return policies
