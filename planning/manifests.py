"""Every Kubernetes object a plan would create, as the YAML manifests the cluster would receive.

Reviewers and external scanners (kubeconform, kube-linter, Checkov, Trivy) read Kubernetes manifests,
not Pulumi plans; this renders them offline. Helm releases are left out (their objects are rendered
by Helm inside the cluster) and so are providers and component resources. Secret values are masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from agent_contract.kubernetes import CLUSTER_SCOPED_KINDS

from planning.model import Plan, PlannedResource

CLUSTER_SCOPED_DIR = "_cluster"
# Types that are Kubernetes resources but not objects the API server stores as they are.
_NOT_OBJECTS = re.compile(r"^kubernetes:(helm\.sh/|yaml/|kustomize/|pulumi:)")
_FIRST = ("apiVersion", "kind", "metadata")


def is_manifest(res: PlannedResource) -> bool:
    """A custom Kubernetes resource the provider applies as one object (not a chart, a group or a provider)."""
    return res.custom and res.type.startswith("kubernetes:") and not _NOT_OBJECTS.match(res.type)


def api_version_and_kind(type_token: str) -> tuple[str, str]:
    """``kubernetes:apps/v1:Deployment`` -> (``apps/v1``, ``Deployment``); the core group has no prefix."""
    _, group_version, kind = type_token.split(":", 2)
    group, _, version = group_version.rpartition("/")
    return (version if group in ("core", "") else f"{group}/{version}"), kind


def _integers(value: Any) -> Any:
    """Inputs travel as protobuf Structs, where every number is a float; Kubernetes fields are integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integers(v) for v in value]
    return value


def manifest(res: PlannedResource) -> dict[str, Any]:
    """The object as applied: apiVersion and kind (from the inputs or the type token), then the rest."""
    body = _integers(res.masked_inputs)
    api_version, kind = api_version_and_kind(res.type)
    out: dict[str, Any] = {"apiVersion": body.get("apiVersion", api_version), "kind": body.get("kind", kind)}
    metadata = dict(body.get("metadata") or {})
    metadata.setdefault("name", res.name)  # auto-named objects get a generated name at apply time
    out["metadata"] = metadata
    out.update({k: v for k, v in body.items() if k not in _FIRST})
    return out


def manifests(plan: Plan) -> Iterator[tuple[PlannedResource, dict[str, Any]]]:
    for res in plan:
        if is_manifest(res):
            yield res, manifest(res)


def relative_path(obj: dict[str, Any]) -> Path:
    """``<namespace>/<kind>-<name>.yaml``; cluster-scoped objects go under ``_cluster/``."""
    metadata = obj["metadata"]
    kind = str(obj["kind"])
    namespace = CLUSTER_SCOPED_DIR if kind in CLUSTER_SCOPED_KINDS else str(metadata.get("namespace") or "default")
    return Path(namespace) / f"{kind.lower()}-{metadata['name']}.yaml"


def write_manifests(plan: Plan, directory: Path) -> list[Path]:
    """Write one YAML file per object under ``directory``; returns the paths written, in plan order."""
    written: list[Path] = []
    for _res, obj in manifests(plan):
        path = directory / relative_path(obj)
        if path in written:
            raise ValueError(f"two objects would be written to {path}: {obj['kind']} {obj['metadata']['name']}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))
        written.append(path)
    return written
