"""Which availability zones the VPC spreads over: chosen by zone ID, never by the first N zone names.

Zone names (us-east-1a) map to different physical zones in each account; zone IDs (use1-az1) do not. EKS
refuses control-plane subnets in a few zone IDs, and not every zone offers every instance type, so a
first `pulumi up` that takes the first N names can fail in one account and succeed in another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

# EKS user guide, "View Amazon EKS networking requirements for VPC and subnets" (network-reqs): cluster subnets
# can't reside in these Availability Zone IDs.
EKS_UNSUPPORTED_ZONE_IDS: Mapping[str, tuple[str, ...]] = {
    "us-east-1": ("use1-az3",),
    "us-west-1": ("usw1-az2",),
    "ca-central-1": ("cac1-az3",),
}


def choose_zones(names: Sequence[str], zone_ids: Sequence[str], offered: Mapping[str, set[str]],
                 instance_type_choices: Sequence[Sequence[str]], count: int, *, region: str) -> list[str]:
    """The first ``count`` zone names (in the region's order) whose zone offers one type of every choice.

    ``offered`` maps zone ID to the instance types offered there; each entry of ``instance_type_choices`` is one
    group's alternatives (a node group may run on any of its types, a VM service on its one type).
    """
    excluded = set(EKS_UNSUPPORTED_ZONE_IDS.get(region, ()))
    eligible = [name for name, zone_id in zip(names, zone_ids, strict=True)
                if zone_id not in excluded
                and all(set(choice) & offered.get(zone_id, set()) for choice in instance_type_choices)]
    if len(eligible) < count:
        raise ValueError(
            f"{region} has {len(eligible)} availability zones that EKS supports and that offer "
            f"{[list(c) for c in instance_type_choices]} (zone IDs {list(zone_ids)}, excluded "
            f"{sorted(excluded)}); network.azCount needs {count}: choose instance types offered in more zones")
    return eligible[:count]


def availability_zones(region: str, count: int, instance_type_choices: Sequence[Sequence[str]],
                       opts: pulumi.InvokeOutputOptions | None = None) -> pulumi.Output[list[str]]:
    """Zone names to place subnet slot 0..count-1 in, resolved from zone IDs at deploy time."""
    zones = aws.get_availability_zones_output(
        state="available",
        exclude_zone_ids=list(EKS_UNSUPPORTED_ZONE_IDS.get(region, ())),
        # Availability Zones only: no Local Zones or Wavelength Zones the account may have opted into.
        filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
        opts=opts,
    )
    types = sorted({t for choice in instance_type_choices for t in choice})
    if not types:
        return zones.apply(lambda z: choose_zones(z.names, z.zone_ids, {}, [], count, region=region))
    offerings = aws.ec2.get_instance_type_offerings_output(
        location_type="availability-zone-id", filters=[{"name": "instance-type", "values": types}], opts=opts)

    def pick(z: aws.GetAvailabilityZonesResult, o: aws.ec2.GetInstanceTypeOfferingsResult) -> list[str]:
        offered: dict[str, set[str]] = {}
        for location, instance_type in zip(o.locations, o.instance_types, strict=True):
            offered.setdefault(location, set()).add(instance_type)
        return choose_zones(z.names, z.zone_ids, offered, instance_type_choices, count, region=region)

    return pulumi.Output.all(zones, offerings).apply(lambda both: pick(*both))
