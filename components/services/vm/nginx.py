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

from collections.abc import Mapping, Sequence
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
    """What an api instance's nginx needs: the edge settings, the service's route and its readiness path.

    ``alb_in_front`` is false on a private edge (no load balancer): nginx then adds every configured header.
    """

    edge: EdgeConfig
    route: Route
    readiness_path: str
    vpc_cidr: str
    alb_in_front: bool = True

    def nginx_headers(self) -> dict[str, str]:
        """Response headers nginx adds: the configured set minus what the ALB listener adds."""
        rendered = self.edge.headers.rendered()
        if not self.alb_in_front:
            return dict(rendered)
        return {k: v for k, v in rendered.items() if k not in ALB_HEADERS}


@dataclass(frozen=True)
class _Server:
    """Where one route's server listens and what it proxies to (its own limit zones on a shared host)."""

    spec: ProxySpec
    listen: int = PROXY_PORT
    upstream: str = "127.0.0.1"
    zone: str = "per_client"
    access_log: str | None = None  # None: the http-level access log


def _limits(server: _Server) -> tuple[list[str], list[str]]:
    """(http-level zone declarations, location-level directives) of the route's per-client limits."""
    limit, zone = server.spec.route.rate_limit, server.zone
    unit = "s" if limit.per == "second" else "m"
    zones = [f"limit_req_zone $binary_remote_addr zone={zone}:10m rate={limit.requests}r/{unit};",
             "limit_req_status 429;"]
    applied = [f"limit_req zone={zone} burst={limit.burst} nodelay;"]
    if limit.connections is not None:
        zones += [f"limit_conn_zone $binary_remote_addr zone={zone}_connections:10m;", "limit_conn_status 429;"]
        applied.append(f"limit_conn {zone}_connections {limit.connections};")
    return zones, applied


def _proxied(server: _Server, timeout: int, connect_timeout: int) -> list[str]:
    return [f"proxy_connect_timeout {connect_timeout}s;", f"proxy_read_timeout {timeout}s;",
            f"proxy_send_timeout {timeout}s;", f"proxy_pass http://{server.upstream}:{server.spec.route.port};"]


def _health_location(server: _Server, path: str, *, vpc_only: bool) -> list[str]:
    spec = server.spec
    timeout = spec.edge.proxy.health_timeout_seconds
    lines = [f"location = {path} {{"]
    if vpc_only:
        lines += [f"    allow {spec.vpc_cidr};", "    deny all;"]
    lines += [f"    client_max_body_size {HEALTH_BODY_SIZE};", "    access_log off;",
              *(f"    {d}" for d in _proxied(server, timeout, timeout)), "}"]
    return lines


def _indent(lines: list[str], depth: int) -> list[str]:
    return [("    " * depth + line) if line else "" for line in lines]


def _server_block(server: _Server, applied: list[str], *, default: bool = True) -> list[str]:
    spec = server.spec
    edge, route, proxy = spec.edge, spec.route, spec.edge.proxy
    hidden = sorted({*edge.headers.rendered(), "X-Powered-By"})
    headers = spec.nginx_headers()
    main = [
        "location / {",
        *(f"    {d}" for d in applied),
        "    proxy_buffering off;",
        *(f"    {d}" for d in _proxied(server, proxy.read_timeout_seconds, proxy.connect_timeout_seconds)),
        "}",
    ]
    locations = [*main, *_health_location(server, route.health_path, vpc_only=False)]
    if spec.readiness_path != route.health_path:
        locations += _health_location(server, spec.readiness_path, vpc_only=True)
    return [
        f"listen {server.listen}{' default_server' if default else ''};",
        "server_name _;",
        *([f"access_log {server.access_log} agent;"] if server.access_log else []),
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


def _document(comment: str, edge: EdgeConfig, vpc_cidr: str, servers: list[_Server], user: str) -> str:
    zones: list[str] = []
    blocks: list[str] = []
    for server in servers:
        declared, applied = _limits(server)
        # limit_req_status / limit_conn_status are http-wide settings: declared once.
        zones += [z for z in declared if z not in zones]
        blocks += ["server {", *_indent(_server_block(server, applied), 1), "}"]
    http = [
        "server_tokens off;",
        f"log_format agent escape=json '{access_log_format(upstream='$upstream_addr')}';",
        f"access_log {LOG_DIR}/access.log agent;",
        f"keepalive_timeout {client_keepalive_seconds(edge)}s;",
        "keepalive_requests 10000;",
        "",
        "# The client address is the last X-Forwarded-For entry added from outside the VPC (by the ALB).",
        f"set_real_ip_from {vpc_cidr};",
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
        *blocks,
    ]
    return "\n".join([
        comment,
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


def nginx_conf(spec: ProxySpec, *, user: str = "nginx") -> str:
    """The whole ``/etc/nginx/nginx.conf`` of an api instance (AL2023's nginx runs its workers as ``nginx``)."""
    route = spec.route
    return _document(f"# {route.service}: {route.url} -> 127.0.0.1:{route.port}. Rendered from the stack's edge "
                     "config.", spec.edge, spec.vpc_cidr, [_Server(spec)], user)


def access_log_path(service: str) -> str:
    return f"{LOG_DIR}/{service}-access.log"


def shared_nginx_conf(specs: Sequence[ProxySpec], upstreams: Mapping[str, str], *, user: str = "nginx") -> str:
    """``/etc/nginx/nginx.conf`` of a shared host: per api route the same server as on its own instance.

    Each server listens on its service's port on the host (the load balancer's target port, or the port a
    developer forwards with Session Manager) and proxies to the container's address on the docker bridge
    (``upstreams``: service -> address); each has its own limit zones and access log.
    """
    if not specs:
        raise ValueError("a shared nginx needs at least one api route")
    first = specs[0]
    servers = [_Server(spec, listen=spec.route.port, upstream=upstreams[spec.route.service],
                       zone=f"per_client_{spec.route.service.replace('-', '_')}",
                       access_log=access_log_path(spec.route.service)) for spec in specs]
    routes = ", ".join(f"{s.route.service} :{s.route.port} -> {upstreams[s.route.service]}" for s in specs)
    return _document(f"# shared host: {routes}. Rendered from the stack's edge config.", first.edge,
                     first.vpc_cidr, servers, user)


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
