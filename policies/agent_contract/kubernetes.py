"""Kubernetes facts the planner's manifest writer and the pack's namespace checks share."""

from __future__ import annotations

# Kinds the API server stores without a namespace: the built-in ones the program or its charts may create
# (`kubectl api-resources --namespaced=false`; kubernetes.io/docs/reference/kubernetes-api, "... objects are
# non-namespaced") and the add-ons' cluster-wide CRDs (scope: Cluster in their CRD manifests: external-secrets
# ClusterSecretStore/ClusterExternalSecret, KEDA ClusterTriggerAuthentication, cert-manager ClusterIssuer).
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "IngressClass", "RuntimeClass", "CSIDriver",
    "VolumeSnapshotClass", "ClusterSecretStore",
    "ClusterExternalSecret", "ClusterTriggerAuthentication", "ClusterIssuer", "APIService",
})

# Environment names that look like credentials: such values belong in Secrets Manager, never in a ConfigMap.
# Names of references (``*_DIR``, ``*_PATH``, ``*_FILE``, ``*_ARN``, ``*_NAME``, ``*_ID``) are fine: they say
# where a secret is, not what it is. Matched case-insensitively.
SENSITIVE_NAME_PATTERN = (
    r"^(?!.*_(DIR|PATH|FILE|ARN|NAME|ID)$).*(PASSWORD|PASSWD|CREDENTIAL|PRIVATE|(^|_)SECRETS?($|_)|(^|_)TOKEN($|_)"
    r"|(^|_)(API_?)?KEY($|_)|DSN$)"
)
# Prefixes of credentials issued by the providers this platform talks to and by common SaaS.
# (OpenAI sk-/sk-proj-, Anthropic sk-ant-, AWS access key ids AKIA/ASIA, GitHub ghp_/gho_/ghs_/github_pat_,
# GitLab glpat-, Slack xox?-, Google API keys AIza, Stripe sk_live_/rk_live_, private keys in PEM.)
CREDENTIAL_VALUE_PATTERN = (
    r"(^|[^A-Za-z0-9])(sk-(proj-|ant-|or-)?[A-Za-z0-9_-]{16,}|A(KIA|SIA)[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}"
    r"|(sk|rk)_live_[A-Za-z0-9]{16,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
