"""Zones: the zones the deploy would choose support EKS control-plane subnets and offer every instance type."""

from __future__ import annotations

from planning.preflight.framework import Context, Finding, Skip, check
from planning.preflight.zones import choose

ZONE_CALLS = ("ec2:DescribeAvailabilityZones", "ec2:DescribeInstanceTypeOfferings")


def _view(ctx: Context):  # type: ignore[no-untyped-def]
    if ctx.zones is None:
        raise Skip(ctx.zones_error or "the account's zones could not be read")
    return ctx.zones


@check("availability-zones", title="Zones support EKS control-plane subnets", group="zones", calls=ZONE_CALLS,
       remediation="Lower network.azCount, or choose instance types offered in more zones; EKS refuses cluster "
                   "subnets in the zone IDs listed in the EKS user guide (network-reqs).")
def availability_zones(ctx: Context) -> list[Finding]:
    """Enough zones, after the EKS exclusions and the instance-type filter, for the subnets the stack lays out."""
    facts = ctx.facts
    if not facts.zone_count:
        return []
    view = _view(ctx)
    try:
        names = choose(view, facts)
    except ValueError as exc:
        return [Finding("availability-zones", "fail", facts.region, str(exc))]
    ids = [dict(zip(view.names, view.zone_ids, strict=True))[n] for n in names]
    excluded = sorted(set(ids) & set(facts.excluded_zone_ids))
    if excluded:
        return [Finding("availability-zones", "fail", facts.region,
                        f"zone IDs {excluded} do not support EKS control-plane subnets")]
    pairs = ", ".join(f"{n} ({i})" for n, i in zip(names, ids, strict=True))
    return [Finding("availability-zones", "pass", facts.region, f"subnets go to {pairs}")]


@check("instance-type-offerings", title="Instance types offered in the chosen zones", group="versions",
       calls=ZONE_CALLS,
       remediation="Choose an instance type offered in every zone the stack uses (aws ec2 "
                   "describe-instance-type-offerings --location-type availability-zone-id), or add alternatives "
                   "to the node group's instanceTypes.")
def instance_type_offerings(ctx: Context) -> list[Finding]:
    facts = ctx.facts
    if not facts.instance_type_choices:
        return []
    view = _view(ctx)
    try:
        chosen = choose(view, facts)
    except ValueError:
        chosen = view.names  # the zone check reports the shortage; here, say which types are missing where
    by_name = dict(zip(view.names, view.zone_ids, strict=True))
    findings = []
    for choice in facts.instance_type_choices:
        missing = [f"{n} ({by_name[n]})" for n in chosen if not set(choice) & view.offered.get(by_name[n], set())]
        subject = "/".join(choice)
        if missing:
            findings.append(Finding("instance-type-offerings", "fail", subject,
                                    f"{subject} not offered in {', '.join(missing)}"))
        else:
            findings.append(Finding("instance-type-offerings", "pass", subject,
                                    f"offered in {', '.join(chosen)}"))
    return findings
