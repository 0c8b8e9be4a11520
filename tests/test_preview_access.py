"""CI's preview identity: read the cluster, dry-run server-side applies, and write nothing for real."""

from __future__ import annotations

import celpy
import pytest

from tests.harness import eks_plan, plan

GROUP = "agent-platform-preview"
PREVIEW = "arn:aws:iam::111122223333:role/AgentPlatformPreview"
ENTRY = "aws:eks/accessEntry:AccessEntry"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
VAP_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
# What a server-side-apply preview sends (a dry-run apply PATCH; create for new objects) plus reading.
ALLOWED_VERBS = {"get", "list", "watch", "patch", "create"}


def _bound_to_group(planned) -> list:
    return [b for b in planned.of_type(ROLE_BINDING)
            if any(s.get("kind") == "Group" and s.get("name") == GROUP for s in b.props.get("subjects") or [])]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_only_the_preview_roles_entries_carry_the_preview_group(stack):
    entries = plan(stack).of_type(ENTRY)
    grouped = {e.props["principalArn"]: e.props.get("kubernetesGroups") for e in entries
               if e.props.get("kubernetesGroups")}
    assert grouped == {PREVIEW: [GROUP]}


def test_without_preview_roles_there_is_no_group_role_or_guard():
    for planned in (eks_plan("dev"), plan("prod", {"delivery.previewRoleArns": []})):
        assert not any(e.props.get("kubernetesGroups") for e in planned.of_type(ENTRY))
        assert not planned.of_type(VAP) and not planned.of_type(VAP_BINDING)
        assert not _bound_to_group(planned)


def test_the_group_gets_read_and_dry_run_verbs_without_wildcards_or_secrets():
    prod = plan("prod")
    (binding,) = _bound_to_group(prod)
    assert binding.props["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": GROUP}]
    role = next(r for r in prod.of_type(ROLE) if r.props["metadata"]["name"] == binding.props["roleRef"]["name"])
    for rule in role.props["rules"]:
        assert set(rule["verbs"]) <= ALLOWED_VERBS
        assert "*" not in rule["apiGroups"] and "*" not in rule["resources"]
        assert "secrets" not in rule["resources"]
        assert not {"rbac.authorization.k8s.io", "admissionregistration.k8s.io"} & set(rule["apiGroups"])


def _plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + ("es" if lower.endswith("s") else "s")


def test_the_role_covers_every_kind_the_program_applies():
    # A kind added to the program without a rule would make previews fall back to a client-side diff.
    prod = plan("prod")
    (binding,) = _bound_to_group(prod)
    role = next(r for r in prod.of_type(ROLE) if r.props["metadata"]["name"] == binding.props["roleRef"]["name"])
    granted = {(group, resource) for rule in role.props["rules"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    applied = set()
    for res in prod.resources:
        parts = res.type.split(":")
        if parts[0] != "kubernetes" or len(parts) != 3 or "/" not in parts[1]:
            continue
        group = parts[1].rsplit("/", 1)[0]
        if group in ("helm.sh", "rbac.authorization.k8s.io", "admissionregistration.k8s.io"):
            continue  # Helm previews run the chart client-side; RBAC/admission writes would need escalate/bind
        applied.add(("" if group == "core" else group, _plural(parts[2])))
    assert applied and applied <= granted, applied - granted


def test_the_guard_denies_and_fails_closed_and_binds_before_the_role():
    prod = plan("prod")
    policy = prod.one(VAP)
    binding = prod.one(VAP_BINDING)
    spec = policy.props["spec"]
    assert spec["failurePolicy"] == "Fail"
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert set(rule["operations"]) == {"CREATE", "UPDATE", "DELETE", "CONNECT"}
    assert rule["apiGroups"] == ["*"] and rule["apiVersions"] == ["*"] and {"*", "*/*"} <= set(rule["resources"])
    assert binding.props["spec"]["policyName"] == policy.props["metadata"]["name"]
    assert binding.props["spec"]["validationActions"] == ["Deny"]
    assert not binding.props["spec"].get("matchResources"), "the binding must not narrow the policy"
    (role_binding,) = _bound_to_group(prod)
    assert {policy.urn, binding.urn} <= set(role_binding.dependencies)


def _denied(spec: dict, request: dict) -> bool:
    """ValidatingAdmissionPolicy semantics: judged when every matchCondition holds, denied when a validation fails."""
    env = celpy.Environment()
    activation = {"request": celpy.json_to_cel(request)}

    def holds(expression: str) -> bool:
        return bool(env.program(env.compile(expression)).evaluate(activation))

    if not all(holds(c["expression"]) for c in spec.get("matchConditions", [])):
        return False
    return not all(holds(v["expression"]) for v in spec["validations"])


@pytest.mark.parametrize(("groups", "dry_run", "denied"), [
    ([GROUP, "system:authenticated"], False, True),
    ([GROUP, "system:authenticated"], True, False),
    (["system:masters", "system:authenticated"], False, False),
    (["platform-admins"], True, False),
])
def test_the_guard_lets_the_group_send_dry_runs_only(groups, dry_run, denied):
    spec = plan("prod").one(VAP).props["spec"]
    request = {"operation": "UPDATE", "dryRun": dry_run,
               "userInfo": {"username": "arn:aws:sts::111122223333:assumed-role/AgentPlatformPreview/gha",
                            "groups": groups}}
    assert _denied(spec, request) is denied
