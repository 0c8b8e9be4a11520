"""The pack as a whole: metadata, the CLI entry point, per-stack config, the review, SARIF and the docs."""

from __future__ import annotations

import importlib
import json
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pulumi_policy
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from planning import policy_docs, review
from planning.model import Plan
from planning.sarif import to_sarif, write_sarif
from tests.conftest import STACKS
from tests.policies.support import TAGS, found, res, run

ROOT = Path(__file__).resolve().parents[2]
POLICIES = review.policies()
NAMES = [p.name for p in POLICIES]


# --- metadata ----------------------------------------------------------------------------------------------------


def test_every_domain_module_exports_its_policies():
    pack = review.pack_module()
    modules = [importlib.import_module(f"agent_policies.{d}") for d in pack.DOMAINS]
    exported = [p for m in modules for p in m.POLICIES]
    assert [p.name for p in exported] == NAMES
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("policy", POLICIES, ids=NAMES)
def test_every_policy_carries_full_metadata(policy: pulumi_policy.Policy):
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy.name)
    assert policy.description.endswith(".")
    assert policy.severity is not None and policy.enforcement_level is not None
    assert policy.remediation_steps
    assert policy.config_schema is not None and "exemptResources" in policy.config_schema.properties
    for key, schema in policy.config_schema.properties.items():
        assert "default" in schema and schema.get("description"), key
    meta = review.PolicyMeta.of(policy)
    assert meta.topics, "every policy says what it protects"
    if policy.framework is not None:
        assert f"{policy.framework.reference}" in " ".join(meta.references)


@pytest.mark.parametrize("name", NAMES)
def test_every_policy_has_tests(name: str):
    tests = [p for p in (ROOT / "tests").rglob("test_*.py") if p.resolve() != Path(__file__).resolve()]
    sources = "\n".join(p.read_text() for p in tests)
    assert f'"{name}"' in sources, f"no test exercises {name}"


def test_cli_entry_point_builds_the_pack_from_all_policies(monkeypatch: pytest.MonkeyPatch):
    built: dict[str, Any] = {}

    class RecordingPack:
        def __init__(self, **kwargs: Any) -> None:
            built.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordingPack)
    runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="__main__")
    assert built["name"] == "agent-platform"
    assert [p.name for p in built["policies"]] == NAMES


def test_analyzer_reports_every_policy_to_the_cli():
    server = review.servicer(review.effective_config(POLICIES, {}), "test")
    info = server.GetAnalyzerInfo(None, None)
    assert info.name == "agent-platform" and info.supportsConfig
    assert [p.name for p in info.policies] == NAMES
    kinds = {p.name: p.policy_type for p in info.policies}
    assert kinds["vpc-flow-logs-enabled"] == analyzer_pb2.POLICY_TYPE_STACK
    assert kinds["launch-template-imdsv2"] == analyzer_pb2.POLICY_TYPE_RESOURCE


# --- per-stack policy config ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_has_a_valid_policy_config(stack: str):
    assert (ROOT / "policies" / "config" / f"{stack}.json").exists()
    review.effective_config(POLICIES, review.load_policy_config(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_security_policies_are_mandatory_in_every_stack(stack: str):
    effective = review.effective_config(POLICIES, review.load_policy_config(stack))
    security = [p.name for p in POLICIES if "security" in (p.tags or [])]
    relaxed = [name for name in security if effective[name].enforcement != "mandatory"]
    assert len(security) > len(POLICIES) // 2 and relaxed == []


def test_availability_and_cost_policies_relax_in_dev_only():
    effective = {s: review.effective_config(POLICIES, review.load_policy_config(s)) for s in STACKS}
    relaxed = ("required-tags", "workload-has-pod-disruption-budget", "workload-has-autoscaler")
    assert [effective["dev"][name].enforcement for name in relaxed] == ["advisory"] * 3
    assert [effective["prod"][name].enforcement for name in relaxed] == ["mandatory"] * 3
    assert effective["dev"]["stateful-resources-protected"].properties["protectedEnvironment"] is False
    for stack in ("staging", "prod"):
        assert effective[stack]["stateful-resources-protected"].properties["protectedEnvironment"] is True
        assert effective[stack]["stateful-resources-protected"].enforcement == "mandatory"


def test_stack_without_a_config_file_gets_policy_defaults():
    assert review.load_policy_config("no-such-stack") == {}


def test_all_key_then_per_policy_entries_apply_like_the_cli():
    effective = review.effective_config(POLICIES, {
        "all": "advisory",
        "launch-template-imdsv2": {"enforcementLevel": "mandatory", "maxHopLimit": 1},
        "required-tags": "disabled",
    })
    assert effective["vpc-flow-logs-enabled"].enforcement == "advisory"
    assert effective["launch-template-imdsv2"].enforcement == "mandatory"
    assert effective["launch-template-imdsv2"].properties == {"maxHopLimit": 1, "exemptResources": []}
    assert effective["required-tags"].enforcement == "disabled"


@pytest.mark.parametrize(("config", "error"), [
    ({"no-such-policy": "mandatory"}, "no such policy"),
    ({"required-tags": "sometimes"}, "not an enforcement level"),
    ({"required-tags": {"requiredTag": ["x"]}}, "not a setting"),
    ({"launch-template-imdsv2": {"maxHopLimit": "2"}}, r"maxHopLimit: '2' is not of type 'integer'"),
    ({"launch-template-imdsv2": {"maxHopLimit": 65}}, "greater than the maximum"),
    ({"eks-control-plane-logging": {"requiredLogTypes": ["api", "kubelet"]}},
     r"requiredLogTypes\[1\]: 'kubelet' is not one of"),
    # Nested schemas are validated whole, as the CLI validates them: a misspelt usage key is not ignored.
    ({"monthly-cost-budget": {"usage": {"natDataGigabytes": 1}}},
     r"monthly-cost-budget.usage: Additional properties are not allowed \('natDataGigabytes'"),
    ({"rds-storage-encrypted-cmk": {"exemptResources": "db"}}, r"exemptResources: 'db' is not of type 'array'"),
    ({"all": {"enforcementLevel": "advisory", "x": 1}}, "only an enforcement level"),
])
def test_invalid_policy_config_is_rejected(config: dict[str, Any], error: str):
    with pytest.raises(review.PolicyConfigError, match=error):
        review.effective_config(POLICIES, config)


def test_disabled_policy_does_not_run():
    untagged = res("aws:ec2/vpc:Vpc", "vpc", {})
    assert found("required-tags", untagged) != []
    assert found("required-tags", untagged, config={"required-tags": "disabled"}) == []


# --- the review itself ------------------------------------------------------------------------------------------------


def _sample_review() -> review.Review:
    component = res("agent-platform:network:Network", "network", {}, custom=False)
    untagged = res("aws:ec2/vpc:Vpc", "network-vpc", {}, parent=component)
    open_db = res("aws:ec2/securityGroup:SecurityGroup", "db-sg", {"tags": TAGS, "ingress": [
        {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}]}, parent=component)
    return review.review(Plan("dev", [component, untagged, open_db]), review.load_policy_config("dev"))


def test_violations_carry_policy_metadata_and_component():
    result = _sample_review()
    by_policy = {v.policy: v for v in result.violations}
    critical = by_policy["no-internet-path-to-data-ports"]
    assert (critical.severity, critical.enforcement, critical.component, critical.pack) == (
        "critical", "mandatory", "network", "agent-platform")
    assert critical.resource_type == "aws:ec2/securityGroup:SecurityGroup" and critical.resource_name == "db-sg"
    assert by_policy["required-tags"].enforcement == "advisory"
    assert result.mandatory and all(v.enforcement == "mandatory" for v in result.mandatory)
    assert not result.passed


def test_review_json_is_serialisable_and_summarised():
    data = json.loads(json.dumps(_sample_review().to_json()))
    assert data["stack"] == "dev" and data["summary"]["mandatory"] >= 1 and not data["summary"]["passed"]
    assert {v["policy"] for v in data["violations"]} >= {"no-internet-path-to-data-ports", "required-tags"}
    assert len(data["policies"]) == len(NAMES)


def test_text_report_groups_by_severity_then_component():
    text = review.render_text(_sample_review())
    headings = [line for line in text.splitlines() if line in ("CRITICAL", "HIGH", "MEDIUM", "LOW")]
    assert headings == sorted(headings, key=["CRITICAL", "HIGH", "MEDIUM", "LOW"].index)
    critical = text.split("CRITICAL\n", 1)[1]
    assert critical.startswith("  network\n    [mandatory] no-internet-path-to-data-ports:")


def test_clean_plan_passes():
    result = run(res("aws:ec2/route:Route", "route", {"destinationCidrBlock": "0.0.0.0/0"}))
    assert result.violations == [] and result.passed
    assert "all policies pass" in review.render_text(result)


# --- SARIF ----------------------------------------------------------------------------------------------------------


def test_sarif_is_well_formed_for_code_scanning(tmp_path: Path):
    result = _sample_review()
    sarif = to_sarif(result, docs_url="https://github.com/acme/agent-platform/blob/main/docs/policies.md")
    assert sarif["$schema"].endswith("sarif-2.1.0.json") and sarif["version"] == "2.1.0"
    (run_,) = sarif["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == NAMES
    assert all(r["help"]["text"] and r["helpUri"].endswith(f"#{r['id']}") for r in rules)
    assert run_["automationDetails"]["id"] == "pulumi-policy/dev/"
    levels = {r["ruleId"]: r["level"] for r in run_["results"]}
    assert levels["no-internet-path-to-data-ports"] == "error" and levels["required-tags"] == "warning"
    stack_file = (ROOT / "Pulumi.dev.yaml").read_text().splitlines()
    network_line = next((i for i, line in enumerate(stack_file, 1) if re.match(r"^\s+[\w-]+:network:", line)), 1)
    for item in run_["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"] and item["message"]["text"]
        (location,) = item["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "Pulumi.dev.yaml"
        assert location["physicalLocation"]["region"]["startLine"] == network_line
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("urn:pulumi:")
    path = write_sarif(result, tmp_path / "out" / "dev.sarif")
    assert json.loads(path.read_text())["runs"][0]["results"] == json.loads(json.dumps(run_["results"]))


# --- docs ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", ["docs/policies.md"])
def test_policy_docs_are_current(doc: str):
    path = ROOT / doc
    assert policy_docs.render_file(path) == path.read_text(), f"run: python -m planning.policy_docs {doc}"


def test_tables_outside_docs_link_to_the_policy_reference():
    table = policy_docs.render_table("docs/policies.md")
    for name in NAMES:
        assert f"[`{name}`](docs/policies.md#{name})" in table
    assert f"| [`{NAMES[0]}`](#{NAMES[0]}) |" in policy_docs.render_table()


def test_region_rewrite_replaces_only_between_markers():
    text = "intro\n<!-- policies:start -->\nold\n<!-- policies:end -->\noutro\n"
    assert policy_docs.replace_region(text, policy_docs.TABLE, "new") == (
        "intro\n<!-- policies:start -->\nnew\n<!-- policies:end -->\noutro\n")
    with pytest.raises(ValueError):
        policy_docs.replace_region("no markers", policy_docs.TABLE, "new")


# --- the pack as the CLI runs it ------------------------------------------------------------------------------


def test_pack_serves_the_analyzer_protocol_like_under_the_cli():
    """Start ``policies/__main__.py`` as the CLI does and talk gRPC to it: handshake, config, one analysis."""
    proc = subprocess.Popen([sys.executable, "-u", str(ROOT / "policies")], cwd=ROOT / "policies",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().strip())  # the pack announces its port on the first line
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
            assert info.name == "agent-platform" and [p.name for p in info.policies] == NAMES
            stub.Configure(review.configure_request(
                review.effective_config(POLICIES, review.load_policy_config("prod"))), timeout=10)
            group = res("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30, "tags": TAGS})
            response = stub.Analyze(review.analyze_request(group, {}), timeout=10)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    found_ = {(d.policyName, d.enforcementLevel) for d in response.diagnostics}
    assert found_ == {("log-group-kms-encrypted", analyzer_pb2.MANDATORY),
                      ("log-group-retention", analyzer_pb2.MANDATORY)}
