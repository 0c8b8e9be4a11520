"""Quotas: what the stack adds, plus what the account already uses, must fit in the applied quota.

Quota names and defaults: Amazon VPC user guide, "Amazon VPC quotas" (VPCs per Region 5, Internet gateways
per Region 5, NAT gateways per Availability Zone 5, Elastic IP addresses per Region 5); EKS user guide,
"View and manage Amazon EKS and Fargate service quotas" (Clusters 100). Quota codes as the Service Quotas
console shows them (service code / quota code); the Pulumi registry's servicequotas example uses vpc L-F678F1CE,
and the EKS best-practices guide ("Known Limits and Service Quotas") lists quotas by these L- codes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from planning.preflight.aws import call, error_code, pages
from planning.preflight.framework import Context, Finding, check


@dataclass(frozen=True)
class Quota:
    key: str            # Facts.demand key
    label: str
    service_code: str
    quota_code: str


QUOTAS = (
    Quota("eips", "EC2-VPC Elastic IPs", "ec2", "L-0263D0A3"),
    Quota("vpcs", "VPCs per Region", "vpc", "L-F678F1CE"),
    Quota("internet_gateways", "Internet gateways per Region", "vpc", "L-A4707A72"),
    Quota("nat_per_zone", "NAT gateways per Availability Zone", "vpc", "L-FE5A380F"),
    Quota("eks_clusters", "EKS clusters", "eks", "L-1194D53C"),
)

USAGE_CALLS = ("ec2:DescribeAddresses", "ec2:DescribeVpcs", "ec2:DescribeInternetGateways",
               "ec2:DescribeNatGateways", "ec2:DescribeSubnets", "eks:ListClusters")
# RDS reports its own quotas with their use: DescribeAccountAttributes' AccountQuotas (the RDS API reference's
# example lists AccountQuotaName DBInstances with Used and Max).
RDS_CALLS = ("rds:DescribeAccountAttributes", "rds:DescribeDBInstances")


def _own(item: dict[str, Any], own_tags: dict[str, str]) -> bool:
    """A resource this stack already owns (an update, not a first deploy): it is in the plan's count too."""
    tags = {t.get("Key"): t.get("Value") for t in item.get("Tags") or []}
    return bool(own_tags) and all(tags.get(k) == v for k, v in own_tags.items())


def applied_quota(sq: Any, quota: Quota) -> float:
    """The applied value, or AWS's default when the account never had one applied (NoSuchResourceException)."""
    try:
        return float(call(sq, "get_service_quota", ServiceCode=quota.service_code,
                          QuotaCode=quota.quota_code)["Quota"]["Value"])
    except Exception as exc:
        if error_code(exc) != "NoSuchResourceException":
            raise
    return float(call(sq, "get_aws_default_service_quota", ServiceCode=quota.service_code,
                      QuotaCode=quota.quota_code)["Quota"]["Value"])


def _usage(ctx: Context, key: str) -> tuple[int, str]:
    """Current use in the region (or the busiest chosen zone), excluding this stack's own resources."""
    own = ctx.facts.own_tags
    ec2 = ctx.client("ec2")
    if key == "eips":
        items = call(ec2, "describe_addresses", Filters=[{"Name": "domain", "Values": ["vpc"]}])["Addresses"]
        return sum(not _own(a, own) for a in items), "in use"
    if key == "vpcs":
        return sum(not _own(v, own) for v in pages(ec2, "describe_vpcs", "Vpcs")), "in use"
    if key == "internet_gateways":
        return sum(not _own(g, own) for g in pages(ec2, "describe_internet_gateways", "InternetGateways")), "in use"
    if key == "nat_per_zone":
        # NAT gateways count in the pending, available and deleting states (Amazon VPC quotas, NAT gateways).
        nats = [n for n in pages(ec2, "describe_nat_gateways", "NatGateways",
                                 Filter=[{"Name": "state", "Values": ["pending", "available", "deleting"]}])
                if not _own(n, own)]
        if not nats:
            return 0, "in the busiest zone"
        subnets = {s["SubnetId"]: s.get("AvailabilityZoneId") for s in pages(
            ec2, "describe_subnets", "Subnets", SubnetIds=sorted({n["SubnetId"] for n in nats}))}
        per_zone = Counter(subnets.get(n["SubnetId"]) for n in nats)
        zone, used = per_zone.most_common(1)[0]
        return used, f"in {zone}"
    if key == "eks_clusters":
        names = list(pages(ctx.client("eks"), "list_clusters", "clusters"))
        return sum(n != ctx.facts.cluster_name for n in names), "in use"
    raise KeyError(key)


@check("service-quotas", title="Quotas leave room for what the stack creates", group="quotas",
       calls=("servicequotas:GetServiceQuota", "servicequotas:GetAWSDefaultServiceQuota", *USAGE_CALLS, *RDS_CALLS),
       remediation="Release unused resources or request a quota increase (aws service-quotas "
                   "request-service-quota-increase --service-code <code> --quota-code <code>) before deploying.")
def service_quotas(ctx: Context) -> list[Finding]:
    sq = ctx.client("service-quotas")
    findings = []
    for quota in QUOTAS:
        needed = ctx.facts.demand.get(quota.key, 0)
        if not needed:
            continue
        limit = applied_quota(sq, quota)
        used, where = _usage(ctx, quota.key)
        subject = f"{quota.label} ({quota.service_code}/{quota.quota_code})"
        detail = f"{used} {where} + {needed} new = {used + needed} of {limit:g}"
        status = "pass" if used + needed <= limit else "fail"
        findings.append(Finding("service-quotas", status, subject, detail if status == "pass" else
                                f"quota exhausted: {detail}"))
    if ctx.facts.databases:
        findings.append(_rds_instances(ctx))
    return findings


def _rds_instances(ctx: Context) -> Finding:
    """DB instances: RDS's own count (every instance, this stack's included), plus the ones not there yet."""
    rds = ctx.client("rds")
    new = 0
    for db in ctx.facts.databases:
        if not db.identifier:
            new += 1
            continue
        try:
            call(rds, "describe_db_instances", DBInstanceIdentifier=db.identifier)
        except Exception as exc:
            if error_code(exc) != "DBInstanceNotFound":
                raise
            new += 1
    quotas = call(rds, "describe_account_attributes").get("AccountQuotas") or []
    quota = next((q for q in quotas if q.get("AccountQuotaName") == "DBInstances"), None)
    subject = "RDS DB instances (rds DescribeAccountAttributes DBInstances)"
    if quota is None:
        return Finding("service-quotas", "skip", subject, "RDS reported no DBInstances quota")
    used, limit = int(quota.get("Used", 0)), int(quota.get("Max", 0))
    detail = f"{used} in use + {new} new = {used + new} of {limit}"
    if used + new <= limit:
        return Finding("service-quotas", "pass", subject, detail)
    return Finding("service-quotas", "fail", subject, f"quota exhausted: {detail}")


