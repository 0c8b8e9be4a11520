"""AWS and Kubernetes facts the config is checked against, each with its source.

A value AWS will judge is refused here, in words, before the first `pulumi up` would be refused by the
API. Lists that the pinned provider already carries (regions, EC2 instance types) come from it, so they
move with the pin; the others are tables with the page they were read from.
"""

from __future__ import annotations

import datetime
import re
from functools import cache
from typing import Literal

from agent_contract.aws import WAF_COUNTABLE_RULES as WAF_COUNTABLE_RULES
from agent_contract.eks import EKS_VERSIONS as EKS_VERSIONS
from agent_contract.eks import EksVersion as EksVersion

Architecture = Literal["x86_64", "arm64"]

# Values CloudWatch Logs accepts for a log group's retention (PutRetentionPolicy, retentionInDays:
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


# The EKS release calendar (agent_contract.eks): EksVersion and EKS_VERSIONS, imported above.


def eks_version_problem(version: str, today: datetime.date | None = None) -> str | None:
    """Why ``version`` cannot be a cluster's Kubernetes version, or None."""
    known = ", ".join(EKS_VERSIONS)
    row = EKS_VERSIONS.get(version)
    if row is None:
        return f"'{version}' is not a Kubernetes version Amazon EKS offers; use one of {known} (e.g. 1.34)"
    if (today or datetime.date.today()) >= row.end_of_extended_support:
        return f"Kubernetes {version} reached the end of EKS extended support on {row.end_of_extended_support}; " \
               f"use one of {known}"
    return None


# Add-on versions as EKS publishes them (aws eks describe-addon-versions), e.g. v1.19.2-eksbuild.1.
ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+(-eksbuild\.\d+)?$")

# Rules of AWSManagedRulesCommonRuleSet (Core rule set):
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
WAF_COMMON_RULES = (
    "NoUserAgent_HEADER", "UserAgent_BadBots_HEADER", "SizeRestrictions_QUERYSTRING",
    "SizeRestrictions_Cookie_HEADER", "SizeRestrictions_BODY", "SizeRestrictions_URIPATH",
    "EC2MetaDataSSRF_BODY", "EC2MetaDataSSRF_COOKIE", "EC2MetaDataSSRF_URIPATH", "EC2MetaDataSSRF_QUERYARGUMENTS",
    "GenericLFI_QUERYARGUMENTS", "GenericLFI_URIPATH", "GenericLFI_BODY", "RestrictedExtensions_URIPATH",
    "RestrictedExtensions_QUERYARGUMENTS", "GenericRFI_QUERYARGUMENTS", "GenericRFI_BODY", "GenericRFI_URIPATH",
    "CrossSiteScripting_COOKIE", "CrossSiteScripting_QUERYARGUMENTS", "CrossSiteScripting_BODY",
    "CrossSiteScripting_URIPATH",
)
# WAF_COUNTABLE_RULES (imported above from agent_contract.aws): the rules protected tiers may count.


@cache
def regions() -> frozenset[str]:
    """Every region the pinned pulumi-aws knows (its ``Region`` enum, generated from the AWS partitions file)."""
    import pulumi_aws

    return frozenset(r.value for r in pulumi_aws.Region)


def region_problem(value: str) -> str | None:
    if value in regions():
        return None
    return f"'{value}' is not an AWS region (e.g. us-east-1, eu-west-1, ap-southeast-2)"


@cache
def ec2_instance_types() -> frozenset[str]:
    """Every EC2 instance type of the pinned pulumi-aws (its ``ec2.InstanceType`` enum, from the EC2 API model)."""
    import pulumi_aws.ec2

    return frozenset(t.value for t in pulumi_aws.ec2.InstanceType)


# Graviton families carry a 'g' after the generation (m7g, c7gn, r8gd, x2gd, im4gn); a1 is the first Graviton.
# Source: https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html ("g: AWS Graviton").
_ARM_FAMILY = re.compile(r"^([a-z]+\d+[a-z]*g[a-z]*|a1)$")
# Families that run neither Linux AMI this platform uses (macOS hosts).
_UNUSABLE_FAMILY = re.compile(r"^mac")


def family_architecture(family: str) -> Architecture:
    return "arm64" if _ARM_FAMILY.match(family) else "x86_64"


_SIZE_ORDER = ("nano", "micro", "small", "medium", "large", "xlarge")


def _size_key(size: str) -> tuple[int, int, str]:
    if size in _SIZE_ORDER:
        return (0, _SIZE_ORDER.index(size), size)
    number = re.match(r"^(\d+)xlarge$", size)
    return (1, int(number.group(1)), size) if number else (2, 0, size)


def family_sizes(family: str) -> list[str]:
    """Sizes of an EC2 family, smallest first."""
    return sorted((t.split(".", 1)[1] for t in ec2_instance_types() if t.split(".", 1)[0] == family), key=_size_key)


def instance_type_problem(value: str, architecture: Architecture | None = None) -> str | None:
    """Why ``value`` is not an EC2 instance type (of ``architecture`` when given), or None."""
    family = value.partition(".")[0]
    if value not in ec2_instance_types() or _UNUSABLE_FAMILY.match(family):
        sizes = family_sizes(family) if not _UNUSABLE_FAMILY.match(family) else []
        if sizes:
            return f"'{value}' is not an EC2 instance type; {family} comes in {', '.join(sizes[:12])}" \
                   f"{' ...' if len(sizes) > 12 else ''} (e.g. {family}.{'large' if 'large' in sizes else sizes[0]})"
        return f"'{value}' is not an EC2 instance type (family.size, e.g. m7i.large or t4g.small)"
    if architecture and family_architecture(family) != architecture:
        families = "Graviton families such as m7g, t4g" if architecture == "arm64" else "families such as m7i, t3"
        return f"'{value}' is an {family_architecture(family)} type; this setting runs {architecture} (use {families})"
    return None


# DB instance classes RDS for PostgreSQL offers, by family ("Supported DB engines for DB instance classes"):
# https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.SupportAurora.html
RDS_POSTGRES_FAMILIES = (
    "t3", "t4g", "m5", "m5d", "m6g", "m6gd", "m6i", "m6id", "m6idn", "m6in", "m7g", "m7i", "m8g", "m8gd",
    "r5", "r5b", "r5d", "r6g", "r6gd", "r6i", "r6id", "r6idn", "r6in", "r7g", "r7i", "r8g", "r8gd",
    "x2g", "x2idn", "x2iedn", "x2iezn", "c6gd",
)
# ElastiCache node types for Valkey/Redis OSS, by family ("Supported node types"):
# https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html
# RDS families whose EC2 twin carries another name (db.x2g runs on x2gd hardware without the local disk).
_EC2_TWIN = {"x2g": "x2gd"}
CACHE_FAMILIES = ("t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r6gd", "r7g", "c7gn")


def _managed_class_problem(value: str, prefix: str, families: tuple[str, ...], what: str, example: str) -> str | None:
    head, _, rest = value.partition(".")
    family, _, size = rest.partition(".")
    if head != prefix or family not in families:
        return f"'{value}' is not {what}; use {prefix}.<family>.<size> with a family of {', '.join(families)} " \
               f"(e.g. {example})"
    ec2_family = _EC2_TWIN.get(family, family)
    if f"{ec2_family}.{size}" not in ec2_instance_types() or size == "nano" or size.startswith("metal"):
        sizes = [s for s in family_sizes(ec2_family) if s != "nano" and not s.startswith("metal")]
        return f"'{value}' is not {what}; {prefix}.{family} comes in {', '.join(sizes)} (e.g. {example})"
    return None


def db_instance_class_problem(value: str) -> str | None:
    return _managed_class_problem(value, "db", RDS_POSTGRES_FAMILIES, "an RDS for PostgreSQL instance class",
                                  "db.t4g.medium")


def cache_node_type_problem(value: str) -> str | None:
    return _managed_class_problem(value, "cache", CACHE_FAMILIES, "an ElastiCache node type", "cache.t4g.small")
