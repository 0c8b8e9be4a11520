"""Planted misconfigurations of the dedicated vector stores fail the review; the planned stores pass it.

Each planting changes one input of the real staging plan with vectorStore qdrant or weaviate (the program under
the mock engine) and asks the pack, one policy at a time, whether it names the change.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import plan
from tests.policies.planting import Change, chain, drop, edit, edit_user_data, set_path, violations

RELEASE = "kubernetes:helm.sh/v3:Release"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SELECTION = "aws:backup/selection:Selection"
VOLUME = "aws:ebs/volume:Volume"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
QDRANT = {"dataTier.vectorStore": "qdrant"}
WEAVIATE = {"dataTier.vectorStore": "weaviate"}
POLICIES = ("vector-store-auth-required", "vector-store-not-exposed", "vector-store-volumes-encrypted",
            "vector-store-backed-up", "vector-store-network-isolated")
VM_POLICIES = ("vector-store-vm-volume-protected", "vector-store-vm-auth-required")


def _values(release: str, path: str, value: Any) -> Change:
    return edit(RELEASE, release, lambda i: set_path(i["values"], path, value))


def _without(release: str, key: str) -> Change:
    return edit(RELEASE, release, lambda i: i["values"].pop(key))


def _store_ingress(rules: list[dict[str, Any]]) -> Change:
    return edit(NETPOL, "vector-store-store", lambda i: set_path(i, "spec.ingress", rules))


def _untag(inputs: dict[str, Any]) -> None:
    inputs["parameters"] = {k: v for k, v in inputs["parameters"].items() if not v.startswith("backup-plan=")}


PLANTINGS: list[tuple[str, dict[str, Any], str, Change]] = [
    # Auth: Qdrant without an API key, with a plaintext key; Weaviate anonymous or without the key from a Secret.
    ("qdrant-no-api-key", QDRANT, "vector-store-auth-required", _values("vector-store-qdrant", "env", [])),
    ("qdrant-plaintext-key", QDRANT, "vector-store-auth-required",
     chain(_values("vector-store-qdrant", "env", []), _values("vector-store-qdrant", "apiKey", "s3cr3t"))),
    ("weaviate-anonymous", WEAVIATE, "vector-store-auth-required",
     _values("vector-store-weaviate", "authentication.anonymous_access.enabled", True)),
    ("weaviate-no-key-secret", WEAVIATE, "vector-store-auth-required", _without("vector-store-weaviate", "envSecrets")),
    # Exposure: a LoadBalancer or NodePort Service, an Ingress, Weaviate's chart default (LoadBalancer).
    ("qdrant-load-balancer", QDRANT, "vector-store-not-exposed",
     _values("vector-store-qdrant", "service.type", "LoadBalancer")),
    ("qdrant-ingress", QDRANT, "vector-store-not-exposed", _values("vector-store-qdrant", "ingress.enabled", True)),
    ("weaviate-grpc-default", WEAVIATE, "vector-store-not-exposed",
     edit(RELEASE, "vector-store-weaviate", lambda i: i["values"]["grpcService"].pop("type"))),
    ("weaviate-node-port", WEAVIATE, "vector-store-not-exposed",
     _values("vector-store-weaviate", "service.type", "NodePort")),
    # Reachable from any pod: no default deny, an open rule, every namespace.
    ("qdrant-no-default-deny", QDRANT, "vector-store-network-isolated", drop(NETPOL, "vector-store-default-deny")),
    ("qdrant-open-rule", QDRANT, "vector-store-network-isolated", _store_ingress([{"ports": [{"port": 6333}]}])),
    ("weaviate-every-namespace", WEAVIATE, "vector-store-network-isolated",
     _store_ingress([{"from": [{"namespaceSelector": {}}], "ports": [{"port": 8080}]}])),
    # Encryption and backups of the volumes.
    ("qdrant-unencrypted-class", QDRANT, "vector-store-volumes-encrypted",
     edit(STORAGE_CLASS, "vector-store-storage-class", lambda i: set_path(i, "parameters.encrypted", "false"))),
    ("weaviate-default-class", WEAVIATE, "vector-store-volumes-encrypted",
     _values("vector-store-weaviate", "storage.storageClassName", "gp2")),
    ("qdrant-untagged-volumes", QDRANT, "vector-store-backed-up",
     edit(STORAGE_CLASS, "vector-store-storage-class", _untag)),
    # Pod hardening of the store, judged on the chart values like every other chart's.
    ("qdrant-without-resources", QDRANT, "helm-release-pods-hardened", _without("vector-store-qdrant", "resources")),
    ("weaviate-escalating", WEAVIATE, "helm-release-pods-hardened",
     _values("vector-store-weaviate", "containerSecurityContext.allowPrivilegeEscalation", True)),
    ("weaviate-ebs-not-selected", WEAVIATE, "vector-store-backed-up",
     edit(SELECTION, "backup-selection",
          lambda i: i.__setitem__("resources", [r for r in i["resources"] if ":volume/" not in r]))),
]


# The VM runtime (dev): the data volume and the instance's boot script.
VM_PLANTINGS: list[tuple[str, dict[str, Any], str, Change]] = [
    ("vm-volume-unencrypted", QDRANT, "vector-store-vm-volume-protected",
     edit(VOLUME, "vector-store-data", lambda i: i.__setitem__("encrypted", False))),
    ("vm-volume-not-backed-up", WEAVIATE, "vector-store-vm-volume-protected",
     edit(VOLUME, "vector-store-data", lambda i: i["tags"].pop("backup-plan"))),
    ("vm-qdrant-without-key", QDRANT, "vector-store-vm-auth-required",
     edit_user_data(TEMPLATE, "vector-store-template", lambda t: t.replace("QDRANT__SERVICE__API_KEY", "UNUSED"))),
    ("vm-weaviate-anonymous", WEAVIATE, "vector-store-vm-auth-required",
     edit_user_data(TEMPLATE, "vector-store-template",
                    lambda t: t.replace("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false",
                                        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true"))),
]


@pytest.mark.parametrize("what,overrides,policy,change", PLANTINGS, ids=[p[0] for p in PLANTINGS])
def test_a_planted_misconfiguration_fails_the_review(what, overrides, policy, change):
    assert violations(change(plan("staging", overrides)), policy), f"{policy} missed {what}"


@pytest.mark.parametrize("what,overrides,policy,change", VM_PLANTINGS, ids=[p[0] for p in VM_PLANTINGS])
def test_a_planted_vm_misconfiguration_fails_the_review(what, overrides, policy, change):
    assert violations(change(plan("dev", overrides)), policy), f"{policy} missed {what}"


@pytest.mark.parametrize("overrides", [QDRANT, WEAVIATE], ids=["qdrant", "weaviate"])
@pytest.mark.parametrize("policy", VM_POLICIES)
def test_the_planned_vm_store_passes(policy, overrides):
    assert not violations(plan("dev", overrides), policy)


@pytest.mark.parametrize("overrides", [QDRANT, WEAVIATE], ids=["qdrant", "weaviate"])
@pytest.mark.parametrize("policy", (*POLICIES, "helm-release-pods-hardened"))
def test_the_planned_store_passes(policy, overrides):
    assert not violations(plan("staging", overrides), policy)


@pytest.mark.parametrize("policy", POLICIES + VM_POLICIES)
def test_stacks_without_a_store_are_not_judged(policy):
    assert not violations(plan("prod"), policy)
    assert not violations(plan("dev"), policy)
