"""What both nginx deployments share (ingress-nginx on EKS, nginx on VM instances), so the runtimes cannot drift.

The access-log record is one JSON object per request with the same keys on either runtime, so log queries
and dashboards do not care where a service runs; ``$req_id`` is the client's X-Request-ID or a generated id.
"""

from __future__ import annotations

import json

from config.edge import EdgeConfig

# Seconds nginx keeps an idle client connection beyond the ALB's idle timeout, so the ALB never reuses a
# connection nginx is closing (which would surface as 502s).
KEEPALIVE_MARGIN = 15
# Largest request body a health route accepts.
HEALTH_BODY_SIZE = "1k"

ACCESS_LOG_FIELDS: dict[str, str] = {
    "time": "$time_iso8601",
    "request_id": "$req_id",
    "client_ip": "$remote_addr",
    "host": "$host",
    "method": "$request_method",
    "path": "$uri",
    "status": "$status",
    "request_length": "$request_length",
    "bytes_sent": "$bytes_sent",
    "request_time": "$request_time",
    "upstream": "$proxy_upstream_name",
    "upstream_status": "$upstream_status",
    "upstream_response_time": "$upstream_response_time",
    "user_agent": "$http_user_agent",
}


def access_log_format(**overrides: str) -> str:
    """The record as one compact JSON template; ``overrides`` replace the variable of a key."""
    unknown = sorted(set(overrides) - set(ACCESS_LOG_FIELDS))
    if unknown:
        raise KeyError(f"not access-log fields: {unknown}")
    return json.dumps({**ACCESS_LOG_FIELDS, **overrides}, separators=(",", ":"))


def client_keepalive_seconds(edge: EdgeConfig) -> int:
    return edge.idle_timeout_seconds + KEEPALIVE_MARGIN


def worker_shutdown_seconds(edge: EdgeConfig) -> int:
    """How long a stopping nginx worker waits for in-flight requests: the longest proxied LLM call, plus a margin."""
    return edge.proxy.read_timeout_seconds + 10
