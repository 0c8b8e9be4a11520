"""Make a review through pulumi-policy's own analyzer server cost linear in the number of resources.

``_PolicyAnalyzerServicer`` converts a resource's properties (protobuf ``Struct`` to dict, deserialized, wrapped
in the unknown-checking proxy) once for every policy it runs: ``Analyze`` once per resource policy, even one
whose types the resource does not have, and ``AnalyzeStack`` once per resource per stack policy. For prod that
is ~60,000 conversions, three quarters of the review. Two things remove them without touching what a policy
sees:

* :func:`shared_conversion` memoises the servicer's three conversion steps by content for the length of one
  review, so every policy (resource and stack) gets the same read-only proxied properties the server would
  have built for it. The pack never writes into ``props``; the equivalence test
  (``tests/policies/test_review_equivalence.py``) compares against a plain, unshared review to keep it so.
* :class:`Dispatch` hands each ``Analyze`` request to a servicer that holds only the resource policies whose
  declared types include the resource's (``_common.resource_policy`` records them); the others would return
  before looking at anything. Each servicer is the real one, configured with the stack's full policy config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pulumi_policy.policy as policy_server
from google.protobuf import json_format
from pulumi_policy import Policy, ResourceValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer


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


def declared_types(policy: Policy) -> frozenset[str] | None:
    """The resource types a resource policy looks at; ``None`` when it looks at every type (or does not say)."""
    return getattr(policy, "resource_types", None)


class Dispatch:
    """One configured analyzer server per distinct set of resource policies that apply to a resource type."""

    def __init__(self, policies: Sequence[Policy], make_server: Callable[[list[Policy]], _PolicyAnalyzerServicer]):
        self._policies = list(policies)
        self._make_server = make_server
        self._by_type: dict[str, _PolicyAnalyzerServicer | None] = {}
        self._by_set: dict[tuple[str, ...], _PolicyAnalyzerServicer] = {}

    def _applies(self, policy: Policy, resource_type: str) -> bool:
        if not isinstance(policy, ResourceValidationPolicy):
            return False
        types = declared_types(policy)
        return types is None or resource_type in types

    def server_for(self, resource_type: str) -> _PolicyAnalyzerServicer | None:
        """The server whose policies are those that apply to ``resource_type`` (pack order); None if none do."""
        if resource_type not in self._by_type:
            subset = [p for p in self._policies if self._applies(p, resource_type)]
            key = tuple(p.name for p in subset)
            if subset and key not in self._by_set:
                self._by_set[key] = self._make_server(subset)
            self._by_type[resource_type] = self._by_set.get(key)
        return self._by_type[resource_type]
