"""The VM runtime's monthly cost: Auto Scaling groups priced from their launch templates, next to the EKS figure.

Expected values are computed here from catalogue unit prices and quantities taken from the config or the
planned launch templates, never copied from the estimator's output. The runtime is always passed explicitly.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from planning.cost_report import compare as compare_cli
from planning.cost_report import default_catalogue, stack_report
from planning.cost_report.usage import platform_config
from planning.engine import with_paths
from planning.model import Plan, PlannedResource
from tests.harness import DEDICATED_VM, plan

HOURS = 730
REGION = "us-east-1"
CATALOGUE = default_catalogue()
VM = DEDICATED_VM
STAGING_VM = {"runtime": "vm"}  # staging keeps dedicated groups and its public edge
ASG = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SCALING_POLICY = "aws:autoscaling/policy:Policy"
DETAILED_MONITORING_METRICS = 7  # the stated assumption: metrics per instance billed by detailed monitoring


def unit(key: str, region: str = REGION) -> float:
    price = CATALOGUE.price(region, key)
    assert price is not None, f"the catalogue has no {region} price for {key}"
    return price.usd


def report_of(stack: str, paths: Mapping[str, Any]):
    return stack_report(plan(stack, paths), with_paths(stack, dict(paths)))


def cost_of(report, name: str) -> float:
    return sum(line.monthly_usd for line in report.of_resource(name))


def template_of(result: Plan, service: str) -> PlannedResource:
    return result.one(LAUNCH_TEMPLATE, f"service-{service}-template")


def agent_metrics(result: Plan, service: str) -> int:
    """Measurements the CloudWatch agent config in the service's boot script publishes."""
    script = base64.b64decode(template_of(result, service).props["userData"]).decode()
    match = re.search(r"amazon-cloudwatch-agent\.json <<'EOF'\n(.*?)\nEOF\n", script, re.S)
    assert match, "the boot script writes no CloudWatch agent config"
    collected = json.loads(match[1])["metrics"]["metrics_collected"]
    return sum(len(section["measurement"]) for section in collected.values())


def expected_group(stack: str, paths: Mapping[str, Any], service: str) -> float:
    """desired x instance-hours + desired x root GiB of gp3 + the agent's metrics per group + detailed monitoring
    when the template enables it."""
    cfg = platform_config(stack, with_paths(stack, dict(paths))).services[service]
    _, desired, _ = cfg.vm.sizes(cfg.replicas, cfg.min_replicas, cfg.max_replicas)
    cost = (desired * HOURS * unit(f"ec2.instance.{cfg.vm.instance_type}")
            + desired * cfg.vm.disk_size_gib * unit("ebs.gp3.storage")
            + agent_metrics(plan(stack, paths), service) * unit("cloudwatch.metric.custom"))
    if template_of(plan(stack, paths), service).props["monitoring"]["enabled"] is True:
        cost += desired * DETAILED_MONITORING_METRICS * unit("cloudwatch.metric.custom")
    return cost


def test_dev_on_vm_prices_every_auto_scaling_group_from_its_launch_template():
    report = report_of("dev", VM)
    services = platform_config("dev", with_paths("dev", VM)).services
    groups = [g for g in plan("dev", VM).of_type(ASG) if g.name.startswith("service-")]
    assert sorted(g.name for g in groups) == sorted(f"service-{s}-asg" for s in services)
    for name in services:
        assert cost_of(report, f"service-{name}-asg") == pytest.approx(expected_group("dev", VM, name))
    assert report.unpriced == ()


def test_dev_on_vm_total_is_the_hand_computed_sum_of_its_vm_services_and_the_shared_stack():
    vm, eks = report_of("dev", VM), report_of("dev", {"runtime": "eks"})
    result = plan("dev", VM)
    services = platform_config("dev", with_paths("dev", VM)).services
    groups = sum(expected_group("dev", VM, s) for s in services)
    # api services: high and low alarm on CPU; the worker: both alarms on 2 metrics (depth, in-service) plus its
    # queue-depth custom metric.
    policies = 0.0
    for name, cfg in services.items():
        assert result.one(SCALING_POLICY, f"service-{name}-scaling") is not None
        metrics = 2 if cfg.queue is not None else 1
        policies += 2 * metrics * unit("cloudwatch.alarm.standard")
        policies += unit("cloudwatch.metric.custom") if cfg.queue is not None else 0.0
    priced_here = sum(cost_of(vm, f"service-{name}-{part}") for name in services for part in ("asg", "scaling"))
    assert priced_here == pytest.approx(groups + policies)
    assert "cluster" not in vm.by_component() and eks.by_component()["cluster"] > 0
    assert vm.total < eks.total


def test_the_worker_queue_depth_metric_is_priced_once_as_a_custom_metric():
    report = report_of("dev", VM)
    lines = [line for line in report.of_resource("service-worker-scaling")
             if line.price_key == "cloudwatch.metric.custom"]
    assert [line.quantity for line in lines] == [1]
    assert "QueueDepth" in lines[0].item
    assert not [line for line in report.of_resource("service-api-scaling")
                if line.price_key == "cloudwatch.metric.custom"]


def test_detailed_monitoring_adds_seven_custom_metrics_per_instance_where_the_template_enables_it():
    staging = report_of("staging", STAGING_VM)
    assert template_of(plan("staging", STAGING_VM), "api").props["monitoring"]["enabled"] is True
    assert template_of(plan("dev", VM), "api").props["monitoring"]["enabled"] is False
    cfg = platform_config("staging", with_paths("staging", STAGING_VM)).services["api"]
    _, desired, _ = cfg.vm.sizes(cfg.replicas, cfg.min_replicas, cfg.max_replicas)
    (line,) = [x for x in staging.of_resource("service-api-asg") if x.item.startswith("detailed monitoring")]
    assert line.monthly_usd == pytest.approx(desired * DETAILED_MONITORING_METRICS * unit("cloudwatch.metric.custom"))
    assert not [x for x in report_of("dev", VM).of_resource("service-api-asg")
                if x.item.startswith("detailed monitoring")]


@pytest.mark.parametrize("service", ["api", "worker"])
def test_the_cloudwatch_agent_metrics_are_priced_once_per_group_whatever_the_instance_count(service):
    result = plan("dev", VM)
    count = agent_metrics(result, service)
    assert count > 0
    for paths in (VM, {**VM, f"services.{service}.vm.desiredSize": 2, f"services.{service}.vm.maxSize": 3}):
        lines = [x for x in report_of("dev", paths).of_resource(f"service-{service}-asg")
                 if x.price_key == "cloudwatch.metric.custom"]
        assert sum(x.monthly_usd for x in lines) == pytest.approx(count * unit("cloudwatch.metric.custom"))


def test_the_run_once_bootstrap_group_is_priced_for_its_assumed_hours_not_the_whole_month():
    usage = platform_config("dev", with_paths("dev", VM)).cost.usage
    kind = platform_config("dev", with_paths("dev", VM)).data_tier.bootstrap.instance_type
    hours = usage.run_once_instance_hours
    expected = hours * unit(f"ec2.instance.{kind}") + 8 * hours / HOURS * unit("ebs.gp3.storage")
    assert cost_of(report_of("dev", VM), "data-bootstrap-asg") == pytest.approx(expected)
    longer = {**VM, "cost.usage.runOnceInstanceHours": hours + 10}
    assert cost_of(report_of("dev", longer), "data-bootstrap-asg") == pytest.approx(
        expected + 10 * unit(f"ec2.instance.{kind}") + 8 * 10 / HOURS * unit("ebs.gp3.storage"))


def test_more_or_larger_instances_raise_the_estimate():
    """More api instances and a larger context instance, in one plan: each group is priced as configured, and the
    total rises by exactly the api's two added instances plus the context's larger type."""
    base = report_of("dev", VM)
    changed = {**VM, "services.api.vm.desiredSize": 3, "services.api.vm.maxSize": 4,
               "services.context.vm.instanceType": "m7i.large"}
    report = report_of("dev", changed)
    for service in ("api", "context"):
        assert cost_of(report, f"service-{service}-asg") == pytest.approx(expected_group("dev", changed, service))
    assert cost_of(report, "service-worker-asg") == pytest.approx(cost_of(base, "service-worker-asg"))
    kind = platform_config("dev", with_paths("dev", VM)).services["api"].vm.instance_type
    more = 2 * HOURS * unit(f"ec2.instance.{kind}") + 2 * 20 * unit("ebs.gp3.storage")
    larger = expected_group("dev", changed, "context") - expected_group("dev", VM, "context")
    assert more > 0 and larger > 0
    assert report.total - base.total == pytest.approx(more + larger)


def test_an_instance_type_without_a_catalogue_price_is_reported_unpriced_not_zero():
    paths = {**VM, "services.api.vm.instanceType": "x2idn.metal"}
    report = report_of("dev", paths)
    (item,) = [u for u in report.unpriced if u.resource == "service-api-asg"]
    assert "ec2.instance.x2idn.metal" in item.reason
    assert cost_of(report, "service-api-asg") == pytest.approx(
        20 * unit("ebs.gp3.storage") + agent_metrics(plan("dev", paths), "api") * unit("cloudwatch.metric.custom"))


@pytest.mark.parametrize("stack, paths", [("dev", VM), ("dev", {"runtime": "eks"}), ("prod", {})])
def test_launch_templates_are_never_priced_themselves(stack, paths):
    report = report_of(stack, paths)
    for template in plan(stack, paths).of_type(LAUNCH_TEMPLATE):
        assert report.of_resource(template.name) == []


def test_eks_node_groups_keep_their_launch_template_pricing():
    group = platform_config("prod").cluster.node_groups["general"]
    expected = (group.desired_size * HOURS * unit(f"ec2.instance.{group.instance_types[0]}")
                + group.desired_size * group.disk_size_gib * unit("ebs.gp3.storage"))
    assert cost_of(report_of("prod", {}), "cluster-general") == pytest.approx(expected)
    assert plan("prod").of_type(ASG) == []


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
@pytest.mark.parametrize("instance_type", ["t3.small", "t3.medium", "t3.large", "t4g.small", "t4g.medium",
                                           "t4g.large", "m7i.large"])
def test_the_catalogue_prices_the_vm_instance_types_in_both_regions(region, instance_type):
    price = CATALOGUE.price(region, f"ec2.instance.{instance_type}")
    assert price is not None and price.usd > 0 and price.unit == "instance-hour"
    assert price.source == "https://aws.amazon.com/ec2/pricing/on-demand/"


def test_the_comparison_reports_dev_on_vm_next_to_dev_on_eks(capsys, monkeypatch):
    monkeypatch.setattr(compare_cli, "_run", lambda stack, paths: plan(stack, paths))
    assert compare_cli.main(["dev"]) == 0
    out = capsys.readouterr().out
    for runtime in ("eks", "vm"):
        total = report_of("dev", {"runtime": runtime}).total
        assert f"runtime {runtime:<3}  ${total:>10,.2f}" in out


def test_a_runtime_the_config_refuses_is_shown_with_its_reason():
    (eks, vm) = compare_cli.compare("prod", plan_of=lambda stack, paths: plan(stack, paths))
    assert eks.report is not None and eks.refused is None
    assert vm.report is None and "prod runs on EKS" in (vm.refused or "")
    assert "not available" in compare_cli.render("prod", [eks, vm])
