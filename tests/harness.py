"""Plan stacks offline for tests: the real ``__main__.py`` under the mock engine, cached per input.

    plan("prod").one("aws:rds/instance:Instance").props["multiAz"] is True
    plan("prod", {"dataTier.postgres.multiAz": False})      # dotted overrides of the stack file
    err = config_error("prod", {"network.azCount": 2})        # ConfigError; nothing registered

The plan cache is the suite's: every test file of a worker process shares it, keyed by what the program is given
(stack, config and secret keys once the overrides are applied, preview), and behind it the workers and later runs
of the same tree share plans on disk (tests/plan_cache.py). A plan costs seconds, a cache hit nothing, so plan
through ``plan``/``eks_plan`` (never ``planning.engine.run_program``) and reuse the overrides other files use for
the same shape (``eks_plan`` gives dev on EKS the same key everywhere). ``review`` caches the review of a cached
plan per policy config in the same way. Treat both as read-only; derive a changed plan with
``dataclasses.replace`` on a copy. A test that needs a stack file other than ``Pulumi.<stack>.yaml`` should add it
to the key here, not bypass the cache.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Collection, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from config import ConfigError
from planning import review as policy_review
from planning.engine import run_program, runtime_config, with_paths
from planning.model import Plan, PlannedResource
from planning.review import Review
from planning.stacks import StackRef
from tests import plan_cache
from tests.conftest import STACKS

__all__ = ["ADDED_SERVICES", "DEDICATED_VM", "PUBLIC_EDGE", "STACKS", "TUNED_CLUSTER", "dedicated_vm_policy_config"]


# dev before the economy profile packed it: each service on its own Auto Scaling group behind the public edge (ALB,
# TLS, WAF, DNS). Tests of the dedicated VM runtime and of the edge on dev plan it; the committed dev stack runs on
# one shared host with a private edge (tests/test_vm_shared.py, tests/test_private_edge.py).
PUBLIC_EDGE: dict[str, Any] = {"exposure": "public", "domain": "dev.agents.example.com",
                               "hostedZoneName": "example.com"}
DEDICATED_VM: dict[str, Any] = {
    "runtime": "vm", "vm": {"placement": "dedicated"}, "edge": PUBLIC_EDGE,
    **{f"services.{name}.vm.instanceType": "t4g.micro" for name in ("api", "context", "worker")},
}


def dedicated_vm_policy_config() -> dict[str, Any]:
    """dev's policy settings as they would be generated for ``DEDICATED_VM`` (a public edge routing api, context)."""
    return {**policy_review.load_policy_config("dev"),
            "edge-matches-exposure": {"exposure": "public", "routedServices": ["api", "context"]}}


# prod's cluster with independent settings changed at once (pins of two EKS add-ons over the version's defaults, the
# node autoscaler's limits, a new admin and viewer listed first): the tests of each setting share this one plan, each
# asserting its own.
TUNED_CLUSTER: dict[str, Any] = {
    "cluster.addonVersions.coredns": "v1.14.3-eksbuild.3",
    "cluster.addonVersions.metrics-server": "v0.8.1-eksbuild.10",
    "cluster.nodeAutoscaler.maxNodesTotal": 8,
    "cluster.nodeAutoscaler.scaleDownUnneededMinutes": 20,
    "cluster.adminRoleArns": ["arn:aws:iam::111122223333:role/NewAdmin",
                              "arn:aws:iam::111122223333:role/PlatformAdmin"],
    "cluster.readOnlyRoleArns": ["arn:aws:iam::111122223333:role/NewViewer",
                                 "arn:aws:iam::111122223333:role/PlatformDeveloper",
                                 "arn:aws:iam::111122223333:role/SecurityAudit"],
}

# prod with three services added by config alone; the tests of adding a service share this one plan. A queue worker,
# an api service the existing api calls by name, and an api service scraped on its own metrics path.
_ADDED_IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/agent-platform-prod/{}@sha256:" + "ab" * 32
ADDED_SERVICES: dict[str, Any] = {
    "services.summarizer": {"kind": "worker", "image": _ADDED_IMAGE.format("summarizer"), "port": 8090,
                            "queue": {"listName": "summaries"}, "secrets": ["database", "redis", "anthropic"]},
    "services.search": {"kind": "api", "image": _ADDED_IMAGE.format("search"), "port": 8100, "secrets": ["database"]},
    "services.api.calls": ["context", "search"],
    "services.extra": {"kind": "api", "image": _ADDED_IMAGE.format("extra"), "port": 8090, "replicas": 2,
                       "minReplicas": 2, "maxReplicas": 4, "metricsPath": "/internal/metrics"},
}


# A cached plan's cache key, by the plan's id; the weak reference tells a plan evicted from the cache (whose id a
# new object may take) from the plan itself.
_CACHED_PLANS: dict[int, tuple[weakref.ref[Plan], str]] = {}
_REVIEWS: dict[tuple[str, str, str], Review] = {}


# Overrides as ``with_paths`` expanded them, by the program inputs they make (``_program_inputs``).
_EXPANDED: dict[str, dict[str, Any]] = {}


def _program_inputs(stack: str, overrides: Mapping[str, Any] | None, preview: bool) -> str:
    """What the program is given, as a cache key: the stack, its config and secret keys as the CLI would hand
    them over once the overrides are applied, and the preview flag. However overrides are written (dotted paths,
    whole blocks, a value the stack file already has), the same inputs are one plan."""
    expanded = with_paths(stack, overrides or {})
    config, secret_keys = runtime_config(stack, expanded)
    inputs = json.dumps([stack, config, sorted(secret_keys), preview], sort_keys=True)
    _EXPANDED.setdefault(inputs, expanded)
    return inputs


@lru_cache(maxsize=128)
def _plan(inputs: str) -> Plan:
    stack, _, _, preview = json.loads(inputs)
    key = json.dumps(["plan", inputs])
    result = plan_cache.cached(key, lambda: run_program(stack, _EXPANDED[inputs], preview=preview))
    _CACHED_PLANS[id(result)] = (weakref.ref(result), key)
    return result


def _plan_key(result: Plan) -> str | None:
    """The cache key of a plan ``plan`` returned, ``None`` for any other (a changed copy, a plan of its own)."""
    ref, key = _CACHED_PLANS.get(id(result), (None, None))
    return key if ref is not None and ref() is result else None


@lru_cache(maxsize=32)
def plan_file(path: Path) -> Plan:
    """Plan the stack file ``path`` (a blueprint's), cached like ``plan``: treat the result as read-only.

    Only a file of this tree is kept on disk (its content is part of the cache's key); any other is planned.
    """
    ref = StackRef.from_file(path)
    if not ref.path.is_relative_to(plan_cache.ROOT):
        return run_program(ref)
    key = json.dumps(["plan-file", str(ref.path.relative_to(plan_cache.ROOT))])
    result = plan_cache.cached(key, lambda: run_program(ref))
    _CACHED_PLANS[id(result)] = (weakref.ref(result), key)
    return result


def plan(stack: str, overrides: Mapping[str, Any] | None = None, *, preview: bool = False) -> Plan:
    """Plan a stack (cached: treat the result as read-only). ``preview`` leaves unknown outputs unknown.

    Keyed by what the program is given, not by how the overrides are written: ``{"edge.waf.rateLimit": 900}``
    and ``{"edge": {..., "waf": {..., "rateLimit": 900}}}`` are one plan.
    """
    return _plan(_program_inputs(stack, overrides, preview))


def eks_plan(stack: str, overrides: Mapping[str, Any] | None = None, *, preview: bool = False) -> Plan:
    """Plan a stack on the EKS runtime: dev defaults to ``runtime: vm``; staging and prod share ``plan``'s cache.

    dev on EKS gets the public edge (load balancer controller, target groups) its EKS tests are about; the
    committed dev stack's private edge on EKS is tested on its own (tests/test_private_edge.py).
    """
    if stack == "dev":
        overrides = {"runtime": "eks", "edge": PUBLIC_EDGE, **(overrides or {})}
    return plan(stack, overrides, preview=preview)


def review(result: Plan, policy_config: Mapping[str, Any] | None = None, *,
           only: Collection[str] | None = None) -> Review:
    """The pack's verdicts on a plan, through the policy server path; shared for cached plans.

    Reviewing a whole stack runs every policy over every resource exactly as the CLI's policy server
    does (seconds per stack), so tests asking the same question of the same plan share one answer. A test about
    some policies on a changed plan names them in ``only``: those policies' verdicts, in a fraction of the time.
    """
    plan_key = _plan_key(result)
    if plan_key is None:
        return policy_review.review(result, policy_config, only=only)
    config = json.dumps(policy_config, sort_keys=True, default=str)
    key = (plan_key, config, json.dumps(sorted(only)) if only is not None else "")
    if key not in _REVIEWS:
        _REVIEWS[key] = plan_cache.cached(json.dumps(["review", *key]),
                                          lambda: policy_review.review(result, policy_config, only=only))
    return _REVIEWS[key]


def config_error(stack: str, overrides: Mapping[str, Any] | None = None) -> ConfigError:
    """Plan a stack expected to be rejected; returns the error after proving nothing was registered."""
    try:
        run_program(stack, with_paths(stack, dict(overrides or {})))
    except ConfigError as exc:
        registered = getattr(exc, "registered", None)
        assert registered == [], f"resources were registered before the config error: {registered}"
        return exc
    raise AssertionError(f"stack {stack} with {overrides} was accepted")


def tags_of(res: PlannedResource) -> dict[str, str]:
    return dict(res.props.get("tags") or {})
