"""nginx in front of an api service's container on its instance: what ingress-nginx does on EKS, for one route.

The ALB ends TLS, routes host + path to the service's target group and forwards to nginx on port 80; nginx
proxies to the container on 127.0.0.1. The container's own port is not in the security group, so every
request passes nginx. From the same ``EdgeConfig`` and ``Route`` as the Ingress annotations, nginx applies:

- the route's per-client-IP request and connection limits (429 when exceeded), keyed on the real client
  address taken from X-Forwarded-For, trusted only from inside the VPC;
- the route's body-size limit, the proxy timeouts, unbuffered streaming responses and WebSocket upgrades;
- the response headers the ALB cannot add (Referrer-Policy, ``headers.extra``). The ALB listener adds HSTS,
  X-Frame-Options, X-Content-Type-Options and Content-Security-Policy to every response, its own included;
  nginx drops the application's copies of all managed headers, so each header has exactly one writer;
- the public health route without rate limiting, and the readiness path for the ALB's health check,
  answered only to addresses inside the VPC;
- JSON access logs with the same fields as ingress-nginx, shipped by the CloudWatch agent.

Limits apply per instance, as ingress-nginx's apply per controller replica; the WAF's rate rules remain the
stack-wide limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.core.nginx import (
    HEALTH_BODY_SIZE,
    access_log_format,
    client_keepalive_seconds,
    worker_shutdown_seconds,
)
from config.edge import EdgeConfig, Route

PROXY_PORT = 80
LOG_DIR = "/var/log/agent-proxy"
PID_FILE = "/run/nginx.pid"
# Headers the ALB listener adds itself (``edge_vm.header_attributes``); nginx adds the rest.
ALB_HEADERS = ("Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options", "Content-Security-Policy")


@dataclass(frozen=True)
class ProxySpec:
    """What an api instance's nginx needs: the edge settings, the service's route and its readiness path."""

    edge: EdgeConfig
    route: Route
    readiness_path: str
    vpc_cidr: str

    def nginx_headers(self) -> dict[str, str]:
        """Response headers nginx adds: the configured set minus what the ALB listener adds."""
        return {k: v for k, v in self.edge.headers.rendered().items() if k not in ALB_HEADERS}


def _limits(spec: ProxySpec) -> tuple[list[str], list[str]]:
    """(http-level zone declarations, location-level directives) of the route's per-client limits."""
    limit = spec.route.rate_limit
    unit = "s" if limit.per == "second" else "m"
    zones = [f"limit_req_zone $binary_remote_addr zone=per_client:10m rate={limit.requests}r/{unit};",
             "limit_req_status 429;"]
    applied = [f"limit_req zone=per_client burst={limit.burst} nodelay;"]
    if limit.connections is not None:
        zones += ["limit_conn_zone $binary_remote_addr zone=per_client_connections:10m;", "limit_conn_status 429;"]
        applied.append(f"limit_conn per_client_connections {limit.connections};")
    return zones, applied


def _proxied(spec: ProxySpec, timeout: int, connect_timeout: int) -> list[str]:
    return [f"proxy_connect_timeout {connect_timeout}s;", f"proxy_read_timeout {timeout}s;",
            f"proxy_send_timeout {timeout}s;", f"proxy_pass http://127.0.0.1:{spec.route.port};"]


def _health_location(spec: ProxySpec, path: str, *, vpc_only: bool) -> list[str]:
    timeout = spec.edge.proxy.health_timeout_seconds
    lines = [f"location = {path} {{"]
    if vpc_only:
        lines += [f"    allow {spec.vpc_cidr};", "    deny all;"]
    lines += [f"    client_max_body_size {HEALTH_BODY_SIZE};", "    access_log off;",
              *(f"    {d}" for d in _proxied(spec, timeout, timeout)), "}"]
    return lines


def _indent(lines: list[str], depth: int) -> list[str]:
    return [("    " * depth + line) if line else "" for line in lines]


def nginx_conf(spec: ProxySpec, *, user: str = "nginx") -> str:
    """The whole ``/etc/nginx/nginx.conf`` of an api instance (AL2023's nginx runs its workers as ``nginx``)."""
    edge, route, proxy = spec.edge, spec.route, spec.edge.proxy
    zones, applied = _limits(spec)
    hidden = sorted({*edge.headers.rendered(), "X-Powered-By"})
    headers = spec.nginx_headers()
    main = [
        "location / {",
        *(f"    {d}" for d in applied),
        "    proxy_buffering off;",
        *(f"    {d}" for d in _proxied(spec, proxy.read_timeout_seconds, proxy.connect_timeout_seconds)),
        "}",
    ]
    locations = [*main, *_health_location(spec, route.health_path, vpc_only=False)]
    if spec.readiness_path != route.health_path:
        locations += _health_location(spec, spec.readiness_path, vpc_only=True)
    server = [
        f"listen {PROXY_PORT} default_server;",
        "server_name _;",
        f"client_max_body_size {route.max_body_size};",
        "",
        "proxy_http_version 1.1;",
        "proxy_set_header Host $host;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header X-Request-ID $req_id;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $full_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;",
        "proxy_set_header X-Forwarded-Port $http_x_forwarded_port;",
        "proxy_set_header X-Forwarded-Host $host;",
        *(f"proxy_hide_header {name};" for name in hidden),
        *(f'add_header {name} "{value}" always;' for name, value in headers.items()),
        "",
        *locations,
    ]
    http = [
        "server_tokens off;",
        f"log_format agent escape=json '{access_log_format(upstream='$upstream_addr')}';",
        f"access_log {LOG_DIR}/access.log agent;",
        f"keepalive_timeout {client_keepalive_seconds(edge)}s;",
        "keepalive_requests 10000;",
        "",
        "# The client address is the last X-Forwarded-For entry added from outside the VPC (by the ALB).",
        f"set_real_ip_from {spec.vpc_cidr};",
        "real_ip_header X-Forwarded-For;",
        "real_ip_recursive on;",
        "",
        "map $http_x_request_id $req_id {",
        "    default $http_x_request_id;",
        '    "" $request_id;',
        "}",
        "map $http_upgrade $connection_upgrade {",
        "    default upgrade;",
        '    "" close;',
        "}",
        "map $http_x_forwarded_for $full_x_forwarded_for {",
        '    default "$http_x_forwarded_for, $realip_remote_addr";',
        '    "" $realip_remote_addr;',
        "}",
        "",
        *zones,
        "",
        "server {",
        *_indent(server, 1),
        "}",
    ]
    return "\n".join([
        f"# {route.service}: {route.url} -> 127.0.0.1:{route.port}. Rendered from the stack's edge config.",
        f"user {user};",
        "worker_processes auto;",
        "worker_rlimit_nofile 8192;",
        f"pid {PID_FILE};",
        f"error_log {LOG_DIR}/error.log warn;",
        # In-flight LLM calls finish before a worker exits on reload or stop.
        f"worker_shutdown_timeout {worker_shutdown_seconds(edge)}s;",
        "",
        "events {",
        "    worker_connections 4096;",
        "}",
        "",
        "http {",
        *_indent(http, 1),
        "}",
        "",
    ])


def stop_timeout_seconds(spec: ProxySpec) -> int:
    """How long systemd waits for nginx to stop: its workers' shutdown timeout plus a margin."""
    return worker_shutdown_seconds(spec.edge) + 10


LOGROTATE = f"""{LOG_DIR}/*.log {{
    daily
    maxsize 100M
    rotate 3
    missingok
    notifempty
    compress
    delaycompress
    sharedscripts
    postrotate
        /bin/kill -USR1 "$(cat {PID_FILE} 2>/dev/null)" 2>/dev/null || true
    endscript
}}
"""
