"""How the VM runtime places services: one Auto Scaling group each (dedicated), or all on one host (shared).

A shared host is the economy placement of dev (docs/vm-runtime.md, "Shared placement"): every service's
container runs side by side on one instance, behind one nginx, each with credentials of its own role.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Literal

from pydantic import Field, field_validator

from config.base import Model, overlaps
from config.catalog import family_architecture, instance_type_problem
from config.services import MemoryQuantity, ServiceConfig, instance_architecture, memory_bytes

# Memory of the instance types a shared host may use, in MiB. Burstable families only: a shared host is the
# economy placement. Source: Amazon EC2 instance types, general purpose specifications
# (https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, "Memory (GiB)"; T3, T3a and T4g), 2026-12-01.
_BURSTABLE_GIB = {"nano": 0.5, "micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
INSTANCE_MEMORY_MIB: dict[str, int] = {f"{family}.{size}": int(gib * 1024)
                                       for family in ("t3", "t3a", "t4g") for size, gib in _BURSTABLE_GIB.items()}


class VmRuntimeConfig(Model):
    """Placement of the services under ``runtime: vm`` (unused on EKS)."""

    placement: Literal["dedicated", "shared"] = Field(
        default="dedicated",
        description="dedicated: each service on its own Auto Scaling group and instance role. shared: every "
                    "service's container on one host (an Auto Scaling group of one), one docker bridge network, one "
                    "nginx, each container with short-lived credentials of its own role (docs/vm-runtime.md).")
    shared_instance_type: str = Field(
        default="t4g.small",
        description="Instance type of the shared host; the services' memory limits plus hostReservedMemory must fit.")
    shared_disk_size_gib: int = Field(default=30, ge=8, le=1024,
                                      description="Encrypted gp3 root volume of the shared host (every image).")
    shared_max_size: int = Field(default=2, ge=1, le=4,
                                 description="Hosts the shared group may scale out to on CPU (desired stays 1).")
    shared_cpu_utilization: int = Field(default=70, ge=10, le=95,
                                        description="Average CPU the shared group's scaling policy tracks.")
    host_reserved_memory: MemoryQuantity = Field(
        default="512Mi", description="Memory kept for the host itself (docker, nginx, SSM and CloudWatch agents).")
    container_subnet: str = Field(
        default="172.30.255.0/24",
        description="The shared host's docker bridge network; must not overlap the VPC.")

    @field_validator("shared_instance_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        problem = instance_type_problem(value)
        if problem:
            raise ValueError(problem)
        if value not in INSTANCE_MEMORY_MIB:
            raise ValueError(f"'{value}' is not a burstable type this platform knows the memory of; use one of "
                             f"{', '.join(sorted(INSTANCE_MEMORY_MIB))}")
        return value

    @field_validator("container_subnet")
    @classmethod
    def _subnet(cls, value: str) -> str:
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"'{value}' is not an IPv4 network (e.g. 172.30.255.0/24): {exc}") from None
        if network.version != 4 or not network.is_private or network.prefixlen > 28:
            raise ValueError(f"'{value}' must be a private IPv4 network of at least 16 addresses (/28 or larger)")
        return value

    @property
    def shared(self) -> bool:
        return self.placement == "shared"


def container_address(subnet: str, index: int) -> str:
    """The fixed address of the index-th service's container on the shared host's bridge (gateway is .1)."""
    return str(ipaddress.ip_network(subnet)[10 + index])


def vm_problems(vm: VmRuntimeConfig, *, runtime: str | None, services: Mapping[str, ServiceConfig] | None,
                vpc_cidr: str | None) -> list[str]:
    """Rules between the placement and the services, runtime and VPC, as "camelCase.path: reason" lines."""
    # Under runtime eks the vm section is unused, as the cluster section is under vm (dev's EKS variant keeps it).
    if not vm.shared or runtime != "vm":
        return []
    problems: list[str] = []
    if vpc_cidr and overlaps(vpc_cidr, vm.container_subnet):
        problems.append(f"vm.containerSubnet: {vm.container_subnet} overlaps the VPC {vpc_cidr}; containers could "
                        "not reach the addresses it hides")
    if not services:
        return problems
    capacity = ipaddress.ip_network(vm.container_subnet).num_addresses - 11
    if len(services) > capacity:
        problems.append(f"vm.containerSubnet: {vm.container_subnet} has room for {capacity} containers; "
                        f"{len(services)} services are placed on the shared host")
    ports: dict[int, str] = {}
    for name, svc in services.items():
        where = f"services.{name}"
        set_fields = svc.vm.model_fields_set
        if set_fields:
            keys = ", ".join(sorted(type(svc.vm).model_fields[f].alias or f for f in set_fields))
            problems.append(f"{where}.vm: {keys} only size a service's own group; with vm.placement shared every "
                            "service runs on the shared host (size it with vm.sharedInstanceType): remove them or "
                            "use vm.placement: dedicated")
        if svc.replicas != 1:
            problems.append(f"{where}.replicas: a shared host runs one container per service (got {svc.replicas}); "
                            "set replicas: 1 or use placement: dedicated")
        if svc.build is not None and {"linux/amd64": "x86_64", "linux/arm64": "arm64"}.get(svc.build.platform) \
                not in (None, instance_architecture(vm.shared_instance_type)):
            problems.append(f"{where}.build.platform: {svc.build.platform} does not run on the shared host's "
                            f"{vm.shared_instance_type} ({instance_architecture(vm.shared_instance_type)})")
        if svc.kind == "api":
            if svc.port in ports:
                problems.append(f"{where}.port: {svc.port} is also the port of {ports[svc.port]}; on a shared host "
                                "nginx listens on each api service's port, so they must differ")
            ports.setdefault(svc.port, name)
    needed = sum(memory_bytes(s.resources.memory_limit) for s in services.values()) \
        + memory_bytes(vm.host_reserved_memory)
    have = INSTANCE_MEMORY_MIB[vm.shared_instance_type] * 2**20
    if needed > have:
        bigger = [t for t, mib in sorted(INSTANCE_MEMORY_MIB.items(), key=lambda kv: kv[1])
                  if mib * 2**20 >= needed
                  and family_architecture(t.split(".")[0]) == instance_architecture(vm.shared_instance_type)]
        problems.append(f"vm.sharedInstanceType: {vm.shared_instance_type} has {have // 2**20} MiB; the services' "
                        f"memory limits plus hostReservedMemory need {needed // 2**20} MiB"
                        f"{f' (e.g. {bigger[0]})' if bigger else ''}")
    return problems
