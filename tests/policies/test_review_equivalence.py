"""The optimised review gives exactly the verdicts of the plain one, which is what a real preview computes.

``review()`` shares each resource's converted properties between policies, sends a resource only to the policies
that declare its type and lets stack policies share derived facts; ``review(shared=False)`` drives one analyzer
server with every policy, each converting what it reads, as ``pulumi preview --policy-pack`` does. Each stack is
planned in preview (unknown outputs stay unknown) with every misconfiguration of tests/policies/test_planted.py
that applies to it planted at once, so the comparison covers violations of most policies, unknown values and
stack-level findings, not only clean plans.
"""

from __future__ import annotations

import functools
import hashlib
import json
import pickle

import pytest

from planning.model import Plan
from planning.review import Review, review
from tests import plan_cache
from tests.harness import plan
from tests.policies.test_planted import PLANTINGS


@functools.cache
def _planted(stack: str) -> tuple[Plan, int]:
    result = plan(stack, preview=True)
    applied = 0
    for planting in PLANTINGS:
        try:
            result = planting.change(result)
        except (AssertionError, KeyError, IndexError, StopIteration, TypeError, ValueError):
            continue  # a planting aimed at a resource this stack does not have (or one an earlier one replaced)
        applied += 1
    return result, applied


@functools.cache
def _optimised(stack: str) -> Review:
    return review(_planted(stack)[0])


# dev runs the VM runtime, prod EKS; staging is prod's shape with other sizes (and doubles the reference's cost).
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_optimised_review_equals_plain_review(stack: str) -> None:
    planted, applied = _planted(stack)
    optimised = _optimised(stack)
    # The reference is a function of the planted plan and the tree (the pack), so later runs of the same tree
    # read it from the suite's plan cache, keyed by the plan's content; the optimised review is always recomputed.
    content = hashlib.sha256(pickle.dumps(planted, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
    plain = plan_cache.cached(json.dumps(["plain-review", content]), lambda: review(planted, shared=False))
    assert applied >= 40, f"only {applied} plantings apply to {stack}: the comparison would prove little"
    fired = {v.policy for v in optimised.violations}
    assert len(fired) >= 30, f"only {len(fired)} policies fire: too few to compare"
    assert any(optimised.policy(name).kind == "stack" for name in fired), "no stack policy fires"
    assert optimised.to_json() == plain.to_json()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_review_of_some_policies_gives_each_its_verdicts_in_the_whole_pack(stack: str) -> None:
    planted, _ = _planted(stack)
    whole = _optimised(stack)
    fired = {v.policy for v in whole.violations}
    stack_policies = {name for name in fired if whole.policy(name).kind == "stack"}
    assert stack_policies and len(fired) >= 30

    def alone(names: set[str]) -> None:
        narrowed = review(planted, only=names)
        assert {p.name for p in narrowed.policies} == names
        assert narrowed.violations == [v for v in whole.violations if v.policy in names], sorted(names)

    # Stack policies share facts derived from the whole stack: each alone, then with every resource policy at once
    # (resource policies convert only the resource they are sent), then a pair.
    for name in sorted(stack_policies):
        alone({name})
    alone(fired - stack_policies)
    alone({min(stack_policies), min(fired - stack_policies)})


def test_a_review_of_a_policy_the_pack_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="no policy no-such-policy"):
        review(plan("dev"), only={"no-such-policy"})


def test_conversion_sharing_ends_with_the_review() -> None:
    # A real preview (and anything after a review in the same process) gets the server's own conversions.
    import pulumi_policy.policy as server

    before = (server.json_format, server.deserialize_properties, server.unknown_checking_proxy)
    review(plan("dev"))
    assert (server.json_format, server.deserialize_properties, server.unknown_checking_proxy) == before
