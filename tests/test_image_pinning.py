"""Every image the program deploys is pinned by digest, on every tier.

Covers each container of every Kubernetes workload in each stack's plan (services, the database bootstrap
Job), the images the VM runtime's user data pulls, and every image setting the program passes in Helm
values. Chart defaults the program does not set are the chart's own (docs/first-deploy.md).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest

from config.data import AWS_CLI_IMAGE, POSTGRES_MAJOR_VERSIONS, PSQL_IMAGES
from tests.conftest import STACKS
from tests.harness import config_error, plan

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
STACK_RUNTIMES = [("dev", "vm"), ("dev", "eks"), ("staging", "eks"), ("prod", "eks")]
WORKLOADS = {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
             "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod"}


def _pod_spec(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    if kind.endswith(":Pod"):
        return spec
    if kind.endswith(":CronJob"):
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    return spec["template"]["spec"]


def _helm_images(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """(path, reference) for every image setting in Helm values: ``image: "<ref>"`` or ``image: {...}``."""
    if isinstance(values, dict):
        for key, value in values.items():
            here = f"{path}.{key}"
            if key == "image" and isinstance(value, str):
                yield here, value
            elif key == "image" and isinstance(value, dict):
                ref = value.get("repository", "")
                if value.get("tag"):
                    ref += f":{value['tag']}"
                if value.get("digest"):
                    ref += f"@{value['digest']}"
                yield here, ref
            else:
                yield from _helm_images(value, here)
    elif isinstance(values, list):
        for i, item in enumerate(values):
            yield from _helm_images(item, f"{path}[{i}]")


def images(result) -> list[tuple[str, str]]:
    """(where, image) for every image the plan deploys."""
    found: list[tuple[str, str]] = []
    for res in result.resources:
        if res.type in WORKLOADS:
            pod = _pod_spec(res.type, res.props["spec"])
            for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
                found.append((f"{res.name}/{container['name']}", container["image"]))
        elif res.type == "kubernetes:helm.sh/v3:Release":
            found.extend((f"{res.name}:{where}", ref) for where, ref in _helm_images(res.props.get("values", {})))
        elif res.type == "aws:ec2/launchTemplate:LaunchTemplate" and res.props.get("userData"):
            text = base64.b64decode(res.props["userData"]).decode()
            found.extend((f"{res.name}:user-data", line.split()[2]) for line in text.splitlines()
                         if line.startswith("docker pull "))
    return found


def _plan(stack: str, runtime: str):
    return plan(stack, {"runtime": runtime})


@pytest.mark.parametrize("stack,runtime", STACK_RUNTIMES)
def test_every_deployed_image_is_pinned_by_digest(stack, runtime):
    found = images(_plan(stack, runtime))
    assert found, "the plan deploys no image at all"
    unpinned = [(where, image) for where, image in found if not DIGEST.search(image)]
    assert unpinned == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_bootstrap_job_runs_the_pinned_images(stack):
    job = next(r for r in _plan(stack, "eks").of_type("kubernetes:batch/v1:Job"))
    pod = job.props["spec"]["template"]["spec"]
    assert {c["image"] for c in [*pod["initContainers"], *pod["containers"]]} == {AWS_CLI_IMAGE, PSQL_IMAGES["16"]}


def test_every_supported_engine_has_a_pinned_psql_image():
    assert sorted(PSQL_IMAGES) == sorted(POSTGRES_MAJOR_VERSIONS)
    for version, image in PSQL_IMAGES.items():
        assert image.startswith(f"postgres:{version}-alpine@sha256:") and DIGEST.search(image)
    result = plan("dev", {"runtime": "eks", "dataTier.postgres.engineVersion": "17"})
    job = next(r for r in result.of_type("kubernetes:batch/v1:Job"))
    assert job.props["spec"]["template"]["spec"]["containers"][0]["image"] == PSQL_IMAGES["17"]


@pytest.mark.parametrize("key,image", [
    ("postgresImage", "postgres:16-alpine"),
    ("awsCliImage", "public.ecr.aws/aws-cli/aws-cli:2.31.30"),
])
def test_a_bootstrap_image_without_a_digest_is_refused_in_dev_too(key, image):
    err = config_error("dev", {f"dataTier.bootstrap.{key}": image})
    assert f"dataTier.bootstrap.{key}" in err.paths
    assert "not pinned by digest" in dict(err.issues)[f"dataTier.bootstrap.{key}"]


def test_helm_image_settings_are_found_wherever_they_are_set():
    """The walker the digest check relies on sees string and map image settings at any depth."""
    values = {"controller": {"image": {"repository": "r/c", "tag": "v1", "digest": "sha256:" + "a" * 64}},
              "sidecars": [{"image": "r/s:v2"}]}
    assert list(_helm_images(values)) == [
        ("values.controller.image", "r/c:v1@sha256:" + "a" * 64), ("values.sidecars[0].image", "r/s:v2")]
