"""The boot script of an agent-service instance: one container under systemd, hardened like its pod.

The script carries only references (image digest, secret ARNs, endpoints). Secret values are fetched at
every container start by the instance role into ``/run`` (tmpfs, never on disk, never in user data) and
mounted read-only at the same path as on Kubernetes. An api instance also runs nginx in front of the
container (``vm_proxy``), as ingress-nginx fronts the pods on EKS.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.services.contract import RUN_AS, SECRETS_DIR
from components.services.vm.nginx import LOG_DIR, LOGROTATE, ProxySpec, nginx_conf, stop_timeout_seconds
from config.services import ServiceConfig, cpu_millis, memory_bytes

# The CloudWatch agent's metrics land here; the queue depth of workers too.
METRICS_NAMESPACE = "AgentPlatform/VM"
QUEUE_METRIC = "QueueDepth"
# Consecutive failed liveness probes before systemd restarts the container (the pod default is 3).
LIVENESS_FAILURES = 3
LIVENESS_INTERVAL_SECONDS = 10


@dataclass(frozen=True)
class UserDataInputs:
    """Plain values (already resolved from Outputs) the script is rendered from."""

    service: str
    config: ServiceConfig
    region: str
    image: str
    registry: str
    log_group: str
    environment: Mapping[str, str]
    secret_arns: Mapping[str, str]
    redis_host: str = ""
    redis_port: int = 6379
    proxy: ProxySpec | None = None


def _memory_flag(value: str) -> str:
    return f"{memory_bytes(value) // 2**20}m"


def _docker_run(i: UserDataInputs) -> str:
    cfg = i.config
    flags = [
        "--rm", f"--name {i.service}", "--network host", f"--user {RUN_AS}:{RUN_AS}",
        "--read-only", f"--tmpfs /tmp:rw,noexec,nosuid,size={_memory_flag(cfg.tmp_size_limit)}",
        "--cap-drop ALL", "--security-opt no-new-privileges", "--pids-limit 1024",
        f"--memory {_memory_flag(cfg.resources.memory_limit)}",
        f"--memory-reservation {_memory_flag(cfg.resources.memory_request)}",
        f"--env-file /etc/agent-platform/{i.service}.env",
        f"--stop-timeout {cfg.termination_grace_period_seconds - cfg.pre_stop_delay_seconds}",
        "--log-driver awslogs", f"--log-opt awslogs-region={i.region}", f"--log-opt awslogs-group={i.log_group}",
    ]
    if cfg.resources.cpu_limit is not None:
        flags.append(f"--cpus {cpu_millis(cfg.resources.cpu_limit) / 1000:g}")
    if cfg.secrets:
        flags.append(f"--volume /run/agent-platform/{i.service}:{SECRETS_DIR}:ro")
    return " \\\n  ".join(["/usr/bin/docker run", *flags, i.image])


def _fetch_secrets(i: UserDataInputs) -> str:
    lines = [f"install -d -m 0750 -o root -g {RUN_AS} /run/agent-platform/{i.service}"]
    for name, arn in i.secret_arns.items():
        target = f"/run/agent-platform/{i.service}/{name}"
        lines.append(f"aws secretsmanager get-secret-value --region {i.region} --secret-id {shlex.quote(arn)} "
                     f"--query SecretString --output text > {target}.new")
        lines.append(f"chown root:{RUN_AS} {target}.new && chmod 0440 {target}.new && mv {target}.new {target}")
    return "\n".join(lines)


def _env_file(environment: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(environment.items()))


def _queue_publisher(i: UserDataInputs) -> str:
    """A timer that publishes the worker's Redis list length (read with the AUTH token) to CloudWatch."""
    queue = i.config.queue
    if queue is None:
        return ""
    arn = i.secret_arns["redis"]
    return f"""
cat > /usr/local/bin/agent-queue-depth <<'EOF'
#!/bin/bash
set -euo pipefail
token=$(aws secretsmanager get-secret-value --region {i.region} --secret-id {shlex.quote(arn)} \\
  --query SecretString --output text)
depth=$(REDISCLI_AUTH="$token" redis6-cli --tls -h {i.redis_host} -p {i.redis_port} -n {queue.database_index} \\
  --no-auth-warning LLEN {shlex.quote(queue.list_name)})
aws cloudwatch put-metric-data --region {i.region} --namespace {METRICS_NAMESPACE} --metric-name {QUEUE_METRIC} \\
  --dimensions Service={i.service} --unit Count --value "$depth"
EOF
chmod 0755 /usr/local/bin/agent-queue-depth
cat > /etc/systemd/system/agent-queue-depth.service <<'EOF'
[Unit]
Description=Publish the {i.service} queue depth
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-queue-depth
EOF
cat > /etc/systemd/system/agent-queue-depth.timer <<'EOF'
[Timer]
OnBootSec=60
OnUnitActiveSec={queue.polling_interval_seconds}
[Install]
WantedBy=timers.target
EOF
systemctl enable --now agent-queue-depth.timer
"""


# What the CloudWatch agent publishes per group: one series per measurement, aggregated over the group's
# instances (no host dimension), so the count does not grow with instances or replacements.
AGENT_METRICS: dict[str, dict[str, Any]] = {
    "mem": {"measurement": ["mem_used_percent"]},
    "disk": {"measurement": ["used_percent"], "resources": ["/"], "drop_device": True},
}


def agent_metric_count() -> int:
    """Custom metrics the CloudWatch agent publishes per group (the workers' queue depth is priced with the
    scaling policy that reads it)."""
    return sum(len(m["measurement"]) for m in AGENT_METRICS.values())


def _log_file(path: str, group: str, stream: str) -> dict[str, str]:
    return {"file_path": path, "log_group_name": group, "log_stream_name": f"{stream}-{{instance_id}}"}


def cloudwatch_agent_config(i: UserDataInputs) -> dict[str, Any]:
    """Boot log (and nginx's logs on api instances) to the service's log group; memory and disk metrics."""
    files = [_log_file("/var/log/cloud-init-output.log", i.log_group, "boot")]
    if i.proxy is not None:
        files += [_log_file(f"{LOG_DIR}/access.log", i.log_group, "proxy-access"),
                  _log_file(f"{LOG_DIR}/error.log", i.log_group, "proxy-error")]
    return {
        "agent": {"run_as_user": "cwagent", "omit_hostname": True},
        "logs": {"logs_collected": {"files": {"collect_list": files}}},
        "metrics": {"namespace": METRICS_NAMESPACE,
                    "append_dimensions": {"AutoScalingGroupName": "${aws:AutoScalingGroupName}"},
                    "metrics_collected": AGENT_METRICS},
    }


def _proxy(i: UserDataInputs) -> str:
    """nginx from AL2023's packages in front of the container; it stops before the container does."""
    if i.proxy is None:
        return ""
    return f"""
install -d -m 0755 {LOG_DIR}
cat > /etc/nginx/nginx.conf <<'EOF'
{nginx_conf(i.proxy)}EOF
cat > /etc/logrotate.d/agent-proxy <<'EOF'
{LOGROTATE}EOF
install -d -m 0755 /etc/systemd/system/nginx.service.d
cat > /etc/systemd/system/nginx.service.d/agent-platform.conf <<'EOF'
[Unit]
After={i.service}.service
Wants={i.service}.service
[Service]
TimeoutStopSec={stop_timeout_seconds(i.proxy)}
EOF
nginx -t
systemctl daemon-reload
systemctl enable --now nginx.service
"""


def _packages(i: UserDataInputs) -> str:
    extra = (["redis6"] if i.config.queue else []) + (["nginx", "logrotate"] if i.proxy else [])
    return " ".join(["docker", "amazon-cloudwatch-agent", *extra])


def render(i: UserDataInputs) -> str:
    cfg, svc = i.config, i.service
    probe = f"http://127.0.0.1:{cfg.port}"
    return f"""#!/bin/bash
# {svc}: one container per instance. No secret values below: only references fetched at start.
set -euo pipefail
dnf install -y {_packages(i)}
systemctl enable --now docker
install -d -m 0755 /etc/agent-platform
cat > /etc/agent-platform/{svc}.env <<'EOF'
{_env_file(i.environment)}
EOF
cat > /usr/local/bin/agent-start-{svc} <<'EOF'
#!/bin/bash
set -euo pipefail
{_fetch_secrets(i)}
aws ecr get-login-password --region {i.region} | docker login --username AWS --password-stdin {i.registry}
docker pull {i.image}
EOF
chmod 0700 /usr/local/bin/agent-start-{svc}
cat > /usr/local/bin/agent-ready-{svc} <<'EOF'
#!/bin/bash
for _ in $(seq 1 {cfg.probes.startup_timeout_seconds}); do
  curl -fsS --max-time 2 -o /dev/null {probe}{cfg.probes.startup_path} && exit 0
  sleep 1
done
exit 1
EOF
chmod 0755 /usr/local/bin/agent-ready-{svc}
cat > /usr/local/bin/agent-live-{svc} <<'EOF'
#!/bin/bash
state=/run/agent-live-{svc}
if curl -fsS --max-time 5 -o /dev/null {probe}{cfg.probes.liveness_path}; then echo 0 > "$state"; exit 0; fi
failures=$(( $(cat "$state" 2>/dev/null || echo 0) + 1 ))
echo "$failures" > "$state"
if [ "$failures" -ge {LIVENESS_FAILURES} ]; then echo 0 > "$state"; systemctl restart {svc}.service; fi
EOF
chmod 0755 /usr/local/bin/agent-live-{svc}
cat > /etc/systemd/system/{svc}.service <<'EOF'
[Unit]
Description=agent service {svc}
After=docker.service network-online.target
Requires=docker.service
[Service]
Restart=always
RestartSec=5
TimeoutStartSec={cfg.probes.startup_timeout_seconds + 300}
TimeoutStopSec={cfg.termination_grace_period_seconds}
ExecStartPre=/usr/local/bin/agent-start-{svc}
ExecStart={_docker_run(i)}
ExecStartPost=/usr/local/bin/agent-ready-{svc}
ExecStop=/bin/sleep {cfg.pre_stop_delay_seconds}
ExecStop=/usr/bin/docker stop --time {cfg.termination_grace_period_seconds - cfg.pre_stop_delay_seconds - 5} {svc}
[Install]
WantedBy=multi-user.target
EOF
cat > /etc/systemd/system/agent-live-{svc}.service <<'EOF'
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-live-{svc}
EOF
cat > /etc/systemd/system/agent-live-{svc}.timer <<'EOF'
[Timer]
OnActiveSec={cfg.probes.startup_timeout_seconds}
OnUnitActiveSec={LIVENESS_INTERVAL_SECONDS}
[Install]
WantedBy=timers.target
EOF
cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'EOF'
{json.dumps(cloudwatch_agent_config(i), indent=1)}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \\
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
systemctl daemon-reload
systemctl enable --now {svc}.service agent-live-{svc}.timer
{_proxy(i)}{_queue_publisher(i)}"""
