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

from config import image_pins
from config.data import AWS_CLI_IMAGE, POSTGRES_MAJOR_VERSIONS, PSQL_IMAGES
from planning.mock_outputs import MOCK_DIGEST_PREFIX, mock_registry_digest
from tests.conftest import STACKS
from tests.harness import config_error, eks_plan, plan

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


def _reference(image: dict[str, Any]) -> str:
    """How the charts template an image block: registry/repository:tag (weaviate: registry/repo:tag), then
    "@sha256:<sha>" (kube-prometheus-stack, grafana: bare hex), "@<sha>" (kube-state-metrics: sha256:<hex>) or
    "@<digest>" (node-exporter)."""
    ref = str(image["repository"] if "repository" in image else image["repo"])
    if image.get("registry"):
        ref = f"{image['registry']}/{ref}"
    if image.get("tag"):
        ref += f":{image['tag']}"
    if image.get("sha"):
        sha = str(image["sha"])
        ref += f"@{sha if sha.startswith('sha256:') else 'sha256:' + sha}"
    if image.get("digest"):
        ref += f"@{image['digest']}"
    return ref


def _has_repository(block: dict[str, Any]) -> bool:
    return "repository" in block or "repo" in block


def _helm_images(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """(path, reference) for every image setting in Helm values: ``image: "<ref>"``, ``image: {repository: ...}``
    or, as keda has it, ``image: {<component>: {repository: ...}}``."""
    if isinstance(values, dict):
        for key, value in values.items():
            here = f"{path}.{key}"
            image_key = key == "image" or key.endswith("Image")  # also kube-prometheus-stack's thanosImage
            if image_key and isinstance(value, str):
                yield here, value
            elif image_key and isinstance(value, dict) and _has_repository(value):
                yield here, _reference(value)
            elif key == "image" and isinstance(value, dict):
                for part, block in value.items():
                    if isinstance(block, dict) and _has_repository(block):
                        yield f"{here}.{part}", _reference(block)
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


def _plan(stack: str, runtime: str, store: str | None = None):
    extra = {"dataTier.vectorStore": store} if store else {}
    # dev on EKS with the public edge (eks_plan), so the load balancer controller's chart is deployed too.
    return eks_plan(stack, extra) if runtime == "eks" else plan(stack, {"runtime": runtime, **extra})


@pytest.mark.parametrize("stack,runtime", STACK_RUNTIMES)
def test_every_deployed_image_is_pinned_by_digest(stack, runtime):
    found = images(_plan(stack, runtime))
    assert found, "the plan deploys no image at all"
    unpinned = [(where, image) for where, image in found if not DIGEST.search(image)]
    assert unpinned == []


STORE_PLANS = [("dev", "eks", "qdrant"), ("dev", "eks", "weaviate"), ("dev", "vm", "qdrant"), ("dev", "vm", "weaviate"),
               ("prod", "eks", "qdrant"), ("prod", "eks", "weaviate")]


@pytest.mark.parametrize("stack,runtime,store", STORE_PLANS)
def test_the_vector_stores_run_by_digest_too(stack, runtime, store):
    """The optional stores (the qdrant and weaviate charts on EKS, the store's own instance on the VM runtime) were
    the last images run by tag; each one is now found in the plan and pinned by digest."""
    found = images(_plan(stack, runtime, store))
    repository = {"qdrant": "qdrant/qdrant:", "weaviate": "semitechnologies/weaviate:"}[store]
    store_images = [(where, image) for where, image in found if repository in image]
    assert store_images, f"no {store} image found in the plan"
    assert [(where, image) for where, image in found if not DIGEST.search(image)] == []

@pytest.mark.parametrize("stack", STACKS)
def test_the_bootstrap_job_runs_the_pinned_images(stack):
    job = next(r for r in _plan(stack, "eks").of_type("kubernetes:batch/v1:Job"))
    pod = job.props["spec"]["template"]["spec"]
    assert {c["image"] for c in [*pod["initContainers"], *pod["containers"]]} == {AWS_CLI_IMAGE, PSQL_IMAGES["16"]}


def test_every_supported_engine_has_a_pinned_psql_image():
    assert sorted(PSQL_IMAGES) == sorted(POSTGRES_MAJOR_VERSIONS)
    for version, image in PSQL_IMAGES.items():
        assert image.startswith(f"postgres:{version}-alpine@sha256:") and DIGEST.search(image)
    result = eks_plan("dev", {"dataTier.postgres.engineVersion": "17"})  # tests/test_data_tier_bootstrap.py's
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
              "sidecars": [{"image": "r/s:v2"}],
              "exporter": {"image": {"registry": "quay.io", "repository": "o/e", "tag": "v3@sha256:" + "b" * 64}},
              "operator": {"image": {"repository": "r/o", "tag": "v4", "sha": "c" * 64}},
              "image": {"keda": {"repository": "r/k", "tag": "v5"}}}
    assert list(_helm_images(values)) == [
        ("values.controller.image", "r/c:v1@sha256:" + "a" * 64), ("values.sidecars[0].image", "r/s:v2"),
        ("values.exporter.image", "quay.io/o/e:v3@sha256:" + "b" * 64),
        ("values.operator.image", "r/o:v4@sha256:" + "c" * 64), ("values.image.keda", "r/k:v5")]


def _release_images(stack: str) -> dict[str, list[str]]:
    """Chart name -> the image references its release's values set, in the EKS plan of ``stack``."""
    return {str(r.props["chart"]): sorted(ref for _, ref in _helm_images(r.props.get("values", {})))
            for r in _plan(stack, "eks").of_type("kubernetes:helm.sh/v3:Release")}


def _deployed(image: image_pins.Image) -> str:
    """What a release must run for ``image``: its recorded digest, or (UNPINNED) the digest the registry serves,
    which under the mock engine is the planner's stand-in for that tag."""
    return image.reference if image.digest else f"{image.tag_reference}@{mock_registry_digest(image.tag_reference)}"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_chart_values_run_exactly_the_recorded_digests(stack):
    """Every image a release's values set is in the pin table, by digest; every image of the table is set."""
    found = _release_images(stack)
    table = (*image_pins.PINNED, *image_pins.RESOLVED_AT_DEPLOY)
    expected = {chart: sorted(_deployed(i) for i in table if i.chart == chart) for chart in found}
    assert found == expected
    # The vector store charts are installed only by a stack that selects one (next test).
    assert {i.chart for i in table if i.chart} - image_pins.VECTOR_STORE_CHARTS <= set(found), (
        "an image whose chart is not installed")


@pytest.mark.parametrize("store", sorted(image_pins.VECTOR_STORE_CHARTS))
def test_a_vector_store_chart_runs_exactly_the_table_s_digest(store):
    """qdrant: the recorded v1.19.0 digest; weaviate: the digest cr.weaviate.io serves for 1.38.2 (the planner's
    stand-in for the lookup), in image.tag, under the chart's own repository key."""
    releases = {str(r.props["chart"]): r.props["values"] for r in _plan("prod", "eks", store).of_type(
        "kubernetes:helm.sh/v3:Release")}
    table = [i for i in (*image_pins.PINNED, *image_pins.RESOLVED_AT_DEPLOY) if i.chart == store]
    assert _reference(releases[store]["image"]) == _deployed(table[0]) and len(table) == 1
    if store == "qdrant":
        # No "-unprivileged" suffix: the chart appends it after the tag, which here ends in the digest.
        assert releases[store]["image"] == {
            "repository": "docker.io/qdrant/qdrant", "useUnprivilegedImage": False,
            "tag": "v1.19.0@sha256:057ee3a8da769fe7310dd3537b4dc7583bf87a95ce8ac43c0af5a46bc580d1fc"}
    else:
        assert releases[store]["image"]["registry"] == "cr.weaviate.io"
        assert releases[store]["image"]["repo"] == "semitechnologies/weaviate"
        assert releases[store]["image"]["tag"].startswith("1.38.2@" + MOCK_DIGEST_PREFIX)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_an_unpinned_image_runs_the_digest_its_registry_serves_not_its_tag(stack):
    """Each image resolved at deploy time is set at its values path as "<tag>@sha256:..." (or the chart's digest
    key), resolved through the registry lookup the planner answers, never left to the chart's tag."""
    releases = {r.props["chart"]: r.props["values"] for r in _plan(stack, "eks").of_type(
        "kubernetes:helm.sh/v3:Release")}
    for image in image_pins.RESOLVED_AT_DEPLOY:
        if not image.chart or image.chart in image_pins.VECTOR_STORE_CHARTS:
            continue  # the VM runtime's store and the optional store charts: test_the_vector_stores_run_by_digest_too
        node = releases[image.chart]
        for key in image.values_path.split("."):
            node = node[key]
        rendered = _reference(node)
        assert rendered.startswith(image.tag_reference + "@" + MOCK_DIGEST_PREFIX), (image.values_path, rendered)
        assert DIGEST.search(rendered)
    looked_up = [a["reference"] for t, a in _plan(stack, "eks").invokes if t == "agent-platform:registry:getDigest"]
    assert sorted(set(looked_up)) == sorted({i.tag_reference for i in image_pins.RESOLVED_AT_DEPLOY
                                             if i.chart and i.chart not in image_pins.VECTOR_STORE_CHARTS})
    # The images without two public sources for a digest, and Thanos (config/image_pins.py reasons).
    assert {i.repository.rsplit("/", 1)[-1] for i in image_pins.RESOLVED_AT_DEPLOY} == {
        "external-secrets", "aws-for-fluent-bit", "prometheus-operator", "prometheus-config-reloader",
        "k8s-sidecar", "thanos", "weaviate"}


@pytest.mark.parametrize("runtime", ["eks", "vm"])
def test_weaviate_is_looked_up_in_its_registry_when_a_stack_runs_it(runtime):
    """Resolved through the same registry lookup as the chart images (so preflight's registry-image-digests asks
    cr.weaviate.io for it too); no image is left on the chart's or the instance's tag."""
    result = _plan("dev", runtime, "weaviate")
    looked_up = {a["reference"] for t, a in result.invokes if t == "agent-platform:registry:getDigest"}
    assert "cr.weaviate.io/semitechnologies/weaviate:1.38.2" in looked_up
    assert "cr.weaviate.io/semitechnologies/weaviate:1.38.2@" + mock_registry_digest(
        "cr.weaviate.io/semitechnologies/weaviate:1.38.2") in [image for _, image in images(result)]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_postgres_exporter_runs_its_confirmed_digest(stack):
    # quay.io digest of v0.18.1, the chart's appVersion (sources in config/image_pins.py).
    assert _release_images(stack)["prometheus-postgres-exporter"] == [
        "quay.io/prometheuscommunity/postgres-exporter:v0.18.1"
        "@sha256:fb96c4413985d4b23ab02b19022b3d70a86c8e0a62f41ab15ebb6f4673781a5d"]


def test_every_pin_names_two_sources_and_every_gap_a_reason():
    for image in image_pins.PINNED:
        assert image_pins.DIGEST.match(image.digest), image
        assert len(set(image.sources)) >= 2, f"{image.reference}: a digest needs two independent sources"
        assert DIGEST.search(image.reference)
    for image in image_pins.UNPINNED:
        assert image.digest == "" and image.reason, image
        # Every image the program deploys runs by digest: none is left on its tag (the vector stores were).
        assert image.at_deploy, f"{image.tag_reference} would run by tag"
        assert image.expected == "" or image_pins.DIGEST.match(image.expected), image
    pinned = {(i.chart, i.values_path) for i in image_pins.PINNED}
    assert not pinned & {(i.chart, i.values_path) for i in image_pins.UNPINNED}


def _values(stack: str, chart: str) -> dict[str, Any]:
    return next(r.props["values"] for r in _plan(stack, "eks").of_type("kubernetes:helm.sh/v3:Release")
                if r.props["chart"] == chart)


def test_each_chart_gets_the_digest_in_the_form_its_templates_read():
    """kube-prometheus-stack and grafana add "@sha256:" to a bare sha; kube-state-metrics prints its sha after "@";
    prometheus-node-exporter takes image.digest and fails on image.sha; the others read "<tag>@sha256:..." tags."""
    hex64 = re.compile(r"^[0-9a-f]{64}$")
    kps = _values("prod", "kube-prometheus-stack")
    for block in (kps["alertmanager"]["alertmanagerSpec"]["image"], kps["prometheus"]["prometheusSpec"]["image"],
                  kps["prometheusOperator"]["admissionWebhooks"]["patch"]["image"], kps["grafana"]["image"]):
        assert hex64.match(block["sha"]) and "@" not in block["tag"], block
    assert kps["kube-state-metrics"]["image"]["sha"].startswith("sha256:")
    node_exporter = kps["prometheus-node-exporter"]["image"]
    assert node_exporter["digest"].startswith("sha256:") and "sha" not in node_exporter
    # The pinned images leave the chart's other settings (resources, security contexts) in place.
    assert kps["grafana"]["resources"] and kps["prometheus"]["prometheusSpec"]["retention"]
    keda = _values("prod", "keda")["image"]
    assert {part: DIGEST.search(block["tag"]) is not None for part, block in keda.items()} == {
        "keda": True, "metricsApiServer": True, "webhooks": True}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_redis_exporter_runs_its_confirmed_digest(stack):
    """Deployed by the program, not its chart (whose version label takes image.tag, so it cannot carry a digest)."""
    # Docker Hub index digest of v1.84.0 (sources in config/image_pins.py).
    deployment = _plan(stack, "eks").one("kubernetes:apps/v1:Deployment", "observability-redis-exporter-deployment")
    assert [c["image"] for c in deployment.props["spec"]["template"]["spec"]["containers"]] == [
        "oliver006/redis_exporter:v1.84.0@sha256:7ef8e9c26638158fa4e7ad60df8c7e53d1919986753d6c1d2d1876b6ec38d87b"]
    assert "redis_exporter" not in " ".join(i.repository for i in image_pins.UNPINNED)


def test_a_load_balancer_controller_chart_override_runs_that_charts_own_image():
    result = plan("prod", {"edge.controller.chartVersion": "3.4.0"})
    release = next(r for r in result.of_type("kubernetes:helm.sh/v3:Release")
                   if r.props["chart"] == "aws-load-balancer-controller")
    assert release.props["version"] == "3.4.0" and "image" not in release.props["values"]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_cluster_autoscaler_runs_its_confirmed_digest(stack):
    """The chart's own image is v1.35.0 by tag; the release runs the promoted v1.35.2 index by digest."""
    # registry.k8s.io index digest of v1.35.2 (kubernetes/k8s.io PR #9760; sources in config/image_pins.py).
    assert _release_images(stack)["cluster-autoscaler"] == [
        "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2"
        "@sha256:aac369dc283927a623deb1af54696efcc722ae79255aa07788422e495bab887d"]
    assert "cluster-autoscaler" not in {i.chart for i in image_pins.UNPINNED}
