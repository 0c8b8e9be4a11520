"""runtime: vm: agent services on EC2 Auto Scaling groups, no Kubernetes, same security posture."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.harness import DEDICATED_VM, config_error, dedicated_vm_policy_config, plan, review

VM = DEDICATED_VM
AMI_ID = re.compile(r"^ami-[0-9a-f]{17}$")


def _vm():
    return plan("dev", VM)


def _templates():
    return {r.name: r for r in _vm().of_type("aws:ec2/launchTemplate:LaunchTemplate")}


def _user_data(service: str) -> str:
    template = _templates()[f"service-{service}-template"]
    return base64.b64decode(template.props["userData"]).decode()


def test_dev_on_vm_has_no_eks_or_kubernetes_resources():
    types = {r.type for r in _vm().resources}
    assert not [t for t in types if t.startswith(("aws:eks/", "kubernetes:"))]
    assert "agent-platform:cluster:Cluster" not in types
    assert len(_vm().of_type("agent-platform:services:VmAgentService")) == 3


def test_dev_on_vm_has_no_mandatory_violations():
    result = review(_vm(), dedicated_vm_policy_config())
    mandatory = [v for v in result.violations if v.enforcement == "mandatory"]
    assert mandatory == []


@pytest.mark.parametrize("service", ["api", "context", "worker"])
def test_launch_template_is_hardened(service):
    props = _templates()[f"service-{service}-template"].props
    assert AMI_ID.match(props["imageId"])  # resolved at deploy time (test_instance_images.py)
    assert props["metadataOptions"]["httpTokens"] == "required"
    assert props["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert "keyName" not in props
    ebs = props["blockDeviceMappings"][0]["ebs"]
    assert (ebs["encrypted"], ebs["volumeType"]) == ("true", "gp3") and ebs["kmsKeyId"]
    assert props["networkInterfaces"][0]["associatePublicIpAddress"] == "false"
    assert props["iamInstanceProfile"]["arn"]


@pytest.mark.parametrize("service", ["api", "context", "worker"])
def test_user_data_pulls_by_digest_and_holds_no_secret(service):
    text = _user_data(service)
    assert "mock-secret-value" not in text
    image_line = next(line for line in text.splitlines() if line.startswith("docker pull "))
    assert "@sha256:" in image_line
    for flag in ("--read-only", "--cap-drop ALL", "--security-opt no-new-privileges", "--user 10001:10001",
                 "--memory 512m", "--tmpfs /tmp", "TimeoutStopSec=120", "aws secretsmanager get-secret-value"):
        assert flag in text


def test_worker_publishes_its_queue_depth():
    text = _user_data("worker")
    assert "LLEN" in text and "put-metric-data" in text and "REDISCLI_AUTH" in text
    assert "LLEN" not in _user_data("api")


def _role_statements(service: str) -> list[dict]:
    policies = [r for r in _vm().of_type("aws:iam/rolePolicy:RolePolicy")
                if r.name.startswith(f"service-{service}-role-")]
    return [s for p in policies for s in json.loads(p.props["policy"])["Statement"]]


@pytest.mark.parametrize("service", ["api", "worker"])
def test_instance_role_is_scoped(service):
    for stmt in _role_statements(service):
        actions = stmt["Action"]
        assert not any(a.endswith("*") for a in actions)
        if stmt["Resource"] == "*":
            assert stmt["Sid"] in {"EcrLogin", "PublishOwnMetrics"}
    sids = {s["Sid"] for s in _role_statements(service)}
    assert {"PullOwnImage", "WriteOwnLogs", "ReadOwnSecrets", "ReadWriteOwnPrefix"} <= sids


def test_only_api_services_get_target_groups_and_routes():
    vm = _vm()
    groups = {r.name for r in vm.of_type("aws:lb/targetGroup:TargetGroup")}
    assert groups == {"service-api-targets", "service-context-targets"}
    rules = {r.name for r in vm.of_type("aws:lb/listenerRule:ListenerRule")}
    assert rules == {"edge-route-api", "edge-route-context"}
    asgs = {r.name: r.props for r in vm.of_type("aws:autoscaling/group:Group")}
    assert asgs["service-api-asg"]["healthCheckType"] == "ELB"
    assert asgs["service-api-asg"]["targetGroupArns"]
    assert not asgs["service-worker-asg"].get("targetGroupArns")
    assert asgs["service-api-asg"]["instanceRefresh"]["strategy"] == "Rolling"


def test_listener_adds_security_headers():
    https = _vm().one("aws:lb/listener:Listener", "edge-https").props
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"].startswith("max-age=")
    assert https["routingHttpResponseXFrameOptionsHeaderValue"] == "DENY"


def test_scaling_policy_per_kind():
    policies = {r.name: r.props for r in _vm().of_type("aws:autoscaling/policy:Policy")}
    api = policies["service-api-scaling"]["targetTrackingConfiguration"]
    assert api["predefinedMetricSpecification"]["predefinedMetricType"] == "ASGAverageCPUUtilization"
    worker = policies["service-worker-scaling"]["targetTrackingConfiguration"]
    assert worker["targetValue"] == 100
    assert worker["customizedMetricSpecification"]["metrics"][0]["metricStat"]["metric"]["metricName"] == "QueueDepth"


def test_data_stores_admit_the_vm_workloads():
    vm = _vm()
    workloads = vm.one("aws:ec2/securityGroup:SecurityGroup", "vm-runtime-workloads")
    assert workloads is not None
    admits = [r for r in vm.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
              if r.name.startswith("data-") and r.props.get("referencedSecurityGroupId")]
    assert admits


def test_prod_may_not_run_on_vm():
    assert "runtime" in str(config_error("prod", VM))


def test_staging_and_prod_stay_on_eks():
    for stack in ("staging", "prod"):
        types = {r.type for r in plan(stack).resources}
        assert "aws:eks/cluster:Cluster" in types
        assert "agent-platform:services:VmAgentService" not in types


def test_dev_on_eks_still_plans():
    types = {r.type for r in plan("dev", {"runtime": "eks"}).resources}
    assert "aws:eks/cluster:Cluster" in types and "agent-platform:services:AgentService" in types
