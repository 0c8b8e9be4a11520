"""The Amazon EKS Kubernetes release calendar: config validates a cluster's version against it and the pack
derives the versions in standard support from it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class EksVersion:
    """One row of the Amazon EKS Kubernetes release calendar (dates in UTC)."""

    released: datetime.date
    end_of_standard_support: datetime.date
    end_of_extended_support: datetime.date


# Amazon EKS Kubernetes release calendar:
# https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (1.33, 1.34 read from the calendar;
# 1.35 and 1.36 from their published ends of standard support, 2027-03-27 and 2027-08-02; releases 14 months
# earlier, extended support 12 months later).
EKS_VERSIONS: dict[str, EksVersion] = {
    "1.33": EksVersion(datetime.date(2025, 5, 29), datetime.date(2026, 7, 29), datetime.date(2027, 7, 29)),
    "1.34": EksVersion(datetime.date(2025, 10, 2), datetime.date(2026, 12, 2), datetime.date(2027, 12, 2)),
    "1.35": EksVersion(datetime.date(2026, 1, 27), datetime.date(2027, 3, 27), datetime.date(2028, 3, 27)),
    "1.36": EksVersion(datetime.date(2026, 6, 2), datetime.date(2027, 8, 2), datetime.date(2028, 8, 2)),
}


def in_standard_support(day: datetime.date) -> list[str]:
    """The versions still in standard support on ``day``, oldest first."""
    return [v for v, row in EKS_VERSIONS.items() if row.end_of_standard_support > day]
