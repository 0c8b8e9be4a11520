"""The one place the planner uses pulumi-policy's private API: its in-process analyzer server.

``pulumi preview --policy-pack policies`` starts the pack's ``PolicyPack``, which serves
``pulumi_policy.policy._PolicyAnalyzerServicer`` over gRPC; the CLI then calls ``Configure``, ``ConfigureStack``,
``Analyze`` once per resource and ``AnalyzeStack`` once. pulumi-policy offers no public way to get that servicer
without starting the server (``PolicyPack.__init__`` serves and never returns), so the offline review builds it
here, with the arguments ``PolicyPack`` passes. ``tests/test_planning_private_api.py`` pins its signature and
behaviour (and the module-level names ``shared_conversion`` and ``analyze_stack_once`` swap), so a pulumi-policy
upgrade that changes either fails there rather than somewhere in a review.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Protocol

import pulumi_policy.policy as policy_server
from google.protobuf import json_format
from pulumi_policy import EnforcementLevel, Policy, PolicyResource, StackValidationArgs, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer


class Analyzer(Protocol):
    """The gRPC methods of the analyzer server the CLI calls (``pulumi.runtime.proto.analyzer_pb2_grpc``)."""

    def Configure(self, request, context): ...  # noqa: N802
    def ConfigureStack(self, request, context): ...  # noqa: N802
    def Analyze(self, request, context): ...  # noqa: N802
    def AnalyzeStack(self, request, context): ...  # noqa: N802


def analyzer(name: str, version: str, policies: Sequence[Policy], enforcement_level: EnforcementLevel,
             description: str | None = None) -> Analyzer:
    """The server ``PolicyPack(name, policies, enforcement_level, description)`` would serve, not served."""
    return _PolicyAnalyzerServicer(name, version, list(policies), enforcement_level, None, description)


@contextmanager
def shared_conversion() -> Iterator[None]:
    """Within the block, the analyzer server converts each distinct property ``Struct`` once.

    The first step is keyed by the message's serialized bytes (equal content, equal result), looked up
    through the message object first (the server reads the same ``Struct`` once per policy); the next two
    by the identity of the object the previous step returned. The memo keeps every key object alive, so
    an identity is never reused for another object while it lasts. Everything is restored on exit, so
    nothing outside the review (a real ``pulumi preview``, the plain reference review) is affected.
    """
    by_identity: dict[int, tuple[Any, Any]] = {}
    to_dict: dict[bytes, dict[str, Any]] = {}
    deserialized: dict[tuple[int, bool], tuple[Any, Any]] = {}
    proxied: dict[int, tuple[Any, Any]] = {}
    original_deserialize = policy_server.deserialize_properties
    original_proxy = policy_server.unknown_checking_proxy
    original_json_format = policy_server.json_format

    def message_to_dict(message: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return json_format.MessageToDict(message, *args, **kwargs)
        hit = by_identity.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        key = message.SerializeToString(deterministic=True)
        value = to_dict.get(key)
        if value is None:
            value = to_dict[key] = json_format.MessageToDict(message)
        by_identity[id(message)] = (message, value)
        return value

    def deserialize(props: Any, proxy_secrets: bool = False) -> Any:
        key = (id(props), proxy_secrets)
        hit = deserialized.get(key)
        if hit is None or hit[0] is not props:
            hit = deserialized[key] = (props, original_deserialize(props, proxy_secrets))
        return hit[1]

    def proxy(props: Any) -> Any:
        hit = proxied.get(id(props))
        if hit is None or hit[0] is not props:
            hit = proxied[id(props)] = (props, original_proxy(props))
        return hit[1]

    policy_server.json_format = SimpleNamespace(MessageToDict=message_to_dict)  # type: ignore[assignment]
    policy_server.deserialize_properties = deserialize
    policy_server.unknown_checking_proxy = proxy
    try:
        yield
    finally:
        policy_server.json_format = original_json_format
        policy_server.deserialize_properties = original_deserialize
        policy_server.unknown_checking_proxy = original_proxy


def stack_resources(request: Any) -> list[PolicyResource]:
    """The ``PolicyResource`` graph the server builds from an ``AnalyzeStackRequest`` for a stack policy.

    Built by the server's own ``AnalyzeStack``, with one stack policy that keeps what it is given, so every
    field, parent and dependency link is exactly what a policy of a real preview receives.
    """
    captured: list[PolicyResource] = []

    def keep(args: StackValidationArgs, _report: Any) -> None:
        captured.extend(args.resources)

    capture = StackValidationPolicy(name="capture-stack-resources", description="Keeps the stack's resources.",
                                    validate=keep, enforcement_level=EnforcementLevel.ADVISORY)
    analyzer("capture", "0.0.0", [capture], EnforcementLevel.ADVISORY).AnalyzeStack(request, None)
    return captured


def analyze_stack_once(server: Analyzer, request: Any) -> Any:
    """``server.AnalyzeStack(request)``, with the stack's resource graph built once for all its stack policies.

    The server rebuilds the whole graph (options, provider, parent and dependency links of every resource) for
    each stack policy: with ~45 stack policies that was two thirds of a review, and it grows with the edges of
    the graph, faster than the stack. Here the graph is built once (:func:`stack_resources`) and the server
    runs its own ``AnalyzeStack`` over an empty request, each policy's ``StackValidationArgs`` then receiving
    its own copy of the list of the shared resources; enforcement, reporting and error handling stay the
    server's. Policies never modify what they are given (the equivalence test compares with a plain review).
    """
    resources = stack_resources(request)
    original = policy_server.StackValidationArgs

    def with_resources(_empty: list[PolicyResource], config: Any = None, stack_tags: Any = None) -> Any:
        return original(list(resources), config, stack_tags)

    policy_server.StackValidationArgs = with_resources  # type: ignore[assignment,misc]
    try:
        return server.AnalyzeStack(type(request)(), None)
    finally:
        policy_server.StackValidationArgs = original  # type: ignore[misc]
