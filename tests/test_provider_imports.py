"""The planner loads the provider SDKs with postponed annotations and pulumi-aws's packages' members on first use
(planning/provider_imports.py), and nothing a user reads changes: every plan, estimate and review, and every name
of those packages, is the same as with ordinary imports."""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi_aws
import pulumi_kubernetes
import pytest

from planning import cli, cost_report, policy_config, provider_imports
from planning.engine import with_paths
from planning.stacks import StackRef
from tests import harness, plan_cache

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints"
# Every stack (the VM runtime, EKS, the DR region's) and what only blueprints add: the DocumentDB global cluster
# (004), Weaviate on its EBS volume on VMs and with its snapshot CronJob on EKS (000), and a service scaled on its
# queue's depth (001).
TARGETS = {"dev": ["--stack", "dev"], "staging": ["--stack", "staging"], "prod": ["--stack", "prod"],
           "prod-dr": ["--stack", "prod-dr"],
           "000-dev": ["--stack-file", str(BLUEPRINTS / "000-llm-agent-system" / "Pulumi.dev.yaml")],
           "000-prod": ["--stack-file", str(BLUEPRINTS / "000-llm-agent-system" / "Pulumi.prod.yaml")],
           "001-dev": ["--stack-file", str(BLUEPRINTS / "001-llm-copilot" / "Pulumi.dev.yaml")],
           "004-prod": ["--stack-file", str(BLUEPRINTS / "004-gatekeeper" / "Pulumi.prod.yaml")]}


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


# The root package (functions, the provider) and service packages of every size the program uses.
PACKAGES = ("pulumi_aws", "pulumi_aws.ec2", "pulumi_aws.wafv2", "pulumi_aws.iam", "pulumi_aws.s3",
            "pulumi_aws.docdb")


def _names(package: Any) -> dict[str, str]:
    """Every public name of ``package`` and what it is bound to (module and qualified name, or the value).

    A submodule is named and not loaded: the root package binds its 240 service packages with pulumi's
    lazy_import (pulumi/_utils.py ``_LazyModule``), which loads one on the first read of any attribute but its
    name and a few others, so reading more would import every service. For the same reason ``package`` itself is
    loaded first (every generated package imports ``_utilities``): ``dir`` of an unloaded one lists no names.
    """
    assert hasattr(package, "_utilities"), package.__name__
    out = {}
    for name in dir(package):
        if not name.startswith("_"):
            value = getattr(package, name)
            if isinstance(value, ModuleType):
                out[name] = f"module {value.__name__}"
                continue
            qualname = getattr(value, "__qualname__", None)
            out[name] = f"{getattr(value, '__module__', '')}:{qualname}" if qualname else repr(value)[:80]
    return out


@pytest.fixture(scope="module")
def plain_documents(tmp_path_factory) -> dict[str, Any]:
    """Each target planned, priced and reviewed by one process with ordinary imports, and the names of
    ``PACKAGES`` as that process sees them (``names``). Like a plan, a function of the tree, the packages and the
    Python: kept in the suite's plan cache (tests/plan_cache.py), so a second run of an unchanged tree reuses it."""
    # The script below runs this module's code (``_names``): its content is part of the key.
    this_module = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    return plan_cache.cached(json.dumps(["plain-imports", this_module, TARGETS, PACKAGES]),
                             lambda: _plain_documents(tmp_path_factory.mktemp("plain")))


def _plain_documents(out: Path) -> dict[str, Any]:
    script = ("import importlib, json, sys\nfrom planning import cli\n"
              "from tests.test_provider_imports import PACKAGES, _names\n"
              f"for name, args in {TARGETS!r}.items():\n"
              f"    cli.main([*args, '--quiet', '--json', {str(out)!r} + '/' + name + '.json'])\n"
              "assert not [m for m in sys.modules.values() if type(getattr(m, '__spec__', None) and "
              "m.__spec__.loader).__name__ == '_PostponedAnnotationsLoader']\n"
              "names = {p: _names(importlib.import_module(p)) for p in PACKAGES}\n"
              f"open({str(out)!r} + '/names.json', 'w').write(json.dumps(names))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False,
                         env={**os.environ, "PROVIDER_IMPORTS": "plain", "PYTHONPATH": f"{ROOT}:{ROOT / 'policies'}"})
    assert run.returncode == 0, run.stderr[-2000:]
    return {name: json.loads((out / f"{name}.json").read_text()) for name in [*TARGETS, "names"]}


def test_every_name_of_a_package_loaded_on_first_use_is_what_ordinary_imports_bind(plain_documents):
    for package in PACKAGES:
        module = importlib.import_module(package)
        assert type(module.__spec__.loader).__name__ == "_PostponedAnnotationsLoader"
        plain = plain_documents["names"][package]
        assert len(plain) > 20, package
        assert _names(module) == plain, package


def test_using_one_resource_of_a_service_loads_that_member_alone():
    # A fresh process: this one has long loaded whatever the suite's plans use.
    script = ("import sys\nfrom planning import provider_imports\nprovider_imports.install()\n"
              "import pulumi_aws\nassert pulumi_aws.ec2.SecurityGroup.__name__ == 'SecurityGroup'\n"
              "print(sorted(m for m in sys.modules if m.startswith('pulumi_aws.ec2.')))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(run.stdout.strip()))
    # The member, and what each member imports: its package's enums, input and output types.
    assert loaded == {"pulumi_aws.ec2.security_group", "pulumi_aws.ec2._enums", "pulumi_aws.ec2._inputs",
                      "pulumi_aws.ec2.outputs"}


def _document(target: str) -> dict[str, Any]:
    """What ``python -m planning ... --json`` writes for ``target`` (plan, estimate, review), from the suite's shared
    plans, which this process and its sibling worker make with postponed annotations."""
    blueprint = TARGETS[target][0] == "--stack-file"
    ref = StackRef.from_file(Path(TARGETS[target][1])) if blueprint else StackRef.named(target)
    planned = harness.plan_file(ref.path) if blueprint else harness.plan(target)
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
