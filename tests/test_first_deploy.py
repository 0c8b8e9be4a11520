"""A stack's first ``pulumi up`` succeeds: services without a released image get no workload yet.

The first update creates each service's ECR repository empty. A Deployment or Auto Scaling group pointing at
an image in it could never start (pods in ImagePullBackOff until the Deployment await fails the update;
instances failing their health checks), and a registry lookup in it fails before anything exists. So a
service with no ``image`` (and no ``build``) gets its repository, identity, secrets and routing, and its
workload appears on the ``pulumi up`` after CI pushed the image and set its digest (docs/first-deploy.md).
"""

from __future__ import annotations

import pytest

from planning.mock_outputs import INVOKES
from planning.review import load_policy_config
from tests.conftest import STACKS
from tests.harness import config_error, plan, review

STACK_RUNTIMES = [("dev", "vm"), ("dev", "eks"), ("staging", "eks"), ("prod", "eks")]
SERVICES = ("api", "context", "worker")
WORKLOAD_TYPES = {
    "kubernetes:apps/v1:Deployment", "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:keda.sh/v1alpha1:ScaledObject",
    "kubernetes:keda.sh/v1alpha1:TriggerAuthentication", "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:autoscaling/group:Group", "aws:autoscaling/policy:Policy",
}
EXAMPLE_DIGEST = "sha256:" + "ab" * 32


def _first_deploy(stack: str, runtime: str, *, preview: bool = False):
    """The stack as a brand-new one: its committed config with every service's image removed."""
    overrides = {f"services.{svc}.image": None for svc in SERVICES}
    return plan(stack, {**overrides, "runtime": runtime}, preview=preview)


def _service_resources(result, service: str):
    prefix = f"service-{service}-"
    return [r for r in result.resources if r.name.startswith(prefix)]


@pytest.mark.parametrize("stack,runtime", STACK_RUNTIMES)
def test_first_deploy_creates_repositories_identities_and_no_workloads(stack, runtime):
    result = _first_deploy(stack, runtime)
    for service in SERVICES:
        types = {r.type for r in _service_resources(result, service)}
        assert "aws:ecr/repository:Repository" in types, service
        assert "aws:iam/role:Role" in types, service
        assert not types & WORKLOAD_TYPES, (service, sorted(types & WORKLOAD_TYPES))
    if runtime == "eks":
        # Callers and the edge already resolve the Service; its secrets are synced before the first pod.
        assert {r.name for r in result.of_type("kubernetes:core/v1:Service")} >= {
            f"service-{s}-service" for s in SERVICES}
        assert len([r for r in result.of_type("kubernetes:external-secrets.io/v1:ExternalSecret")
                    if r.name.startswith("service-")]) == len(SERVICES)


@pytest.mark.parametrize("stack,runtime", STACK_RUNTIMES)
def test_first_deploy_previews_and_passes_the_policy_pack(stack, runtime):
    _first_deploy(stack, runtime, preview=True)  # nothing is looked up in a repository that does not exist yet
    result = _first_deploy(stack, runtime)
    mandatory = [v for v in review(result, load_policy_config(stack)).violations if v.enforcement == "mandatory"]
    assert mandatory == []


def test_releasing_one_service_adds_only_its_workload():
    image = f"111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-prod/api@{EXAMPLE_DIGEST}"
    overrides = {"services.context.image": None, "services.worker.image": None, "services.api.image": image}
    result = plan("prod", overrides)
    deployments = {r.name: r for r in result.of_type("kubernetes:apps/v1:Deployment")
                   if r.name.startswith("service-")}
    assert list(deployments) == ["service-api-deployment"]
    container = deployments["service-api-deployment"].props["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == image


def test_unreleased_services_are_not_alerted_as_unscraped():
    result = _first_deploy("prod", "eks")
    rules = result.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "observability-alert-rules")
    groups = {g["name"] for g in rules.props["spec"]["groups"]}
    assert "scrape-coverage" not in groups
    released = plan("prod").one("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "observability-alert-rules")
    assert "scrape-coverage" in {g["name"] for g in released.props["spec"]["groups"]}


def test_unreleased_vm_services_have_no_instance_alarms():
    alarms = {r.name for r in _first_deploy("dev", "vm").of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert not [a for a in alarms if "-vm-" in a]


@pytest.mark.parametrize("stack", STACKS)
def test_every_tier_rejects_a_tag_without_a_digest(stack):
    """A tag is resolved by looking it up in the registry (impossible in a repository this update creates)."""
    image = f"111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-{stack}/api:0.9.0"
    assert "services.api.image" in str(config_error(stack, {"services.api.image": image}))


def test_the_program_never_looks_an_image_up():
    """The mock engine answers only the invokes the program makes; an image lookup is not one of them."""
    assert "aws:ecr/getImage:getImage" not in INVOKES
