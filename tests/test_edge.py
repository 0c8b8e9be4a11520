"""Edge in the planned stacks: one hardened ALB per environment, WAF, DNS-validated TLS and, on EKS, one `ip`
target group per api service kept in sync by the AWS Load Balancer Controller (TargetGroupBinding). What
ingress-nginx did (headers, timeouts, rate limits, health route, streaming) is asserted where it lives now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from planning import mock_outputs
from planning.model import Plan, PlannedResource
from tests.conftest import STACKS
from tests.harness import DEDICATED_VM, config_error, dedicated_vm_policy_config, eks_plan, plan, review, tags_of

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CERT = "aws:acm/certificate:Certificate"
CERT_VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
CONTROLLER = "edge-lb-controller-release"
EDGE_POLICIES = ("alb-https-only", "alb-tls-policy-allowed", "alb-access-logs-enabled", "alb-drop-invalid-headers",
                 "alb-deletion-protection", "alb-waf-associated", "waf-rate-based-rule", "waf-managed-rule-groups",
                 "waf-logging-enabled", "acm-certificate-dns-validation", "alb-security-headers",
                 "target-group-binding-ip", "alb-ip-target-groups-bound", "helm-chart-not-retired")

DOMAINS = {"dev": "dev.agents.example.com", "staging": "staging.agents.example.com", "prod": "agents.example.com",
           "prod-dr": "agents.example.com"}  # the DR stack takes over prod's names


def image(name: str) -> str:
    return f"registry.example.com/agents/{name}@sha256:{'c' * 64}"


def services(stack: str, **changes: dict[str, Any]) -> dict[str, Any]:
    """Two api services sharing the ALB (one by host, one by path under the domain) and a worker."""
    svcs: dict[str, Any] = {
        "chat": {"kind": "api", "image": image("chat")},
        "docs": {"kind": "api", "image": image("docs"), "port": 8080,
                 "ingress": {"host": DOMAINS[stack], "path": "/docs", "maxBodySize": "100m",
                             "rateLimit": {"requests": 60, "per": "minute", "burst": 120, "connections": 10}}},
        "indexer": {"kind": "worker", "image": image("indexer"), "queue": {"listName": "jobs"},
                    "secrets": ["redis"]},
    }
    for name, change in changes.items():
        svcs[name] = {**svcs[name], **change}
    return svcs


def edge_plan(stack: str, overrides: dict[str, Any] | None = None, **changes: dict[str, Any]) -> Plan:
    """The EKS edge (ip target groups bound to Services); the VM runtime's routing is tested in test_vm_runtime."""
    return eks_plan(stack, {"services": services(stack, **changes), **(overrides or {})})


CERTIFICATE_ARN = "arn:aws:acm:us-east-1:111122223333:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
# Every edge setting prod leaves at its default, changed at once, and chat's probes and drain: the settings are
# independent, so one plan serves each test of a setting's effect (each asserts only its own) instead of one each.
TUNED_EDGE: dict[str, Any] = {
    "edge.tlsPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "edge.hostedZoneId": "Z0123456789ABC", "edge.certificateArn": CERTIFICATE_ARN,
    "edge.waf": {"rateLimit": 900, "rateLimitWindowSeconds": 60, "apiKeyHeader": "x-api-key",
                 "apiKeyRateLimit": 3000, "logAllowedRequests": True},
    "edge.headers": {"frameOptions": "SAMEORIGIN", "hstsPreload": False, "hstsIncludeSubdomains": False,
                     "hstsMaxAgeSeconds": 86400, "contentSecurityPolicy": "default-src 'none'"},
    "edge.idleTimeoutSeconds": 900,
    "edge.proxy": {"readTimeoutSeconds": 900, "rateLimit": {"requests": 5, "per": "second", "burst": 15}},
}
TUNED_CHAT: dict[str, Any] = {"probes": {"readinessPath": "/ready/full", "livenessPath": "/healthz"},
                              "terminationGracePeriodSeconds": 400, "preStopDelaySeconds": 20}


def tuned_plan() -> Plan:
    return edge_plan("prod", TUNED_EDGE, chat=TUNED_CHAT)


def edge_children(p: Plan) -> list[PlannedResource]:
    return [r for r in p if p.component_label(r) == "edge" and r.type != "agent-platform:edge:EdgeProxy"]


def values(p: Plan) -> dict[str, Any]:
    return p.one(RELEASE, CONTROLLER).props["values"]


def rule_for(p: Plan, service: str, health: bool = False) -> dict[str, Any]:
    return p.one(LISTENER_RULE, f"edge-route-{service}{'-health' if health else ''}").props


def condition_values(rule: dict[str, Any], kind: str) -> list[str]:
    (found,) = [c for c in rule["conditions"] if kind in c]
    return found[kind]["values"]


# --- the whole edge, reviewed ----------------------------------------------------------------------------------------


def test_prod_plans_the_whole_edge():
    p = edge_plan("prod")
    counts: dict[str, int] = {}
    for res in edge_children(p):
        counts[res.type] = counts.get(res.type, 0) + 1
    assert counts[LB] == 1 and counts[LISTENER] == 2 and counts[CERT] == 1 and counts[CERT_VALIDATION] == 1
    assert counts[TARGET_GROUP] == 2 and counts[BINDING] == 2, "one ip target group and binding per api service"
    assert counts[LISTENER_RULE] == 4, "one routed and one health rule per api service"
    assert counts[WEB_ACL] == 1 and counts[WAF_ASSOCIATION] == 1 and counts[WAF_LOGGING] == 1
    assert counts[RELEASE] == 1, "the load balancer controller"
    # By chart name: kube-prometheus-stack's webhook patch job runs registry.k8s.io/ingress-nginx/kube-webhook-certgen.
    assert p.of_type(INGRESS) == [] and not any(
        "ingress-nginx" in str(r.props["chart"]) for r in p.of_type(RELEASE)), "no ingress-nginx on the EKS path"
    assert p.outputs["serviceUrls"] == {"chat": "https://chat.agents.example.com",
                                        "docs": "https://agents.example.com/docs"}
    assert p.outputs["loadBalancerDnsName"].endswith(".elb.amazonaws.com")


@pytest.mark.parametrize("stack", STACKS)
def test_edge_has_no_mandatory_policy_violation(stack):
    for preview in (False, True):
        # dev's EKS edge plans are public (eks_plan): judged with the settings a public dev stack would generate;
        # the other stacks by their own policy config file (None), as the pack's stack-wide tests review them.
        config = dedicated_vm_policy_config() if stack == "dev" else None
        result = review(edge_plan(stack) if not preview else _preview(stack), config)
        ours = [v for v in result.mandatory if v.component == "edge" or v.policy in EDGE_POLICIES]
        assert ours == [], [(v.policy, v.resource_name, v.message) for v in ours]
        assert {p for p in EDGE_POLICIES} <= {m.name for m in result.policies}


def _preview(stack: str) -> Plan:
    """The stack's own services, in preview: what is unknown there (ARNs, DNS names) does not depend on which
    services are routed, and the routing settings are known values the plans above test. staging, prod and prod-dr
    share this plan with the pack's preview tests (tests/policies/test_policies_program.py)."""
    return eks_plan(stack, preview=True)


def test_every_taggable_edge_resource_is_tagged_as_edge():
    untaggable = {RECORD, CERT_VALIDATION, WAF_ASSOCIATION, WAF_LOGGING, ROLE_POLICY}
    for res in edge_children(edge_plan("prod")):
        if res.type.startswith("aws:") and res.type not in untaggable:
            assert tags_of(res).get("component") == "edge", res.name


# --- one ALB per environment -------------------------------------------------------------------------------------


def test_dev_serves_every_api_service_from_one_load_balancer():
    p = edge_plan("dev")
    assert len(p.of_type(LB)) == 1 and len(p.of_type(TARGET_GROUP)) == 2
    hosts = {condition_values(rule_for(p, svc), "hostHeader")[0] for svc in ("chat", "docs")}
    assert hosts == {"chat.dev.agents.example.com", "dev.agents.example.com"}
    aliases = [r for r in p.of_type(RECORD) if r.props.get("aliases")]
    assert sorted(r.props["name"] for r in aliases) == ["chat.dev.agents.example.com", "dev.agents.example.com"]
    assert {r.props["type"] for r in aliases} == {"A"}, "the created VPC is IPv4-only, so no AAAA records"
    assert {r.props["aliases"][0]["name"] for r in aliases} == {p.outputs["loadBalancerDnsName"]}


def test_load_balancer_posture():
    p = edge_plan("prod")
    lb = p.one(LB).props
    assert lb["internal"] is False and lb["dropInvalidHeaderFields"] is True and lb["idleTimeout"] == 300
    assert lb["enableDeletionProtection"] is True and lb["enableWafFailOpen"] is False
    assert lb["xffHeaderProcessingMode"] == "append", "services read the client address the ALB appends"
    assert lb["enableHttp2"] is True
    assert lb["accessLogs"] == {"bucket": p.outputs["logsBucketName"], "prefix": "alb", "enabled": True}
    public = {r.name + "-id" for r in p.of_type("aws:ec2/subnet:Subnet") if "public" in r.name}
    assert set(lb["subnets"]) == public
    # A configured idle timeout: test_long_llm_calls_and_streams_are_bounded_by_the_load_balancers_idle_timeout.
    assert edge_plan("dev").one(LB).props["enableDeletionProtection"] is False


def test_http_only_redirects_and_https_uses_the_configured_tls_policy():
    p = edge_plan("prod")
    http, https = p.one(LISTENER, "edge-http").props, p.one(LISTENER, "edge-https").props
    assert http["port"] == 80 and http["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    assert https["port"] == 443 and https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["defaultActions"][0]["fixedResponse"]["statusCode"] == "404", "unknown hosts never reach a pod"
    changed = tuned_plan()
    assert changed.one(LISTENER, "edge-https").props["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"


def test_only_the_load_balancer_group_is_open_to_the_internet_and_pods_admit_only_it():
    p = edge_plan("prod")
    sg = p.one(SG, "edge-alb-sg")
    assert tags_of(sg)["agent-platform/role"] == "load-balancer" and tags_of(sg)["component"] == "edge"
    public = [r.props for r in p.of_type(INGRESS_RULE)
              if r.props.get("cidrIpv4") == "0.0.0.0/0" or r.props.get("cidrIpv6") == "::/0"]
    assert sorted((r["fromPort"], r.get("cidrIpv4") or r.get("cidrIpv6")) for r in public) == [
        (80, "0.0.0.0/0"), (80, "::/0"), (443, "0.0.0.0/0"), (443, "::/0")]
    assert {r["securityGroupId"] for r in public} == {"edge-alb-sg-id"}
    egress = sorted((r.props["cidrIpv4"], r.props["fromPort"], r.props["toPort"]) for r in p.of_type(EGRESS_RULE)
                    if r.props["securityGroupId"] == "edge-alb-sg-id")
    assert egress == [("10.30.0.0/16", 8000, 8000), ("10.30.0.0/16", 8080, 8080)], "only the services' ports"
    eks = p.one("aws:eks/cluster:Cluster")
    for port in (8000, 8080):
        pods = p.one(INGRESS_RULE, f"edge-pods-from-alb-{port}")
        assert pods.props["referencedSecurityGroupId"] == "edge-alb-sg-id" and "cidrIpv4" not in pods.props
        assert (pods.props["fromPort"], pods.props["toPort"]) == (port, port)
        assert pods.property_dependencies["securityGroupId"] == (eks.urn,), "the cluster's workload security group"
    assert not any(r.props.get("fromPort") == 30080 for r in p.of_type(INGRESS_RULE)), "no nodePort any more"


def test_each_api_service_has_an_ip_target_group_checked_on_its_readiness_path():
    p = tuned_plan()  # chat: readinessPath /ready/full, grace 400 s, preStop 20 s
    chat, docs = p.one(TARGET_GROUP, "edge-chat-targets").props, p.one(TARGET_GROUP, "edge-docs-targets").props
    assert (chat["targetType"], chat["protocol"], chat["port"], chat["ipAddressType"]) == ("ip", "HTTP", 8000, "ipv4")
    assert (docs["targetType"], docs["port"]) == ("ip", 8080)
    assert chat["healthCheck"]["path"] == "/ready/full" and docs["healthCheck"]["path"] == "/ready"
    assert chat["healthCheck"]["port"] == "traffic-port" and chat["healthCheck"]["matcher"] == "200"
    assert chat["deregistrationDelay"] == 380, "drains while the terminating pod still serves (grace - preStop)"
    assert p.of_type("aws:autoscaling/attachment:Attachment") == [], "no node targets"


def test_a_target_group_binding_per_service_ties_its_service_to_its_target_group():
    p = edge_plan("prod")
    release = p.one(RELEASE, CONTROLLER)
    services_ns = [r for r in p.of_type(NAMESPACE) if r.props["metadata"]["name"] == "agents"]
    for svc, port in (("chat", 8000), ("docs", 8080)):
        binding = p.one(BINDING, f"edge-{svc}-binding")
        spec = binding.props["spec"]
        assert binding.props["metadata"] == {**binding.props["metadata"], "name": svc, "namespace": "agents"}
        assert spec["serviceRef"] == {"name": svc, "port": port}
        assert spec["targetType"] == "ip" and spec["ipAddressType"] == "ipv4"
        assert spec["targetGroupARN"].startswith("arn:aws:elasticloadbalancing:")
        assert p.one(TARGET_GROUP, f"edge-{svc}-targets").urn in binding.dependencies
        assert "networking" not in spec, "security-group rules are Pulumi's, the controller edits none"
        assert release.urn in binding.dependencies, "after the chart's CRDs and webhook"
        assert services_ns[0].urn in binding.dependencies


def test_agents_namespace_gets_readiness_gates_and_pods_admit_the_load_balancer_subnets():
    p = edge_plan("prod")
    (ns,) = [r for r in p.of_type(NAMESPACE) if r.props["metadata"]["name"] == "agents"]
    assert ns.props["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    public = sorted(r.props["cidrBlock"] for r in p.of_type("aws:ec2/subnet:Subnet") if "public" in r.name)
    chat = p.one(NETWORK_POLICY, "service-chat-network-policy").props["spec"]["ingress"]
    assert sorted(peer["ipBlock"]["cidr"] for peer in chat[0]["from"]) == public
    assert chat[0]["ports"] == [{"protocol": "TCP", "port": 8000}]
    worker = p.one(NETWORK_POLICY, "service-indexer-network-policy").props["spec"]["ingress"]
    assert not any("ipBlock" in peer for rule in worker for peer in rule.get("from", [])), "workers are not routed"


# --- certificates and DNS ----------------------------------------------------------------------------------------


def test_certificate_is_dns_validated_in_the_zone_and_used_once_issued():
    p = edge_plan("prod")
    cert = p.one(CERT).props
    assert cert["validationMethod"] == "DNS"
    assert [cert["domainName"], *cert["subjectAlternativeNames"]] == ["agents.example.com", "*.agents.example.com"]
    (validation_record,) = [r.props for r in p.of_type(RECORD) if r.props["type"] == "CNAME"]
    assert validation_record["records"][0].endswith(".acm-validations.aws.")
    zone = mock_outputs.INVOKES["aws:route53/getZone:getZone"]({"name": "example.com"}, "us-east-1")["zoneId"]
    assert {r.props["zoneId"] for r in p.of_type(RECORD)} == {zone}, "hostedZoneName example.com is looked up"
    validation = p.one(CERT_VALIDATION)
    https = p.one(LISTENER, "edge-https")
    assert validation.urn in https.dependencies, "the listener waits for ACM to issue the certificate"


def test_zone_id_skips_the_lookup_and_an_existing_certificate_skips_issuing():
    p = tuned_plan()
    assert p.of_type(CERT) == [] and p.of_type(CERT_VALIDATION) == []
    assert p.one(LISTENER, "edge-https").props["certificateArn"] == CERTIFICATE_ARN
    assert {r.props["zoneId"] for r in p.of_type(RECORD)} == {"Z0123456789ABC"}


# --- WAF ---------------------------------------------------------------------------------------------------------


def _rules(p: Plan) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in p.one(WEB_ACL).props["rules"]}


def test_waf_runs_managed_rules_and_a_per_ip_limit_that_spares_health_checks():
    p = edge_plan("prod")
    acl = p.one(WEB_ACL).props
    assert acl["scope"] == "REGIONAL" and acl["defaultAction"] == {"allow": {}}
    rules = _rules(p)
    for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                  "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesAmazonIpReputationList"):
        assert rules[group]["overrideAction"] == {"none": {}}
    common = rules["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]
    assert common["ruleActionOverrides"] == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    per_ip = rules["rate-per-ip"]
    assert per_ip["action"]["block"]["customResponse"]["responseCode"] == 429
    statement = per_ip["statement"]["rateBasedStatement"]
    assert (statement["limit"], statement["aggregateKeyType"], statement["evaluationWindowSec"]) == (2000, "IP", 300)
    exempt = statement["scopeDownStatement"]["notStatement"]["statement"]["orStatement"]["statements"]
    assert sorted(s["byteMatchStatement"]["searchString"] for s in exempt) == ["/docs/health", "/health"]
    assert all(s["byteMatchStatement"]["positionalConstraint"] == "EXACTLY" for s in exempt)
    association = p.one(WAF_ASSOCIATION)
    assert p.one(LB).urn in association.dependencies and p.one(WEB_ACL).urn in association.dependencies


def test_waf_limits_come_from_config_and_per_credential_limit_is_optional():
    prod = _rules(tuned_plan())
    assert prod["rate-per-ip"]["statement"]["rateBasedStatement"]["limit"] == 900
    per_key = prod["rate-per-api-key"]["statement"]["rateBasedStatement"]
    assert per_key["aggregateKeyType"] == "CUSTOM_KEYS" and per_key["limit"] == 3000
    assert per_key["customKeys"][0]["header"]["name"] == "x-api-key" and per_key["evaluationWindowSec"] == 60
    assert "rate-per-api-key" not in _rules(edge_plan("dev"))
    assert _rules(edge_plan("prod"))["rate-per-api-key"]["statement"]["rateBasedStatement"]["customKeys"][0][
        "header"]["name"] == "authorization"


def test_waf_logs_are_encrypted_bounded_and_redacted():
    p = edge_plan("prod")
    group = p.one(LOG_GROUP, "edge-waf-logs").props
    assert group["name"] == "aws-waf-logs-agent-platform-prod" and group["retentionInDays"] == 365
    assert group["kmsKeyId"].startswith("arn:aws:kms:")
    logging = p.one(WAF_LOGGING).props
    assert logging["logDestinationConfigs"] == [f"arn:aws:logs:us-east-1:123456789012:log-group:{group['name']}"]
    assert [f["singleHeader"]["name"] for f in logging["redactedFields"]] == ["authorization", "cookie", "x-api-key"]
    assert logging["loggingFilter"]["defaultBehavior"] == "DROP"
    everything = tuned_plan().one(WAF_LOGGING).props
    assert "loggingFilter" not in everything


# --- the load balancer controller -------------------------------------------------------------------------------


def test_controller_is_the_pinned_eks_chart_in_a_restricted_namespace_with_two_replicas_and_a_pdb():
    p = edge_plan("prod")
    release = p.one(RELEASE, CONTROLLER)
    props = release.props
    # Published in https://aws.github.io/eks-charts/index.yaml (created 2026-08-03).
    assert (props["chart"], props["version"]) == ("aws-load-balancer-controller", "3.5.0")
    assert props["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    assert props["namespace"] == "aws-load-balancer-controller"
    (ns,) = [r for r in p.of_type(NAMESPACE) if r.props["metadata"]["name"] == "aws-load-balancer-controller"]
    assert ns.props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ns.urn in release.dependencies
    v = values(p)
    assert v["replicaCount"] == 2 and v["podDisruptionBudget"] == {"maxUnavailable": 1}
    assert v["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert v["securityContext"]["allowPrivilegeEscalation"] is False
    assert v["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert v["podSecurityContext"]["runAsNonRoot"] is True and v["resources"]["limits"]["memory"]
    assert v["clusterName"] == p.outputs["clusterName"] and v["region"] == "us-east-1"
    assert v["vpcId"] == p.outputs["vpcId"], "no instance metadata lookup from the pods"
    assert v["enablePodReadinessGateInject"] is True


# values.yaml of aws/eks-charts stable/aws-load-balancer-controller at 5239609 (chart 3.5.0), copied unchanged.
CHART_VALUES = Path(__file__).parent / "golden" / "charts" / "aws-load-balancer-controller-3.5.0.values.yaml"
# Keys the chart leaves open (free-form maps of labels, feature gates, Kubernetes objects).
OPEN_MAPS = {"featureGates", "annotations", "podSecurityContext", "securityContext", "resources", "requests",
             "limits", "podDisruptionBudget"}


def _unknown_keys(ours: Any, chart: Any, path: str = "") -> list[str]:
    if not isinstance(ours, dict) or not isinstance(chart, dict):
        return []
    missing = []
    for key, value in ours.items():
        if key not in chart:
            missing.append(f"{path}{key}")
        elif key not in OPEN_MAPS:
            missing += _unknown_keys(value, chart[key], f"{path}{key}.")
    return missing


def test_every_value_the_program_sets_is_a_key_of_the_pinned_chart():
    import yaml

    chart = yaml.safe_load(CHART_VALUES.read_text())
    assert chart["image"]["tag"] == "v3.5.0"
    assert _unknown_keys(values(edge_plan("prod")), chart) == []
    assert _unknown_keys({"serviceAccount": {"nmae": "x"}}, chart) == ["serviceAccount.nmae"]


def test_controller_builds_no_load_balancers_of_its_own():
    v = values(edge_plan("prod"))
    assert v["createIngressClassResource"] is False and v["ingressClassParams"] == {"create": False}
    assert v["enableServiceMutatorWebhook"] is False
    assert (v["enableShield"], v["enableWaf"], v["enableWafv2"]) == (False, False, False)
    assert v["controllerConfig"]["featureGates"] == {"EnableServiceController": False}


def test_dev_on_eks_runs_one_controller_and_no_pdb_and_protected_stacks_need_two():
    v = values(edge_plan("dev"))
    assert v["replicaCount"] == 1 and v["podDisruptionBudget"] == {}
    err = config_error("prod", {"edge.controller": {"replicas": 1}})
    assert "edge.controller.replicas" in err.paths


def _policy(p: Plan) -> dict[str, Any]:
    import json

    return json.loads(p.one(ROLE_POLICY, "edge-lb-controller-role-policy").props["policy"])


def test_controller_role_is_irsa_for_its_service_account_and_may_only_register_targets_in_our_groups():
    p = edge_plan("prod")
    import json

    trust = json.loads(p.one(ROLE, "edge-lb-controller-role").props["assumeRolePolicy"])
    (stmt,) = trust["Statement"]
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    subjects = [v for k, v in stmt["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:aws-load-balancer-controller:aws-load-balancer-controller"]
    assert values(p)["serviceAccount"]["name"] == "aws-load-balancer-controller"
    statements = {s["Sid"]: s for s in _policy(p)["Statement"]}
    assert set(statements) == {"DescribeOnly", "EdgeTargetGroupsOnly"}
    assert all(a.split(":")[1].startswith("Describe") for a in statements["DescribeOnly"]["Action"])
    writes = statements["EdgeTargetGroupsOnly"]
    assert sorted(writes["Action"]) == ["elasticloadbalancing:DeregisterTargets",
                                        "elasticloadbalancing:RegisterTargets"]
    groups = [p.one(TARGET_GROUP, f"edge-{s}-targets") for s in ("chat", "docs")]
    assert len(writes["Resource"]) == 2 and all(r.startswith("arn:aws:elasticloadbalancing:")
                                                 for r in writes["Resource"])
    role_policy = p.one(ROLE_POLICY, "edge-lb-controller-role-policy")
    assert all(g.urn in role_policy.dependencies for g in groups), "scoped to the program's target groups"
    every = {a for s in statements.values() for a in s["Action"]}
    for forbidden in ("elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup",
                      "elasticloadbalancing:CreateRule", "ec2:AuthorizeSecurityGroupIngress", "wafv2:AssociateWebACL"):
        assert forbidden not in every


def test_controller_namespace_admits_only_its_webhook_health_and_metrics_ports():
    p = edge_plan("prod")
    deny = p.one(NETWORK_POLICY, "edge-lb-controller-default-deny").props
    assert deny["metadata"]["namespace"] == "aws-load-balancer-controller"
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    ports = p.one(NETWORK_POLICY, "edge-lb-controller-controller-ports").props["spec"]["ingress"]
    assert ports[0]["ports"] == [{"protocol": "TCP", "port": 9443}, {"protocol": "TCP", "port": 61779}]
    assert ports[1]["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert ports[1]["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}


# --- nginx's behaviour, where it lives now ---------------------------------------------------------------------


def test_security_headers_are_listener_attributes_of_the_https_listener():
    https = edge_plan("prod").one(LISTENER, "edge-https").props
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"] == (
        "max-age=31536000; includeSubDomains; preload")
    assert https["routingHttpResponseXFrameOptionsHeaderValue"] == "DENY"
    assert https["routingHttpResponseXContentTypeOptionsHeaderValue"] == "nosniff"
    assert https["routingHttpResponseContentSecurityPolicyHeaderValue"].startswith("default-src 'self'")
    assert https["routingHttpResponseServerEnabled"] is False, "server-tokens off"
    https = tuned_plan().one(LISTENER, "edge-https").props
    assert https["routingHttpResponseStrictTransportSecurityHeaderValue"] == "max-age=86400"
    assert https["routingHttpResponseXFrameOptionsHeaderValue"] == "SAMEORIGIN"
    assert https["routingHttpResponseContentSecurityPolicyHeaderValue"] == "default-src 'none'"


def test_long_llm_calls_and_streams_are_bounded_by_the_load_balancers_idle_timeout():
    p = tuned_plan()  # idleTimeoutSeconds and proxy.readTimeoutSeconds 900
    assert p.one(LB).props["idleTimeout"] == 900
    assert edge_plan("prod").one(LB).props["idleTimeout"] == 300, "the seeds' proxy_read_timeout 300s"
    err = config_error("prod", {"edge.proxy": {"readTimeoutSeconds": 301}})
    assert "edge" in " ".join(err.paths)


def test_each_route_is_a_host_and_path_rule_and_its_health_path_an_exact_rule_evaluated_first():
    p = tuned_plan()  # chat's livenessPath /healthz
    tgs = {s: p.one(TARGET_GROUP, f"edge-{s}-targets") for s in ("chat", "docs")}
    chat, docs = rule_for(p, "chat"), rule_for(p, "docs")
    assert condition_values(chat, "hostHeader") == ["chat.agents.example.com"]
    assert condition_values(chat, "pathPattern") == ["/*"]
    assert condition_values(docs, "hostHeader") == ["agents.example.com"]
    assert condition_values(docs, "pathPattern") == ["/docs", "/docs/*"]
    chat_health, docs_health = rule_for(p, "chat", health=True), rule_for(p, "docs", health=True)
    assert condition_values(chat_health, "pathPattern") == ["/healthz"]
    assert condition_values(docs_health, "pathPattern") == ["/docs/health"]
    assert max(chat_health["priority"], docs_health["priority"]) < min(chat["priority"], docs["priority"])
    assert min(chat_health["priority"], docs_health["priority"]) >= 1000, "clear of the old host rule's 100"
    for name in ("edge-route-chat", "edge-route-chat-health", "edge-route-docs", "edge-route-docs-health"):
        rule = p.one(LISTENER_RULE, name)
        assert rule.props["actions"][0]["type"] == "forward"
        assert tgs[name.split("-")[2]].urn in rule.dependencies, "each rule forwards to its own service's group"


def _priorities(p: Plan) -> dict[str, int]:
    return {r.name: r.props["priority"] for r in p.of_type(LISTENER_RULE)}


ECR_ADMIN = "111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-dev/admin@sha256:" + "d" * 64


@pytest.mark.parametrize("runtime", ["eks", "vm"])
def test_adding_a_route_leaves_every_other_rule_at_its_priority(runtime):
    """ELBv2 moves one rule at a time and refuses a number another rule holds (PriorityInUse): an added service
    must not renumber the rules already on the listener. The new route is deeper than one already on its host, so
    it is evaluated first."""
    if runtime == "eks":  # prod: health-check rules too; /docs/admin under /docs
        admin = {"kind": "api", "image": image("admin"), "port": 8081,
                 "ingress": {"host": DOMAINS["prod"], "path": "/docs/admin"}}
        before = _priorities(edge_plan("prod"))
        after = _priorities(edge_plan("prod", {"services": {**services("prod"), "admin": admin}}))
        under = "edge-route-docs"
    else:  # dev's own services on dedicated instances: /admin under the api service's /
        admin = {"kind": "api", "image": ECR_ADMIN, "port": 8081,
                 "ingress": {"host": "api.dev.agents.example.com", "path": "/admin"}}
        before = _priorities(plan("dev", DEDICATED_VM))
        after = _priorities(plan("dev", {**DEDICATED_VM, "services.admin": admin}))
        under = "edge-route-api"
    assert {name: after[name] for name in before} == before
    added = set(after) - set(before)
    assert "edge-route-admin" in added and all("admin" in name for name in added)
    assert after["edge-route-admin"] < after[under], "the deeper prefix first"
    health = [v for k, v in after.items() if k.endswith("-health")]
    assert not health or max(health) < min(v for k, v in after.items() if not k.endswith("-health")), \
        "every health check before any prefix"


def test_fifty_routes_get_fifty_distinct_priorities_in_the_listeners_range():
    from components.edge.priorities import HEALTH, PREFIX, rule_priorities
    from config.edge import Route

    routes = [Route(service=f"svc{i}", host="agents.example.com", path=f"/p{i}" if i % 2 else f"/p/{i}", port=8080,
                    rate_limit=None, max_body_size="1m", health_path=f"/p{i}/healthz")  # type: ignore[arg-type]
              for i in range(50)]
    found = rule_priorities(routes, first=1000, health_rules=True)
    assert len(set(found.values())) == 100
    assert all(1 <= v <= 50_000 for v in found.values()), "ELBv2 rule priorities are 1-50,000"
    deep = [found[(r.service, PREFIX)] for r in routes if r.path.count("/") == 2]
    shallow = [found[(r.service, PREFIX)] for r in routes if r.path.count("/") == 1]
    assert max(found[(r.service, HEALTH)] for r in routes) < min(deep) and max(deep) < min(shallow)


def _rules_by_name(p: Plan) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in p.one(WEB_ACL).props["rules"]}


def test_per_client_route_limits_are_waf_rate_rules_scoped_to_the_route():
    rules = _rules_by_name(edge_plan("prod"))
    chat = rules["rate-route-chat"]
    assert chat["action"]["block"]["customResponse"]["responseCode"] == 429, "nginx's limit-req-status-code"
    statement = chat["statement"]["rateBasedStatement"]
    assert (statement["limit"], statement["evaluationWindowSec"], statement["aggregateKeyType"]) == (600, 60, "IP"), \
        "10 r/s per client is 600 per minute"
    scope = statement["scopeDownStatement"]["andStatement"]["statements"]
    assert scope[0]["byteMatchStatement"]["searchString"] == "chat.agents.example.com"
    assert scope[0]["byteMatchStatement"]["fieldToMatch"] == {"singleHeader": {"name": "host"}}
    assert scope[-1]["notStatement"]["statement"]["byteMatchStatement"]["searchString"] == "/health"
    docs = rules["rate-route-docs"]["statement"]["rateBasedStatement"]
    assert docs["limit"] == 60, "60 r/min"
    docs_scope = docs["scopeDownStatement"]["andStatement"]["statements"]
    assert docs_scope[1]["byteMatchStatement"] == {**docs_scope[1]["byteMatchStatement"],
                                                   "positionalConstraint": "STARTS_WITH", "searchString": "/docs"}
    changed = _rules_by_name(tuned_plan())  # proxy.rateLimit: 5 r/s
    assert changed["rate-route-chat"]["statement"]["rateBasedStatement"]["limit"] == 300


def test_a_route_limit_below_what_waf_can_enforce_is_rejected_on_eks_only():
    slow = {"ingress": {"rateLimit": {"requests": 5, "per": "minute", "burst": 5}}}
    err = config_error("prod", {"services": services("prod", chat=slow)})
    assert "services.chat.ingress.rateLimit" in err.paths
    assert "rate-route-chat" not in _rules_by_name(plan("dev", DEDICATED_VM)), "on VMs nginx applies the route limits"
    from config.edge import EdgeConfig, edge_problems
    from config.services import ServiceConfig

    edge = EdgeConfig(domain="agents.example.com")
    svcs = {"chat": ServiceConfig.model_validate({**services("prod")["chat"], **slow})}
    assert edge_problems(edge, svcs, region="us-east-1", existing_vpc=False, runtime="vm") == [], "nginx enforces it"
    assert len(edge_problems(edge, svcs, region="us-east-1", existing_vpc=False, runtime="eks")) == 1


def test_health_route_bodies_over_1k_are_refused_by_the_waf_and_health_checks_are_never_rate_limited():
    rules = _rules_by_name(edge_plan("prod"))
    rule = rules["health-body-size"]
    assert rule["action"]["block"]["customResponse"]["responseCode"] == 413
    paths, size = rule["statement"]["andStatement"]["statements"]
    assert sorted(s["byteMatchStatement"]["searchString"] for s in paths["orStatement"]["statements"]) == [
        "/docs/health", "/health"]
    assert size["sizeConstraintStatement"]["size"] == 1024 and size["sizeConstraintStatement"][
        "comparisonOperator"] == "GT"
    assert size["sizeConstraintStatement"]["fieldToMatch"] == {"body": {"oversizeHandling": "MATCH"}}
    assert rule["priority"] < rules["rate-per-ip"]["priority"]


def test_large_bodies_are_left_to_the_application_because_waf_sees_only_8_kb_behind_an_alb():
    from components.edge.waf import ALB_BODY_INSPECTION_BYTES, size_bytes

    assert size_bytes("50m") > ALB_BODY_INSPECTION_BYTES == 8192
    rules = _rules_by_name(edge_plan("prod"))
    common = rules["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]
    assert {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}} in common["ruleActionOverrides"]
    assert not any("sizeConstraintStatement" in str(r["statement"]) for name, r in rules.items()
                   if name != "health-body-size")


def test_streaming_reaches_the_client_unbuffered():
    """ALB forwards response bytes as targets send them; nothing in the path buffers (no nginx, HTTP/1.1 to pods)."""
    p = edge_plan("prod")
    for svc in ("chat", "docs"):
        tg = p.one(TARGET_GROUP, f"edge-{svc}-targets").props
        assert tg.get("protocolVersion", "HTTP1") == "HTTP1" and tg["protocol"] == "HTTP"
    assert p.of_type(INGRESS) == []


# --- workers are not routed ----------------------------------------------------------------------------------------


def test_a_service_changed_from_api_to_worker_gets_no_route():
    before = edge_plan("prod")
    after = edge_plan("prod", chat={"kind": "worker", "queue": {"listName": "chat-jobs"}, "secrets": ["redis"]})
    names = {r.props["metadata"]["name"] for r in after.of_type(BINDING)}
    assert {r.props["metadata"]["name"] for r in before.of_type(BINDING)} == {"chat", "docs"}
    assert names == {"docs"}
    assert [r.name for r in after.of_type(TARGET_GROUP)] == ["edge-docs-targets"]
    assert not any(r.props["name"] == "chat.agents.example.com" for r in after.of_type(RECORD))
    assert sorted(r.name for r in after.of_type(LISTENER_RULE)) == ["edge-route-docs", "edge-route-docs-health"]
    assert after.outputs["serviceUrls"] == {"docs": "https://agents.example.com/docs"}


def test_a_worker_that_keeps_its_ingress_block_is_rejected():
    change = {"kind": "worker", "queue": {"listName": "jobs"}, "secrets": ["redis"]}
    err = config_error("prod", {"services": services("prod", docs=change)})
    assert "services.docs.ingress" in err.paths


def test_no_domain_and_no_api_service_means_no_edge():
    p = eks_plan("dev", {"edge": None, "services": {"indexer": services("dev")["indexer"]}})
    assert p.of_type(LB) == [] and p.of_type(WEB_ACL) == [] and "loadBalancerDnsName" not in p.outputs


def test_load_balancer_waits_for_the_logs_bucket_policy():
    """ALB creation checks it can write access logs; the bucket policy must exist first."""
    prod = plan("prod")
    lb = prod.one("aws:lb/loadBalancer:LoadBalancer")
    logs_policy = next(r for r in prod.of_type("aws:s3/bucketPolicy:BucketPolicy") if r.name == "data-logs-policy")
    assert logs_policy.urn in lb.dependencies


def test_vm_listener_drops_the_server_header_with_a_boolean():
    # pulumi-aws 7.51 types routing_http_response_server_enabled as a bool; a string is not a valid input.
    listeners = plan("dev", DEDICATED_VM).of_type("aws:lb/listener:Listener")
    https = next(lst for lst in listeners if lst.props.get("port") == 443)
    assert https.props["routingHttpResponseServerEnabled"] is False
