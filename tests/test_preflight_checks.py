"""Each preflight check, both ways, against botocore's Stubber (requests and answers validated by the model)."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest

from planning.preflight import iam_policy
from planning.preflight.facts import Chart
from planning.preflight.framework import REGISTRY, all_checks
from planning.preflight.runner import run
from tests import preflight_stubs as stubs


def _fetch(index: bytes = stubs.KEDA_INDEX):
    def fetch(url: str) -> bytes:
        assert url == "http://charts.test/keda/index.yaml"
        return index
    return fetch


def _only(name: str, account: stubs.StubAccount, f=None, fetch=None, registry=None):
    result = run(f or stubs.facts(), account, fetch_url=fetch or _fetch(), workers=1, only=[name],
                 registry=registry)
    return result


def _statuses(result, check: str) -> list[str]:
    return [x.status for x in result.findings if x.check == check]


# --- versions offered ---------------------------------------------------------------------------------------


def test_eks_version_offered_and_not():
    f = stubs.facts()
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    stubs.expect_eks_version(account)
    assert _statuses(_only("eks-version", account, f), "eks-version") == ["pass"]
    account.verify()

    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    stubs.expect_eks_version(account, offered=False)
    result = _only("eks-version", account, f)
    assert _statuses(result, "eks-version") == ["fail"]
    assert "does not offer Kubernetes 1.36" in result.failed[0].message


def test_addon_version_offered_and_not():
    f = stubs.facts()
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    stubs.expect_addons(account, f)
    assert _statuses(_only("eks-addon-versions", account, f), "eks-addon-versions") == ["pass", "pass"]
    account.verify()

    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    stubs.expect_addons(account, f, vpc_cni="v1.22.5-eksbuild.1")
    result = _only("eks-addon-versions", account, f)
    assert [x.subject for x in result.failed] == ["vpc-cni v1.22.4-eksbuild.3"]
    assert "v1.22.5-eksbuild.1" in result.failed[0].message


def test_rds_orderable_and_unorderable():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_rds(account)
    result = _only("rds-orderable", account)
    assert _statuses(result, "rds-orderable") == ["pass"]
    assert "us-east-1a, us-east-1b, us-east-1d" in result.passed[0].message  # the zones the deploy would use

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_rds(account, versions=("15.8", "17.2"))
    result = _only("rds-orderable", account)
    assert "postgres 16 is not orderable on db.r7g.large" in result.failed[0].message

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_rds(account, zones=("us-east-1a", "us-east-1f"))  # Multi-AZ needs two of the chosen zones
    result = _only("rds-orderable", account)
    assert result.failed and "needs 2" in result.failed[0].message

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_rds(account, versions=())
    assert "not orderable for postgres" in _only("rds-orderable", account).failed[0].message


def test_elasticache_version_and_node_type():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_elasticache(account)
    assert _statuses(_only("elasticache-offered", account), "elasticache-offered") == ["pass", "pass"]

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_elasticache(account, versions=("6.2", "7.0"), node_sold=False)
    result = _only("elasticache-offered", account)
    assert [x.subject for x in result.failed] == ["redis 7.1", "cache.r7g.large"]


def test_sar_application_version_published_and_not():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_sar(account)
    assert _statuses(_only("sar-application-version", account), "sar-application-version") == ["pass"]

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_sar(account, published=False)
    result = _only("sar-application-version", account)
    assert "1.1.671" in result.failed[0].message and "not published" in result.failed[0].message


def test_instance_types_offered_in_chosen_zones_and_not():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    assert _statuses(_only("instance-type-offerings", account), "instance-type-offerings") == ["pass"]

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts(), offered_in=["use1-az1", "use1-az2"])
    result = _only("instance-type-offerings", account)
    assert result.failed[0].subject == "m7i.xlarge"
    assert "us-east-1d (use1-az4)" in result.failed[0].message


@pytest.fixture(scope="module")
def chart_server(tmp_path_factory):
    """A local chart repository: GET /keda/index.yaml serves the fixture index, anything else 404."""
    root = tmp_path_factory.mktemp("charts")
    (root / "keda").mkdir()
    (root / "keda" / "index.yaml").write_bytes(stubs.KEDA_INDEX)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _chart_run(repo: str, version: str, chart: str = "keda"):
    account = stubs.StubAccount()
    f = stubs.facts(charts=[Chart("services-keda", chart, version, repo)])
    stubs.expect_zones(account, f)
    return run(f, account, workers=1, only=["helm-chart-versions"])  # the real HTTP getter


def test_helm_chart_published_in_index_served_over_http(chart_server):
    assert _statuses(_chart_run(f"{chart_server}/keda", "2.20.2"), "helm-chart-versions") == ["pass"]


def test_helm_chart_version_never_published(chart_server):
    result = _chart_run(f"{chart_server}/keda", "2.99.0")
    assert result.failed[0].subject == "keda 2.99.0"
    assert "not published" in result.failed[0].message


def test_helm_chart_missing_repository_and_chart(chart_server):
    assert "HTTP 404" in _chart_run(f"{chart_server}/nothing-here", "1.0.0").failed[0].message
    assert "has no chart" in _chart_run(f"{chart_server}/keda", "1.0.0", chart="kedo").failed[0].message


def test_helm_index_from_file_url(tmp_path):
    (tmp_path / "index.yaml").write_bytes(stubs.KEDA_INDEX)
    assert _statuses(_chart_run(tmp_path.as_uri(), "2.20.2"), "helm-chart-versions") == ["pass"]


def test_unreachable_chart_repository_is_skipped_not_passed():
    result = _chart_run("http://127.0.0.1:9/charts", "2.20.2")  # port 9 (discard): connection refused
    assert _statuses(result, "helm-chart-versions") == ["skip"]
    assert "no chart repository reachable" in result.findings[0].message


# --- things that must already exist ---------------------------------------------------------------------------


def test_ecr_digest_pushed_and_missing():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_ecr(account, stubs.facts())
    assert _statuses(_only("ecr-image-digests", account), "ecr-image-digests") == ["pass"]

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_ecr(account, stubs.facts(), missing=True)
    result = _only("ecr-image-digests", account)
    assert "ImageNotFoundException" in result.failed[0].message


def test_denied_registry_skips_only_that_image():
    other = stubs.EcrImage(f"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/x@{stubs.DIGEST}", "602401143452",
                           "us-west-2", "amazon/x", stubs.DIGEST)
    f = stubs.facts(ecr_images=[other, *stubs.facts().ecr_images])
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    account("ecr", "us-west-2")
    account.stubbers[("ecr", "us-west-2")].add_client_error(
        "describe_images", service_error_code="AccessDeniedException", http_status_code=400)
    stubs.expect_ecr(account, stubs.facts())
    result = _only("ecr-image-digests", account, f)
    assert _statuses(result, "ecr-image-digests") == ["skip", "pass"]
    assert result.findings[0].subject.startswith("602401143452.dkr.ecr")


def test_image_built_by_this_update_is_not_looked_up():
    f = stubs.facts(built_repositories={f"{stubs.ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/agent-platform-prod/api"})
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    result = _only("ecr-image-digests", account, f)  # no describe_images queued: a call would fail the stub
    assert [x.message for x in result.findings] == ["built and pushed by this update"]


def test_non_ecr_digest_is_skipped_with_reason():
    f = stubs.facts(ecr_images=[], other_images=["postgres:16-alpine@" + stubs.DIGEST])
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    result = _only("ecr-image-digests", account, f)
    assert _statuses(result, "ecr-image-digests") == ["skip"] and "not in ECR" in result.findings[0].message


def test_registry_digests_resolve_from_the_runner_and_match_the_recorded_ones():
    f = stubs.facts()
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    result = _only("registry-image-digests", account, f, registry=stubs.healthy_registry(f))
    assert _statuses(result, "registry-image-digests") == ["pass", "pass"]
    assert "the recorded digest" in result.findings[0].message


def test_a_registry_serving_another_digest_than_the_recorded_one_fails():
    f = stubs.facts()
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    result = _only("registry-image-digests", account, f, registry=stubs.registry())  # serves c...c for every tag
    assert _statuses(result, "registry-image-digests") == ["fail", "pass"]
    assert result.failed[0].subject == "quay.io/example/recorded:v1"
    assert "sha256:" + "c" * 64 in result.failed[0].message and "config/image_pins.py" in result.failed[0].message


def test_an_unreachable_registry_fails_because_the_deploy_would():
    f = stubs.facts()
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    result = _only("registry-image-digests", account, f,
                   registry=stubs.registry({"quay.io/example/recorded:v1": "sha256:" + "b" * 64},
                                           unreachable=("public.ecr.aws/example/resolved:2.0",)))
    assert _statuses(result, "registry-image-digests") == ["pass", "fail"]
    assert "public.ecr.aws could not be reached" in result.failed[0].message


def test_a_digest_pinned_outside_ecr_must_exist_in_its_registry():
    present, absent = "quay.io/a/b:v1@" + stubs.DIGEST, "docker.io/library/postgres:16-alpine@sha256:" + "e" * 64
    f = stubs.facts(registry_lookups=[], other_images=[present, absent])
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    result = _only("registry-image-digests", account, f, registry=stubs.registry(missing=(absent,)))
    assert [(x.subject, x.status) for x in result.findings] == [(present, "pass"), (absent, "fail")]
    assert "no manifest with this digest" in result.failed[0].message


def test_hosted_zone_found_and_missing():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_route53(account)
    assert _statuses(_only("route53-hosted-zone", account), "route53-hosted-zone") == ["pass", "pass"]

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_route53(account, zone_exists=False, id_exists=False)
    result = _only("route53-hosted-zone", account)
    assert [x.subject for x in result.failed] == ["example.com", "Z0123456789ABC"]


def test_roles_exist_missing_and_other_account():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_roles(account)
    result = _only("iam-roles-exist", account)
    assert _statuses(result, "iam-roles-exist") == ["pass", "skip"]  # a role in another account is not readable

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_roles(account, exists=False)
    result = _only("iam-roles-exist", account)
    assert result.failed[0].subject.endswith(":role/PlatformAdmin")


def test_ssm_parameter_exists_and_not():
    f = stubs.facts()
    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    stubs.expect_ssm(account, f)
    assert _statuses(_only("ssm-ami-parameters", account, f), "ssm-ami-parameters") == ["pass"]

    account = stubs.StubAccount()
    stubs.expect_zones(account, f)
    stubs.expect_ssm(account, f, exists=False)
    assert _statuses(_only("ssm-ami-parameters", account, f), "ssm-ami-parameters") == ["fail"]


# --- quotas and zones -------------------------------------------------------------------------------------------


def test_quotas_leave_room_counting_current_use_but_not_the_stacks_own():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_quotas(account)
    result = _only("service-quotas", account)
    assert _statuses(result, "service-quotas") == ["pass"] * 6
    eips = next(x for x in result.findings if "L-0263D0A3" in x.subject)
    assert eips.message == "1 in use + 3 new = 4 of 5"  # the stack's own tagged address is not counted twice
    nat = next(x for x in result.findings if "L-FE5A380F" in x.subject)
    assert nat.message == "2 in use1-az1 + 1 new = 3 of 5"
    clusters = next(x for x in result.findings if "L-1194D53C" in x.subject)
    assert clusters.message.startswith("1 in use")  # the stack's own cluster is not counted
    assert result.findings[-1].message == "4 in use + 1 new = 5 of 40"  # the database does not exist yet
    account.verify()


def test_rds_instance_quota_counts_an_existing_instance_once_and_fails_when_full():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_quotas(account, db_exists=True, db_used=40)
    result = _only("service-quotas", account)
    assert result.findings[-1].message == "40 in use + 0 new = 40 of 40" and not result.failed

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_quotas(account, db_used=40)
    result = _only("service-quotas", account)
    assert [x.subject for x in result.failed] == ["RDS DB instances (rds DescribeAccountAttributes DBInstances)"]


def test_quota_exhausted_fails_and_default_quota_is_read_when_none_applied():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_quotas(account, eip_quota=5.0, eips_in_use=3, default_for_nat=True)
    result = _only("service-quotas", account)
    assert [x.subject for x in result.failed] == ["EC2-VPC Elastic IPs (ec2/L-0263D0A3)"]
    assert "quota exhausted: 3 in use + 3 new = 6 of 5" in result.failed[0].message
    account.verify()  # GetAWSDefaultServiceQuota answered the NAT quota


def test_zones_exclude_eks_unsupported_zone_and_fail_when_too_few():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    result = _only("availability-zones", account)
    assert result.passed[0].message == ("subnets go to us-east-1a (use1-az1), us-east-1b (use1-az2), "
                                        "us-east-1d (use1-az4)")

    account = stubs.StubAccount()  # offered only in use1-az3 (EKS refuses it) and use1-az1: two zones short
    stubs.expect_zones(account, stubs.facts(), offered_in=["use1-az1", "use1-az3"])
    result = _only("availability-zones", account)
    assert result.failed and "network.azCount needs 3" in result.failed[0].message


# --- skipped, never passed ------------------------------------------------------------------------------------


def test_denied_call_skips_the_check_with_the_reason():
    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    account("eks")  # create the client and its stubber
    account.stubbers[("eks", stubs.REGION)].add_client_error(
        "describe_cluster_versions", service_error_code="AccessDeniedException", http_status_code=403)
    result = _only("eks-version", account)
    assert _statuses(result, "eks-version") == ["skip"]
    assert "eks:DescribeClusterVersions denied" in result.findings[0].message


def test_unreadable_zones_skip_the_zone_checks():
    account = stubs.StubAccount()
    account("ec2")
    account.stubbers[("ec2", stubs.REGION)].add_client_error(
        "describe_availability_zones", service_error_code="UnauthorizedOperation", http_status_code=403)
    result = run(stubs.facts(), account, fetch_url=_fetch(), workers=1,
                 only=["availability-zones", "instance-type-offerings"])
    assert [x.status for x in result.findings] == ["skip", "skip"]
    assert "ec2:DescribeAvailabilityZones denied" in result.findings[0].message


def test_no_credentials_skip():
    import boto3

    client = boto3.session.Session(region_name="us-east-1").client("sts")
    client._request_signer._credentials = None  # what a runner without credentials has

    def clients(service, region=None):
        return client

    f = stubs.facts(role_arns=[f"arn:aws:iam::{stubs.ACCOUNT}:role/PlatformAdmin"], zone_count=0,
                    instance_type_choices=[])
    result = run(f, clients, workers=1, only=["iam-roles-exist"])
    assert _statuses(result, "iam-roles-exist") == ["skip"] and "no AWS credentials" in result.findings[0].message


# --- the whole run and the IAM policy ------------------------------------------------------------------------


def test_checks_run_concurrently():
    import time

    from planning.preflight.framework import Check, Finding

    def slow(ctx):
        time.sleep(0.4)
        return [Finding("slow", "pass", "x", "slept")]

    checks = [Check(f"slow-{i}", "sleeps", "versions", (), "", slow) for i in range(4)]
    f = stubs.facts(zone_count=0, instance_type_choices=[])
    started = time.perf_counter()
    result = run(f, stubs.StubAccount(), workers=4, checks=checks)
    assert len(result.passed) == 4 and time.perf_counter() - started < 1.2  # 4 x 0.4 s one after another = 1.6 s


def test_unexpected_answer_is_skipped_not_passed():
    from planning.preflight.framework import Check

    def broken(ctx):
        raise KeyError("Quota")

    f = stubs.facts(zone_count=0, instance_type_choices=[])
    result = run(f, stubs.StubAccount(), workers=1, checks=[Check("broken", "b", "quotas", (), "", broken)])
    assert [x.status for x in result.findings] == ["skip"] and "KeyError" in result.findings[0].message


def test_full_run_passes():
    f = stubs.facts()
    account = stubs.passing(f)
    result = run(f, account, fetch_url=_fetch(), workers=1, registry=stubs.healthy_registry(f))
    assert not result.failed and not [x for x in result.skipped if x.check != "iam-roles-exist"], result.findings
    account.verify()
    assert {c.name for c in result.checks} == {x.check for x in result.findings}  # every check had work


def test_iam_policy_lists_exactly_the_actions_the_checks_call():
    f = stubs.facts()
    account = stubs.passing(f)
    run(f, account, fetch_url=_fetch(), workers=1, registry=stubs.healthy_registry(f))
    document = json.loads(iam_policy.POLICY_PATH.read_text())
    listed = [a for s in document["Statement"] for a in s["Action"]]
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in document["Statement"])
    assert sorted(listed) == sorted(set(account.calls))  # exactly what was called, each once
    assert all(a.split(":", 1)[1].startswith(("Describe", "Get", "List")) for a in listed)
    narrowed = {s["Action"][0]: s["Resource"] for s in document["Statement"] if s["Resource"] != "*"}
    assert narrowed["ssm:GetParameter"] == "arn:aws:ssm:*::parameter/aws/service/*"
    assert narrowed["iam:GetRole"] == "arn:aws:iam::*:role/*"


def test_every_policy_action_is_an_operation_in_botocores_models():
    import botocore.session

    session = botocore.session.get_session()
    by_prefix = {}
    for service in ("ec2", "ecr", "eks", "elasticache", "iam", "rds", "route53", "serverlessrepo",
                    "service-quotas", "ssm", "sts"):
        model = session.get_service_model(service)
        by_prefix[model.signing_name] = set(model.operation_names)
    for action in iam_policy.actions():
        prefix, operation = action.split(":", 1)
        assert operation in by_prefix[prefix], action


def test_iam_policy_file_is_fresh():
    assert iam_policy.main(["--check"]) == 0


def test_every_check_has_a_documented_place():
    from planning.preflight.framework import ORDER

    assert [c.name for c in all_checks()] == list(ORDER)


def test_every_check_is_documented():
    docs = Path(__file__).resolve().parent.parent / "docs" / "preflight.md"
    text = docs.read_text()
    for chk in all_checks():
        assert f"`{chk.name}`" in text, chk.name
        for action in chk.calls:
            assert action in text, (chk.name, action)
    assert len(REGISTRY) == len(all_checks())


def test_sarif_points_each_rule_at_the_checks_docs():
    from planning.preflight import report

    account = stubs.StubAccount()
    stubs.expect_zones(account, stubs.facts())
    stubs.expect_sar(account, published=False)
    result = _only("sar-application-version", account)
    document = report.to_sarif(result, docs_url="https://github.test/o/r/blob/abc/docs/policies.md")
    run = document["runs"][0]
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "sar-application-version")
    assert rule["helpUri"] == "https://github.test/o/r/blob/abc/docs/preflight.md#sar-application-version"
    [error] = run["results"]
    assert error["level"] == "error" and error["ruleId"] == "sar-application-version"
    assert "not published" in error["message"]["text"]
    assert run["automationDetails"]["id"] == "preflight/prod/"  # not the policy review's category
    assert run["tool"]["driver"]["name"] == "agent-platform-preflight"
