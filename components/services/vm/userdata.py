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
from pathlib import Path
from typing import Any

from components.core.templates import render as render_template
from components.services.contract import RUN_AS, SECRETS_DIR
from components.services.vm.nginx import LOG_DIR, LOGROTATE, ProxySpec, nginx_conf, stop_timeout_seconds
from config.services import ServiceConfig, cpu_millis, memory_bytes

TEMPLATES = Path(__file__).parent / "templates"
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
    return render_template(TEMPLATES, "queue-depth.sh", region=i.region, secret_arn=shlex.quote(arn),
                           redis_host=i.redis_host, redis_port=str(i.redis_port),
                           database_index=str(queue.database_index), list_name=shlex.quote(queue.list_name),
                           metrics_namespace=METRICS_NAMESPACE, queue_metric=QUEUE_METRIC, service=i.service,
                           polling_interval=str(queue.polling_interval_seconds))


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
    return agent_config(files)


def agent_config(files: list[dict[str, Any]]) -> dict[str, Any]:
    """The CloudWatch agent's settings on any platform instance: ``files`` to their log groups, and the agent's
    memory and disk metrics per Auto Scaling group."""
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
    return render_template(TEMPLATES, "proxy.sh", log_dir=LOG_DIR, nginx_conf=nginx_conf(i.proxy), logrotate=LOGROTATE,
                           units=f"{i.service}.service", stop_timeout=str(stop_timeout_seconds(i.proxy)))


def probe_scripts(service: str, config: ServiceConfig, probe: str, *, eof: str) -> str:
    """The startup and liveness probe scripts systemd runs, as the kubelet runs the pod's probes. ``eof`` is the
    heredoc delimiter free in the enclosing script."""
    return render_template(TEMPLATES, "probe-scripts.sh", svc=service, eof=eof, probe=probe,
                           startup_timeout=str(config.probes.startup_timeout_seconds),
                           startup_path=config.probes.startup_path, liveness_path=config.probes.liveness_path,
                           liveness_failures=str(LIVENESS_FAILURES))


def systemd_units(service: str, config: ServiceConfig, docker_run: str, *, eof: str, after: str,
                  requires: str) -> str:
    """The service's systemd unit (start, stop and drain as the kubelet would) and its liveness timer, for a
    dedicated or a shared host; ``after`` and ``requires`` name the units it starts behind."""
    return render_template(
        TEMPLATES, "systemd-units.sh", svc=service, eof=eof, after=after, requires=requires, docker_run=docker_run,
        startup_timeout=str(config.probes.startup_timeout_seconds),
        start_timeout=str(config.probes.startup_timeout_seconds + 300),
        stop_timeout=str(config.termination_grace_period_seconds),
        pre_stop_delay=str(config.pre_stop_delay_seconds),
        docker_stop_time=str(config.termination_grace_period_seconds - config.pre_stop_delay_seconds - 5),
        liveness_interval=str(LIVENESS_INTERVAL_SECONDS))


def _packages(i: UserDataInputs) -> str:
    extra = (["redis6"] if i.config.queue else []) + (["nginx", "logrotate"] if i.proxy else [])
    return " ".join(["docker", "amazon-cloudwatch-agent", *extra])


def render(i: UserDataInputs) -> str:
    cfg, svc = i.config, i.service
    probe = f"http://127.0.0.1:{cfg.port}"
    return render_template(
        TEMPLATES, "userdata.sh", svc=svc, packages=_packages(i), env_file=_env_file(i.environment),
        fetch_secrets=_fetch_secrets(i), region=i.region, registry=i.registry, image=i.image,
        probe_scripts=probe_scripts(svc, cfg, probe, eof="EOF"),
        systemd_units=systemd_units(svc, cfg, _docker_run(i), eof="EOF", after="docker.service network-online.target",
                                    requires="docker.service"),
        agent_config=json.dumps(cloudwatch_agent_config(i), indent=1), proxy=_proxy(i),
        queue_publisher=_queue_publisher(i))
