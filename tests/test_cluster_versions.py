"""Kubernetes and add-on versions: supported by EKS, pinned, and one calendar for the program and the pack."""

from __future__ import annotations

import re
from datetime import date

import pytest
from agent_policies.aws_eks import SUPPORTED_VERSIONS, SUPPORTED_VERSIONS_AS_OF

from config.cluster import ADDON_VERSIONS, CLUSTER_ADDONS, DEFAULT_KUBERNETES_VERSION, EKS_STANDARD_SUPPORT_ENDS
from tests.conftest import STACKS
from tests.harness import TUNED_CLUSTER, config_error, eks_plan, plan

ADDON = "aws:eks/addon:Addon"


def test_the_policy_lists_exactly_the_versions_in_standard_support_on_its_date():
    as_of = date.fromisoformat(SUPPORTED_VERSIONS_AS_OF)
    in_support = {v for v, ends in EKS_STANDARD_SUPPORT_ENDS.items() if ends > as_of}
    assert set(SUPPORTED_VERSIONS) == in_support


def test_the_supported_list_is_current():
    # Fails on the day a listed version leaves standard support: move the list and the default on.
    lapsed = [v for v in SUPPORTED_VERSIONS if EKS_STANDARD_SUPPORT_ENDS[v] <= date.today()]
    assert not lapsed, f"{lapsed} left EKS standard support; update the calendar, the policy and the default"


def test_the_default_version_is_supported_and_has_pinned_addons():
    assert DEFAULT_KUBERNETES_VERSION in SUPPORTED_VERSIONS
    assert set(ADDON_VERSIONS[DEFAULT_KUBERNETES_VERSION]) == set(CLUSTER_ADDONS)
    for version, pins in ADDON_VERSIONS.items():
        assert version in EKS_STANDARD_SUPPORT_ENDS
        for addon, pin in pins.items():
            assert re.fullmatch(r"v\d+\.\d+\.\d+-eksbuild\.\d+", pin), (addon, pin)
        # kube-proxy follows the Kubernetes minor version.
        assert pins["kube-proxy"].startswith(f"v{version}.")


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_runs_a_supported_version_with_pinned_addons(stack):
    planned = eks_plan(stack)
    version = planned.one("aws:eks/cluster:Cluster").props["version"]
    assert version in SUPPORTED_VERSIONS
    addons = {a.props["addonName"]: a.props for a in planned.of_type(ADDON)}
    # metrics-server is a community add-on: EKS's default build for the version (components/cluster/eks.py).
    assert addons.pop("metrics-server")["addonVersion"]
    assert {name: p["addonVersion"] for name, p in addons.items()} == ADDON_VERSIONS[version]


def test_prod_preserves_in_cluster_changes_on_addon_updates_and_dev_overwrites_them():
    for props in (a.props for a in plan("prod").of_type(ADDON)):
        assert props["resolveConflictsOnCreate"] == "OVERWRITE"
        assert props["resolveConflictsOnUpdate"] == "PRESERVE"
    assert {a.props["resolveConflictsOnUpdate"] for a in eks_plan("dev").of_type(ADDON)} == {"OVERWRITE"}


def test_a_stack_can_override_one_addon_version():
    planned = plan("prod", TUNED_CLUSTER)  # coredns's pin among other cluster settings
    coredns = next(a for a in planned.of_type(ADDON) if a.props["addonName"] == "coredns")
    assert coredns.props["addonVersion"] == TUNED_CLUSTER["cluster.addonVersions.coredns"] == "v1.14.3-eksbuild.3"
    defaults = {a.props["addonName"]: a.props["addonVersion"] for a in plan("prod").of_type(ADDON)}
    assert {a.props["addonName"]: a.props["addonVersion"] for a in planned.of_type(ADDON)
            if a.props["addonName"] not in ("coredns", "metrics-server")} == {
        name: version for name, version in defaults.items() if name not in ("coredns", "metrics-server")}


def test_a_version_without_pins_is_rejected_before_anything_is_registered():
    err = config_error("prod", {"cluster.version": "1.34"})
    assert "no pinned add-on versions" in dict(err.issues)["cluster.addonVersions"]
