"""The boot script of a shared host: every service's container side by side, hardened as on its own instance.

What differs from ``userdata.render`` (one service per instance):

- containers join one user-defined docker bridge network (``NETWORK``) at fixed addresses instead of the host's
  network, so they reach each other by name (docker's embedded DNS on user-defined networks) and are one more
  hop from the instance metadata service, which the instance's hop limit of 1 and a DOCKER-USER rule dropping
  169.254.169.254 from the bridge keep out of their reach (docs.docker.com, "Docker with iptables": DOCKER-USER
  is processed before docker's own forwarding rules);
- no container uses the instance role: a systemd timer assumes each service's own role (``aws sts assume-role``,
  1 h sessions, every 15 min) and writes a ``credential_process`` document into a root-owned directory that only
  that service's container mounts, read-only. botocore's ProcessProvider returns RefreshableCredentials when the
  document carries ``Expiration`` and reruns the process before it (botocore/credentials.py, ProcessProvider.load);
  the AWS SDK for JavaScript v3 default provider memoizes credentials and reloads them 5 minutes before their
  ``expiration`` (credential-provider-node, defaultProvider). The image needs ``/bin/cat`` (busybox, Debian,
  Alpine, python and node images have it);
- the host fetches each service's secrets into ``/run`` with that service's credentials, as the instance role
  did on a dedicated instance; image pulls and the awslogs driver use the instance role;
- one nginx serves every api route, each on its service's port (``nginx.shared_nginx_conf``);
- the group of one does not scale on a worker's queue depth (it scales on CPU), so no queue metric is published.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.core.templates import render as render_template
from components.services.contract import RUN_AS
from components.services.vm.nginx import LOG_DIR, LOGROTATE, access_log_path, shared_nginx_conf, stop_timeout_seconds
from components.services.vm.userdata import (
    TEMPLATES,
    UserDataInputs,
    _docker_run,
    _env_file,
    _fetch_secrets,
    _log_file,
    agent_config,
    probe_scripts,
    systemd_units,
)

NETWORK = "agents"
CREDENTIALS_ROOT = "/run/agent-credentials"
# Where a container finds its credential_process document and the AWS config naming it.
CONTAINER_CREDENTIALS_DIR = "/var/run/secrets/aws"
# The host assumes each role with its instance role's credentials: role chaining, which caps a session at 1 hour
# (AWS STS AssumeRole, DurationSeconds: "if you assume a role using role chaining and provide a DurationSeconds
# parameter value greater than one hour, the operation fails").
SESSION_SECONDS = 3600
REFRESH_MINUTES = 15


@dataclass(frozen=True)
class SharedContainer:
    """One service on the shared host: its rendered inputs, its own role and its address on the bridge."""

    inputs: UserDataInputs
    role_arn: str
    address: str


@dataclass(frozen=True)
class SharedHostInputs:
    region: str
    subnet: str
    host_log_group: str
    containers: Sequence[SharedContainer]


def container_environment(environment: dict[str, str]) -> dict[str, str]:
    """The service's environment plus the AWS config naming its credential_process; never the instance role."""
    return {**environment, "AWS_CONFIG_FILE": f"{CONTAINER_CREDENTIALS_DIR}/config",
            "AWS_EC2_METADATA_DISABLED": "true"}


def docker_run(c: SharedContainer) -> str:
    """The dedicated instance's ``docker run`` on the bridge at the container's address, with its credentials."""
    run = _docker_run(c.inputs)
    if "--network host" not in run:
        raise AssertionError("userdata._docker_run changed: the shared host replaces its --network host flag")
    svc = c.inputs.service
    return run.replace("--network host", f"--network {NETWORK} --ip {c.address}", 1).replace(
        f" \\\n  {c.inputs.image}",
        f" \\\n  --volume {CREDENTIALS_ROOT}/{svc}:{CONTAINER_CREDENTIALS_DIR}:ro \\\n  {c.inputs.image}", 1)


def _service_units(c: SharedContainer) -> str:
    i, cfg = c.inputs, c.inputs.config
    return render_template(
        TEMPLATES, "shared-service.sh", svc=i.service, env_file=_env_file(container_environment(dict(i.environment))),
        role_arn=shlex.quote(c.role_arn), fetch_secrets=_fetch_secrets(i), region=i.region, registry=i.registry,
        image=i.image,
        probe_scripts=probe_scripts(i.service, cfg, f"http://{c.address}:{cfg.port}", eof="EOF2"),
        # Behind the IMDS block: no container starts before the host drops its traffic to the instance role.
        systemd_units=systemd_units(i.service, cfg, docker_run(c), eof="EOF2",
                                    after="docker.service network-online.target agent-imds-block.service",
                                    requires="docker.service agent-imds-block.service"))


def cloudwatch_agent_config(h: SharedHostInputs) -> dict[str, Any]:
    """Boot and nginx error logs to the host's log group, each route's access log to its service's group."""
    files = [_log_file("/var/log/cloud-init-output.log", h.host_log_group, "boot")]
    api = [c for c in h.containers if c.inputs.proxy is not None]
    if api:
        files.append(_log_file(f"{LOG_DIR}/error.log", h.host_log_group, "proxy-error"))
        files += [_log_file(access_log_path(c.inputs.service), c.inputs.log_group, "proxy-access") for c in api]
    return agent_config(files)


def _proxy(h: SharedHostInputs) -> str:
    api = [c for c in h.containers if c.inputs.proxy is not None]
    if not api:
        return ""
    specs = [c.inputs.proxy for c in api if c.inputs.proxy is not None]
    conf = shared_nginx_conf(specs, {c.inputs.service: c.address for c in api})
    return render_template(TEMPLATES, "proxy.sh", log_dir=LOG_DIR, nginx_conf=conf, logrotate=LOGROTATE,
                           units=" ".join(f"{c.inputs.service}.service" for c in api),
                           stop_timeout=str(stop_timeout_seconds(specs[0])))


def _packages(h: SharedHostInputs) -> str:
    proxy = any(c.inputs.proxy for c in h.containers)
    # iptables-nft provides /usr/sbin/iptables on AL2023 (dev-sec/cis-dil-benchmark#156), where docker keeps its
    # DOCKER-USER chain (the IMDS drop rule goes there); docker pulls it in too, named here for the rule.
    return " ".join(["docker", "iptables-nft", "amazon-cloudwatch-agent", *(["nginx", "logrotate"] if proxy else [])])


def render(h: SharedHostInputs) -> str:
    names = [c.inputs.service for c in h.containers]
    refresh = "\n".join(f"/usr/local/bin/agent-credentials {c.inputs.service} {shlex.quote(c.role_arn)} || status=1"
                        for c in h.containers)
    units = " ".join([*(f"{n}.service" for n in names), *(f"agent-live-{n}.timer" for n in names)])
    return render_template(
        TEMPLATES, "shared-host.sh", services=", ".join(names), packages=_packages(h), network=NETWORK,
        subnet=h.subnet, credentials_root=CREDENTIALS_ROOT, run_as=str(RUN_AS), region=h.region,
        session_seconds=str(SESSION_SECONDS), container_credentials_dir=CONTAINER_CREDENTIALS_DIR,
        refresh_lines=refresh, refresh_minutes=str(REFRESH_MINUTES),
        service_units="".join(_service_units(c) for c in h.containers),
        agent_config=json.dumps(cloudwatch_agent_config(h), indent=1), units=units, proxy=_proxy(h))
