"""CloudWatch alarms for runtime: vm: every service's Auto Scaling group and every api service's target group."""

from __future__ import annotations

from planning.model import Plan, PlannedResource
from tests.harness import DEDICATED_VM, dedicated_vm_policy_config, eks_plan, plan, review

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ASG = "aws:autoscaling/group:Group"


def alarms(p: Plan) -> dict[str, PlannedResource]:
    return {r.props["name"].removeprefix("agent-platform-dev-"): r for r in p.of_type(ALARM)
            if "ObservabilityStack" in r.urn}


def test_every_vm_service_alarms_when_fewer_instances_are_in_service_than_its_minimum():
    p = plan("dev", DEDICATED_VM)
    found = alarms(p)
    for service in ("api", "context", "worker"):
        alarm = found[f"vm-{service}-in-service"].props
        assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == (
            "AWS/AutoScaling", "GroupInServiceInstances", "Minimum")
        assert alarm["comparisonOperator"] == "LessThanThreshold"
        assert alarm["threshold"] == p.one(ASG, f"service-{service}-asg").props["minSize"] == 1
        assert alarm["dimensions"]["AutoScalingGroupName"].startswith(f"service-{service}-asg")
        assert alarm["treatMissingData"] == "breaching"
        assert alarm["alarmActions"] == alarm["okActions"] == found["rds-cpu"].props["alarmActions"]  # the topic


def test_the_minimum_comes_from_the_services_vm_sizing():
    p = plan("dev", {**DEDICATED_VM, "services.api.vm": {"minSize": 2, "desiredSize": 2, "maxSize": 3}})
    assert alarms(p)["vm-api-in-service"].props["threshold"] == 2


def test_every_api_service_has_its_own_unhealthy_hosts_alarm_and_workers_none():
    p = plan("dev", DEDICATED_VM)
    found = alarms(p)
    suffixes = {}
    for service in ("api", "context"):
        alarm = found[f"vm-{service}-unhealthy-hosts"].props
        assert (alarm["namespace"], alarm["metricName"]) == ("AWS/ApplicationELB", "UnHealthyHostCount")
        assert alarm["comparisonOperator"] == "GreaterThanThreshold" and alarm["threshold"] == 0
        assert alarm["dimensions"]["LoadBalancer"].startswith("app/edge-alb-")
        suffixes[service] = alarm["dimensions"]["TargetGroup"]
        assert suffixes[service].startswith(f"targetgroup/service-{service}-targets-")
    assert suffixes["api"] != suffixes["context"]
    assert "vm-worker-unhealthy-hosts" not in found
    assert "alb-unhealthy-hosts" not in found, "the per-service alarms replace the single target group one"
    assert {"alb-5xx-rate", "alb-target-p95"} <= set(found)


def test_thresholds_come_from_config():
    p = plan("dev", {**DEDICATED_VM, "observability.awsAlarms.albUnhealthyHosts": 1})
    assert alarms(p)["vm-context-unhealthy-hosts"].props["threshold"] == 1


def test_the_eks_runtime_has_no_vm_alarms():
    found = alarms(eks_plan("dev"))
    assert not [n for n in found if n.startswith("vm-")] and "alb-unhealthy-hosts" not in found
    # On EKS each routed service's own target group is alarmed on instead (edge-<service>-*).
    assert {"edge-api-unhealthy-hosts", "edge-context-unhealthy-hosts"} <= set(found)


def test_the_vm_alarms_pass_the_policy_pack():
    p = plan("dev", DEDICATED_VM)
    names = {r.name for r in p.of_type(ALARM) if "-alarm-vm-" in r.name}
    assert len(names) == 5
    result = review(p, dedicated_vm_policy_config())
    assert [v for v in result.violations if v.resource_name in names] == []
