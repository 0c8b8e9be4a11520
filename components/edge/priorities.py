"""Listener-rule priorities that stay put when routes are added or removed.

ALB evaluates a listener's rules by ascending priority (1-50,000, one rule per number). Pulumi changes a rule's
number in place, one rule at a time (ELBv2 SetRulePriorities), and the API refuses a number another rule still
holds (PriorityInUse). Numbering rules by their rank among the routes would renumber every rule after an added
route, so adding a service to a running stack would fail its update. Each rule's number here comes from its own
route instead:

- a tier orders what must be ordered: every health check (an exact path) first, then path prefixes by depth,
  deepest first, because a prefix also matches the deeper paths under it (patterns are whole segments, ``/p`` and
  ``/p/*``, so two prefixes of one depth never overlap);
- within a tier, a slot from a hash of the service's name; a collision takes the next free slot, in name order.

A new route moves an existing rule only when their slots collide and the new name sorts first: then the moved rule
goes to a free number, and only the new rule's creation can meet it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from config.edge import Route

TIER_SIZE = 4000
# Prefix depths with a tier of their own: 0 ("/") to 7; deeper prefixes share the last one, where a path of nine
# or more segments extending another of eight or more would be ordered by slot, not depth. Ten tiers of 4,000 keep
# the EKS rules (from 1,000) under the ceiling of 50,000.
PREFIX_TIERS = 9
HEALTH = "health"
PREFIX = "prefix"


def _depth(path: str) -> int:
    return len([segment for segment in path.split("/") if segment])


def _slot(kind: str, service: str) -> int:
    return int(hashlib.sha256(f"{kind}:{service}".encode()).hexdigest(), 16) % TIER_SIZE


def rule_priorities(routes: Sequence[Route], *, first: int, health_rules: bool) -> dict[tuple[str, str], int]:
    """``(service, HEALTH | PREFIX) -> priority`` for each route's rules, from ``first`` to ``first + 39,999``."""
    wanted: list[tuple[int, int, str, str]] = []
    for route in routes:
        if health_rules:
            wanted.append((0, _slot(HEALTH, route.service), route.service, HEALTH))
        tier = PREFIX_TIERS - min(_depth(route.path), PREFIX_TIERS - 1)
        wanted.append((tier, _slot(PREFIX, route.service), route.service, PREFIX))
    taken: set[tuple[int, int]] = set()
    out: dict[tuple[str, str], int] = {}
    for tier, slot, service, kind in sorted(wanted):
        while (tier, slot) in taken:
            slot = (slot + 1) % TIER_SIZE
        taken.add((tier, slot))
        out[(service, kind)] = first + tier * TIER_SIZE + slot
    return out
