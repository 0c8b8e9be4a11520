"""Pins the one private pulumi-policy API the planner uses (planning/analyzer.py), the SDK's stack-trace hook a plan
answers itself (planning/engine.py), and the public SDK behaviour that replaced a private one in config/loader.py,
so an upgrade that changes any of them fails here."""

from __future__ import annotations

import contextvars
import inspect

from agent_policies.pack import DEFAULT_ENFORCEMENT, PACK_NAME
from pulumi.runtime import config as runtime_config
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy
from pulumi_policy.policy import PolicyPack, _PolicyAnalyzerServicer

from planning.analyzer import analyzer


def test_the_analyzer_takes_the_arguments_policy_pack_passes_it():
    params = list(inspect.signature(_PolicyAnalyzerServicer.__init__).parameters)
    assert params[:7] == ["self", "name", "version", "policies", "enforcement_level", "initial_config",
                          "description"]
    # PolicyPack builds its server from its own arguments in that order (pulumi_policy/policy.py).
    assert "_PolicyAnalyzerServicer(\n            name,\n            version,\n            policies," in (
        inspect.getsource(PolicyPack.__init__))


def _always(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "aws:s3/bucket:Bucket":
        report("buckets are reported")


def test_the_analyzer_answers_configure_analyze_and_analyze_stack_as_the_cli_calls_them():
    policy = ResourceValidationPolicy(name="report-buckets", description="Reports buckets.", validate=_always)
    server = analyzer(PACK_NAME, "1.2.3", [policy], DEFAULT_ENFORCEMENT, "test pack")
    info = server.GetAnalyzerInfo(None, None)
    assert (info.name, info.version, [p.name for p in info.policies]) == (PACK_NAME, "1.2.3", ["report-buckets"])
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    request.policyConfig["report-buckets"].enforcementLevel = analyzer_pb2.MANDATORY
    server.Configure(request, None)
    bucket = analyzer_pb2.AnalyzeRequest(type="aws:s3/bucket:Bucket", urn="urn:pulumi:dev::p::aws:s3/bucket:Bucket::b",
                                         name="b")
    (diag,) = server.Analyze(bucket, None).diagnostics
    assert (diag.policyName, diag.enforcementLevel) == ("report-buckets", analyzer_pb2.MANDATORY)
    assert diag.message.endswith("buckets are reported")
    assert list(server.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(), None).diagnostics) == []
    assert DEFAULT_ENFORCEMENT in EnforcementLevel


def test_secret_config_keys_set_by_the_engine_are_reported_by_the_public_api():
    """config/loader.py reads which keys are secret through ``is_config_secret``, not the context variable."""
    def program() -> None:
        runtime_config.set_all_config({"p:a": "1", "p:b": "2"}, ["p:b"])
        assert [k for k in ("p:a", "p:b") if runtime_config.is_config_secret(k)] == ["p:b"]

    contextvars.copy_context().run(program)


def test_the_conversion_helpers_shared_conversion_patches_are_the_ones_the_server_calls():
    """``shared_conversion`` swaps three module-level names of ``pulumi_policy.policy`` for memoised ones; if
    the server stopped calling them, the review would silently convert per policy again (or break)."""
    import pulumi_policy.policy as policy_server

    source = inspect.getsource(_PolicyAnalyzerServicer)
    for name in ("json_format.MessageToDict(", "deserialize_properties(", "unknown_checking_proxy("):
        assert name in source, name
    before = (policy_server.json_format, policy_server.deserialize_properties, policy_server.unknown_checking_proxy)
    from planning.analyzer import shared_conversion

    with shared_conversion():
        assert policy_server.deserialize_properties is not before[1]
    assert (policy_server.json_format, policy_server.deserialize_properties,
            policy_server.unknown_checking_proxy) == before


def _graph(resources) -> list[tuple]:
    from agent_policies._common import known_plain

    return [(r.resource_type, r.urn, r.name, r.parent.urn if r.parent else None, [d.urn for d in r.dependencies],
             {k: [d.urn for d in v] for k, v in r.property_dependencies.items()}, known_plain(r.props), r.opts.protect,
             r.provider.urn if r.provider else None) for r in resources]


def test_the_stack_graph_built_once_is_the_one_each_stack_policy_receives():
    """``analyze_stack_once`` builds the stack's resources once and hands every stack policy that list; it must be
    what the server builds for each policy itself, and the server's own name must be back afterwards."""
    import pulumi_policy.policy as policy_server
    from pulumi_policy import StackValidationPolicy

    from planning.analyzer import analyze_stack_once, stack_resources
    from planning.review import analyze_stack_request
    from tests.harness import plan

    request = analyze_stack_request(plan("prod").resources)
    seen: list[list] = []

    def record(args, report):
        seen.append(_graph(args.resources))
        report("stack seen", None)

    policies = [StackValidationPolicy(name=f"record-{i}", description="Records.", validate=record) for i in range(2)]
    server = analyzer(PACK_NAME, "1.2.3", policies, DEFAULT_ENFORCEMENT)
    plain = server.AnalyzeStack(request, None)
    before = policy_server.StackValidationArgs
    shared = analyze_stack_once(server, request)
    assert policy_server.StackValidationArgs is before
    assert len(seen) == 4 and seen[0] == seen[1] == seen[2] == seen[3] == _graph(stack_resources(request))
    assert len(seen[0]) == len(request.resources) and any(g[3] for g in seen[0]) and any(g[4] for g in seen[0])
    assert shared == plain


def test_a_plan_registers_without_walking_the_stack_and_the_sdk_still_does_elsewhere(monkeypatch) -> None:
    """planning/engine.py answers the SDK's ``_get_stack_trace`` with an empty trace inside a plan (the mock monitor
    drops source positions): if the SDK renamed it or stopped calling it, plans would walk the stack again."""
    import traceback

    from pulumi.runtime import resource as sdk_resource

    from planning import engine
    from planning.bench import FLOOR_PROGRAM

    for caller in (sdk_resource.register_resource, sdk_resource.read_resource):
        assert "_get_stack_trace()" in inspect.getsource(caller), caller.__name__
    walks: list[int] = []
    real_extract = traceback.extract_stack
    monkeypatch.setattr(traceback, "extract_stack", lambda *a, **k: walks.append(1) or real_extract(*a, **k))
    monkeypatch.setenv("PLANNING_FLOOR_RESOURCES", "3")
    result = engine.run_program("dev", program=FLOOR_PROGRAM)
    assert len(result.resources) == 3 and walks == []
    # Outside a plan (a real `pulumi up` of the program), the SDK's own trace.
    assert sdk_resource._get_stack_trace() == engine._sdk_stack_trace() and walks == [1, 1]
