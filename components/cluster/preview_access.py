"""Dry-run-only write access for CI's preview identity (delivery.previewRoleArns).

A server-side-apply preview of `pulumi preview` sends every Kubernetes object as a dry-run apply PATCH, so it
needs the `patch` verb (and `create` for objects that do not exist yet): pulumi-kubernetes issue #2213 and the
"Prerequisites" note of its server-side-apply guide (pulumi-hugo PR #2237). RBAC has no dry-run-only verb, so
the group gets those verbs only on the kinds the program manages, and a ValidatingAdmissionPolicy denies every
write of the group that is not a dry run. Without the rights pulumi-kubernetes falls back to a client-side
preview (pulumi-kubernetes PR #2419): RBAC and admission objects are left out, since writing those, even as a
dry run, would need `escalate`/`bind`, which would let the identity grant itself more.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

# The Kubernetes group of the preview access entries: the `kind: Group` subject name of a ClusterRoleBinding (EKS API
# CreateAccessEntry, kubernetesGroups), outside the `system:` prefix Kubernetes RBAC reserves for itself.
PREVIEW_GROUP = "agent-platform-preview"

# Read plus server-side-apply dry runs: no wildcard, no delete, no escalate/bind/impersonate.
PREVIEW_VERBS = ("get", "list", "watch", "patch", "create")

# (API group, resources) of the kinds the program manages with the Kubernetes provider (core group is "").
# Secrets are absent on purpose: a dry-run apply answers with the merged object, data included.
PREVIEW_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("namespaces", "configmaps", "services", "serviceaccounts")),
    ("apps", ("deployments",)),
    ("autoscaling", ("horizontalpodautoscalers",)),
    ("batch", ("jobs",)),
    ("policy", ("poddisruptionbudgets",)),
    ("networking.k8s.io", ("networkpolicies",)),
    ("storage.k8s.io", ("storageclasses",)),
    ("elbv2.k8s.aws", ("targetgroupbindings",)),
    ("external-secrets.io", ("externalsecrets", "secretstores")),
    ("keda.sh", ("scaledobjects", "triggerauthentications")),
    ("monitoring.coreos.com", ("prometheusrules", "servicemonitors")),
)

# CEL over the admission `request` variable, the attributes of admission.k8s.io/v1 AdmissionRequest
# (kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy, "Validation Expression"):
# `userInfo.groups` and `dryRun`, which k8s.io/apiserver's CEL CreateAdmissionRequest always sets from
# attr.IsDryRun(). matchConditions select the requests the policy judges at all.
MATCH_PREVIEW_GROUP = f"'{PREVIEW_GROUP}' in request.userInfo.groups"
ONLY_DRY_RUN = "request.dryRun == true"
GUARDED_OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")


def preview_access(name: str, preview_role_arns: Sequence[str], *, provider: k8s.Provider,
                   parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
    """The guard, then the role and its binding to PREVIEW_GROUP; nothing when no preview role is configured.

    The binding waits for the admission policy and its binding, so the group never holds `patch` unguarded.
    """
    if not preview_role_arns:
        return []
    opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on))
    policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
        f"{name}-preview-dry-run-only",
        metadata={"name": "agent-platform-preview-dry-run-only"},
        spec={
            # A CEL error (or a missing field) rejects the request instead of letting it through.
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                # Every resource: the guard must hold for kinds added later, and for subresources.
                "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*", "*/*"],
                "operations": list(GUARDED_OPERATIONS),
            }]},
            "matchConditions": [{"name": "preview-group", "expression": MATCH_PREVIEW_GROUP}],
            "validations": [{
                "expression": ONLY_DRY_RUN,
                "message": f"group {PREVIEW_GROUP} may only send dry-run requests",
                "reason": "Forbidden",
            }],
        },
        opts=opts,
    )
    binding = k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
        f"{name}-preview-dry-run-only-binding",
        metadata={"name": "agent-platform-preview-dry-run-only"},
        spec={"policyName": "agent-platform-preview-dry-run-only", "validationActions": ["Deny"]},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])),
    )
    role = k8s.rbac.v1.ClusterRole(
        f"{name}-preview-role",
        metadata={"name": PREVIEW_GROUP},
        rules=[{"apiGroups": [group], "resources": list(resources), "verbs": list(PREVIEW_VERBS)}
               for group, resources in PREVIEW_RESOURCES],
        opts=opts,
    )
    role_binding = k8s.rbac.v1.ClusterRoleBinding(
        f"{name}-preview-role-binding",
        metadata={"name": PREVIEW_GROUP},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": PREVIEW_GROUP},
        subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": PREVIEW_GROUP}],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy, binding, role])),
    )
    return [policy, binding, role, role_binding]
