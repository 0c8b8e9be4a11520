"""The database bootstrap under runtime: vm: a one-shot instance running the Job's own scripts, least privilege."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess

import pytest

from components.data.bootstrap_job import BOOTSTRAP, FETCH_LOGINS, SQL, script_files
from components.data.bootstrap_vm import DIGEST_TAG
from planning.model import Plan, PlannedResource
from planning.review import load_policy_config
from tests.harness import plan, review
from tests.test_data_tier import MOCK_RANDOM, MOCK_SECRET, plaintext_hits

ASG = "aws:autoscaling/group:Group"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SG = "aws:ec2/securityGroup:SecurityGroup"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
JOB = "kubernetes:batch/v1:Job"
VM = {"runtime": "vm"}


def group(p: Plan) -> PlannedResource:
    return p.one(ASG, "data-bootstrap-asg")


def template(p: Plan) -> PlannedResource:
    return p.one(TEMPLATE, "data-bootstrap-template")


def user_data(p: Plan) -> str:
    return base64.b64decode(template(p).props["userData"]).decode()


def policy(p: Plan) -> dict:
    return json.loads(p.one(ROLE_POLICY, "data-bootstrap-instance-policy").props["policy"])


# --- when it is built ---------------------------------------------------------------------------------------------


def test_the_vm_runtime_bootstraps_with_an_instance_and_eks_with_the_job():
    vm, eks = plan("dev"), plan("dev", {"runtime": "eks"})
    assert group(vm) and not vm.of_type(JOB)
    assert eks.one(JOB, "data-bootstrap") and not [r for r in eks.of_type(ASG) if "bootstrap" in r.name]


def test_staging_on_the_vm_runtime_gets_the_instance_too():
    assert group(plan("staging", VM)).props["maxSize"] == 1


# --- the same scripts, run once --------------------------------------------------------------------------------


def test_the_instance_runs_the_jobs_scripts_verbatim():
    script = user_data(plan("dev"))
    for name, text in script_files().items():
        assert f"cat > /scripts/{name} <<'__AGENT_PLATFORM_DB_BOOTSTRAP__'\n{text}__AGENT_PLATFORM_DB_BOOTSTRAP__" \
            in script
    assert {SQL, BOOTSTRAP, FETCH_LOGINS} == set(script_files().values())
    assert "sh /scripts/fetch-logins.sh && sh /scripts/bootstrap.sh" in script


def test_psql_verifies_the_server_against_the_rds_ca_and_logins_stay_in_memory():
    script = user_data(plan("dev"))
    assert "dnf install -y postgresql16 amazon-cloudwatch-agent" in script
    assert "export PGSSLMODE=verify-full" in script and "export PGSSLROOTCERT=/creds/rds-ca.pem" in script
    assert "export RDS_CA_BUNDLE_URL=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in script
    mount = script.index("mount -t tmpfs -o size=1m,mode=0700,noexec,nosuid,nodev tmpfs /creds")
    assert mount < script.index("sh /scripts/fetch-logins.sh") < script.index("umount /creds")


def test_the_instance_logs_to_its_own_encrypted_log_group():
    p = plan("dev")
    logs = p.one("aws:cloudwatch/logGroup:LogGroup", "data-bootstrap-logs")
    assert logs.props["name"] == "/agent-platform/dev/db-bootstrap" and logs.props["kmsKeyId"]
    config = re.search(r"amazon-cloudwatch-agent.json <<'\w+'\n(.*?)\n", user_data(p)).group(1)
    files = json.loads(config)["logs"]["logs_collected"]["files"]["collect_list"]
    assert [(f["file_path"], f["log_group_name"]) for f in files] == [("/var/log/db-bootstrap.log",
                                                                         "/agent-platform/dev/db-bootstrap")]


def test_after_converging_the_instance_scales_its_own_group_to_zero():
    p = plan("dev")
    name = group(p).props["name"]
    script = user_data(p)
    assert f"GROUP={name}\n" in script
    success = script.index('if [ "$status" -ne 0 ]; then')
    assert script.index('aws autoscaling set-desired-capacity --auto-scaling-group-name "$GROUP" '
                        '--desired-capacity 0') > success
    props = group(p).props
    assert (props["minSize"], props["maxSize"], props["desiredCapacity"]) == (0, 1, 1)
    assert "desiredCapacity" in (group(p).ignore_changes or [])


def test_the_boot_script_is_valid_bash():
    if not shutil.which("bash"):
        pytest.fail("bash is needed to check the boot script")
    done = subprocess.run(["bash", "-n"], input=user_data(plan("dev")), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_any_change_to_the_scripts_inputs_runs_it_again_in_a_new_group():
    base, changed = plan("dev"), plan("dev", {"dataTier.postgres.appConnectionLimit": 150})
    digest = template(base).props["tags"][DIGEST_TAG]
    assert re.fullmatch(r"[0-9a-f]{64}", digest) and f"DIGEST={digest}\n" in user_data(base)
    assert group(base).props["name"] == f"agent-platform-dev-db-bootstrap-{digest[:10]}"
    assert template(changed).props["tags"][DIGEST_TAG] != digest
    assert group(changed).props["name"] != group(base).props["name"]
    assert group(plan("dev")).props["name"] == group(base).props["name"]  # stable when nothing changes


# --- hardened instance ------------------------------------------------------------------------------------------


def test_launch_template_is_al2023_imdsv2_encrypted_private_without_a_key_pair():
    p = plan("dev")
    props = template(p).props
    assert props["imageId"].startswith("ami-")  # the AL2023 parameter's value (test_instance_images.py)
    assert props["metadataOptions"]["httpTokens"] == "required"
    assert props["metadataOptions"]["httpPutResponseHopLimit"] == 1
    ebs = props["blockDeviceMappings"][0]["ebs"]
    service_ebs = p.one(TEMPLATE, "shared-host-template").props["blockDeviceMappings"][0]["ebs"]
    assert (ebs["volumeType"], ebs["encrypted"]) == ("gp3", "true") and ebs["kmsKeyId"] == service_ebs["kmsKeyId"]
    assert "keyName" not in props
    assert [n["associatePublicIpAddress"] for n in props["networkInterfaces"]] == ["false"]
    subnets = p.one(ASG, "shared-host-asg").props["vpcZoneIdentifiers"]  # the private subnets
    assert group(p).props["vpcZoneIdentifiers"] == subnets


def test_no_secret_value_reaches_the_user_data_or_any_input():
    p = plan("dev")
    script = user_data(p)
    assert MOCK_SECRET not in script and not any(m in script for m in MOCK_RANDOM)
    assert [f"{r.type} {r.name}{hit}" for r in p for hit in plaintext_hits(r.inputs)] == []


# --- least privilege --------------------------------------------------------------------------------------------


def test_the_role_reads_only_the_three_logins_and_scales_only_its_own_group():
    p = plan("dev")
    statements = {s["Sid"]: s for s in policy(p)["Statement"]}
    assert set(statements) == {"ReadBootstrapCredentials", "DecryptThroughSecretsManager", "ScaleOwnGroupToZero",
                               "WriteOwnLogs"}
    master, app, monitor = statements["ReadBootstrapCredentials"]["Resource"]
    assert ":secret:rds!db-" in master and ":secret:data-app-db-credentials-" in app
    assert ":secret:data-monitor-db-credentials-" in monitor
    assert statements["ReadBootstrapCredentials"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert statements["DecryptThroughSecretsManager"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}
    scale = statements["ScaleOwnGroupToZero"]
    assert scale["Action"] == ["autoscaling:SetDesiredCapacity"]
    assert scale["Resource"] == [f"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:*:"
                                 f"autoScalingGroupName/{group(p).props['name']}"]
    assert all(r != "*" for s in statements.values() for r in s["Resource"])
    attached = [a.props["policyArn"] for a in p.of_type(ATTACHMENT) if a.name.startswith("data-bootstrap-instance")]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    role = p.one(ROLE, "data-bootstrap-instance-role")
    assert json.loads(role.props["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


def test_egress_is_postgres_to_the_database_subnets_and_https_only_and_the_database_admits_it():
    p = plan("dev")
    sg = p.one(SG, "data-bootstrap-sg")
    rules = [r.props for r in p.children(sg.urn) if r.type == EGRESS]
    isolated = sorted(s.props["cidrBlock"] for s in p.of_type("aws:ec2/subnet:Subnet") if "isolated" in s.name)
    assert sorted(r["cidrIpv4"] for r in rules if r["fromPort"] == 5432) == isolated
    assert [(r["cidrIpv4"], r["fromPort"], r["toPort"]) for r in rules if r["fromPort"] != 5432] == [
        ("0.0.0.0/0", 443, 443)]
    assert {r["ipProtocol"] for r in rules} == {"tcp"} and not [r for r in p.children(sg.urn) if r.type == INGRESS]
    admitted = p.one(INGRESS, "data-postgres-from-bootstrap").props
    assert {admitted["referencedSecurityGroupId"]} == {r["securityGroupId"] for r in rules}
    assert admitted["securityGroupId"] == p.one(INGRESS, "data-postgres-from-vm-workloads").props["securityGroupId"]
    assert admitted["fromPort"] == admitted["toPort"] == 5432


def test_the_bootstrap_resources_pass_the_policy_pack():
    p = plan("dev")
    result = review(p, load_policy_config("dev"))
    names = {"data-bootstrap-asg", "data-bootstrap-template", "data-bootstrap-sg", "data-bootstrap-instance-role",
             "data-bootstrap-instance-policy", "data-bootstrap-profile", "data-bootstrap-logs"}
    assert [v for v in result.violations if v.resource_name in names] == []
    tags = {t["key"]: t for t in group(p).props["tags"]}
    platform = {"project", "stack", "environment", "component", "owner", "cost-center"}
    assert platform <= set(tags)
    assert all(tags[k]["propagateAtLaunch"] is True for k in platform)
