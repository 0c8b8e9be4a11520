"""The document store's least-privilege user: services log in as it, never as the DocumentDB master user.

Its secret (CMK, generated password, rotated by AWS's MongoDB single-user function), the bootstrap that creates
it with mongosh over TLS as the master user (a container of the EKS Job, or the VM's one-shot instance), and the
script itself, run under Node.js against a fake server to show which commands it sends.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.data import bootstrap_vm
from components.data.bootstrap_job import TEMPLATES
from components.data.secrets import DOCDB_ROTATION_APPLICATION, rotation_application
from planning.model import Plan, is_secret
from tests.harness import config_error, plan, tags_of

CLUSTER = "aws:docdb/cluster:Cluster"
INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
SAR = "aws:serverlessrepository/cloudFormationStack:CloudFormationStack"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
JOB = "kubernetes:batch/v1:Job"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SERVICE_SECRETS = ["database", "redis", "jwt", "encryption-key", "mongodb"]


def store_plan(stack: str, **store: Any) -> Plan:
    return plan(stack, {"dataTier.documentStore": {"engine": "documentdb", **store},
                        "services.api.secrets": SERVICE_SECRETS})


def master_arn(p: Plan) -> str:
    # The mock engine's DocumentDB-managed master secret (planning/mock_outputs.py, masterUserSecrets[0]).
    policy = json.loads(p.one(ROLE_POLICY, "data-bootstrap-role-policy" if p.stack != "dev" else
                              "data-bootstrap-instance-policy").props["policy"])
    reads = next(s for s in policy["Statement"] if s["Sid"] == "ReadBootstrapCredentials")["Resource"]
    (arn,) = [r for r in reads if ":secret:rds!cluster-" in r]
    return arn


def app_secret(p: Plan) -> Any:
    return p.one(SECRET, "data-docdb-app-credentials")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_services_mount_the_application_user_never_the_master(stack: str):
    p = store_plan(stack)
    app_arn = p.outputs["mongodbSecretArn"]
    assert app_arn.startswith("arn:aws:secretsmanager:")
    master = master_arn(p)
    assert app_arn != master
    if stack == "prod":
        synced = {d["secretKey"]: d["remoteRef"]["key"]
                  for d in p.one(EXTERNAL_SECRET, "service-api-external-secret").props["spec"]["data"]}
        assert synced["mongodb"] == app_arn
        service_policy = p.one(ROLE_POLICY, "service-api-role-policy").props["policy"]
    else:
        # The services' boot scripts (dev runs them on one shared host): the ones that set MONGODB_URL.
        texts = [base64.b64decode(r.props["userData"]).decode() for r in p.of_type(TEMPLATE) if r.props.get("userData")]
        scripts = [t for t in texts if "MONGODB_URL=" in t]
        assert scripts and all(app_arn in t and master not in t for t in scripts)
        service_policy = "".join(r.props["policy"] for r in p.of_type(ROLE_POLICY) if r.name.startswith("service-api"))
    assert app_arn in service_policy and master not in service_policy
    # Nothing but the bootstrap's own policy names the master login.
    naming = sorted(r.name for r in p if master in json.dumps(r.props, default=str))
    assert naming == (["data-bootstrap-instance-policy"] if stack == "dev" else
                      ["data-bootstrap", "data-bootstrap-role-policy"])


def test_the_application_secret_is_cmk_encrypted_generated_and_shaped_for_the_mongodb_rotation_function():
    p = store_plan("prod")
    entry = app_secret(p)
    assert entry.property_dependencies["kmsKeyId"] == (p.one("aws:kms/key:Key", "data-secrets-key").urn,)
    assert tags_of(entry)["agent-platform/secret-kind"] == "database-credentials"
    assert entry.props["replicas"], "replicated to the DR region like the PostgreSQL application secret"
    version = next(v for v in p.of_type(SECRET_VERSION) if v.parent == entry.urn)
    assert is_secret(version.inputs["secretString"])
    value = json.loads(version.props["secretString"])
    # Keys of SecretsManagerMongoDBRotationSingleUser's lambda_function.py docstring (aws-samples/
    # aws-secrets-manager-rotation-lambdas): engine 'mongo', host, username, password, optional port and ssl.
    assert set(value) == {"engine", "host", "port", "username", "password", "ssl"}
    assert (value["engine"], value["port"], value["ssl"], value["username"]) == ("mongo", 27017, True, "agentapp")
    assert value["host"] == p.outputs["mongodbHost"]
    assert len(value["password"]) == 32 and value["password"].isalnum()
    password = p.one("random:index/randomPassword:RandomPassword", "data-docdb-app-password")
    assert password.props["special"] is False
    # Never a plaintext output.
    assert value["password"] not in json.dumps(p.outputs, default=str)


@pytest.mark.parametrize(("region", "publisher", "version"), [
    ("us-east-1", "arn:aws:serverlessrepo:us-east-1:297356227824", "1.1.671"),
    ("cn-north-1", "arn:aws-cn:serverlessrepo:cn-north-1:193023089310", "1.1.440"),
    ("us-gov-west-1", "arn:aws-us-gov:serverlessrepo:us-gov-west-1:023102451235", "1.1.384"),
])
def test_the_mongodb_rotation_application_is_a_version_its_partition_publishes(region, publisher, version):
    # aws-cdk-lib SecretRotationApplication.MONGODB_ROTATION_SINGLE_USER: 1.1.671, aws-cn 1.1.440, aws-us-gov 1.1.384.
    from components.data.secrets import DOCDB_ROTATION_VERSIONS
    assert rotation_application(region, None, DOCDB_ROTATION_APPLICATION, DOCDB_ROTATION_VERSIONS) == (
        f"{publisher}:applications/SecretsManagerMongoDBRotationSingleUser", version)


def test_the_user_rotates_after_the_bootstrap_created_it_through_its_own_function_in_the_vpc():
    p = store_plan("prod")
    stack = p.one(SAR, "data-docdb-rotation-function")
    assert stack.props["applicationId"].endswith(":applications/SecretsManagerMongoDBRotationSingleUser")
    assert stack.props["semanticVersion"] == "1.1.671"
    params = stack.props["parameters"]
    assert params["functionName"].endswith("docdb-app-rotation") and params["vpcSubnetIds"]
    rotation = p.one(ROTATION, "data-docdb-app-rotation")
    assert rotation.property_dependencies["secretId"] == (app_secret(p).urn,)
    assert rotation.props["rotationRules"]["automaticallyAfterDays"] == 30
    assert rotation.props["rotateImmediately"] is False
    assert p.one(JOB, "data-bootstrap").urn in rotation.dependencies
    # The function's group reaches DocumentDB and HTTPS only; the cluster's group admits it by reference.
    egress = {(r.props["fromPort"], bool(r.props.get("cidrIpv4"))) for r in p.of_type(EGRESS)
              if r.name.startswith("data-docdb-rotation-to-")}
    assert egress == {(27017, False), (443, True)}
    assert p.one(INGRESS, "data-docdb-from-rotation").props["fromPort"] == 27017


def test_the_eks_job_converges_the_user_with_mongosh_over_tls_as_the_master_user():
    p = store_plan("prod")
    job = p.one(JOB, "data-bootstrap")
    pod = job.props["spec"]["template"]["spec"]
    mongosh = next(c for c in pod["containers"] if c["name"] == "mongosh")
    # The official image, by the digest the registry serves for its tag (the planner's stand-in digest here).
    assert mongosh["image"].startswith("docker.io/library/mongo:8.0.26@sha256:")
    assert mongosh["command"] == ["/bin/sh", "/scripts/docdb-bootstrap.sh"]
    env = {e["name"]: e["value"] for e in mongosh["env"]}
    assert env["DOCDB_HOST"] == p.outputs["mongodbHost"] and env["DOCDB_PORT"] == "27017"
    assert (env["DOCDB_APP_USER"], env["DOCDB_APP_ROLE"], env["DOCDB_DATABASE"]) == (
        "agentapp", "readWrite", "agent_platform")
    assert env["DOCDB_CA_FILE"] == "/creds/rds-ca.pem"
    assert mongosh["securityContext"]["readOnlyRootFilesystem"] is True
    fetch = {e["name"]: e["value"] for e in pod["initContainers"][0]["env"]}
    assert fetch["DOCDB_MASTER_LOGIN_ARN"] == master_arn(p)
    assert fetch["DOCDB_APP_LOGIN_ARN"] == p.outputs["mongodbSecretArn"]
    # ARNs only: no value of either login anywhere in the Job.
    assert "password" not in json.dumps(job.props).lower()
    scripts = p.one("kubernetes:core/v1:ConfigMap", "data-bootstrap-scripts").props["data"]
    assert {"docdb-bootstrap.sh", "docdb-bootstrap.js"} <= set(scripts)
    egress = p.one(NETPOL, "data-bootstrap-egress").props["spec"]["egress"]
    assert {27017, 5432} <= {port["port"] for rule in egress for port in rule.get("ports", [])}
    assert {i.urn for i in p.of_type(INSTANCE)} <= set(job.dependencies)
    assert tags_of(p.one(ROLE, "data-bootstrap-role"))["agent-platform/role"] == "db-bootstrap"


def test_without_a_document_store_the_job_has_no_mongosh():
    p = plan("prod")
    pod = p.one(JOB, "data-bootstrap").props["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["psql"]
    assert "docdb-bootstrap.js" not in p.one("kubernetes:core/v1:ConfigMap", "data-bootstrap-scripts").props["data"]
    assert not [a for t, a in p.invokes if t == "agent-platform:registry:getDigest"
                and a["reference"].startswith("docker.io/library/mongo")]


def test_the_vm_bootstrap_installs_mongosh_from_mongodb_and_reaches_documentdb():
    p = store_plan("dev")
    template = p.one(TEMPLATE, "data-bootstrap-template")
    script = base64.b64decode(template.props["userData"]).decode()
    assert "baseurl=https://repo.mongodb.org/yum/amazon/2023/mongodb-org/8.0/$basearch/" in script
    assert "gpgkey=https://pgp.mongodb.com/server-8.0.asc" in script and "dnf install -y mongodb-mongosh" in script
    assert "sh /scripts/bootstrap.sh && sh /scripts/docdb-bootstrap.sh; then" in script
    assert "export DOCDB_APP_ROLE=readWrite" in script and "export DOCDB_MASTER_LOGIN_ARN=" in script
    egress = [r for r in p.of_type(EGRESS) if r.name.startswith("data-bootstrap-to-docdb-")]
    assert egress and {r.props["fromPort"] for r in egress} == {27017}
    postgres = {r.props["cidrIpv4"] for r in p.of_type(EGRESS) if r.name.startswith("data-bootstrap-to-postgres-")}
    assert {r.props["cidrIpv4"] for r in egress} == postgres
    assert p.one(INGRESS, "data-docdb-from-bootstrap").props["fromPort"] == 27017
    assert tags_of(p.one(ROLE, "data-bootstrap-instance-role"))["agent-platform/role"] == "db-bootstrap"


def test_the_vm_body_without_a_document_store_installs_no_mongosh():
    body = bootstrap_vm.render_body(region="us-east-1", log_group_name="g", environment={})
    assert "mongodb-mongosh" not in body and "repo.mongodb.org" not in body
    assert "docdb-bootstrap.sh" not in body and "docdb-bootstrap.js" not in body


@pytest.mark.parametrize(("store", "key"), [
    ({"appUsername": "agentadmin"}, "dataTier.documentStore.appUsername"),
    ({"appUsername": "AgentAdmin", "masterUsername": "agentAdmin"}, "dataTier.documentStore.appUsername"),
    ({"appUsername": "root"}, "dataTier.documentStore.appUsername"),
    ({"appRole": "dbOwner"}, "dataTier.documentStore.appRole"),
])
def test_the_application_user_is_never_the_master_nor_a_wider_role(store: dict[str, Any], key: str):
    err = config_error("dev", {"dataTier.documentStore": {"engine": "documentdb", **store}})
    assert key in str(err)


# --- docdb-bootstrap.js under Node.js, against a fake server ------------------------------------------------------

HARNESS = r"""
const vm = require('vm');
const fs = require('fs');
const [script, state] = [fs.readFileSync(process.argv[2], 'utf8'), JSON.parse(process.argv[3])];
const calls = [];
const files = state.files;
class Mongo {
  constructor(uri) { calls.push({ connect: uri }); }
  getDB(name) {
    return { runCommand(command) {
      calls.push({ db: name, command });
      if ('usersInfo' in command) {
        const roles = calls.some((c) => c.command && (c.command.createUser || c.command.updateUser))
          ? state.rolesAfter : state.rolesBefore;
        return { ok: 1, users: roles === null ? [] : [{ user: command.usersInfo, roles }] };
      }
      return { ok: 1 };
    } };
  }
}
let code = 0;
const context = {
  Mongo, process: { env: state.env }, print: (m) => calls.push({ print: m }),
  quit: (c) => { code = c; throw new Error('__quit__'); },
  require: (m) => (m === 'fs' ? { readFileSync: (p) => files[p] } : require(m)),
};
try { vm.runInNewContext(script, context); } catch (e) { if (e.message !== '__quit__') throw e; }
console.log(JSON.stringify({ code, calls }));
"""
ENV = {"DOCDB_HOST": "docdb.cluster.example", "DOCDB_PORT": "27017", "DOCDB_DATABASE": "agent_platform",
       "DOCDB_APP_USER": "agentapp", "DOCDB_APP_ROLE": "readWrite", "DOCDB_CA_FILE": "/creds/rds-ca.pem"}
LEAST = [{"role": "readWrite", "db": "agent_platform"}]


def run_script(tmp_path: Path, *, before: list[dict[str, str]] | None, after: list[dict[str, str]],
               env: dict[str, str] | None = None, app_user: str = "agentapp",
               master_password: str = "p@ss:w/rd") -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    files = {"/creds/docdb-master.json": json.dumps({"username": "agentadmin", "password": master_password}),
             "/creds/docdb-app.json": json.dumps({"engine": "mongo", "username": app_user, "password": "s3cret"})}
    state = {"env": {**ENV, **(env or {})}, "files": files, "rolesBefore": before, "rolesAfter": after}
    out = subprocess.run([node, str(harness), str(TEMPLATES / "docdb-bootstrap.js"), json.dumps(state)],
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def commands(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["command"] for c in result["calls"] if "command" in c]


def test_a_new_user_is_created_with_read_write_on_the_application_database_only(tmp_path):
    result = run_script(tmp_path, before=None, after=LEAST)
    assert result["code"] == 0
    sent = commands(result)
    assert sent[0] == {"usersInfo": "agentapp"}
    assert sent[1] == {"createUser": "agentapp", "pwd": "s3cret", "roles": LEAST}
    assert all(c["db"] == "admin" for c in result["calls"] if "command" in c)
    # Over TLS, verified against the RDS bundle, as the master user (URL-encoded), to the primary.
    (uri,) = [c["connect"] for c in result["calls"] if "connect" in c]
    assert uri.startswith("mongodb://agentadmin:p%40ss%3Aw%2Frd@docdb.cluster.example:27017/?")
    assert {"tls=true", "tlsCAFile=%2Fcreds%2Frds-ca.pem", "replicaSet=rs0", "retryWrites=false",
            "readPreference=primary"} <= set(uri.split("?", 1)[1].split("&"))


def test_an_existing_user_gets_its_password_reset_and_every_other_role_dropped(tmp_path):
    wide = [{"role": "readWriteAnyDatabase", "db": "admin"}, *LEAST]
    result = run_script(tmp_path, before=wide, after=LEAST)
    assert result["code"] == 0
    assert commands(result)[1] == {"updateUser": "agentapp", "pwd": "s3cret", "roles": LEAST}


def test_the_read_role_is_honoured_and_a_user_left_with_more_fails_the_run(tmp_path):
    read = [{"role": "read", "db": "agent_platform"}]
    ok = run_script(tmp_path, before=None, after=read, env={"DOCDB_APP_ROLE": "read"})
    assert ok["code"] == 0 and commands(ok)[1]["roles"] == read
    kept = run_script(tmp_path, before=None, after=[*LEAST, {"role": "clusterAdmin", "db": "admin"}])
    assert kept["code"] == 1 and any("FAILED" in c.get("print", "") for c in kept["calls"])


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"app_user": "agentadmin", "env": {"DOCDB_APP_USER": "agentadmin"}}, "master user"),
    ({"app_user": "someoneelse"}, "expected 'agentapp'"),
    ({"env": {"DOCDB_APP_ROLE": "root"}}, "not one of"),
])
def test_the_script_refuses_before_connecting(tmp_path, kwargs: dict[str, Any], reason: str):
    result = run_script(tmp_path, before=None, after=LEAST, **kwargs)
    assert result["code"] == 1
    assert not [c for c in result["calls"] if "connect" in c or "command" in c]
    assert any(reason in c.get("print", "") for c in result["calls"])


# --- fetch-logins.sh with stand-ins for aws and curl -----------------------------------------------------------

def _fetch(tmp_path: Path, env: dict[str, str]) -> tuple[list[str], set[str]]:
    """Run fetch-logins.sh with ``aws`` and ``curl`` stand-ins; (secret ids asked for, files written to /creds)."""
    bin_dir, creds = tmp_path / "bin", tmp_path / "creds"
    bin_dir.mkdir(parents=True)
    creds.mkdir()
    log = tmp_path / "asked"
    (bin_dir / "aws").write_text(f'#!/bin/sh\nwhile [ "$1" != "--secret-id" ]; do shift; done\n'
                                 f'echo "$2" >> {log}\necho "{{}}"\n')
    (bin_dir / "curl").write_text("#!/bin/sh\nexit 0\n")
    for tool in ("aws", "curl"):
        (bin_dir / tool).chmod(0o755)
    script = (TEMPLATES / "fetch-logins.sh").read_text().replace("/creds/", f"{creds}/")
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "MASTER_LOGIN_ARN": "pg-master", "APP_LOGIN_ARN": "pg-app",
            "MONITOR_LOGIN_ARN": "pg-monitor", "RDS_CA_BUNDLE_URL": "https://example.invalid/ca.pem"}
    subprocess.run(["/bin/sh", "-c", script], env={**base, **env}, check=True, timeout=30)
    return log.read_text().split(), {p.name for p in creds.iterdir()}


def test_fetch_logins_reads_the_documentdb_logins_only_with_a_document_store(tmp_path):
    asked, written = _fetch(tmp_path / "without", {})
    assert asked == ["pg-master", "pg-app", "pg-monitor"]
    assert written == {"master.json", "app.json", "monitor.json"}
    asked, written = _fetch(tmp_path / "with", {"DOCDB_MASTER_LOGIN_ARN": "docdb-master",
                                                "DOCDB_APP_LOGIN_ARN": "docdb-app"})
    assert asked == ["pg-master", "pg-app", "pg-monitor", "docdb-master", "docdb-app"]
    assert {"docdb-master.json", "docdb-app.json"} <= written
