"""Make a review through pulumi-policy's own analyzer server cost linear in the number of resources.

``_PolicyAnalyzerServicer`` converts a resource's properties (protobuf ``Struct`` to dict, deserialized, wrapped
in the unknown-checking proxy) once for every policy it runs: ``Analyze`` once per resource policy, even one
whose types the resource does not have, and ``AnalyzeStack`` once per resource per stack policy. For prod that
is ~60,000 conversions, three quarters of the review. Two things remove them without touching what a policy
sees:

* ``planning.analyzer.shared_conversion`` (it patches the server's private helpers, so it lives with the other
  private-API code) memoises the three conversion steps for the length of one review, so every policy gets
  the same read-only proxied properties the server would have built for it. The pack never writes into
  ``props``; the equivalence test (``tests/policies/test_review_equivalence.py``) compares against a plain,
  unshared review to keep it so.
* :class:`Dispatch` hands each ``Analyze`` request to a servicer that holds only the resource policies whose
  declared types include the resource's (``_common.resource_policy`` records them); the others would return
  before looking at anything. Each servicer is the real one, configured with the stack's full policy config.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pulumi_policy import Policy, ResourceValidationPolicy

from planning.analyzer import Analyzer


def declared_types(policy: Policy) -> frozenset[str] | None:
    """The resource types a resource policy looks at; ``None`` when it looks at every type (or does not say)."""
    return getattr(policy, "resource_types", None)


class Dispatch:
    """One configured analyzer server per distinct set of resource policies that apply to a resource type."""

    def __init__(self, policies: Sequence[Policy], make_server: Callable[[list[Policy]], Analyzer]):
        self._policies = list(policies)
        self._make_server = make_server
        self._by_type: dict[str, Analyzer | None] = {}
        self._by_set: dict[tuple[str, ...], Analyzer] = {}

    def _applies(self, policy: Policy, resource_type: str) -> bool:
        if not isinstance(policy, ResourceValidationPolicy):
            return False
        types = declared_types(policy)
        return types is None or resource_type in types

    def server_for(self, resource_type: str) -> Analyzer | None:
        """The server whose policies are those that apply to ``resource_type`` (pack order); None if none do."""
        if resource_type not in self._by_type:
            subset = [p for p in self._policies if self._applies(p, resource_type)]
            key = tuple(p.name for p in subset)
            if subset and key not in self._by_set:
                self._by_set[key] = self._make_server(subset)
            self._by_type[resource_type] = self._by_set.get(key)
        return self._by_type[resource_type]
