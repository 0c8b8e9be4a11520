"""Image releases come from the stack's ESC release environment (`images`), not from an infrastructure commit."""

from __future__ import annotations

from tests.config_support import reason, rejected, validated
from tests.harness import plan

RELEASED = ("111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-prod/api@sha256:"
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")


def test_a_released_image_replaces_the_stack_files_image():
    cfg = validated("prod", {"images": {"api": RELEASED}})
    assert cfg.services["api"].image == RELEASED
    before = validated("prod")
    assert before.services["api"].image != RELEASED
    assert cfg.services["worker"].image == before.services["worker"].image


def test_the_released_digest_is_what_the_workload_runs():
    released = plan("prod", {"images": {"api": RELEASED}})
    deployment = released.one("kubernetes:apps/v1:Deployment", "service-api-deployment")
    containers = deployment.props["spec"]["template"]["spec"]["containers"]
    assert RELEASED in [c["image"] for c in containers]


def test_a_release_for_an_unknown_service_is_named():
    assert "names no service" in reason(rejected("prod", {"images": {"nope": RELEASED}}), "images.nope")


def test_a_released_tag_is_refused_like_any_unpinned_image():
    rejected("prod", {"images": {"api": "111122223333.dkr.ecr.us-east-1.amazonaws.com/x/api:latest"}})
