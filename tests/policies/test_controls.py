"""The framework catalogue behind docs/policies.md: every control is covered by a named policy or says why not."""

from __future__ import annotations

import pytest

from planning import policy_docs, review
from planning.controls import CATALOGUE

NAMES = {p.name for p in review.policies()}


@pytest.mark.parametrize("framework", sorted(CATALOGUE))
def test_every_control_is_covered_or_explains_why_not(framework: str):
    covered = policy_docs.control_coverage()
    ids = [c.id for c in CATALOGUE[framework]]
    assert len(ids) == len(set(ids)), "a control is listed twice"
    for control in CATALOGUE[framework]:
        assert set(control.also) <= NAMES, f"{control.id} names a policy that does not exist"
        is_covered = (framework, control.id) in covered
        assert is_covered != bool(control.not_covered.strip()), (
            f"{framework} {control.id}: covered controls carry no reason, uncovered ones must give one")


def test_every_framework_reference_a_policy_carries_is_catalogued():
    catalogued = {(f, c.id) for f, controls in CATALOGUE.items() for c in controls}
    referenced = {key for key in policy_docs.control_coverage() if key[0] in CATALOGUE}
    assert referenced <= catalogued, sorted(referenced - catalogued)


def test_new_reviewer_classes_map_to_scanner_controls():
    covered = policy_docs.control_coverage()
    expected = {
        ("fsbp", "EC2.15"): "subnet-no-auto-public-ip", ("fsbp", "S3.12"): "s3-acls-disabled",
        ("fsbp", "KMS.1"): "iam-no-service-wide-access", ("fsbp", "RDS.38"): "rds-parameter-group-enforces-tls",
        ("checkov", "CKV_AWS_46"): "user-data-no-secrets", ("checkov", "CKV_K8S_153"): "ingress-no-snippet-annotations",
        ("pss", "restricted/privilege-escalation"): "helm-values-pod-security",
    }
    for key, policy in expected.items():
        assert policy in covered[key], key
