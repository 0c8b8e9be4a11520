"""The real program, planned under the mock engine, against the pack with each stack's policy config."""

from __future__ import annotations

from pathlib import Path

import pytest

from planning.review import render_text
from tests.conftest import STACKS
from tests.harness import plan, review

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_mandatory_violations(stack: str):
    result = review(plan(stack))
    assert result.resources > 0
    assert result.mandatory == [], render_text(result)


@pytest.mark.parametrize("stack", STACKS)
def test_preview_with_unknown_values_never_breaks_a_policy(stack: str):
    # In preview every output-derived input is unknown; no policy may fail or be skipped with an error for it.
    result = review(plan(stack, preview=True))
    assert [v for v in result.violations if "can't run policy" in v.message] == []
    assert result.mandatory == [], render_text(result)


def test_opening_the_api_to_the_internet_is_caught():
    overrides = {"runtime": "eks", "cluster.endpointPublicAccess": True, "cluster.publicAccessCidrs": ["0.0.0.0/0"]}
    violations = [v for v in review(plan("dev", overrides)).mandatory if v.policy == "eks-endpoint-restricted"]
    assert len(violations) == 1 and violations[0].resource_type == "aws:eks/cluster:Cluster"
