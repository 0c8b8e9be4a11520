"""The zones the deploy would use in this account, read live: zone names map to different zone IDs in
every account, and only the live mapping says which zones the program's choice lands on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planning.preflight.aws import call, pages
from planning.preflight.facts import Facts


@dataclass
class ZoneView:
    names: list[str]
    zone_ids: list[str]
    offered: dict[str, set[str]] = field(default_factory=dict)  # zone ID -> instance types offered there

    def name_of(self, zone_id: str) -> str:
        return dict(zip(self.zone_ids, self.names, strict=True)).get(zone_id, zone_id)


def fetch(ec2: Any, facts: Facts) -> ZoneView:
    """Availability Zones as the program asks for them (state available, no Local or Wavelength Zones), with
    the instance types of every compute group offered in each (ec2:DescribeInstanceTypeOfferings by zone ID)."""
    found = call(ec2, "describe_availability_zones", Filters=[
        {"Name": "state", "Values": ["available"]},
        {"Name": "opt-in-status", "Values": ["opt-in-not-required"]},
    ])
    zones = sorted(found.get("AvailabilityZones") or [], key=lambda z: z["ZoneName"])
    view = ZoneView([z["ZoneName"] for z in zones], [z["ZoneId"] for z in zones])
    types = sorted({t for choice in facts.instance_type_choices for t in choice})
    if types:
        for offer in pages(ec2, "describe_instance_type_offerings", "InstanceTypeOfferings",
                           LocationType="availability-zone-id",
                           Filters=[{"Name": "instance-type", "Values": types}]):
            view.offered.setdefault(offer["Location"], set()).add(offer["InstanceType"])
    return view


def choose(view: ZoneView, facts: Facts) -> list[str]:
    """The zone names the program picks with these live answers (its own rule, components/network/zones.py)."""
    from components.network.zones import choose_zones

    return choose_zones(view.names, view.zone_ids, view.offered, facts.instance_type_choices, facts.zone_count,
                        region=facts.region)
