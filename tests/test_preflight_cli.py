"""`python -m planning preflight` end to end on the prod plan, against a stubbed account and chart indexes."""

from __future__ import annotations

import json

import pytest

from config import image_pins
from planning.engine import read_stack_config
from planning.preflight import cli
from planning.preflight.facts import gather
from tests import harness
from tests import preflight_stubs as stubs


def _planner(stack, overrides):
    return harness.plan(stack, overrides or None)


@pytest.fixture(scope="module")
def prod_facts():
    return gather(harness.plan("prod"), "us-east-1", read_stack_config("prod"))


def _run(tmp_path, account, fetch, capsys, registry=None):
    code = cli.main(["--stack", "prod", "--workers", "1", "--json", str(tmp_path / "pf.json"),
                     "--sarif", str(tmp_path / "pf.sarif")], clients=account, fetch_url=fetch, planner=_planner,
                    registry=registry or stubs.healthy_registry(gather(harness.plan("prod"), "us-east-1")))
    return code, capsys.readouterr().out, json.loads((tmp_path / "pf.json").read_text()), \
        json.loads((tmp_path / "pf.sarif").read_text())


def test_prod_plan_gives_preflight_what_the_stack_pins(prod_facts):
    f = prod_facts
    assert f.eks_version == "1.36" and f.zone_count == 3 and f.instance_type_choices == [("m7i.xlarge",)]
    assert {c.chart for c in f.charts} >= {"keda", "kube-prometheus-stack", "aws-load-balancer-controller"}
    assert len(f.ecr_images) == 3 and all(i.repository.startswith("agent-platform-prod/") for i in f.ecr_images)
    assert [z.name for z in f.hosted_zones] == ["example.com"]
    assert f"arn:aws:iam::{stubs.ACCOUNT}:role/BackupBreakGlass" in f.role_arns
    assert f.databases[0].instance_class == "db.r7g.large" and f.caches[0].node_type == "cache.r7g.large"
    # metrics-server's version is looked up at deploy time: the plan's mock answer is not checked as a pin
    assert next(a for a in f.addons if a.name == "metrics-server").version is None
    assert f.demand == {"eips": 3, "vpcs": 1, "internet_gateways": 1, "nat_per_zone": 1, "eks_clusters": 1}


def test_dev_vm_plan_reads_ami_parameters_and_images_from_user_data():
    f = gather(harness.plan("dev"), "us-east-1", read_stack_config("dev"))
    assert f.ssm_parameters and all(p.startswith("/aws/service/ami-amazon-linux-latest/") for p in f.ssm_parameters)
    assert {i.repository for i in f.ecr_images} == {"agent-platform-dev/api", "agent-platform-dev/context",
                                                    "agent-platform-dev/worker"}
    assert f.eks_version is None and f.demand["eks_clusters"] == 0


def test_prod_preflight_passes_against_a_healthy_account(prod_facts, tmp_path, capsys):
    account = stubs.passing(prod_facts)
    code, out, document, sarif = _run(tmp_path, account, stubs.chart_indexes(prod_facts), capsys)
    assert code == 0, out
    account.verify()
    assert document["summary"]["failed"] == 0 and document["summary"]["ok"] is True
    assert document["elapsedSeconds"] < 60  # the bound for prod against stubs
    run = sarif["runs"][0]
    assert run["automationDetails"]["id"] == "preflight/prod/"
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {c["name"] for c in document["checks"]}
    assert all(r["level"] == "warning" for r in run["results"])  # only skips (non-ECR images) are reported


FAILURES = [
    ("unpublished chart version", {"unpublished": "keda"}, "helm-chart-versions", "keda 2.20.2"),
    ("missing digest", {"ecr_missing": True}, "ecr-image-digests", "agent-platform-prod/api@sha256:"),
    ("unorderable instance class", {"rds_versions": ()}, "rds-orderable", "postgres 16 db.r7g.large"),
    ("quota exhausted", {"eip_quota": 3.0}, "service-quotas", "EC2-VPC Elastic IPs"),
    ("missing hosted zone", {"zone_exists": False}, "route53-hosted-zone", "example.com"),
]


@pytest.mark.parametrize(("label", "plant", "check", "subject"), FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failure_class_exits_1_naming_it(prod_facts, tmp_path, capsys, label, plant, check, subject):
    unpublished = plant.pop("unpublished", None)
    account = stubs.passing(prod_facts, **plant)
    code, out, document, sarif = _run(tmp_path, account, stubs.chart_indexes(prod_facts, unpublished=unpublished),
                                      capsys)
    assert code == 1
    assert f"[FAIL] {check}" in out and subject in out and "preflight FAILED" in out
    failed = [f for f in document["findings"] if f["status"] == "fail"]
    assert {f["check"] for f in failed} == {check} and any(subject in f["subject"] for f in failed)
    errors = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert errors and {r["ruleId"] for r in errors} == {check}


def test_prod_plan_names_every_tag_the_program_resolves_at_deploy_time(prod_facts):
    """Preflight resolves for real what the program resolves during preview; the mock stand-ins are not images."""
    lookups = {lookup.reference: lookup.expected for lookup in prod_facts.registry_lookups}
    assert set(lookups) == {
        "ghcr.io/external-secrets/external-secrets:v2.9.0", "public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1",
        "quay.io/prometheus-operator/prometheus-operator:v0.86.2",
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.86.2", "quay.io/kiwigrid/k8s-sidecar:1.30.10",
        "quay.io/thanos/thanos:v0.40.1"}
    # The one-source digests (sources in config/image_pins.py) travel with the lookup.
    assert lookups["quay.io/kiwigrid/k8s-sidecar:1.30.10"] == (
        "sha256:835d79d8fbae62e42d8a86929d4e3c5eec2e869255dd37756b5a3166c2f22309")
    assert lookups["quay.io/prometheus-operator/prometheus-config-reloader:v0.86.2"] == ""
    assert not [i for i in prod_facts.other_images if "@sha256:0000000000000000" in i]
    # Every recorded chart digest reaches the registry check as the whole reference the chart renders, whichever
    # keys its values split it into (a "<tag>@sha256:..." tag alone would be asked of the wrong repository).
    assert {i.reference for i in image_pins.PINNED
            if i.chart and i.chart not in image_pins.VECTOR_STORE_CHARTS} <= set(prod_facts.other_images)
    assert all("/" in i.split("@")[0] or ":" in i.split("@")[0] for i in prod_facts.other_images)


def _store_plan(runtime: str, store: str):
    """dev running ``store`` on ``runtime``: on EKS with the public edge, the plan tests/test_image_pinning.py makes."""
    if runtime == "eks":
        return harness.eks_plan("dev", {"dataTier.vectorStore": store})
    return harness.plan("dev", {"runtime": runtime, "dataTier.vectorStore": store})


@pytest.mark.parametrize("runtime", ["eks", "vm"])
def test_preflight_checks_the_vector_store_images_of_a_stack_that_runs_one(runtime):
    """registry-image-digests resolves Weaviate's tag from cr.weaviate.io (the chart's or the instance's image) and
    asks for Qdrant's recorded digest, as the whole reference the chart or the boot script pulls."""
    weaviate = gather(_store_plan(runtime, "weaviate"), "us-east-1")
    assert "cr.weaviate.io/semitechnologies/weaviate:1.38.2" in {lookup.reference
                                                                 for lookup in weaviate.registry_lookups}
    qdrant = gather(_store_plan(runtime, "qdrant"), "us-east-1")
    assert ("docker.io/qdrant/qdrant:v1.19.0@sha256:057ee3a8da769fe7310dd3537b4dc7583bf87a95ce8ac43c0af5a46bc580d1fc"
            in qdrant.other_images)


def test_a_re_pushed_tag_fails_preflight_naming_it(prod_facts, tmp_path, capsys):
    serves = {lookup.reference: lookup.expected for lookup in prod_facts.registry_lookups if lookup.expected}
    serves["quay.io/kiwigrid/k8s-sidecar:1.30.10"] = "sha256:" + "d" * 64
    code, out, document, _ = _run(tmp_path, stubs.passing(prod_facts), stubs.chart_indexes(prod_facts), capsys,
                                  registry=stubs.registry(serves))
    assert code == 1 and "[FAIL] registry-image-digests" in out
    failed = [f for f in document["findings"] if f["status"] == "fail"]
    assert [f["subject"] for f in failed] == ["quay.io/kiwigrid/k8s-sidecar:1.30.10"]


def test_invalid_config_exits_2(capsys):
    code = cli.main(["--stack", "prod", "--set", "network.cidr=\"not-a-cidr\""], clients=stubs.StubAccount(),
                    planner=_planner)
    assert code == 2 and "network.cidr" in capsys.readouterr().err


def test_skips_exit_0_but_strict_makes_them_fail(prod_facts, capsys):
    account = stubs.StubAccount()  # every call unanswered: Stubber raises, the checks are skipped
    argv = ["--stack", "prod", "--workers", "1"]
    registry = stubs.healthy_registry(prod_facts)
    assert cli.main(argv, clients=account, fetch_url=stubs.chart_indexes(prod_facts), planner=_planner,
                    registry=registry) == 0
    assert "not proven" in capsys.readouterr().out
    assert cli.main([*argv, "--strict"], clients=stubs.StubAccount(), fetch_url=stubs.chart_indexes(prod_facts),
                    planner=_planner, registry=registry) == 1
