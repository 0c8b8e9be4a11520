"""Every bad value is refused in words naming its key, never a crash, never a silent weakening.

Each case below is an example from a mutation run over the stack files (about 1,800 mutations of every
leaf): the crashes, the keys left unnamed, the valid changes refused, and the invalid or weakening values
that were accepted.
"""

from __future__ import annotations

import copy
import math

import pytest

from config import ConfigError
from config.catalog import EKS_VERSIONS, LOG_RETENTION_DAYS
from config.tiers import TIER_PRESETS
from planning import cli
from tests.config_support import assert_words, reason, rejected, validated
from tests.harness import DEDICATED_VM, PUBLIC_EDGE, config_error, plan, review

PINNED = "@sha256:" + "a" * 64


# -- crashes become clean errors (regressions) ----------------------------------------------------------------

@pytest.mark.parametrize("engine", [{"value": "redis"}, ["redis"]], ids=["object", "list"])
def test_unhashable_engine_is_a_config_error_not_a_type_error(engine):
    err = rejected("dev", {"dataTier.redis.engine": engine})
    text = reason(err, "dataTier.redis.engine")
    assert "'redis'" in text and "'valkey'" in text
    assert_words(text)


USAGE_FIELDS = sorted(TIER_PRESETS["prod"]["cost"]["usage"])
BUDGETS = ["cost.monthlyBudgetUsd", "observability.alerts.llmDailyBudgetUsd", "cost.llm.monthlyBudgetUsd",
           "cost.llm.requestsPerDay", "observability.alerts.llmHourlyBudgetUsd"]


@pytest.mark.parametrize("path", [f"cost.usage.{f}" for f in USAGE_FIELDS] + BUDGETS)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_infinity_and_nan_are_refused_not_overflowing(path, value):
    err = rejected("prod", {path: value})
    text = reason(err, path)
    assert "finite number" in text
    assert_words(text)


def test_the_cli_exits_2_on_infinity_and_unhashable_values(capsys):
    """The CLI parses `--set x=Infinity` with json.loads (float inf); it used to die with OverflowError (exit 1)."""
    assert cli.main(["--stack", "dev", "--set", "cost.usage.natDataGb=Infinity", "--no-review", "--quiet"]) == 2
    assert cli.main(["--stack", "dev", "--set", 'dataTier.redis.engine={"value": "redis"}', "--no-review",
                     "--quiet"]) == 2
    assert cli.main(["--stack", "dev", "--set", 'dataTier.redis.engine=["redis"]', "--no-review", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cost.usage.natDataGb" in err and "dataTier.redis.engine" in err and "Traceback" not in err


# -- one error names every bad key ------------------------------------------------------------------------------

def test_owner_and_dr_region_are_named_together():
    err = config_error("prod", {"owner": "", "backup.drRegion": "us-east-1"})
    assert {"owner", "backup.drRegion"} <= set(err.paths), str(err)
    assert "must differ from the stack's region" in reason(err, "backup.drRegion")


def test_owner_and_prod_protect_are_named_together():
    err = rejected("prod", {"owner": "", "protect": False})
    assert {"owner", "protect"} <= set(err.paths), str(err)


def test_three_bad_keys_of_one_service_are_all_named():
    err = rejected("prod", {"services.api.port": 80, "services.api.logLevel": "loud",
                            "services.api.resources.memoryLimit": "lots"})
    for path in ("services.api.port", "services.api.logLevel", "services.api.resources.memoryLimit"):
        assert_words(reason(err, path))


def test_cross_field_service_rules_name_each_key():
    err = rejected("prod", {"services.api.replicas": 20, "services.api.terminationGracePeriodSeconds": 30,
                            "services.api.preStopDelaySeconds": 20,
                            "services.api.queue": {"listName": "jobs"}})
    for path in ("services.api.replicas", "services.api.terminationGracePeriodSeconds", "services.api.queue"):
        assert_words(reason(err, path))


def test_bad_keys_across_sections_are_named_in_one_error():
    err = config_error("prod", {"owner": "", "network.cidr": "10.0.0.0/8", "cluster.version": "1.99",
                                "dataTier.postgres.instanceClass": "db.fake.huge", "edge.hostedZoneId": "abc",
                                "backup.drRegion": "xx-nowhere-1", "services.api.calls": ["context", "context"],
                                "protect": False})
    expected = {"owner", "network.cidr", "cluster.version", "dataTier.postgres.instanceClass", "edge.hostedZoneId",
                "backup.drRegion", "services.api.calls", "protect"}
    assert expected <= set(err.paths), str(err)
    assert f"({len(err.issues)} problems)" in str(err)
    for _path, text in err.issues:
        assert_words(text)


def test_a_bad_service_does_not_hide_cross_section_rules_of_the_others():
    err = rejected("prod", {"services.worker.port": "eighty", "dataTier.postgres.multiAz": False,
                            "services.api.calls": ["context", "nowhere"]})
    assert {"services.worker.port", "dataTier.postgres.multiAz", "services.api.calls"} <= set(err.paths), str(err)


# -- valid changes accepted, the right key blamed --------------------------------------------------------------

def test_setting_one_key_of_a_block_keeps_its_other_defaults():
    cfg = validated("prod", {"edge.proxy.rateLimit.burst": 40})
    assert cfg.edge.proxy.rate_limit.burst == 40
    assert cfg.edge.proxy.rate_limit.requests == 10, "the default rate survives"
    assert cli.main(["--stack", "dev", "--set", "edge.proxy.rateLimit.burst=40", "--no-review", "--quiet"]) == 0


def test_unknown_instance_class_is_blamed_on_the_class_not_the_alarm():
    err = rejected("prod", {"dataTier.postgres.instanceClass": "db.fake.huge"})
    assert "observability.awsAlarms.rdsMaxConnections" not in err.paths, str(err)
    text = reason(err, "dataTier.postgres.instanceClass")
    assert "db.t4g.medium" in text
    assert_words(text)


def test_region_under_the_project_namespace_is_an_error_not_ignored():
    err = config_error("dev", {"region": "eu-west-1"})
    assert "aws:region" in reason(err, "region")


def test_set_paths_the_program_does_not_read_are_errors():
    with pytest.raises(ConfigError) as info:
        validated("dev", {"aws:regoin": "eu-west-1", "owner.team": "x"})
    assert {"aws:regoin", "owner.team"} <= set(info.value.paths)


@pytest.mark.parametrize("path", ["bogus", "network.subnetSize", "cluster.nodeGroups.general.instanceType",
                                  "services.api.replica"])
def test_unknown_keys_are_errors_with_the_keys_that_exist(path):
    err = rejected("prod", {path: 1})
    text = reason(err, path)
    assert text.startswith("unknown key")
    assert "keys here:" in text or path == "bogus"


def test_a_typo_is_answered_with_the_nearest_key():
    assert "did you mean replicas?" in reason(rejected("prod", {"services.api.replica": 3}), "services.api.replica")


# -- messages in words, keys as users write them ---------------------------------------------------------------

def test_hosted_zone_id_is_explained_without_a_regex():
    text = reason(rejected("prod", {"edge.hostedZoneId": "abc"}), "edge.hostedZoneId")
    assert text == ("'abc' is not a Route 53 hosted zone ID (Z followed by up to 31 letters or digits) "
                    "(e.g. Z0123456789ABCDEFGHIJ)")


def test_a_section_of_the_wrong_type_names_no_python_class():
    text = reason(rejected("dev", {"network": "big"}), "network")
    assert "must be an object of settings" in text and "NetworkConfig" not in text
    assert_words(text)


def test_a_bad_region_is_reported_as_aws_region():
    err = config_error("dev", {"aws:region": "xx-nowhere-1"})
    assert "aws:region" in err.paths and "region" not in err.paths
    assert_words(reason(err, "aws:region"))


def test_paths_are_camel_case():
    err = rejected("prod", {"network.existingVpc": {"vpcId": "vpc-0123456789abcdef0", "cidr": "10.30.0.0/16",
                                                    "publicSubnetIds": ["subnet-0123456789abcdef5",
                                                                        "subnet-0123456789abcdef6",
                                                                        "subnet-0123456789abcdef7"],
                                                    "privateSubnetIds": ["subnet-0123456789abcdef1",
                                                                         "subnet-0123456789abcdef2"],
                                                    "isolatedSubnetIds": ["subnet-0123456789abcdef3",
                                                                          "subnet-0123456789abcdef4"]}})
    assert {"network.existingVpc.privateSubnetIds", "network.existingVpc.isolatedSubnetIds"} <= set(err.paths), err
    assert all("_" not in part for path in err.paths for part in path.split(".")), err.paths


# -- security weakenings refused in protected tiers; dev's advisory findings live in tests/policies ------------

@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("cidrs", [["0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/0"], ["128.0.0.0/1"],
                                   ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"]])
def test_public_api_cidrs_covering_the_internet_are_refused_in_protected_tiers(stack, cidrs):
    text = reason(rejected(stack, {"cluster.publicAccessCidrs": cidrs}), "cluster.publicAccessCidrs")
    assert "internet" in text
    assert_words(text)


def test_dev_may_open_the_api_widely_and_the_policy_pack_says_so():
    """Config accepts it in dev; eks-endpoint-restricted (tests/policies/test_policies_eks.py) reports the halves."""
    assert validated("dev", {"cluster.publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]})


def _advisories(result, policy: str) -> list[str]:
    verdicts = review(result)
    assert not [v for v in verdicts.mandatory if v.policy == policy], "dev reports it as advice, not a refusal"
    return [v.message for v in verdicts.advisory if v.policy == policy]


def test_dev_deleting_secrets_at_once_is_an_advisory_finding():
    assert _advisories(plan("dev"), "secretsmanager-recovery-window"), "dev's preset recovery window of 0 is flagged"


def test_dev_counting_an_injection_rule_is_a_policy_violation():
    """Config lets dev count a rule (to chase a false positive); the pack's security policies are mandatory in every
    stack (tests/policies/test_policies_pack.py), so the plan says exactly which rule lets injections through."""
    result = plan("dev", {**DEDICATED_VM,  # dev behind the public edge: the committed dev stack has no WAF
                          "edge.waf.countOnlyRules": ["SizeRestrictions_BODY", "CrossSiteScripting_BODY"]})
    (violation,) = [v for v in review(result).mandatory if v.policy == "waf-injection-rules-enforced"]
    assert "CrossSiteScripting_BODY" in violation.message


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize(("parameter", "value"), [("password_encryption", "md5"),
                                                  ("ssl_min_protocol_version", "TLSv1"),
                                                  ("ssl_min_protocol_version", "TLSv1.1"), ("rds.force_ssl", "0")])
def test_postgres_parameters_that_weaken_the_server_are_refused(stack, parameter, value):
    err = rejected(stack, {"dataTier.postgres.parameters": {parameter: value}})
    text = reason(err, f"dataTier.postgres.parameters.{parameter}")
    assert "must be" in text
    assert_words(text)


def test_safe_postgres_parameters_are_accepted():
    cfg = validated("prod", {"dataTier.postgres.parameters": {"ssl_min_protocol_version": "TLSv1.3",
                                                              "password_encryption": "scram-sha-256"}})
    assert cfg.data_tier.postgres.parameters["ssl_min_protocol_version"] == "TLSv1.3"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_immediate_secret_deletion_is_refused_in_protected_tiers(stack):
    text = reason(rejected(stack, {"dataTier.secrets.recoveryWindowDays": 0}), "dataTier.secrets.recoveryWindowDays")
    assert "7 to 30" in text


def test_dev_may_delete_secrets_at_once():
    assert validated("dev", {"dataTier.secrets.recoveryWindowDays": 0}).data_tier.secrets.recovery_window_days == 0


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("csp", ["default-src *", "default-src 'self'; script-src 'self' 'unsafe-eval'",
                                 "script-src https:", "default-src 'self'; connect-src *"])
def test_a_csp_that_allows_everything_is_refused(stack, csp):
    text = reason(rejected(stack, {"edge.headers.contentSecurityPolicy": csp}), "edge.headers.contentSecurityPolicy")
    assert "'self'" in text
    assert_words(text)


@pytest.mark.parametrize("stack", ["staging", "prod"])
@pytest.mark.parametrize("rule", ["CrossSiteScripting_BODY", "GenericRFI_BODY", "EC2MetaDataSSRF_BODY"])
def test_injection_rules_may_not_only_count_in_protected_tiers(stack, rule):
    err = rejected(stack, {"edge.waf.countOnlyRules": ["SizeRestrictions_BODY", rule]})
    text = reason(err, "edge.waf.countOnlyRules")
    assert rule in text and "SizeRestrictions_BODY" in text


def test_dev_may_count_an_injection_rule():
    assert validated("dev", {"edge.waf.countOnlyRules": ["CrossSiteScripting_BODY"]})


def test_unknown_waf_rule_names_are_refused():
    text = reason(rejected("dev", {"edge.waf.countOnlyRules": ["XSS"]}), "edge.waf.countOnlyRules")
    assert_words(text)


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("value", ["sk-proj-4f9Qm2ZkT8yXc1VbN7pLr3Sd", "AKIAIOSFODNN7EXAMPLE",
                                   "Zk8pQ2mX9vT4rL7cN1bW6yH3jF5sD0aGqE2uI8oP"])
def test_credential_shaped_values_are_refused_whatever_the_setting_is_called(stack, value):
    err = rejected(stack, {"services.api.settings": {"MAX_CONVERSATION_MESSAGES": "100", "UPSTREAM_HINT": value}})
    assert "looks like a credential" in reason(err, "services.api.settings.UPSTREAM_HINT")


def test_ordinary_setting_values_are_not_credentials():
    cfg = validated("prod", {"services.api.settings": {"MAX_CONVERSATION_MESSAGES": "100",
                                                       "UPSTREAM_URL_PATH": "/v1/chat/completions",
                                                       "FEATURE_FLAGS": "streaming,tools,vision"}})
    assert cfg.services["api"].settings["FEATURE_FLAGS"] == "streaming,tools,vision"


# -- invalid values refused ------------------------------------------------------------------------------------

INVALID = [
    ("dev", {"network.cidr": "10.0.0.0/8"}, "network.cidr", "/16"),
    ("dev", {"network.cidr": "10.0.0.0/29"}, "network.cidr", "/28"),
    ("dev", {"cluster.serviceCidr": "10.0.0.0/28"}, "cluster.serviceCidr", "/12 to /24"),
    ("dev", {"cluster.serviceCidr": "100.64.0.0/16"}, "cluster.serviceCidr", "172.16.0.0/12"),
    ("dev", {"cluster.version": "1.99"}, "cluster.version", "one of 1.33"),
    ("dev", {"cluster.version": "1.20"}, "cluster.version", "one of 1.33"),
    ("dev", {"cluster.version": "latest"}, "cluster.version", "e.g. 1.34"),
    ("dev", {"dataTier.postgres.masterUsername": "postgres"}, "dataTier.postgres.masterUsername", "reserved"),
    ("dev", {"dataTier.postgres.masterUsername": "rdsadmin"}, "dataTier.postgres.masterUsername", "reserved"),
    ("dev", {"dataTier.postgres.masterUsername": "a_very_long_master_name"}, "dataTier.postgres.masterUsername",
     "16 characters"),
    ("dev", {"dataTier.bootstrap.postgresImage": "nginx"}, "dataTier.bootstrap.postgresImage", "no tag or digest"),
    ("dev", {"dataTier.bootstrap.awsCliImage": "public.ecr.aws/aws-cli/aws-cli:latest"},
     "dataTier.bootstrap.awsCliImage", ":latest"),
    ("prod", {"dataTier.bootstrap.postgresImage": "postgres:16-alpine"}, "dataTier.bootstrap.postgresImage",
     "digest"),
    ("dev", {"services.api.resources": {"memoryRequest": "1Gi", "memoryLimit": "512Mi"}},
     "services.api.resources.memoryLimit", "below memoryRequest"),
    ("prod", {"edge.controller.memoryRequest": "2Gi"}, "edge.controller.memoryLimit", "below memoryRequest"),
    ("dev", {"edge": {**PUBLIC_EDGE, "hostedZoneName": "example.org"}}, "edge.hostedZoneName", "parent"),
    ("dev", {"services.api.vm.instanceType": "zz9.mega"}, "services.api.vm.instanceType", "e.g. m7i.large"),
    ("dev", {"services.api.vm.instanceType": "m7i"}, "services.api.vm.instanceType", "m7i.large"),
    ("prod", {"cluster.nodeGroups.general.instanceTypes": ["m7g.xlarge"]},
     "cluster.nodeGroups.general.instanceTypes[0]", "arm64"),
    ("prod", {"cluster.nodeGroups.general.instanceTypes": ["m7i.xlarge", "m7i.xlarge"]},
     "cluster.nodeGroups.general.instanceTypes", "listed only once"),
    ("dev", {"dataTier.bootstrap.instanceType": "t9g.micro"}, "dataTier.bootstrap.instanceType", "e.g."),
    ("dev", {"dataTier.redis.nodeType": "cache.t4g.huge"}, "dataTier.redis.nodeType", "cache.t4g.small"),
    ("dev", {"aws:region": "xx-nowhere-1"}, "aws:region", "us-east-1"),
    ("prod", {"backup.drRegion": "xx-nowhere-1"}, "backup.drRegion", "us-east-1"),
    ("prod", {"backup.restoreTesting.schedule": "cron(99 6 ? * SAT *)"}, "backup.restoreTesting.schedule",
     "0-59"),
    ("prod", {"backup.restoreTesting.schedule": "cron(0 6 ? * FUNDAY *)"}, "backup.restoreTesting.schedule",
     "SUN-SAT"),
    ("prod", {"backup.restoreTesting.schedule": "cron(0 6 * * * *)"}, "backup.restoreTesting.schedule", "'?'"),
    ("prod", {"backup.completionWindowMinutes": 120, "backup.startWindowMinutes": 120},
     "backup.completionWindowMinutes", "60 minutes longer"),
    ("prod", {"backup.completionWindowMinutes": 60}, "backup.completionWindowMinutes", "at least 120"),
    ("prod", {"cluster.adminRoleArns": ["arn:aws:iam::111122223333:role/PlatformAdmin"] * 2},
     "cluster.adminRoleArns", "listed only once"),
    ("prod", {"cluster.readOnlyRoleArns": ["arn:aws:iam::111122223333:role/PlatformAdmin"]},
     "cluster.readOnlyRoleArns", "is also an admin"),
    ("prod", {"backup.vaultAdminRoleArns": ["arn:aws:iam::111122223333:role/PlatformAdmin"] * 2},
     "backup.vaultAdminRoleArns", "listed only once"),
    ("prod", {"cluster.publicAccessCidrs": ["203.0.113.0/24", "203.0.113.0/24"]}, "cluster.publicAccessCidrs",
     "listed only once"),
    ("prod", {"services.api.calls": ["context", "context"]}, "services.api.calls", "listed only once"),
    ("prod", {"cluster.addonVersions": {"vpc-cnii": "v1.19.2-eksbuild.1"}}, "cluster.addonVersions.vpc-cnii",
     "vpc-cni"),
    ("prod", {"cluster.addonVersions": {"coredns": "latest"}}, "cluster.addonVersions.coredns", "eksbuild"),
    ("prod", {"cluster.nodeGroups.general.labels": {"-bad-": "x"}}, "cluster.nodeGroups.general.labels.-bad-",
     "label key"),
    ("prod", {"cluster.nodeGroups.general.labels": {"team": "has spaces"}}, "cluster.nodeGroups.general.labels.team",
     "label value"),
    ("prod", {"cluster.nodeGroups.general.taints": [{"key": "a b", "effect": "NO_SCHEDULE"}]},
     "cluster.nodeGroups.general.taints[0].key", "label key"),
    ("dev", {"cost.usage.spotPriceFactor": 0}, "cost.usage.spotPriceFactor", "greater than 0"),
    ("dev", {"cluster.logRetentionDays": 42}, "cluster.logRetentionDays", "one of 1, 3, 5"),
    ("dev", {"network.flowLogs.retentionDays": 2}, "network.flowLogs.retentionDays", "one of 1, 3, 5"),
    ("dev", {"edge.waf.logRetentionDays": 100}, "edge.waf.logRetentionDays", "one of 1, 3, 5"),
    ("dev", {"observability.logRetentionDays": 3000}, "observability.logRetentionDays", "one of 1, 3, 5"),
    ("dev", {"dataTier.logRetentionDays": 10}, "dataTier.logRetentionDays", "one of 1, 3, 5"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "phrase"), INVALID,
                         ids=[f"{s}:{p}={next(iter(o.values()))}" for s, o, p, _ in INVALID])
def test_invalid_values_are_refused_in_words(stack, overrides, path, phrase):
    text = reason(rejected(stack, overrides), path)
    assert phrase in text, text
    assert_words(text)


def test_every_listed_example_also_fails_the_program_before_registering_anything():
    """A sample through the real program (the harness proves nothing was registered)."""
    for stack, overrides, path, _ in INVALID[::6]:
        assert path in config_error(stack, overrides).paths


@pytest.mark.parametrize("retention", LOG_RETENTION_DAYS)
def test_every_cloudwatch_retention_is_accepted_by_every_log_setting(retention):
    cfg = validated("dev", {"cluster.logRetentionDays": retention, "network.flowLogs.retentionDays": retention,
                            "edge.waf.logRetentionDays": retention, "observability.logRetentionDays": retention,
                            "dataTier.logRetentionDays": retention})
    assert cfg.cluster.log_retention_days == retention


@pytest.mark.parametrize("version", sorted(EKS_VERSIONS))
def test_every_known_eks_version_is_accepted(version):
    pins = {"vpc-cni": "v1.20.0-eksbuild.1", "kube-proxy": f"v{version}.0-eksbuild.1", "coredns": "v1.12.1-eksbuild.1",
            "aws-ebs-csi-driver": "v1.45.0-eksbuild.1"}
    assert validated("prod", {"cluster.version": version, "cluster.addonVersions": pins}).cluster.version == version


def test_graviton_types_are_accepted_under_the_arm_ami():
    cfg = validated("prod", {"cluster.nodeGroups.general.instanceTypes": ["m7g.xlarge", "m8g.xlarge"],
                             "cluster.nodeGroups.general.amiType": "AL2023_ARM_64_STANDARD"})
    assert cfg.cluster.node_groups["general"].instance_types == ["m7g.xlarge", "m8g.xlarge"]


def test_dotted_overrides_leave_the_callers_whole_section_value_unchanged():
    """`--set edge=... --set edge.x=...` and tests that combine a shared section constant with a dotted path
    must not write the path into the constant, or every later plan in the process inherits it."""
    from planning.engine import with_paths

    section = {"exposure": "public", "domain": "dev.agents.example.com", "hostedZoneName": "example.com"}
    before = copy.deepcopy(section)
    merged = with_paths("dev", {"edge": section, "edge.proxy.readTimeoutSeconds": 30})
    assert merged["edge"]["proxy"]["readTimeoutSeconds"] == 30
    assert section == before
