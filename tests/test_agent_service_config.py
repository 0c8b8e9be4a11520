"""Services are configuration: a new one is a few lines of stack config, and bad entries fail before any resource."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.services.image import context_digest
from tests.harness import ADDED_SERVICES, config_error, eks_plan, plan
from tests.test_agent_service import API_ONLY, COMMON, WORKER_ONLY, child, roles_of

SUMMARIZER = ADDED_SERVICES["services.summarizer"]


def test_a_fourth_service_is_config_only_and_gets_everything():
    p = plan("prod", ADDED_SERVICES)
    assert roles_of(p, "summarizer") == set(COMMON) | set(WORKER_ONLY)
    trigger = child(p, "summarizer", "scaled-object").props["spec"]["triggers"][0]["metadata"]
    assert trigger["listName"] == "summaries"
    assert child(p, "summarizer", "service").props["spec"]["ports"][0]["port"] == 8090
    assert p.outputs["serviceInternalUrls"]["summarizer"] == "http://summarizer.agents.svc.cluster.local:8090"
    for existing in ("api", "context", "worker"):
        assert roles_of(p, existing) == roles_of(plan("prod"), existing)


def test_a_fourth_api_service_gets_an_hpa_and_is_called_by_name():
    p = plan("prod", ADDED_SERVICES)  # search, on port 8100, which api now calls
    assert roles_of(p, "search") == set(COMMON) | set(API_ONLY)
    assert child(p, "api", "config").props["data"]["SEARCH_URL"] == "http://search.agents.svc.cluster.local:8100"
    ingress = child(p, "search", "network-policy").props["spec"]["ingress"]
    assert {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "api"}}}],
            "ports": [{"protocol": "TCP", "port": 8100}]} in ingress


def test_a_stack_without_services_still_gets_the_namespace_and_add_ons():
    p = eks_plan("dev", {"services": {}})
    assert p.of_type("agent-platform:services:AgentService") == []
    assert p.one("agent-platform:services:ServicePlatform")
    assert p.one("kubernetes:helm.sh/v3:Release", "services-keda")


# --- building images (dev) -----------------------------------------------------------------------------------------


@pytest.fixture
def context_dir(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nUSER 10001\n")
    (tmp_path / "app.py").write_text("print('agent')\n")
    return tmp_path


def test_a_build_context_is_built_pushed_and_deployed_by_digest(context_dir: Path):
    # An amd64 build for the EKS variant's x86 nodes; dev's stack file sizes the VM variant on Graviton (t4g), which
    # config refuses to pair with an amd64 build, so the VM sizing is set back to x86 here.
    p = eks_plan("dev", {"services.api.image": None, "services.api.build": {"context": str(context_dir)},
                         "services.api.vm.instanceType": "t3.small"})
    image = p.one("docker:index/image:Image", "service-api-image")
    repo = child(p, "api", "repo")
    tag = f"src-{context_digest(context_dir)[:20]}"
    assert image.props["imageName"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/agent-platform-dev/api:{tag}"
    assert image.props["build"]["context"] == str(context_dir)
    assert image.props["build"]["platform"] == "linux/amd64"
    assert image.props["registry"]["server"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{repo.props['name']}"
    assert image.inputs["registry"]["password"] != "mock-ecr-password", "the registry password stays a secret"
    deployed = child(p, "api", "deployment").props["spec"]["template"]["spec"]["containers"][0]["image"]
    assert deployed.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/agent-platform-dev/api@sha256:")
    assert p.outputs["serviceImages"]["api"] == deployed


def test_the_image_tag_changes_exactly_when_the_source_does(context_dir: Path):
    before = context_digest(context_dir)
    assert context_digest(context_dir) == before
    (context_dir / "__pycache__").mkdir()
    (context_dir / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    assert context_digest(context_dir) == before, "caches are not source"
    (context_dir / "app.py").write_text("print('changed')\n")
    assert context_digest(context_dir) != before


# --- bad service config -----------------------------------------------------------------------------------------

IMAGE = SUMMARIZER["image"]
BAD_SERVICES = [
    ("prod", {"services.api.image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-prod/api:1.4.2"},
     "services.api.image", "digest-pinned"),
    ("prod", {"services.context.minReplicas": 1, "services.context.replicas": 1},
     "services.context.minReplicas", "at least 2 replicas"),
    ("dev", {"services.api.image": "ghcr.io/acme/api:latest"}, "services.api.image", ":latest"),
    ("dev", {"services.api.image": "ghcr.io/acme/api"}, "services.api.image", "no tag or digest"),
    ("dev", {"services.api.image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-dev/api:0.9.0"},
     "services.api.image", "digest-pinned"),
    ("dev", {"services.api.image": None, "services.api.build": {"context": "no/such/dir"}},
     "services.api.build.context", "is not a directory"),
    ("dev", {"services.worker.queue": None}, "services.worker.queue", "set queue.listName"),
    ("dev", {"services.api.queue": {"listName": "jobs"}}, "services.api.queue", "only workers take a queue"),
    ("dev", {"services.worker.secrets": ["database"]}, "services.worker.secrets", "add 'redis'"),
    ("dev", {"services.api.secrets": ["database", "vault-token"]}, "services.api.secrets[1]", "not a platform secret"),
    ("dev", {"services.api.secrets": ["database", "google"]}, "services.api.secrets",
     "not in dataTier.secrets.llmProviders"),
    ("dev", {"services.api.settings": {"OPENAI_API_KEY": "sk-live"}}, "services.api.settings", "look like credentials"),
    ("dev", {"services.api.settings": {"POSTGRES_URL": "postgresql://x"}}, "services.api.settings",
     "set by the platform"),
    ("dev", {"services.api.calls": ["billing"]}, "services.api.calls", "'billing' is not a service"),
    ("dev", {"services.api.resources": {"memoryRequest": "2Gi", "memoryLimit": "1Gi"}},
     "services.api.resources.memoryLimit", "below memoryRequest"),
    ("dev", {"services.api.resources": {"cpuRequest": "lots"}}, "services.api.resources.cpuRequest",
     "not a CPU quantity"),
    ("dev", {"services.api.terminationGracePeriodSeconds": 30, "services.api.preStopDelaySeconds": 20},
     "services.api.terminationGracePeriodSeconds", "at least 20 s"),
    ("dev", {"services.api.probes": {"readinessPath": "ready"}}, "services.api.probes.readinessPath",
     "not an HTTP path"),
    ("dev", {"services.API": {"kind": "api", "image": IMAGE}}, "services.API", "DNS-1123"),
    ("dev", {"services.api.port": 80}, "services.api.port", "must be at least 1024"),
    ("dev", {"services.api.build": {"context": "tests", "args": {"NPM_TOKEN": "x"}}, "services.api.image": None},
     "services.api.build.args", "image history"),
]


@pytest.mark.parametrize(("stack", "overrides", "path", "phrase"), BAD_SERVICES,
                         ids=[f"{s}:{p}:{ph[:24]}" for s, _, p, ph in BAD_SERVICES])
def test_bad_service_config_names_the_key_and_registers_nothing(stack, overrides, path, phrase):
    err = config_error(stack, overrides)
    assert path in err.paths, f"{path} not named in:\n{err}"
    assert phrase.lower() in dict(err.issues)[path].lower(), err


def test_builds_are_refused_in_protected_tiers(context_dir: Path):
    err = config_error("staging", {"services.api.image": None, "services.api.build": {"context": str(context_dir)}})
    assert "protected tiers deploy images built and scanned in CI" in dict(err.issues)["services.api.build"]


def test_image_and_build_together_are_refused(context_dir: Path):
    err = config_error("dev", {"services.api.build": {"context": str(context_dir)}})
    assert "at most one of image" in dict(err.issues)["services.api.image"]


def test_config_error_lists_every_bad_service_at_once():
    fields = config_error("prod", {"services.worker.queue": None, "services.api.port": 80})
    assert {"services.worker.queue", "services.api.port"} <= set(fields.paths), json.dumps(fields.issues)
    rules = config_error("prod", {"services.api.image": "ghcr.io/acme/api:1.0", "services.context.calls": ["nowhere"]})
    assert {"services.api.image", "services.context.calls"} <= set(rules.paths), json.dumps(rules.issues)
