"""The planner loads the provider SDKs with postponed annotations (planning/provider_imports.py), and nothing a
user reads changes: every plan, estimate and review is the same as with ordinary imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_aws
import pulumi_kubernetes
import pytest

from planning import cli, cost_report, policy_config, provider_imports
from planning.engine import with_paths
from planning.stacks import StackRef
from tests import harness

ROOT = Path(__file__).resolve().parent.parent
# The VM runtime (dev), EKS (prod) and the optional stores a blueprint adds (DocumentDB global cluster, Weaviate).
TARGETS = {"dev": ["--stack", "dev"], "prod": ["--stack", "prod"],
           "004-prod": ["--stack-file", str(ROOT / "blueprints" / "004-gatekeeper" / "Pulumi.prod.yaml")]}


def _canonical(value: Any) -> Any:
    """The document with every list in a fixed order: the mock engine registers resources (and collects their
    dependencies) in the order its asyncio tasks finish, which varies from run to run whatever the imports."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def test_the_suite_and_the_planner_load_the_providers_with_postponed_annotations():
    for module in (pulumi_aws.wafv2.web_acl, pulumi_aws.ec2.vpc, pulumi_kubernetes.core.v1.Pod.__module__):
        module = sys.modules[module] if isinstance(module, str) else module
        assert type(module.__spec__.loader).__name__ == "_PostponedAnnotationsLoader", module.__name__
    # What the loader changes: an annotation is the text the source wrote, not a typing object built at import.
    rules = pulumi_aws.wafv2.WebAclArgs.__init__.__annotations__["rules"]
    assert rules == "pulumi.Input[Optional[Sequence[pulumi.Input['WebAclRuleArgs']]]]"


def test_plain_imports_are_left_alone_when_asked(monkeypatch):
    monkeypatch.setenv("PROVIDER_IMPORTS", "plain")
    provider_imports.uninstall()
    try:
        provider_imports.install()
        assert not [f for f in sys.meta_path if type(f).__name__ == "_ProviderFinder"]
    finally:
        monkeypatch.delenv("PROVIDER_IMPORTS")
        provider_imports.install()
    assert [f for f in sys.meta_path if type(f).__name__ == "_ProviderFinder"]


@pytest.fixture(scope="module")
def plain_documents(tmp_path_factory) -> dict[str, Any]:
    """Each target planned, priced and reviewed by one process with ordinary imports."""
    out = tmp_path_factory.mktemp("plain")
    script = ("import sys\nfrom planning import cli\n"
              f"for name, args in {TARGETS!r}.items():\n"
              f"    cli.main([*args, '--quiet', '--json', {str(out)!r} + '/' + name + '.json'])\n"
              "assert not [m for m in sys.modules.values() if type(getattr(m, '__spec__', None) and "
              "m.__spec__.loader).__name__ == '_PostponedAnnotationsLoader']\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False,
                         env={**os.environ, "PROVIDER_IMPORTS": "plain", "PYTHONPATH": f"{ROOT}:{ROOT / 'policies'}"})
    assert run.returncode == 0, run.stderr[-2000:]
    return {name: json.loads((out / f"{name}.json").read_text()) for name in TARGETS}


def _document(target: str) -> dict[str, Any]:
    """What ``python -m planning ... --json`` writes for ``target`` (plan, estimate, review), from the suite's shared
    plans, which this process and its sibling worker make with postponed annotations."""
    ref = StackRef.from_file(Path(TARGETS[target][1])) if target == "004-prod" else StackRef.named(target)
    planned = harness.plan_file(ref.path) if target == "004-prod" else harness.plan(target)
    document = cli.plan_json(planned)
    document["cost"] = cost_report.stack_report(planned, with_paths(ref, {})).to_json()
    document["review"] = harness.review(planned, policy_config.for_stack(ref)).to_json()
    return json.loads(json.dumps(document, sort_keys=True, default=str))


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_plan_estimate_and_review_are_the_same_with_ordinary_imports(target, plain_documents):
    assert [f for f in sys.meta_path if type(f).__name__ == "_ProviderFinder"]
    document = _document(target)
    assert len(document["resources"]) > 150 and document["review"] and document["cost"]["lines"]
    assert _canonical(document) == _canonical(plain_documents[target])
