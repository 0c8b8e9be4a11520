"""nginx on api instances (runtime: vm): the edge's limits, headers and timeouts, as ingress-nginx applies them on EKS.

The config under test is taken from the planned launch template's boot script. Structure is read with
crossplane (nginx's own config parser, in Python); where an nginx binary is installed the config is also
checked with ``nginx -t`` and exercised with real requests through a local upstream.
"""

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
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import crossplane
import pytest

from components.services.vm.nginx import LOG_DIR, PID_FILE
from planning.cost_report.usage import platform_config
from planning.engine import with_paths
from tests.harness import DEDICATED_VM, plan

VM = DEDICATED_VM
HEADERS_EXTRA = {"Permissions-Policy": "camera=(), microphone=()"}
TUNED = {
    **VM,
    "services.api.ingress": {"rateLimit": {"requests": 30, "per": "minute", "burst": 90, "connections": 4},
                             "maxBodySize": "5m"},
    "edge.headers.extra": HEADERS_EXTRA,
    "edge.proxy.readTimeoutSeconds": 240,
}
LIVE_PORT = 18457
NGINX = shutil.which("nginx")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="no nginx binary on this machine")


def boot_script(paths: Mapping[str, Any], service: str) -> str:
    template = plan("dev", paths).one("aws:ec2/launchTemplate:LaunchTemplate", f"service-{service}-template")
    return base64.b64decode(template.props["userData"]).decode()


def nginx_text(paths: Mapping[str, Any], service: str = "api") -> str:
    match = re.search(r"cat > /etc/nginx/nginx\.conf <<'EOF'\n(.*?)EOF\n", boot_script(paths, service), re.S)
    assert match, f"the {service} boot script writes no nginx config"
    return match[1]


def parsed(text: str, tmp_path: Path) -> list[dict[str, Any]]:
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = crossplane.parse(str(conf), check_ctx=True, check_args=True, single=True)
    assert result["errors"] == [] and result["status"] == "ok", result["errors"]
    return result["config"][0]["parsed"]


def directives(block: list[dict[str, Any]], name: str) -> list[list[str]]:
    return [d["args"] for d in block if d["directive"] == name]


def child(block: list[dict[str, Any]], name: str, *args: str) -> list[dict[str, Any]]:
    (found,) = [d["block"] for d in block if d["directive"] == name and tuple(d["args"]) == args]
    return found


def server_of(tree: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    http = child(tree, "http")
    return http, child(http, "server")


def config_of(paths: Mapping[str, Any]):
    return platform_config("dev", with_paths("dev", dict(paths)))


# --- what the boot script installs ----------------------------------------------------------------------------


def installed(script: str) -> list[str]:
    (line,) = [line for line in script.splitlines() if line.startswith("dnf install -y ")]
    return line.split()[3:]


def test_api_instances_put_nginx_in_front_and_workers_do_not():
    api = boot_script(VM, "api")
    assert "nginx" in installed(api)
    assert "nginx -t\n" in api and "systemctl enable --now nginx.service" in api
    assert api.index("systemctl enable --now api.service") < api.index("systemctl enable --now nginx.service")
    worker = boot_script(VM, "worker")
    assert "/etc/nginx/nginx.conf" not in worker and "nginx" not in installed(worker)


@pytest.mark.parametrize("service", ["api", "context", "worker"])
def test_every_boot_script_is_valid_bash(service):
    done = subprocess.run(["bash", "-n"], input=boot_script(TUNED, service), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_nginx_stops_before_the_container_and_waits_for_in_flight_calls(tmp_path):
    script = boot_script(TUNED, "api")
    drop_in = re.search(r"nginx\.service\.d/agent-platform\.conf <<'EOF'\n(.*?)EOF\n", script, re.S)
    assert drop_in
    assert "After=api.service" in drop_in[1]  # stop order is the reverse of start order
    stop = int(re.search(r"TimeoutStopSec=(\d+)", drop_in[1])[1])
    (shutdown,) = directives(parsed(nginx_text(TUNED), tmp_path), "worker_shutdown_timeout")
    assert stop > int(shutdown[0].rstrip("s")) > TUNED["edge.proxy.readTimeoutSeconds"]


def test_the_cloudwatch_agent_ships_nginx_logs_to_the_service_log_group():
    script = boot_script(VM, "api")
    agent = json.loads(re.search(r"amazon-cloudwatch-agent\.json <<'EOF'\n(.*?)\nEOF\n", script, re.S)[1])
    files = agent["logs"]["logs_collected"]["files"]["collect_list"]
    groups = {f["log_group_name"] for f in files}
    assert len(groups) == 1
    assert {f"{LOG_DIR}/access.log", f"{LOG_DIR}/error.log"} <= {f["file_path"] for f in files}


# --- limits, timeouts and headers come from the edge config -------------------------------------------------


def test_the_routes_limits_reach_nginx(tmp_path):
    http, server = server_of(parsed(nginx_text(TUNED), tmp_path))
    assert ["$binary_remote_addr", "zone=per_client:10m", "rate=30r/m"] in directives(http, "limit_req_zone")
    main = child(server, "location", "/")
    assert directives(main, "limit_req") == [["zone=per_client", "burst=90", "nodelay"]]
    assert directives(main, "limit_conn") == [["per_client_connections", "4"]]
    assert directives(server, "client_max_body_size") == [["5m"]]
    assert directives(http, "limit_req_status") == [["429"]]
    assert directives(main, "proxy_read_timeout") == [["240s"]]
    assert directives(main, "proxy_buffering") == [["off"]]


def test_without_route_overrides_nginx_applies_the_edge_defaults(tmp_path):
    edge = config_of(VM).edge
    http, server = server_of(parsed(nginx_text(VM), tmp_path))
    limit = edge.proxy.rate_limit
    unit = "s" if limit.per == "second" else "m"
    assert f"rate={limit.requests}r/{unit}" in directives(http, "limit_req_zone")[0]
    assert directives(child(server, "location", "/"), "limit_req")[0][1] == f"burst={limit.burst}"
    assert directives(server, "client_max_body_size") == [[edge.proxy.max_body_size]]
    (keepalive,) = directives(http, "keepalive_timeout")
    assert int(keepalive[0].rstrip("s")) > edge.idle_timeout_seconds


def _listener_attribute(header: str) -> str:
    return "routingHttpResponse" + "".join(part.capitalize() for part in header.split("-")) + "HeaderValue"


def test_every_configured_header_has_exactly_one_writer(tmp_path):
    """The listener adds what the ALB can; nginx adds the rest and drops the application's copies of all."""
    cfg = config_of(TUNED).edge.headers
    wanted = {"Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
              "Content-Security-Policy", *HEADERS_EXTRA}
    listener = plan("dev", TUNED).one("aws:lb/listener:Listener", "edge-https").props
    by_alb = {name for name in wanted if _listener_attribute(name) in listener}
    assert len(by_alb) == len([k for k in listener if k.startswith("routingHttpResponse") and
                               k.endswith("HeaderValue")])
    _, server = server_of(parsed(nginx_text(TUNED), tmp_path))
    added = {args[0]: args[1] for args in directives(server, "add_header")}
    assert all(args[-1] == "always" for args in directives(server, "add_header"))
    assert set(added) | by_alb == wanted and not set(added) & by_alb
    assert added["Referrer-Policy"] == cfg.referrer_policy
    assert added["Permissions-Policy"] == HEADERS_EXTRA["Permissions-Policy"]
    assert listener[_listener_attribute("X-Frame-Options")] == cfg.frame_options
    hidden = {args[0] for args in directives(server, "proxy_hide_header")}
    assert wanted | {"X-Powered-By"} <= hidden


def test_the_readiness_path_answers_only_inside_the_vpc_and_health_is_never_limited(tmp_path):
    cfg = config_of(VM)
    probes = cfg.services["api"].probes
    _, server = server_of(parsed(nginx_text(VM), tmp_path))
    ready = child(server, "location", "=", probes.readiness_path)
    assert directives(ready, "allow") == [[cfg.network.cidr]] and directives(ready, "deny") == [["all"]]
    health = child(server, "location", "=", probes.liveness_path)
    for location in (ready, health):
        assert not directives(location, "limit_req") and not directives(location, "limit_conn")
        assert directives(location, "access_log") == [["off"]]


def test_the_client_address_is_trusted_only_from_inside_the_vpc(tmp_path):
    http, _ = server_of(parsed(nginx_text(VM), tmp_path))
    assert directives(http, "set_real_ip_from") == [[config_of(VM).network.cidr]]
    assert directives(http, "real_ip_header") == [["X-Forwarded-For"]]
    assert directives(http, "real_ip_recursive") == [["on"]]


# --- the load balancer reaches nginx only ---------------------------------------------------------------------


@pytest.mark.parametrize("service", ["api", "context"])
def test_the_load_balancer_reaches_nginx_and_never_the_container_port(service):
    result = plan("dev", VM)
    cfg = config_of(VM).services[service]
    target_group = result.one("aws:lb/targetGroup:TargetGroup", f"service-{service}-targets").props
    listen = [int(line.split()[1]) for line in nginx_text(VM, service).splitlines()
              if line.strip().startswith("listen ")]
    assert [target_group["port"]] == listen
    assert target_group["port"] != cfg.port
    assert target_group["healthCheck"]["path"] == cfg.probes.readiness_path
    service_sg = result.one("aws:ec2/securityGroup:SecurityGroup", f"service-{service}-sg")
    admitted = [r.props for r in result.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                if service_sg.urn in r.property_dependencies.get("securityGroupId", ())]
    assert [(r["fromPort"], r["toPort"]) for r in admitted] == [(target_group["port"], target_group["port"])]


# --- the real nginx -------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local(text: str, tmp: Path, listen: int) -> str:
    """The instance's config, runnable here: a local port and writable paths; nothing else changes."""
    text = re.sub(r"^user .*;\n", "", text, flags=re.M)
    text = text.replace("listen 80 default_server;", f"listen 127.0.0.1:{listen} default_server;")
    text = text.replace(LOG_DIR, str(tmp)).replace(PID_FILE, str(tmp / "nginx.pid"))
    temp = "".join(f"    {kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
    return text.replace("http {\n", "http {\n" + temp, 1)


@needs_nginx
def test_nginx_accepts_the_rendered_config(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(_local(nginx_text(TUNED), tmp_path, _free_port()))
    done = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


class _App(http.server.BaseHTTPRequestHandler):
    """The container: answers everything, sets headers nginx must replace, echoes what it was sent."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"xff": self.headers.get("X-Forwarded-For"), "rid": self.headers.get("X-Request-ID"),
                           "real": self.headers.get("X-Real-IP")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Powered-By", "app/1.0")
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.send_header("Referrer-Policy", "unsafe-url")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer  # noqa: N815 (http.server's handler names)
    do_POST = _answer  # noqa: N815

    def log_message(self, *args: Any) -> None:
        """Keep the test output free of per-request lines."""


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    upstream = _free_port()
    listen = _free_port()
    # The test client stands for the ALB: inside the "VPC"; clients behind it are named by X-Forwarded-For. The
    # container's port is planned as LIVE_PORT (one plan for every live test and run) and moved to a free one here.
    paths = {**VM, "services.api.port": LIVE_PORT, "network.cidr": "10.10.0.0/16",
             "services.api.ingress": {"rateLimit": {"requests": 2, "per": "minute", "burst": 2},
                                      "maxBodySize": "1k"},
             "edge.headers.extra": HEADERS_EXTRA}
    text = nginx_text(paths).replace("10.10.0.0/16", "127.0.0.0/8")
    assert f"127.0.0.1:{LIVE_PORT};" in text
    text = text.replace(f"127.0.0.1:{LIVE_PORT}", f"127.0.0.1:{upstream}")
    conf = tmp_path / "nginx.conf"
    conf.write_text(_local(text, tmp_path, listen))
    app = http.server.ThreadingHTTPServer(("127.0.0.1", upstream), _App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    started = subprocess.run([NGINX, "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{listen}", paths
    finally:
        subprocess.run([NGINX, "-c", str(conf), "-p", str(tmp_path), "-s", "stop"], capture_output=True)
        app.shutdown()


def _call(url: str, *, client: str | None = None, body: bytes | None = None) -> tuple[int, Mapping[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if client:
        request.add_header("X-Forwarded-For", client)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@needs_nginx
def test_live_headers_are_replaced_and_the_client_is_forwarded(live):
    base, paths = live
    status, headers, body = _call(f"{base}/v1/chat", client="198.51.100.7")
    assert status == 200
    assert headers["Referrer-Policy"] == config_of(paths).edge.headers.referrer_policy
    assert headers["Permissions-Policy"] == HEADERS_EXTRA["Permissions-Policy"]
    assert "X-Powered-By" not in headers and "X-Frame-Options" not in headers  # the listener adds the latter
    assert re.fullmatch(r"nginx", headers["Server"])
    echoed = json.loads(body)
    assert echoed["real"] == "198.51.100.7" and echoed["xff"].startswith("198.51.100.7, ") and echoed["rid"]


@needs_nginx
def test_live_rate_limit_is_per_client_and_spares_the_health_route(live):
    base, paths = live
    statuses = [_call(f"{base}/v1/chat", client="198.51.100.20")[0] for _ in range(6)]
    assert statuses[0] == 200 and statuses[-1] == 429
    assert _call(f"{base}/v1/chat", client="198.51.100.21")[0] == 200
    health = config_of(paths).services["api"].probes.liveness_path
    assert {_call(f"{base}{health}", client="198.51.100.20")[0] for _ in range(6)} == {200}


@needs_nginx
def test_live_body_limit_and_readiness_visibility(live):
    base, paths = live
    assert _call(f"{base}/v1/upload", client="198.51.100.30", body=b"x" * 512)[0] == 200
    assert _call(f"{base}/v1/upload", client="198.51.100.31", body=b"x" * 4096)[0] == 413
    ready = config_of(paths).services["api"].probes.readiness_path
    assert _call(f"{base}{ready}")[0] == 200  # the load balancer's own health check
    assert _call(f"{base}{ready}", client="198.51.100.32")[0] == 403  # a client through the load balancer
    assert _call(f"{base}{ready}", client="10.0.0.9, 198.51.100.33")[0] == 403  # a forged inner address
