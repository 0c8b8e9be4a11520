"""The access-log record both nginx deployments write (ingress-nginx on EKS, nginx on VM instances).

One JSON object per request, the same keys on either runtime, so log queries and dashboards do not care
where a service runs. Values are nginx variables; ``$req_id`` is the client's X-Request-ID or a generated id.
"""

from __future__ import annotations

import json

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
