"""Docs generated from the plans and the workflows: current, and saying what they must.

One file so that the three stacks are planned once for all of them (the suite distributes tests by file).
- docs/diagrams.md: the request path through the edge, security-group paths, CI/approval flow and backup/DR
  flow as Mermaid (planning.diagrams);
- docs/teardown.md: what `pulumi destroy` meets per stack (planning.teardown);
- docs/deploy-permissions.md: the IAM services each stack's resources need (planning.permissions).
"""

from __future__ import annotations

import re

import pytest

from planning import diagrams, permissions, teardown
from tests.harness import STACKS, plan

# --- diagrams ------------------------------------------------------------------------------

NODE = re.compile(r"^\s+(\w+)(?:\[|\{\{|\(\[)", re.M)
EDGE = re.compile(r"^\s+(\w+) -(?:->|\.->)(?:\|\"?(.*?)\"?\|)? (\w+)", re.M)


def test_the_committed_diagrams_are_the_generated_ones():
    text = diagrams.DOC.read_text()
    assert diagrams.render_file(text, plan) == text, f"docs/diagrams.md is stale: run `{diagrams.COMMAND}`"


@pytest.fixture(scope="module")
def security_groups() -> str:
    return diagrams.security_group_paths(plan("prod"))


def _edges(body: str) -> list[tuple[str, str, str]]:
    return [(m[1], m[2] or "", m[3]) for m in EDGE.finditer(body)]


def test_only_the_load_balancer_is_reachable_from_the_internet(security_groups):
    edges = _edges(security_groups)
    from_internet = {(target, label) for source, label, target in edges if source == "internet"}
    assert from_internet == {("edge_alb_sg", "tcp 443, tcp 80")}
    assert ("cluster_eks", "tcp 5432", "data_postgres_sg") in edges


def test_every_edge_joins_declared_nodes():
    prod = plan("prod")
    for body in (diagrams.security_group_paths(prod), diagrams.backup_flow(prod, "us-east-1"),
                 diagrams.ci_flow(diagrams.WORKFLOWS.glob("*.yml"))):
        declared = set(NODE.findall(body)) | set(re.findall(r"subgraph (\w+)", body))
        for source, _, target in _edges(body):
            assert source in declared or target in declared, (source, target)
            assert source in declared, source


def test_backups_are_copied_to_the_dr_region_and_restores_are_tested():
    body = diagrams.backup_flow(plan("prod"), "us-east-1")
    assert re.search(r'backup_dr_vault\[\("backup-dr-vault<br/>us-west-2', body)
    assert any(s == "backup_vault" and t == "backup_dr_vault" and label.startswith("copy")
               for s, label, t in _edges(body))
    assert "restore RDS" in body and "restore S3" in body


def test_the_release_flow_orders_the_stages_and_names_the_approvals():
    body = diagrams.ci_flow(diagrams.WORKFLOWS.glob("*.yml"))
    edges = {(s, t) for s, _, t in _edges(body)}
    assert ("deploy__dev", "deploy__staging") in edges and ("deploy__staging", "deploy__prod") in edges
    assert "required reviewers approve" in body



@pytest.mark.parametrize("stack", STACKS)
def test_the_request_path_reaches_every_routed_workload_through_the_waf_and_https(stack):
    """Every host the stack answers leads, through the HTTPS listener, to the workload behind its target group."""
    planned = plan(stack)
    body = diagrams.request_path(planned)
    edges = _edges(body)
    if "servicePortForwards" in planned.outputs:
        # A private edge (dev): no host, load balancer or WAF for a request from the internet to pass.
        assert edges == [] and "load balancer" not in body and "WAF" not in body
        return
    assert "inspects every request" in body and re.search(r"edge_waf\{\{", body)
    assert re.search(r'edge_http -\. "HTTP_301 redirect" \.-> edge_https', body)
    hosts = {r.props["name"] for r in planned if r.type == "aws:route53/record:Record" and r.props.get("aliases")}
    assert hosts, "the committed stacks all have an edge"
    for host in hosts:
        routed = {t for s, label, t in edges if s == "edge_https" and f"host {host}," in label}
        assert routed, host
        for group in routed:
            reached = {t for s, _, t in edges if s == group}
            assert reached and all(t.startswith(("svc_", "service_")) for t in reached), (host, group, reached)
    bound = {r.props["spec"]["serviceRef"]["name"] for r in planned
             if r.type == "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"}
    for service in bound:
        assert re.search(rf"svc_\w+_{service}\[", body), service
    declared = set(NODE.findall(body))
    assert all(s in declared and t in declared for s, _, t in edges)


# --- teardown ------------------------------------------------------------------------------

def test_the_committed_teardown_list_is_the_generated_one():
    text = teardown.DOC.read_text()
    assert teardown.render_file(text, plan) == text, f"docs/teardown.md is stale: run `{teardown.COMMAND}`"


def _bullets(stack: str) -> dict[str, str]:
    lines = teardown.stack_section(plan(stack))
    return {re.match(r"- \*\*(.+?)\*\*", line)[1]: line for line in lines}


def test_dev_is_destroyable_and_prod_keeps_its_data():
    dev, prod = _bullets("dev"), _bullets("prod")
    assert "Protected" not in dev and "Deletion protection on" not in dev and "Retained" not in dev
    assert "`data-data`" in dev["Emptied with their contents"]
    assert "`data-postgres`" in prod["Deletion protection on"]
    assert "`data-data`" in prod["Retained"] and "`data-data`" in prod["Must be empty"]
    assert "`agent-platform-prod-postgres-final`" in prod["Final snapshot"]
    assert "compliance mode" in prod["Vault locks"]



# --- deploy_permissions --------------------------------------------------------------------

def test_the_committed_service_list_is_the_generated_one():
    text = permissions.DOC.read_text()
    assert permissions.render_file(text, plan) == text, f"docs/deploy-permissions.md is stale: run " \
                                                        f"`{permissions.COMMAND}`"


def test_every_aws_resource_type_maps_to_an_iam_service():
    for stack in STACKS:
        unmapped = [k for k in permissions.services(plan(stack)) if k.startswith("(unmapped")]
        assert not unmapped, f"{stack}: add these modules to SERVICE_PREFIX: {unmapped}"


def test_module_names_that_differ_from_the_iam_prefix_are_translated():
    assert permissions.service_of("aws:lb/loadBalancer:LoadBalancer") == "elasticloadbalancing"
    assert permissions.service_of("aws:cloudwatch/logGroup:LogGroup") == "logs"
    assert permissions.service_of("aws:cloudwatch/metricAlarm:MetricAlarm") == "cloudwatch"
    assert permissions.service_of("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == "ec2"
    assert "eks" not in permissions.services(plan("dev")) and "eks" in permissions.services(plan("prod"))
