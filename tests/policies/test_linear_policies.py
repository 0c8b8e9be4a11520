"""Stack policies that pair workloads with companions look each workload's companions up, not scan the namespace.

With every agent service in one namespace, pairing each workload with every autoscaler, budget, network policy,
monitor and Service of the namespace made the review grow with the square of the services. The policies now ask
the companions that can match first (``agent_policies.stack.Candidates``) and every companion only when none of
those answers, so the verdicts are the ones of the full scan. ``replace_unknowns`` reads a proxied document
without a check per key; it must give what reading it through the proxy gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from agent_policies import _common, observability, reliability, stack
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from planning.model import UNKNOWN
from tests.policies.support import found, res, run, stack_config

COUNT = 30
NAMESPACE = "agents"


def _workload(i: int) -> list[Any]:
    labels = {"app.kubernetes.io/name": f"svc{i}", "app.kubernetes.io/part-of": "agents"}
    own = {"matchLabels": {"app.kubernetes.io/name": f"svc{i}"}}

    def meta(suffix: str) -> dict[str, Any]:
        return {"name": f"svc{i}{suffix}", "namespace": NAMESPACE, "labels": labels}

    deployment = res(stack.DEPLOYMENT, f"svc{i}", {"metadata": meta(""), "spec": {
        "replicas": 2, "selector": own, "template": {"metadata": {"labels": labels}}}})
    return [
        deployment,
        res(stack.PDB, f"svc{i}-pdb", {"metadata": meta("-pdb"), "spec": {"maxUnavailable": 1, "selector": own}}),
        res(stack.HPA, f"svc{i}-hpa", {"metadata": meta("-hpa"), "spec": {
            "minReplicas": 2, "maxReplicas": 4,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"svc{i}"}}}),
        res(stack.NETWORK_POLICY, f"svc{i}-netpol", {"metadata": meta("-netpol"), "spec": {
            "podSelector": own, "policyTypes": ["Ingress"]}}),
        res(observability.SERVICE, f"svc{i}-service", {"metadata": meta("-service"), "spec": {
            "selector": {"app.kubernetes.io/name": f"svc{i}"}, "ports": [{"port": 80}]}}),
        res(observability.SERVICE_MONITOR, f"svc{i}-monitor", {"metadata": meta("-monitor"), "spec": {
            "selector": own, "endpoints": [{"port": "http"}]}}),
    ]


def _counted(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: dict[str, int]) -> None:
    original: Callable[..., Any] = getattr(module, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls[name] = calls.get(name, 0) + 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)


def test_workloads_are_paired_with_their_own_companions_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, int] = {}
    for module, name in ((stack, "_pdb_matches"), (stack, "_scaler_matches"), (stack, "_netpol_matches"),
                         (reliability, "_scaler_matches"), (observability, "_monitor_covers")):
        _counted(monkeypatch, module, name, calls)
    resources = [r for i in range(COUNT) for r in _workload(i)]
    result = run(*resources, config=stack_config("prod"))
    checked = ("workload-has-pod-disruption-budget", "workload-has-autoscaler", "workload-has-network-policy",
               "k8s-workload-min-replicas", "agent-services-scraped")
    assert [v for v in result.violations if v.policy in checked] == []
    # A scan of the namespace per workload asks COUNT * COUNT = 900 questions of each kind.
    assert set(calls) == {"_pdb_matches", "_scaler_matches", "_netpol_matches", "_monitor_covers"}
    assert all(count <= 2 * COUNT for count in calls.values()), calls


def test_an_uncovered_workload_among_many_is_still_reported() -> None:
    resources = [r for i in range(5) for r in _workload(i)]
    bare = _workload(99)[0]
    for policy in ("workload-has-pod-disruption-budget", "workload-has-autoscaler", "workload-has-network-policy",
                   "agent-services-scraped"):
        assert [v.urn for v in found(policy, *resources, bare)] == [bare.urn], policy


def test_a_companion_whose_target_is_unknown_still_covers_and_still_counts() -> None:
    resources = [r for i in range(5) for r in _workload(i)]
    workload = _workload(7)[0]
    scaler = res(stack.HPA, "auto-hpa", {"metadata": {"namespace": NAMESPACE}, "spec": {
        "minReplicas": 1, "scaleTargetRef": {"kind": "Deployment", "name": UNKNOWN}}}, prop_deps={"spec": [workload]})
    assert found("workload-has-autoscaler", *resources, workload, scaler) == []
    # The autoscaler found through the graph sets the minimum replicas: 1 is below prod's 2.
    low = found("k8s-workload-min-replicas", *resources, workload, scaler, config=stack_config("prod"))
    assert [v.urn for v in low] == [workload.urn]


def _through_the_proxy(value: Any) -> Any:
    """The reference: every key read through the proxy, each unknown caught where the proxy raises."""
    if isinstance(value, str):
        return "gone" if value in _common._UNKNOWNS else value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[key] = _through_the_proxy(value[key])
            except UnknownValueError:
                out[key] = "gone"
        return out
    if isinstance(value, Sequence):
        items = []
        for i in range(len(value)):
            try:
                items.append(_through_the_proxy(value[i]))
            except UnknownValueError:
                items.append("gone")
        return items
    return value


def test_replace_unknowns_gives_what_reading_through_the_proxy_gives() -> None:
    document = {"a": UNKNOWN, "b": [1, UNKNOWN, {"c": UNKNOWN, "d": "x://u:p@h"}], "e": {"f": [[UNKNOWN]], "g": None},
                "h": True, "i": 2.5}
    proxied = unknown_checking_proxy(document)
    assert _common._DictProxy is type(proxied), "pulumi-policy's proxy classes moved: the fast path is never taken"
    expected = {"a": "gone", "b": [1, "gone", {"c": "gone", "d": "x://u:p@h"}], "e": {"f": [["gone"]], "g": None},
                "h": True, "i": 2.5}
    assert _through_the_proxy(proxied) == expected
    assert _common.replace_unknowns(proxied, "gone") == expected
    assert _common.replace_unknowns(document, "gone") == expected
    assert _common.known_plain(proxied) == {"a": None, "b": [1, None, {"c": None, "d": "x://u:p@h"}],
                                            "e": {"f": [[None]], "g": None}, "h": True, "i": 2.5}
