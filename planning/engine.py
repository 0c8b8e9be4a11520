"""Run the real Pulumi program (``__main__.py``) under the mock engine and record what it registers.

Each run happens on its own thread inside a fresh ``contextvars.Context``: the SDK keeps its
settings, config and root stack in context variables, so runs never leak into one another.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import json
import runpy
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func

from planning import esc, mock_outputs
from planning.model import AliasSpec, Plan, PlannedResource
from planning.stacks import PROJECT, ROOT, StackRef, as_ref

STACKS = ("dev", "staging", "prod", "prod-dr")
# Stacks that exist in Pulumi Cloud only once a runbook creates them (prod-dr: docs/runbooks/disaster-recovery.md).
# CI plans, reviews and prices them on every pull request and publishes their policy group, so the standby stays
# deployable; it never previews, deploys, releases to or drift-checks them, as there is nothing deployed to compare.
STANDBY_STACKS = ("prod-dr",)
DEPLOYED_STACKS = tuple(s for s in STACKS if s not in STANDBY_STACKS)


class ProgramError(Exception):
    """The program failed while being planned (its own error is the cause)."""


def stack_file(stack: str | StackRef) -> Path:
    return as_ref(stack).path


def read_stack_config(stack: str | StackRef) -> dict[str, Any]:
    """The ``config:`` block of a stack file, keys fully qualified (``agent-platform:network``)."""
    return dict(as_ref(stack).document().get("config") or {})


# Settings outside the project namespace that the program reads; a `--set` of any other is a mistake.
READ_FOREIGN_KEYS = frozenset({"aws:region"})


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _fake_secret(key: str) -> str:
    """A stand-in for a decrypted secret: recognisable, so tests can prove it never leaks."""
    return f"mock-secret-value-of-{key.split(':', 1)[-1]}"


def _resolve_secure(key: str, value: Any) -> tuple[Any, bool]:
    """Replace ``secure:`` leaves with stand-in plaintext and report whether any were found."""
    if _is_secure(value):
        return _fake_secret(key), True
    if isinstance(value, dict):
        found = False
        out = {}
        for k, v in value.items():
            out[k], f = _resolve_secure(f"{key}.{k}", v)
            found = found or f
        return out, found
    if isinstance(value, list):
        found = False
        items = []
        for i, v in enumerate(value):
            item, f = _resolve_secure(f"{key}[{i}]", v)
            items.append(item)
            found = found or f
        return items, found
    return value, False


def _qualify(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _stack_config_with(stack: str | StackRef, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The stack file's config with ``overrides`` replacing whole top-level keys (``None`` removes one)."""
    raw = read_stack_config(stack)
    for key, value in (overrides or {}).items():
        full = _qualify(key)
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value
    return raw


def runtime_config(
    stack: str | StackRef, overrides: Mapping[str, Any] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Config as the CLI hands it to the program: string values (JSON for objects) and secret keys.

    ``overrides`` replace whole top-level keys; a value of ``None`` removes the key.
    """
    raw = _stack_config_with(stack, overrides)
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    # Keys an imported ESC environment provides (planning/esc.py): mock secrets, noted by environment_notes().
    for stand_in in environment_stand_ins(stack, overrides):
        raw[stand_in.key] = {"secure": "provided-by-esc-environment"}
    for key, value in raw.items():
        full = _qualify(key)
        resolved, secret = _resolve_secure(full, value)
        config[full] = resolved if isinstance(resolved, str) else json.dumps(resolved)
        if secret:
            secret_keys.append(full)
    return config, secret_keys


def environment_stand_ins(
    stack: str | StackRef, overrides: Mapping[str, Any] | None = None,
) -> list[esc.EnvironmentStandIn]:
    """The secrets the stack's imported ESC environments provide and the planner stands in for."""
    raw = _stack_config_with(stack, overrides)
    return esc.stand_ins(as_ref(stack).document(), raw)


def region_of(config: Mapping[str, str]) -> str:
    return config.get("aws:region", "us-east-1")


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, region: str) -> None:
        self.region = region
        # Explicit AWS providers' regions by provider name (the DR provider): their resources' ARNs name that region.
        self.provider_regions: dict[str, str] = {}
        # Every invoke the program made (token, arguments): what it reads from the account at deploy time
        # (hosted zones, SSM parameters, zones), which `python -m planning preflight` checks for real.
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:providers:aws" and args.inputs.get("region"):
            self.provider_regions[args.name] = str(args.inputs["region"])
        # A provider reference is "<provider urn>::<id>", the urn ending with the provider's name.
        provider = args.provider.rsplit("::", 2)[-2] if args.provider and args.provider.count("::") >= 2 else ""
        region = self.provider_regions.get(provider, self.region)
        state = mock_outputs.resource_outputs(args.typ, args.name, args.inputs, region)
        resource_id = state.get("id") or f"{args.name}-id"
        return str(resource_id), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.invokes.append((args.token, dict(args.args)))
        answer = mock_outputs.INVOKES.get(args.token)
        if answer is None:
            raise ProgramError(
                f"the mock engine has no answer for invoke {args.token}; add one in planning/mock_outputs.py"
            )
        # An invoke through an explicit provider (the DR region's zones) answers for that provider's region.
        reference = args.provider or ""
        provider = reference.rsplit("::", 2)[-2] if reference.count("::") >= 2 else ""
        return answer(dict(args.args), self.provider_regions.get(provider, self.region))


def _alias_spec(alias: Any) -> AliasSpec:
    if alias.WhichOneof("alias") == "urn":
        return AliasSpec(urn=alias.urn)
    spec = alias.spec
    return AliasSpec(name=spec.name, type=spec.type, parent_urn=spec.parentUrn, no_parent=spec.noParent)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping the full registration request (options, deps, parent)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[PlannedResource] = []
        self._lock = threading.Lock()
        # The SDK's mock Invoke and RegisterResource give each executor thread they run on an event loop it never
        # closes (``sync_await._ensure_event_loop``); left to the collector, such a loop's finalizer may find its
        # self-pipe gone and print "Exception ignored in BaseEventLoop.__del__" into a later test. Those threads get
        # a loop of ours first, closed with the plan (``close_thread_loops``).
        self._plan_thread = threading.current_thread()
        self._local = threading.local()
        self._thread_loops: list[asyncio.AbstractEventLoop] = []

    def _own_thread_loop(self) -> None:
        if threading.current_thread() is self._plan_thread or getattr(self._local, "loop", None) is not None:
            return
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._local.loop = loop
        with self._lock:
            self._thread_loops.append(loop)

    def close_thread_loops(self) -> None:
        """Close the executor threads' loops: the plan's work is done and its executor shut down."""
        with self._lock:
            loops, self._thread_loops = self._thread_loops, []
        for loop in loops:
            loop.close()

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self._own_thread_loop()
        return super().Invoke(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self._own_thread_loop()
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        record = PlannedResource(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=bool(request.custom),
            inputs=json_format.MessageToDict(request.object),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            dependencies=tuple(request.dependencies),
            property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider or None,
            ignore_changes=tuple(request.ignoreChanges),
            aliases=tuple(_alias_spec(a) for a in request.aliases),
        )
        with self._lock:
            self.records.append(record)
        return response


# --- registration without source positions --------------------------------------------------------------------
#
# The SDK walks the Python stack on every registration (``pulumi.runtime.resource._get_stack_trace``: one
# ``traceback.extract_stack`` and a ``pathlib`` resolution per frame) so that the engine can point a diagnostic at
# the line that created the resource. The mock monitor drops that part of the request and nothing the planner
# records contains it, yet it was a fifth of the program's time (prod: 1.3 s to 1.05 s CPU). Within a plan the SDK
# gets an empty trace, as it does for a resource it finds no user frame for; everywhere else the SDK's own.
# tests/test_planning_private_api.py pins the name and that a registration calls it.

_planning: contextvars.ContextVar[bool] = contextvars.ContextVar("planning_without_source_positions", default=False)
_sdk_stack_trace = sdk_resource._get_stack_trace


def _stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace() if _planning.get() else _sdk_stack_trace()


sdk_resource._get_stack_trace = _stack_trace


def _run_isolated(fn: Any) -> Any:
    """Run ``fn`` on a new thread in an empty context (fresh event loop and SDK state)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = contextvars.Context().run(fn)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name="pulumi-mock-run")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


def with_paths(stack: str | StackRef, paths: Mapping[str, Any]) -> dict[str, Any]:
    """Turn dotted overrides (``{"dataTier.postgres.multiAz": False}``) into whole top-level values.

    The first segment is the config key; the rest walks into the stack's current value. A value of
    ``None`` deletes the nested key (or the whole key for a single segment).
    """
    from config.errors import ConfigError

    raw = read_stack_config(stack)
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for dotted, value in paths.items():
        key, *rest = dotted.split(".")
        full = _qualify(key)
        if full.split(":", 1)[0] != PROJECT and full not in READ_FOREIGN_KEYS:
            problems.append((full, f"the program reads no such setting (it reads {PROJECT}:* and "
                                   f"{', '.join(sorted(READ_FOREIGN_KEYS))})"))
            continue
        if not rest:
            # A copy: later dotted paths write into it; the caller's value (often a shared constant) stays as it was.
            out[key] = copy.deepcopy(value)
            continue
        current = out.get(key, copy.deepcopy(raw.get(full, {})))
        node = current
        for i, part in enumerate(rest):
            if not isinstance(node, dict):
                where = ".".join([key, *rest[:i]])
                problems.append((dotted, f"{where} is {json.dumps(node)}, not a block of settings, so it has no "
                                         f"key {part!r}; set {where} itself"))
                break
            if i == len(rest) - 1:
                if value is None:
                    node.pop(part, None)
                else:
                    node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            out[key] = current
    if problems:
        raise ConfigError(as_ref(stack).name, problems)
    return out


def run_program(
    stack: str | StackRef,
    overrides: Mapping[str, Any] | None = None,
    *,
    program: Path | None = None,
    preview: bool = False,
) -> Plan:
    """Plan ``stack`` offline: the real program, the stack's config (plus overrides), mocked cloud."""
    ref = as_ref(stack)
    config, secret_keys = runtime_config(ref, overrides)
    main = program or ROOT / "__main__.py"
    return _run_isolated(lambda: _plan(ref, config, secret_keys, main, preview))


def _plan(ref: StackRef, config: dict[str, str], secret_keys: list[str], main: Path, preview: bool) -> Plan:
    import asyncio

    asyncio.set_event_loop(asyncio.new_event_loop())
    _planning.set(True)  # this thread's own context (_run_isolated): the SDK's other users are unaffected
    monitor = _RecordingMonitor(_Mocks(region_of(config)))
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=ref.name, preview=preview, monitor=monitor)
    loop = asyncio.get_event_loop()
    # Closed here, on its own thread, whether the program succeeds or not, rather than by the collector later,
    # which sometimes finds its self-pipe already gone and prints "Exception ignored in BaseEventLoop.__del__".
    try:
        try:
            loop.run_until_complete(run_pulumi_func(lambda: runpy.run_path(str(main), run_name="__main__")))
        except Exception as exc:
            # Tests prove a failed run registered nothing; keep what was registered on the error.
            exc.registered = list(monitor.records)  # type: ignore[attr-defined]
            raise
        root = get_root_resource()
        exported = getattr(root, "outputs", {}) or {}
        struct = loop.run_until_complete(rpc.serialize_properties(exported, {}))
    finally:
        loop.close()
        monitor.close_thread_loops()
    outputs = json_format.MessageToDict(struct)
    return Plan(stack=ref.name, resources=list(monitor.records), outputs=outputs,
                invokes=list(monitor.mocks.invokes), ref=ref)
