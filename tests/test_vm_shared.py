"""vm.placement: shared: every service's container on one host, each with its own role, none with the host's."""

from __future__ import annotations

import base64
import http.server
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

import crossplane
import pytest

from components.services.vm.nginx import LOG_DIR, PID_FILE
from planning.cost_report import stack_report
from planning.engine import read_stack_config, with_paths
from planning.review import load_policy_config
from tests.harness import DEDICATED_VM, PUBLIC_EDGE, config_error, eks_plan, plan, review

SHARED = {"runtime": "vm", "vm": {"placement": "shared"},
          **{f"services.{s}.vm": {} for s in ("api", "context", "worker")}}
DEDICATED = DEDICATED_VM
SHARED_PUBLIC = {**SHARED, "edge": PUBLIC_EDGE}
ROLE = "aws:iam/role:Role"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"


def _plan():
    """dev's committed stack, which places its services on one shared host (Pulumi.dev.yaml): the plan the rest of
    the suite already makes of dev, not a second one of the same settings."""
    return plan("dev")


def _one(type_: str, name: str):
    found = [r for r in _plan().resources if r.type == type_ and r.name == name]
    assert len(found) == 1, (type_, name, [r.name for r in _plan().of_type(type_)])
    return found[0]


def _user_data() -> str:
    return base64.b64decode(_one(TEMPLATE, "shared-host-template").props["userData"]).decode()


def _doc(raw: str) -> dict:
    return json.loads(raw)


def test_the_vm_section_is_unused_on_eks_like_the_cluster_section_on_vm():
    # dev's stack file keeps its vm section (the shared placement) when it runs on EKS.
    assert read_stack_config("dev")["agent-platform:vm"]["placement"] == "shared"
    result = eks_plan("dev")
    assert result.of_type("agent-platform:services:VmSharedHost") == []


def test_one_group_runs_every_service_and_no_service_has_its_own():
    groups = [g.name for g in _plan().of_type(ASG) if g.name.startswith(("service-", "shared-host"))]
    assert groups == ["shared-host-asg"]
    assert [t.name for t in _plan().of_type(TEMPLATE) if t.name.startswith("service-")] == []
    assert [p.name for p in _plan().of_type("aws:iam/instanceProfile:InstanceProfile")
            if p.name.startswith("service-")] == []
    group = _one(ASG, "shared-host-asg").props
    assert (group["minSize"], group["desiredCapacity"]) == (1, 1)
    assert _one(TEMPLATE, "shared-host-template").props["instanceType"] == "t4g.small"


def test_the_host_template_is_hardened_like_a_dedicated_one():
    props = _one(TEMPLATE, "shared-host-template").props
    assert props["metadataOptions"]["httpTokens"] == "required"
    assert props["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert "keyName" not in props
    ebs = props["blockDeviceMappings"][0]["ebs"]
    assert (ebs["encrypted"], ebs["volumeType"]) == ("true", "gp3") and ebs["kmsKeyId"]
    assert props["networkInterfaces"][0]["associatePublicIpAddress"] == "false"


@pytest.mark.parametrize("service", ["api", "context", "worker"])
def test_each_service_role_keeps_its_policy_and_trusts_only_the_host_role(service):
    role = _one(ROLE, f"service-{service}-role")
    host = _one(ROLE, "shared-host-role")
    trust = _doc(role.props["assumeRolePolicy"])["Statement"]
    assert len(trust) == 1 and list(trust[0]["Principal"]) == ["AWS"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/shared-host-role-\w+", trust[0]["Principal"]["AWS"])
    assert host.urn in role.property_dependencies["assumeRolePolicy"]
    assert role.props["maxSessionDuration"] == 3600
    dedicated = next(r for r in plan("dev", DEDICATED).of_type("aws:iam/rolePolicy:RolePolicy")
                     if r.name == f"service-{service}-role-service")
    assert _one("aws:iam/rolePolicy:RolePolicy", f"service-{service}-role-service").props["policy"] == \
        dedicated.props["policy"]


def test_the_host_role_may_assume_exactly_the_placed_roles():
    policy = _doc(_one("aws:iam/rolePolicy:RolePolicy", "shared-host-role-host").props["policy"])
    assume = [s for s in policy["Statement"] if "sts:AssumeRole" in s["Action"]]
    assert len(assume) == 1
    assert [re.sub(r"-\w+$", "", arn.split("/")[-1]) for arn in sorted(assume[0]["Resource"])] == \
        ["service-api-role", "service-context-role", "service-worker-role"]
    deps = _one("aws:iam/rolePolicy:RolePolicy", "shared-host-role-host").property_dependencies["policy"]
    assert {_one(ROLE, f"service-{s}-role").urn for s in ("api", "context", "worker")} <= set(deps)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not [a for a in actions if a.startswith(("secretsmanager:", "kms:", "s3:"))]


def test_containers_share_a_bridge_never_the_host_network_or_its_metadata_service():
    text = _user_data()
    assert "--network host" not in text
    assert len(re.findall(r"--network agents --ip 172\.30\.255\.\d+", text)) == 3
    assert re.search(r"iptables -I DOCKER-USER -s 172\.30\.255\.0/24 -d 169\.254\.169\.254/32 -j DROP", text)
    assert "AWS_EC2_METADATA_DISABLED=true" in text


def test_each_container_mounts_only_its_own_credentials():
    text = _user_data()
    for service in ("api", "context", "worker"):
        run = re.search(rf"--name {service} \\\n(.*?)\n\S", text, re.S)
        assert run is not None
        mounts = re.findall(r"--volume (/run/agent-credentials/[^:]+):/var/run/secrets/aws:ro", run.group(1))
        assert mounts == [f"/run/agent-credentials/{service}"]


def test_credentials_are_a_refreshed_credential_process_document_of_each_role():
    text = _user_data()
    assert "aws sts assume-role" in text and "--duration-seconds 3600" in text
    assert "Version: `1`" in text and "Expiration: Credentials.Expiration" in text
    assert "credential_process = /bin/cat" in text
    assert re.search(r"OnUnitActiveSec=15min", text)
    for service in ("api", "context", "worker"):
        own_role = rf"arn:aws:iam::\d{{12}}:role/service-{service}-role-"
        assert re.search(rf"/usr/local/bin/agent-credentials {service} {own_role}", text)
        # Its secrets are read with its own credentials, before the container starts.
        assert f"export AWS_CONFIG_FILE=/etc/agent-platform/{service}.aws-config" in text


def test_services_call_each_other_over_the_docker_network():
    assert "CONTEXT_URL=http://context:8001" in _user_data()


def test_nginx_serves_each_api_route_on_its_port_to_its_container():
    text = _user_data()
    assert re.search(r"listen 8000 default_server;.*?proxy_pass http://172\.30\.255\.10:8000;", text, re.S)
    assert re.search(r"listen 8001 default_server;.*?proxy_pass http://172\.30\.255\.11:8001;", text, re.S)
    # Behind a public edge, each api service's target group points at its port on the host.
    public = plan("dev", SHARED_PUBLIC)
    targets = {t.name: t.props["port"] for t in public.of_type("aws:lb/targetGroup:TargetGroup")}
    assert (targets["service-api-targets"], targets["service-context-targets"]) == (8000, 8001)
    group = public.one(ASG, "shared-host-asg").props
    assert group["healthCheckType"] == "ELB" and len(group["targetGroupArns"]) == 2


def test_the_shared_dev_stack_passes_the_pack():
    result = review(_plan(), load_policy_config("dev"))
    assert [v for v in result.violations if v.enforcement == "mandatory"] == []
    assert [v.policy for v in result.violations if v.policy.startswith("vm-shared")] == []


def test_the_estimate_prices_one_host():
    report = stack_report(_plan(), with_paths("dev", {}))
    instance = [line for line in report.of_resource("shared-host-asg") if "t4g.small" in line.item]
    # t4g.small Linux on-demand in us-east-1: $0.0168 an hour (the catalogue's ec2.instance.t4g.small).
    assert len(instance) == 1 and instance[0].monthly_usd == pytest.approx(0.0168 * 730, rel=0.01)
    assert [line for line in report.lines if line.resource.startswith("service-") and "on-demand" in line.item] == []


@pytest.mark.parametrize(("overrides", "path"), [
    ({**SHARED, "services.api.vm": {"instanceType": "t4g.micro"}}, "services.api.vm"),
    ({**SHARED, "services.api.replicas": 2, "services.api.maxReplicas": 3}, "services.api.replicas"),
    ({**SHARED, "services.context.port": 8000}, "services.context.port"),
    ({**SHARED, "vm": {"placement": "shared", "sharedInstanceType": "t4g.micro"}}, "vm.sharedInstanceType"),
    ({**SHARED, "vm": {"placement": "shared", "containerSubnet": "10.10.200.0/24"}}, "vm.containerSubnet"),
])
def test_bad_shared_placement_is_refused_before_anything_is_registered(overrides, path):
    error = config_error("dev", overrides)
    assert path in [p for p, _ in error.issues], error.issues


# --- nginx on the shared host: parsed with crossplane, checked and run with a local nginx ----------------------------

NGINX = shutil.which("nginx")


def _shared_nginx(paths=None) -> str:
    template = (plan("dev", paths) if paths else _plan()).one(TEMPLATE, "shared-host-template")
    text = base64.b64decode(template.props["userData"]).decode()
    match = re.search(r"cat > /etc/nginx/nginx\.conf <<'EOF'\n(.*?)EOF\n", text, re.S)
    assert match, "the shared host writes no nginx config"
    return match[1]


def test_one_nginx_server_per_api_route_each_with_its_own_limits_and_every_header(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(_shared_nginx())
    result = crossplane.parse(str(conf), check_ctx=True, check_args=True, single=True)
    assert result["errors"] == [] and result["status"] == "ok", result["errors"]
    (http,) = [d["block"] for d in result["config"][0]["parsed"] if d["directive"] == "http"]
    servers = [d["block"] for d in http if d["directive"] == "server"]
    listens = [next(d["args"] for d in s if d["directive"] == "listen") for s in servers]
    assert listens == [["8000", "default_server"], ["8001", "default_server"]]
    zones = [next(d["args"][0] for d in next(d["block"] for d in s if d["directive"] == "location"
                                              and d["args"] == ["/"]) if d["directive"] == "limit_req")
             for s in servers]
    assert zones == ["zone=per_client_api", "zone=per_client_context"]
    for server in servers:
        added = {d["args"][0] for d in server if d["directive"] == "add_header"}
        # No ALB in front of a private edge: nginx adds the headers the listener would have.
        assert {"Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options",
                "Content-Security-Policy", "Referrer-Policy"} <= added


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app(name: str) -> type[http.server.BaseHTTPRequestHandler]:
    class App(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Keep the test output free of per-request lines."""

    return App


@pytest.mark.skipif(NGINX is None, reason="no nginx binary on this machine")
def test_each_port_reaches_its_own_container_through_nginx(tmp_path):
    """The config nginx -t accepts, run here: each service's port answers from that service's container only."""
    text = re.sub(r"^user .*;\n", "", _shared_nginx(), flags=re.M)
    text = text.replace(LOG_DIR, str(tmp_path)).replace(PID_FILE, str(tmp_path / "nginx.pid"))
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    text = text.replace("http {\n", "http {\n" + "".join(f"    {k}_temp_path {tmp_path}/{k};\n" for k in kinds), 1)
    ports, apps = {}, []
    for name, port, address in (("api", 8000, "172.30.255.10"), ("context", 8001, "172.30.255.11")):
        listen, upstream = _free_port(), _free_port()
        text = text.replace(f"listen {port} default_server;", f"listen 127.0.0.1:{listen} default_server;")
        text = text.replace(f"proxy_pass http://{address}:{port};", f"proxy_pass http://127.0.0.1:{upstream};")
        app = http.server.ThreadingHTTPServer(("127.0.0.1", upstream), _app(name))
        threading.Thread(target=app.serve_forever, daemon=True).start()
        apps.append(app)
        ports[name] = listen
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    checked = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    started = subprocess.run([NGINX, "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        for name, listen in ports.items():
            for _ in range(50):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{listen}/v1/anything", timeout=2) as response:
                        assert response.read().decode() == name
                        assert response.headers["Strict-Transport-Security"]
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                pytest.fail(f"nginx never answered on {name}'s port")
    finally:
        subprocess.run([NGINX, "-c", str(conf), "-p", str(tmp_path), "-s", "stop"], capture_output=True)
        for app in apps:
            app.shutdown()
