"""AWS names the program chooses from and the pack accepts: one list, so config and review never disagree."""

from __future__ import annotations

# ALB security policies that negotiate TLS 1.2 or newer only, TLS 1.3 first
# (docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html).
TLS12_PLUS_POLICIES: tuple[str, ...] = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
DEFAULT_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"

# Rules of AWSManagedRulesCommonRuleSet that only size or fingerprint a request: counting one trades a false
# positive for noise, not for an injection. Protected tiers may count only these (the others stop SSRF, LFI/RFI
# and XSS attempts).
WAF_COUNTABLE_RULES: tuple[str, ...] = (
    "SizeRestrictions_BODY", "SizeRestrictions_QUERYSTRING", "SizeRestrictions_Cookie_HEADER",
    "SizeRestrictions_URIPATH", "NoUserAgent_HEADER", "UserAgent_BadBots_HEADER",
)

# What another account's role may do in a repository policy: pull by digest, nothing else. Copying an image out
# (crane copy, docker buildx imagetools create) reads the manifest (BatchGetImage), checks each blob
# (BatchCheckLayerAvailability) and downloads it (GetDownloadUrlForLayer); ECR user guide, "Private repository
# policy examples" and the AmazonEC2ContainerRegistryReadOnly managed policy. No push, list, delete or policy action.
ECR_PULL_ACTIONS: tuple[str, ...] = (
    "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")

# OpenSearch Service domain endpoint TLS policies (API DomainEndpointOptions.TLSSecurityPolicy:
# Policy-Min-TLS-1-0-2019-07 | Policy-Min-TLS-1-2-2019-07 | Policy-Min-TLS-1-2-PFS-2023-10 |
# Policy-Min-TLS-1-2-RFC9151-FIPS-2024-08). The pack accepts the latest ones (TLS 1.2+ with forward secrecy, as
# Security Hub Opensearch.8 does); the program sets the first.
OPENSEARCH_LATEST_TLS_POLICIES: tuple[str, ...] = ("Policy-Min-TLS-1-2-PFS-2023-10",
                                                    "Policy-Min-TLS-1-2-RFC9151-FIPS-2024-08")
OPENSEARCH_TLS_POLICY = OPENSEARCH_LATEST_TLS_POLICIES[0]
