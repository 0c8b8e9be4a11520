"""The one place the planner uses a private API: pulumi-policy's in-process analyzer server.

``pulumi preview --policy-pack policies`` starts the pack's ``PolicyPack``, which serves
``pulumi_policy.policy._PolicyAnalyzerServicer`` over gRPC; the CLI then calls ``Configure``, ``ConfigureStack``,
``Analyze`` once per resource and ``AnalyzeStack`` once. pulumi-policy offers no public way to get that servicer
without starting the server (``PolicyPack.__init__`` serves and never returns), so the offline review builds it
here, with the arguments ``PolicyPack`` passes. ``tests/test_planning_private_api.py`` pins its signature and
behaviour, so a pulumi-policy upgrade that changes either fails there rather than somewhere in a review.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pulumi_policy import EnforcementLevel, Policy
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
