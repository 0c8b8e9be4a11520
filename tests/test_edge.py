"""EdgeProxy in the planned stacks: one hardened ALB per environment, WAF, DNS-validated TLS, and ingress-nginx
reproducing the seeds' proxy (headers, timeouts, rate limits, health route) for every api service, and no other."""

from __future__ import annotations

from typing import Any

import pytest

from planning import mock_outputs
from planning.model import Plan, PlannedResource
from planning.review import load_policy_config
from tests.harness import config_error, eks_plan, plan, review, tags_of

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
ATTACHMENT = "aws:autoscaling/attachment:Attachment"
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
NGINX = "nginx.ingress.kubernetes.io/"
EDGE_POLICIES = ("alb-https-only", "alb-tls-policy-allowed", "alb-access-logs-enabled", "alb-drop-invalid-headers",
                 "alb-deletion-protection", "alb-waf-associated", "waf-rate-based-rule", "waf-managed-rule-groups",
                 "waf-logging-enabled", "acm-certificate-dns-validation")

DOMAINS = {"dev": "dev.agents.example.com", "staging": "staging.agents.example.com", "prod": "agents.example.com"}
STACKS = tuple(DOMAINS)


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
    """The EKS edge (ingress-nginx behind the ALB); the VM runtime's routing is tested in test_vm_runtime."""
    return eks_plan(stack, {"services": services(stack, **changes), **(overrides or {})})


def edge_children(p: Plan) -> list[PlannedResource]:
    return [r for r in p if p.component_label(r) == "edge" and r.type != "agent-platform:edge:EdgeProxy"]


def ingress(p: Plan, name: str) -> PlannedResource:
    (found,) = [r for r in p.of_type(INGRESS) if r.props["metadata"]["name"] == name]
    return found


def annotations(res: PlannedResource) -> dict[str, str]:
    return res.props["metadata"].get("annotations", {})


def values(p: Plan) -> dict[str, Any]:
    return p.one(RELEASE, "edge-ingress-nginx-release").props["values"]["controller"]


# --- the whole edge, reviewed ----------------------------------------------------------------------------------------


def test_prod_plans_the_whole_edge():
    p = edge_plan("prod")
    counts: dict[str, int] = {}
    for res in edge_children(p):
        counts[res.type] = counts.get(res.type, 0) + 1
    assert counts[LB] == 1 and counts[LISTENER] == 2 and counts[TARGET_GROUP] == 1 and counts[LISTENER_RULE] == 1
    assert counts[CERT] == 1 and counts[CERT_VALIDATION] == 1
    assert counts[WEB_ACL] == 1 and counts[WAF_ASSOCIATION] == 1 and counts[WAF_LOGGING] == 1
    assert counts[ATTACHMENT] == len(p.of_type("aws:eks/nodeGroup:NodeGroup"))
    assert counts[RELEASE] == 1 and counts[INGRESS] == 4, "one routed and one health Ingress per api service"
    assert p.outputs["serviceUrls"] == {"chat": "https://chat.agents.example.com",
                                        "docs": "https://agents.example.com/docs"}
    assert p.outputs["loadBalancerDnsName"].endswith(".elb.amazonaws.com")


@pytest.mark.parametrize("stack", STACKS)
def test_edge_has_no_mandatory_policy_violation(stack):
    for preview in (False, True):
        result = review(edge_plan(stack) if not preview else _preview(stack), load_policy_config(stack))
        ours = [v for v in result.mandatory if v.component == "edge" or v.policy in EDGE_POLICIES]
        assert ours == [], [(v.policy, v.resource_name, v.message) for v in ours]
        assert {p for p in EDGE_POLICIES} <= {m.name for m in result.policies}


def _preview(stack: str) -> Plan:
    from planning.engine import run_program, with_paths

    eks = {"runtime": "eks"} if stack == "dev" else {}
    return run_program(stack, with_paths(stack, {**eks, "services": services(stack)}), preview=True)


def test_every_taggable_edge_resource_is_tagged_as_edge():
    untaggable = {ATTACHMENT, RECORD, CERT_VALIDATION, WAF_ASSOCIATION, WAF_LOGGING}
    for res in edge_children(edge_plan("prod")):
        if res.type.startswith("aws:") and res.type not in untaggable:
            assert tags_of(res).get("component") == "edge", res.name


# --- one ALB per environment -------------------------------------------------------------------------------------


def test_dev_serves_every_api_service_from_one_load_balancer():
    p = edge_plan("dev")
    assert len(p.of_type(LB)) == 1 and len(p.of_type(TARGET_GROUP)) == 1
    rule = p.one(LISTENER_RULE)
    assert sorted(rule.props["conditions"][0]["hostHeader"]["values"]) == [
        "chat.dev.agents.example.com", "dev.agents.example.com"]
    aliases = [r for r in p.of_type(RECORD) if r.props.get("aliases")]
    assert sorted(r.props["name"] for r in aliases) == ["chat.dev.agents.example.com", "dev.agents.example.com"]
    assert {r.props["type"] for r in aliases} == {"A"}, "the created VPC is IPv4-only, so no AAAA records"
    assert {r.props["aliases"][0]["name"] for r in aliases} == {p.outputs["loadBalancerDnsName"]}


def test_load_balancer_posture():
    p = edge_plan("prod")
    lb = p.one(LB).props
    assert lb["internal"] is False and lb["dropInvalidHeaderFields"] is True and lb["idleTimeout"] == 300
    assert lb["enableDeletionProtection"] is True and lb["enableWafFailOpen"] is False
    assert lb["xffHeaderProcessingMode"] == "append", "nginx reads the client address the ALB appends"
    assert lb["accessLogs"] == {"bucket": p.outputs["logsBucketName"], "prefix": "alb", "enabled": True}
    public = {r.name + "-id" for r in p.of_type("aws:ec2/subnet:Subnet") if "public" in r.name}
    assert set(lb["subnets"]) == public
    dev = edge_plan("dev", {"edge.idleTimeoutSeconds": 600}).one(LB).props
    assert dev["enableDeletionProtection"] is False and dev["idleTimeout"] == 600


def test_http_only_redirects_and_https_uses_the_configured_tls_policy():
    p = edge_plan("prod")
    http, https = p.one(LISTENER, "edge-http").props, p.one(LISTENER, "edge-https").props
    assert http["port"] == 80 and http["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
    assert https["port"] == 443 and https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["defaultActions"][0]["fixedResponse"]["statusCode"] == "404", "unknown hosts never reach nginx"
    changed = edge_plan("prod", {"edge.tlsPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"})
    assert changed.one(LISTENER, "edge-https").props["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"


def test_only_the_load_balancer_group_is_open_to_the_internet_and_nodes_admit_only_it():
    p = edge_plan("prod")
    sg = p.one(SG, "edge-alb-sg")
    assert tags_of(sg)["agent-platform/role"] == "load-balancer" and tags_of(sg)["component"] == "edge"
    public = [r.props for r in p.of_type(INGRESS_RULE)
              if r.props.get("cidrIpv4") == "0.0.0.0/0" or r.props.get("cidrIpv6") == "::/0"]
    assert sorted((r["fromPort"], r.get("cidrIpv4") or r.get("cidrIpv6")) for r in public) == [
        (80, "0.0.0.0/0"), (80, "::/0"), (443, "0.0.0.0/0"), (443, "::/0")]
    assert {r["securityGroupId"] for r in public} == {"edge-alb-sg-id"}
    (egress,) = [r.props for r in p.of_type(EGRESS_RULE) if r.props["securityGroupId"] == "edge-alb-sg-id"]
    assert (egress["cidrIpv4"], egress["fromPort"], egress["toPort"]) == ("10.30.0.0/16", 30080, 30080)
    nodes = p.one(INGRESS_RULE, "edge-nodes-from-alb")
    assert nodes.props["referencedSecurityGroupId"] == "edge-alb-sg-id" and "cidrIpv4" not in nodes.props
    assert (nodes.props["fromPort"], nodes.props["toPort"]) == (30080, 30080)
    eks = p.one("aws:eks/cluster:Cluster")
    assert nodes.property_dependencies["securityGroupId"] == (eks.urn,), "the cluster's workload security group"


def test_target_group_sends_to_the_node_port_and_follows_every_node_group():
    groups = {"general": {"instanceTypes": ["t3.large"], "capacityType": "SPOT", "minSize": 1, "desiredSize": 1,
                          "maxSize": 2, "diskSizeGib": 30},
              "gpu": {"instanceTypes": ["g5.xlarge"], "minSize": 0, "desiredSize": 0, "maxSize": 2,
                      "diskSizeGib": 100}}
    p = edge_plan("dev", {"cluster.nodeGroups": groups, "edge.controller": {"nodePort": 31080}})
    tg = p.one(TARGET_GROUP).props
    assert (tg["targetType"], tg["protocol"], tg["port"]) == ("instance", "HTTP", 31080)
    assert tg["healthCheck"]["path"] == "/healthz" and tg["healthCheck"]["port"] == "traffic-port"
    attachments = sorted((r.name, r.props["autoscalingGroupName"]) for r in p.of_type(ATTACHMENT))
    assert [name for name, _ in attachments] == ["edge-general-targets", "edge-gpu-targets"]
    assert all(asg.startswith("eks-cluster-") for _, asg in attachments)
    assert values(p)["service"]["nodePorts"] == {"http": 31080}


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
    arn = "arn:aws:acm:us-east-1:111122223333:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    p = edge_plan("prod", {"edge.hostedZoneId": "Z0123456789ABC", "edge.certificateArn": arn})
    assert p.of_type(CERT) == [] and p.of_type(CERT_VALIDATION) == []
    assert p.one(LISTENER, "edge-https").props["certificateArn"] == arn
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
    prod = _rules(edge_plan("prod", {"edge.waf": {"rateLimit": 900, "rateLimitWindowSeconds": 60,
                                                  "apiKeyHeader": "x-api-key", "apiKeyRateLimit": 3000}}))
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
    everything = edge_plan("prod", {"edge.waf": {"logAllowedRequests": True}}).one(WAF_LOGGING).props
    assert "loggingFilter" not in everything


# --- ingress-nginx: the seeds' proxy behaviour ---------------------------------------------------------------------


def test_controller_is_a_pinned_chart_in_a_restricted_namespace():
    p = edge_plan("prod")
    release = p.one(RELEASE, "edge-ingress-nginx-release").props
    assert release["chart"] == "ingress-nginx" and release["version"] == "4.14.1"
    assert release["repositoryOpts"]["repo"] == "https://kubernetes.github.io/ingress-nginx"
    assert release["namespace"] == "ingress-nginx"
    (ns,) = [r for r in p.of_type(NAMESPACE) if r.props["metadata"]["name"] == "ingress-nginx"]
    assert ns.props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    ctl = values(p)
    assert ctl["allowSnippetAnnotations"] is False and ctl["watchIngressWithoutClass"] is False
    assert ctl["service"]["type"] == "NodePort" and ctl["service"]["enableHttps"] is False
    security = ctl["containerSecurityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["runAsNonRoot"] is True
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert (ctl["replicaCount"], ctl["autoscaling"]["maxReplicas"]) == (3, 9)
    assert ctl["extraArgs"]["publish-status-address"] == p.outputs["loadBalancerDnsName"]
    release_deps = p.one(RELEASE, "edge-ingress-nginx-release").dependencies
    assert ns.urn in release_deps


def test_security_headers_and_client_ip_handling_reach_the_controller():
    ctl = values(edge_plan("prod"))
    headers = ctl["addHeaders"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    config = ctl["config"]
    assert config["use-forwarded-headers"] == "true" and config["compute-full-forwarded-for"] == "true"
    assert config["proxy-real-ip-cidr"] == "10.30.0.0/16", "only the VPC (the ALB) may set the client address"
    assert config["hsts"] == "false", "HSTS comes from addHeaders; nginx's own only fires where it terminates TLS"
    assert config["limit-req-status-code"] == "429" and config["server-tokens"] == "false"
    assert int(config["keep-alive"]) > 300, "nginx outlives the ALB's idle timeout on idle connections"
    assert (config["proxy-read-timeout"], config["proxy-send-timeout"]) == ("300", "300")


def test_changed_headers_and_timeouts_reach_the_rendered_proxy_configuration():
    overrides = {
        "edge.headers": {"frameOptions": "SAMEORIGIN", "referrerPolicy": "no-referrer", "hstsPreload": False,
                         "hstsIncludeSubdomains": False, "hstsMaxAgeSeconds": 86400,
                         "contentSecurityPolicy": "default-src 'none'",
                         "extra": {"Permissions-Policy": "camera=()"}},
        "edge.idleTimeoutSeconds": 900,
        "edge.proxy": {"readTimeoutSeconds": 900, "sendTimeoutSeconds": 120, "connectTimeoutSeconds": 3,
                       "maxBodySize": "5m", "rateLimit": {"requests": 5, "per": "second", "burst": 15,
                                                          "connections": 40}},
    }
    p = edge_plan("prod", overrides)
    ctl = values(p)
    assert ctl["addHeaders"] == {
        "Strict-Transport-Security": "max-age=86400", "X-Frame-Options": "SAMEORIGIN",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": "default-src 'none'", "Permissions-Policy": "camera=()"}
    assert ctl["config"]["proxy-read-timeout"] == "900" and ctl["config"]["keep-alive"] == "915"
    assert ctl["terminationGracePeriodSeconds"] == 930
    chat = annotations(ingress(p, "chat"))
    assert chat[NGINX + "limit-rps"] == "5" and chat[NGINX + "limit-burst-multiplier"] == "3"
    assert chat[NGINX + "limit-connections"] == "40"
    assert (chat[NGINX + "proxy-read-timeout"], chat[NGINX + "proxy-send-timeout"]) == ("900", "120")
    assert chat[NGINX + "proxy-connect-timeout"] == "3" and chat[NGINX + "proxy-body-size"] == "5m"
    assert p.one(LB).props["idleTimeout"] == 900


def test_each_api_service_gets_a_rate_limited_route_with_the_seed_defaults():
    p = edge_plan("prod")
    chat = ingress(p, "chat")
    meta, spec = chat.props["metadata"], chat.props["spec"]
    assert meta["namespace"] == "agents" and spec["ingressClassName"] == "nginx"
    (rule,) = spec["rules"]
    assert rule["host"] == "chat.agents.example.com"
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"] == {"name": "chat", "port": {"number": 8000}}
    ann = annotations(chat)
    assert (ann[NGINX + "limit-rps"], ann[NGINX + "limit-burst-multiplier"]) == ("10", "2"), "10 r/s, burst 20"
    assert NGINX + "limit-connections" not in ann
    assert (ann[NGINX + "proxy-read-timeout"], ann[NGINX + "proxy-send-timeout"]) == ("300", "300")
    assert ann[NGINX + "proxy-body-size"] == "50m" and ann[NGINX + "proxy-buffering"] == "off"
    assert not any("snippet" in key for key in ann), "snippet annotations are disabled on the controller"
    assert p.one(RELEASE, "edge-ingress-nginx-release").urn in chat.dependencies


def test_per_route_overrides_apply_to_that_route_only():
    p = edge_plan("prod")
    docs = ingress(p, "docs")
    ann = annotations(docs)
    assert ann[NGINX + "limit-rpm"] == "60" and ann[NGINX + "limit-burst-multiplier"] == "2"
    assert ann[NGINX + "limit-connections"] == "10" and ann[NGINX + "proxy-body-size"] == "100m"
    assert NGINX + "limit-rps" not in ann
    (rule,) = docs.props["spec"]["rules"]
    assert rule["host"] == "agents.example.com" and rule["http"]["paths"][0]["path"] == "/docs"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "docs", "port": {"number": 8080}}


def test_health_route_is_exact_and_never_rate_limited():
    p = edge_plan("prod", chat={"probes": {"livenessPath": "/healthz"}})
    for name, path in (("chat-health", "/healthz"), ("docs-health", "/docs/health")):
        route = ingress(p, name)
        ann = annotations(route)
        assert not any(key.startswith(NGINX + "limit-") for key in ann)
        assert ann[NGINX + "enable-access-log"] == "false" and ann[NGINX + "proxy-read-timeout"] == "5"
        (rule,) = route.props["spec"]["rules"]
        assert rule["http"]["paths"][0]["path"] == path and rule["http"]["paths"][0]["pathType"] == "Exact"
    chat = ingress(p, "chat-health").props["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert chat["service"]["name"] == "chat"


# --- workers are not routed ----------------------------------------------------------------------------------------


def test_a_service_changed_from_api_to_worker_gets_no_route():
    before = edge_plan("prod")
    after = edge_plan("prod", chat={"kind": "worker", "queue": {"listName": "chat-jobs"}, "secrets": ["redis"]})
    names = {r.props["metadata"]["name"] for r in after.of_type(INGRESS)}
    assert {"chat", "chat-health"} <= {r.props["metadata"]["name"] for r in before.of_type(INGRESS)}
    assert names == {"docs", "docs-health"}
    assert not any(r.props["name"] == "chat.agents.example.com" for r in after.of_type(RECORD))
    assert after.one(LISTENER_RULE).props["conditions"][0]["hostHeader"]["values"] == ["agents.example.com"]
    assert after.outputs["serviceUrls"] == {"docs": "https://agents.example.com/docs"}
    assert "indexer" not in names


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
    https = next(lst for lst in plan("dev").of_type("aws:lb/listener:Listener") if lst.props.get("port") == 443)
    assert https.props["routingHttpResponseServerEnabled"] is False
