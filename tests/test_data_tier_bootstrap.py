"""The database bootstrap Job: idempotent SQL, least privilege, credentials fetched at runtime, locked down."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from components.data.bootstrap_job import BOOTSTRAP, FETCH_LOGINS, SQL
from planning.model import PlannedResource
from tests.conftest import STACKS
from tests.harness import eks_plan, plan

JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def job(stack: str = "prod", overrides: dict | None = None) -> PlannedResource:
    return eks_plan(stack, overrides).one(JOB, "data-bootstrap")  # the Job is the EKS runtime's bootstrap


def pod(stack: str = "prod") -> dict:
    return job(stack).props["spec"]["template"]["spec"]


# --- the SQL ------------------------------------------------------------------------------------------------


def test_sql_enables_pgvector_and_trigram_search_idempotently():
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in SQL
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm;" in SQL
    assert re.search(r"CREATE DATABASE %I'.*\n.*WHERE NOT EXISTS .*pg_database.*\\gexec", SQL)
    assert re.search(r"IF NOT EXISTS \(SELECT FROM pg_catalog\.pg_roles WHERE rolname = app\) THEN\s+EXECUTE "
                     r"format\('CREATE ROLE", SQL)
    assert "CREATE SCHEMA IF NOT EXISTS" in SQL


def test_sql_creates_a_login_only_role_that_cannot_escalate():
    create = re.search(r"CREATE ROLE %I WITH ([A-Z ]+)'", SQL)
    assert create and set(create.group(1).split()) == {"LOGIN", "NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE",
                                                       "NOREPLICATION", "NOBYPASSRLS"}
    assert "rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls" in SQL
    assert "RAISE EXCEPTION 'role % is a member of another role" in SQL
    grants = re.findall(r"GRANT [^']*'", SQL)
    assert grants == ["GRANT pg_monitor TO %I'", "GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I'",
                      "GRANT CONNECT ON DATABASE %I TO %I'", "GRANT USAGE, CREATE ON SCHEMA %I TO %I'"]
    assert "REVOKE ALL ON DATABASE %I FROM PUBLIC" in SQL and "REVOKE CREATE ON SCHEMA public FROM PUBLIC" in SQL
    assert not re.search(r"rds_superuser|OWNER|SUPERUSER'|WITH ADMIN|ALL PRIVILEGES", SQL)


def test_passwords_never_reach_a_command_line_or_a_manifest():
    assert "--set app_password_file=/creds/app-password" in BOOTSTRAP
    assert "\\set app_password `cat :'app_password_file'`" in SQL
    assert "PGPASSWORD=$(json_string password /creds/master.json)\nexport PGPASSWORD" in BOOTSTRAP
    assert "umask 077" in BOOTSTRAP and "umask 077" in FETCH_LOGINS


def test_the_app_role_is_refused_if_it_would_be_the_master_user():
    assert 'if [ "$master_user" = "$APP_USER" ]; then' in BOOTSTRAP
    cfg_map = plan("prod").one(CONFIG_MAP, "data-bootstrap-scripts").props["data"]
    assert cfg_map == {"bootstrap.sql": SQL, "bootstrap.sh": BOOTSTRAP, "fetch-logins.sh": FETCH_LOGINS}


@pytest.fixture(scope="module")
def json_string(tmp_path_factory: pytest.TempPathFactory):
    """The script's own JSON reader, run by the system's sh and awk."""
    if not (shutil.which("sh") and shutil.which("awk")):
        pytest.fail("sh and awk are needed to exercise the bootstrap script")
    folder = tmp_path_factory.mktemp("json")
    function = re.search(r"^json_string\(\) \{.*?^\}\n", BOOTSTRAP, re.S | re.M).group(0)

    def read(document: str, key: str) -> tuple[int, str]:
        (folder / "doc.json").write_text(document)
        script = f'{function}json_string "$1" "$2"'
        done = subprocess.run(["sh", "-c", script, "sh", key, str(folder / "doc.json")], capture_output=True,
                              text=True, check=False)
        return done.returncode, done.stdout

    return read


@pytest.mark.parametrize("password", ['pl41n', 'a\\b"c:d#e$f`g\'h', "tab\tand newline\n", "x/y@z<&>"])
def test_the_script_reads_any_password_rds_can_generate(json_string, password):
    document = json.dumps({"username": "platform_admin", "password": password})
    assert json_string(document, "password") == (0, password)
    assert json_string(json.dumps({"password": password}, ensure_ascii=True).replace("<", "\\u003c"),
                       "password") == (0, password)


def test_the_script_fails_on_a_missing_key_instead_of_logging_in_empty(json_string):
    code, out = json_string('{"username": "platform_admin", "old_password": "x"}', "password")
    assert code != 0 and out == ""


# --- the Job ------------------------------------------------------------------------------------------------


def test_job_runs_restricted_as_a_high_uid_with_read_only_roots():
    spec = pod()
    context = spec["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] >= 10000
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in [*spec["initContainers"], *spec["containers"]]:
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert container["resources"]["limits"]["memory"]
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"


def test_credentials_live_only_in_a_memory_volume_fetched_through_irsa():
    spec = pod()
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["credentials"]["emptyDir"]["medium"] == "Memory"
    token = volumes["aws-iam-token"]["projected"]["sources"][0]["serviceAccountToken"]
    assert token["audience"] == "sts.amazonaws.com"
    (fetch,) = spec["initContainers"]
    env = {e["name"]: e["value"] for e in fetch["env"]}
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"].endswith("/token") and env["AWS_ROLE_ARN"].startswith("arn:aws:iam::")
    assert env["MASTER_LOGIN_ARN"].startswith("arn:aws:secretsmanager:") and "rds!" in env["MASTER_LOGIN_ARN"]
    assert env["APP_LOGIN_ARN"] == plan("prod").outputs["appDbSecretArn"]
    (psql,) = spec["containers"]
    env = {e["name"]: e["value"] for e in psql["env"]}
    assert env["PGSSLMODE"] == "verify-full" and env["PGHOST"] == plan("prod").outputs["postgresHost"]
    assert not [e for e in psql["env"] if "PASSWORD" in e["name"]]


def test_the_job_role_reads_exactly_the_three_bootstrap_secrets():
    p = plan("prod")
    role = p.one(ROLE, "data-bootstrap-role")
    trust = json.loads(role.props["assumeRolePolicy"])["Statement"][0]
    subjects = [v for k, v in trust["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:platform-jobs:db-bootstrap"]
    statements = json.loads(p.one(ROLE_POLICY, "data-bootstrap-role-policy").props["policy"])["Statement"]
    read = next(s for s in statements if s["Sid"] == "ReadBootstrapCredentials")
    assert read["Action"] == ["secretsmanager:GetSecretValue"] and len(read["Resource"]) == 3
    assert [":secret:rds!db-" in read["Resource"][0], ":secret:data-app-db-credentials-" in read["Resource"][1],
            ":secret:data-monitor-db-credentials-" in read["Resource"][2]] == [True, True, True]
    decrypt = next(s for s in statements if s["Sid"] == "DecryptThroughSecretsManager")
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


def test_job_name_changes_with_the_script_inputs_so_it_runs_again():
    base = job("dev").props["metadata"]["name"]
    assert re.fullmatch(r"db-bootstrap-[0-9a-f]{10}", base)
    assert job("dev").props["metadata"]["name"] == base, "stable while nothing changes"
    assert job("dev", {"dataTier.postgres.databaseName": "agents"}).props["metadata"]["name"] != base
    assert job("dev", {"dataTier.postgres.appConnectionLimit": 50}).props["metadata"]["name"] != base


def test_job_waits_for_the_database_and_cleans_up_after_itself():
    p = plan("prod")
    bootstrap = p.one(JOB, "data-bootstrap")
    assert p.one("aws:rds/instance:Instance", "data-postgres").urn in bootstrap.dependencies
    assert bootstrap.props["spec"]["ttlSecondsAfterFinished"] == 86400
    assert bootstrap.props["spec"]["backoffLimit"] > 0 and bootstrap.props["spec"]["activeDeadlineSeconds"]
    assert bootstrap.props["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
    assert bootstrap.provider and "cluster-k8s" in bootstrap.provider


def test_images_are_configurable_and_pinned_by_digest_in_every_tier():
    images = [c["image"] for c in [*pod("dev")["initContainers"], *pod("dev")["containers"]]]
    assert [i.split("@")[0] for i in images] == ["public.ecr.aws/aws-cli/aws-cli:2.31.30", "postgres:16-alpine"]
    for stack in STACKS:
        for container in [*pod(stack)["initContainers"], *pod(stack)["containers"]]:
            assert re.search(r"@sha256:[0-9a-f]{64}$", container["image"]), container["image"]
    assert job("dev", {"dataTier.postgres.engineVersion": "17"}).props["spec"]["template"]["spec"][
        "containers"][0]["image"].startswith("postgres:17-alpine@sha256:")


def test_the_jobs_namespace_is_restricted_and_denies_by_default():
    p = plan("prod")
    ns = p.one(NAMESPACE, "data-jobs-namespace").props["metadata"]
    assert ns["name"] == "platform-jobs"
    assert ns["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policies = {r.props["metadata"]["name"]: r.props["spec"] for r in p.of_type(NETWORK_POLICY)
                if r.props["metadata"]["namespace"] == "platform-jobs"}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    egress = policies["db-bootstrap-egress"]["egress"]
    ports = [sorted((p["protocol"], p["port"]) for p in rule["ports"]) for rule in egress]
    assert ports == [[("TCP", 53), ("UDP", 53)], [("TCP", 5432)], [("TCP", 443)]]
    database_cidrs = [peer["ipBlock"]["cidr"] for peer in egress[1]["to"]]
    # The stack's own isolated subnets, not the DR region's standby network.
    isolated = [s.props["cidrBlock"] for s in p.of_type("aws:ec2/subnet:Subnet")
                if s.name.startswith("network-isolated-")]
    assert sorted(database_cidrs) == sorted(isolated) and len(isolated) == 3
    assert "ingress" not in policies["db-bootstrap-egress"]

