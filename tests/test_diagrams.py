"""The architecture diagrams are generated from the plan and the workflows, current, and say what they should."""

from __future__ import annotations

import re

import pytest

from planning import diagrams
from tests.harness import plan

NODE = re.compile(r"^\s+(\w+)(?:\[|\{\{|\(\[)", re.M)
EDGE = re.compile(r"^\s+(\w+) -(?:->|\.->)(?:\|\"?(.*?)\"?\|)? (\w+)", re.M)


def test_the_committed_diagrams_are_the_generated_ones():
    text = diagrams.DOC.read_text()
    assert diagrams.render_file(text, plan) == text, f"docs/architecture.md is stale: run `{diagrams.COMMAND}`"


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
