"""Container images the charts run, pinned by digest, each digest with the two public sources that confirm it.

A chart that deploys its image by tag runs whatever the registry serves under that tag the day a node pulls it;
a digest fixes the bytes. The mock engine accepts any string, and a wrong digest fails only at the first pull
(ImagePullBackOff, then the Helm release's atomic rollback): so a digest goes into ``PINNED`` only when two
independent public sources agree on it (a registry's own record such as a promotion PR, a chart's values.yaml
that carries the digest, a repository that pins ``image:tag@sha256:...``). An image whose digest could not be
confirmed that way is listed in ``UNPINNED`` with the reason (what was searched), so the gap is visible rather
than papered over with a guess, and is resolved at deploy time (below).

Stdlib only: the values builders, the tests and the docs read the same table.

To add or move a pin: find the digest in two independent sources, check the chart at its pinned version renders
the values key used (``values_path``), and update the entry's ``sources``.

``UNPINNED`` images marked ``at_deploy`` (``RESOLVED_AT_DEPLOY``) still run by digest: the program resolves each
one's tag to the digest its registry serves
when ``pulumi preview``/``up`` runs (``components/core/registry.py``) and sets ``<tag>@sha256:...`` (or the chart's
own digest key) where the tag would go, so every tier runs a digest and a re-pushed tag shows as a diff in the
next preview rather than silently changing pods. Where one public source gives a digest, it is kept as
``expected`` and the program (and preflight) refuse a registry answer that differs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Image:
    """One image a chart runs: set at ``values_path`` of ``chart``'s values.

    ``registry`` is empty where the chart's values have no separate registry key (the repository then holds the
    whole name). ``digest`` is empty for an image left on its tag; ``reason`` then says why (where the digest was
    looked for, or why the chart cannot carry one). ``chart`` is empty for an image the program deploys itself
    (``values_path`` then names the workload) and ``reference`` is what its pod spec runs.
    """

    chart: str
    values_path: str
    registry: str
    repository: str
    tag: str
    digest: str
    sources: tuple[str, ...] = ()
    reason: str = ""
    # How the chart's values carry the digest (read in its templates): "tag" ("<tag>@sha256:<hex>" in image.tag),
    # "sha" (bare hex in image.sha, the template adds "@sha256:"), "sha256" ("sha256:<hex>" in image.sha) or
    # "digest" ("sha256:<hex>" in image.digest).
    form: str = "tag"
    # UNPINNED only: the digest one public source gives for the tag; the digest the registry serves at deploy time
    # must equal it (components/core/registry.py), so a second, unconfirmed answer never reaches a pod.
    expected: str = ""
    # UNPINNED only: resolved to its registry's digest at deploy time (components/core/registry.py). Every UNPINNED
    # entry sets it (tests/test_image_pinning.py): an image left on its tag is not deployed.
    at_deploy: bool = False
    # The values key that holds the repository (weaviate 17.8.3 names it ``repo``: templates/weaviateStatefulset.yaml
    # renders "{{ image.registry }}/{{ image.repo }}:{{ image.tag }}").
    repository_key: str = "repository"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def pinned_tag(self) -> str:
        """The tag value the chart templates as ``<repository>:<tag>``: ``v1.2.3@sha256:<digest>``."""
        return f"{self.tag}@{self.digest}"

    @property
    def tag_reference(self) -> str:
        """``<name>:<tag>``, what the registry is asked to resolve."""
        return f"{self.name}:{self.tag}"

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.pinned_tag}" if self.digest else self.tag_reference

    def values(self) -> dict[str, str]:
        """The image block the chart's values take, in the chart's own form."""
        block = {"registry": self.registry} if self.registry else {}
        block[self.repository_key] = self.repository
        hex_digest = self.digest.removeprefix("sha256:")
        if self.form == "tag":
            block["tag"] = self.pinned_tag
        elif self.form == "sha":
            block.update(tag=self.tag, sha=hex_digest)
        elif self.form == "sha256":
            block.update(tag=self.tag, sha=self.digest)
        elif self.form == "digest":
            block.update(tag=self.tag, digest=self.digest)
        else:
            raise ValueError(f"unknown digest form {self.form!r}")
        return block


def chart_image_values(chart: str, resolved: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Nested values that set every pinned image of ``chart`` (merge into the chart's values with ``merged``).

    ``resolved`` maps an ``UNPINNED`` image's ``tag_reference`` to the digest its registry served at deploy time;
    each image found there is set by that digest, in the chart's own form, like a pinned one.
    """
    values: dict[str, Any] = {}
    found = [replace(i, digest=resolved[i.tag_reference]) for i in RESOLVED_AT_DEPLOY
             if i.chart == chart and resolved and i.tag_reference in resolved]
    for image in (*PINNED, *found):
        if image.chart != chart:
            continue
        *parents, leaf = image.values_path.split(".")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = image.values()
    return values


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested mappings key by key (``extra`` wins on a leaf)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# prometheus-postgres-exporter 7.3.0 (appVersion v0.18.1): templates/deployment.yaml renders
# "{{ image.registry }}/{{ image.repository }}:{{ image.tag | default .Chart.AppVersion }}".
POSTGRES_EXPORTER_IMAGE = Image(
    "prometheus-postgres-exporter", "image", "quay.io", "prometheuscommunity/postgres-exporter", "v0.18.1",
    "sha256:fb96c4413985d4b23ab02b19022b3d70a86c8e0a62f41ab15ebb6f4673781a5d",
    sources=(
        "CloudPirates-io/helm-charts charts/postgres/values.yaml at 626fb72: metrics.image.tag "
        "\"v0.18.1@sha256:fb96c441...\" (registry quay.io)",
        "an unrelated homelab's Bitnami postgresql 18.6.7 values (prag-postgresql plan): metrics.image "
        "quay.io/prometheuscommunity/postgres-exporter tag v0.18.1, digest sha256:fb96c441...",
    ))

# keda 2.20.2 (appVersion 2.20.2): templates/{manager,metrics-server,webhooks}/deployment.yaml render
# "<registry>/<repository>:<tag | default .Chart.AppVersion>"; no label carries the tag.
_KEDA_SOURCES = (
    "GlueOps platform chart README (container_images.app_keda.{keda,metrics_apiserver,admission_webhooks}.image.tag "
    "'2.20.2@sha256:...', through its ghcr pull-through mirror)",
    "an unrelated 'Inference in Production' lab's third-party pins (ghcr.io/kedacore/*:2.20.2@sha256:..., with the "
    "arm64 and amd64 children listed apart, so these are the multi-platform index digests)",
)
KEDA_OPERATOR_IMAGE = Image(
    "keda", "image.keda", "ghcr.io", "kedacore/keda", "2.20.2",
    "sha256:fe74c7b8849586a67ad2201bcb89e7f5ac221ff90399ecaa8fd28427f1ef11e6", sources=_KEDA_SOURCES)
KEDA_METRICS_SERVER_IMAGE = Image(
    "keda", "image.metricsApiServer", "ghcr.io", "kedacore/keda-metrics-apiserver", "2.20.2",
    "sha256:27286536a8a775aeeee37a7e343f8ecebb27ebf680ee1181a4f99e82eefb253b", sources=_KEDA_SOURCES)
KEDA_WEBHOOKS_IMAGE = Image(
    "keda", "image.webhooks", "ghcr.io", "kedacore/keda-admission-webhooks", "2.20.2",
    "sha256:41f74102aba7959c6e8d08b433ab8a5fd6cae7c5646c78f7fe3de40a52df3439", sources=_KEDA_SOURCES)

# aws-load-balancer-controller 3.5.0: templates/deployment.yaml renders "<image.repository>:<image.tag>"; its labels
# take .Chart.AppVersion.
LOAD_BALANCER_CONTROLLER_IMAGE = Image(
    "aws-load-balancer-controller", "image", "", "public.ecr.aws/eks/aws-load-balancer-controller", "v3.5.0",
    "sha256:298acdff5a571731276aaea3d5cc450a264e4ad710a5bddf3e518f68a3f9f6cb",
    sources=(
        "a platform repository's chart values test: image.tag 'v3.5.0@sha256:298acdff...' with chart 3.5.0",
        "an unrelated EKS mirror runbook: 'Upstream index digest sha256:298acdff...' for controller v3.5.0 "
        "(released 2026-08-03); also a groundwork Makefile LOAD_BALANCER_CONTROLLER_IMAGE and a terraform "
        "helm_release image.tag",
    ))

# kube-prometheus-stack 79.7.1 and its subcharts. kube-prometheus-stack and grafana 10.2.0 render
# "<registry>/<repository>:<tag>@sha256:<sha>"; kube-state-metrics 6.4.1 renders "...:<tag>@<sha>";
# prometheus-node-exporter 4.49.1 renders "...:<tag>@<digest>" (and fails on image.sha).
_KPS_NIX = ("a NixOS rke2 image set for kube-prometheus-stack 79.5.0 (dockerTools.pullImage imageDigest, "
            "same image versions as 79.7.1)")
KPS = "kube-prometheus-stack"
ALERTMANAGER_IMAGE = Image(
    KPS, "alertmanager.alertmanagerSpec.image", "quay.io", "prometheus/alertmanager", "v0.29.0",
    "sha256:88743b63b3e09ea6e31e140ced5bf45f4a8e82c617c2a963f78841f4995ad1d7", form="sha",
    sources=(_KPS_NIX, "an unrelated netdevops lab's compose pins: prom/alertmanager:v0.29.0@sha256:88743b63... (the "
             "Docker Hub copy of the same multi-platform index)"))
PROMETHEUS_IMAGE = Image(
    KPS, "prometheus.prometheusSpec.image", "quay.io", "prometheus/prometheus", "v3.7.3",
    "sha256:49214755b6153f90a597adcbff0252cc61069f8ab69ce8411285cd4a560e8038", form="sha",
    sources=(_KPS_NIX, "a Go e2e test: quay.io/prometheus/prometheus:v3.7.3@sha256:49214755...; a third-party "
             "notice lists it as the 'multi-platform digest' of v3.7.3"))
WEBHOOK_CERTGEN_IMAGE = Image(
    KPS, "prometheusOperator.admissionWebhooks.patch.image", "registry.k8s.io", "ingress-nginx/kube-webhook-certgen",
    "v1.6.4", "sha256:bcfc926ed57831edf102d62c5c0e259572591df4796ef1420b87f9cf6092497f", form="sha",
    sources=(_KPS_NIX, "nixidy renders of the ingress-nginx chart (whose values pin the certgen digest): "
             "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.6.4@sha256:bcfc926e..."))
GRAFANA_IMAGE = Image(
    KPS, "grafana.image", "docker.io", "grafana/grafana", "12.3.0",
    "sha256:70d9599b186ce287be0d2c5ba9a78acb2e86c1a68c9c41449454d0fc3eeb84e8", form="sha",
    sources=("a third-party notice: grafana/grafana:12.3.0 'multi-platform digest sha256:70d9599b...'",
             "an unrelated monitoring repository's image list and vulnerability table: "
             "grafana/grafana:12.3.0@sha256:70d9599b... (one Nix flake pins e68a7df1..., likely a single-platform "
             "child: not used)"))
KUBE_STATE_METRICS_IMAGE = Image(
    KPS, "kube-state-metrics.image", "registry.k8s.io", "kube-state-metrics/kube-state-metrics", "v2.17.0",
    "sha256:2bbc915567334b13632bf62c0a97084aff72a36e13c4dabd5f2f11c898c5bacd", form="sha256",
    sources=(_KPS_NIX, "an unrelated aiops manifest test: registry.k8s.io/kube-state-metrics/kube-state-metrics@"
             "sha256:2bbc9155..."))
NODE_EXPORTER_IMAGE = Image(
    KPS, "prometheus-node-exporter.image", "quay.io", "prometheus/node-exporter", "v1.10.2",
    "sha256:337ff1d356b68d39cef853e8c6345de11ce7556bb34cda8bd205bcf2ed30b565", form="digest",
    sources=(_KPS_NIX, "a separate NixOS node-exporter module (pullImage v1.10.2) and a cluster's kubectl listing "
             "of the running v1.10.2 pods' imageID quay.io/prometheus/node-exporter@sha256:337ff1d3..."))

# Deployed by the program itself, not by a chart (components/observability/redis_exporter.py): the
# prometheus-redis-exporter chart (6.20.0 up to 6.29.0) has no digest key and templates image.tag into the
# app.kubernetes.io/version label, where "<tag>@sha256:..." is an invalid label value. ``chart`` is empty.
REDIS_EXPORTER_IMAGE = Image(
    "", "Deployment redis-exporter", "", "oliver006/redis_exporter", "v1.84.0",
    "sha256:7ef8e9c26638158fa4e7ad60df8c7e53d1919986753d6c1d2d1876b6ec38d87b",
    sources=(
        "Dokploy's OBSERVABILITY_IMAGES: redisExporter 'oliver006/redis_exporter:v1.84.0@sha256:7ef8e9c2...'",
        "an unrelated production monitoring compose check (EXPECTED_MONITORING_IMAGES['redis-exporter'] "
        "'oliver006/redis_exporter:v1.84.0@sha256:7ef8e9c2...'); also a Gitpod installer's "
        "ExporterImageDigest for quay.io/oliver006/redis_exporter and a dev monitoring runbook's pinned table "
        "(digest only, no tag)",
    ))

# cluster-autoscaler 9.59.0 (appVersion 1.35.0, values image.tag v1.35.0): templates/deployment.yaml renders
# "{{ image.repository }}:{{ image.tag }}" and nothing else reads image.tag (labels take .Chart.Version), so the tag
# carries the digest. v1.35.2 is the newest 1.35 patch (same minor as the chart's own v1.35.0). The 1.36 release
# (v1.36.1, for a 1.36 cluster) has one source only for its digest (sha256:461388d0..., a third-party tooling doc;
# kubernetes/k8s.io PR #9760 is stored only up to its 1.35.2 line): move to it once a second source is read.
CLUSTER_AUTOSCALER_IMAGE = Image(
    "cluster-autoscaler", "image", "", "registry.k8s.io/autoscaling/cluster-autoscaler", "v1.35.2",
    "sha256:aac369dc283927a623deb1af54696efcc722ae79255aa07788422e495bab887d",
    sources=(
        "kubernetes/k8s.io PR #9760 (the promotion of 1.33.6/1.34.5/1.35.2/1.36.1 to registry.k8s.io): "
        "'gcrane digest gcr.io/k8s-staging-autoscaling/cluster-autoscaler:v1.35.2' -> sha256:aac369dc...",
        "an unrelated Helm runbook: 'pinned to the official 1.35.2 manifest-list digest sha256:aac369dc...', with its "
        "linux/amd64 child (8c8cc9d7...) listed apart; also a k3d pin script and a finserve autoscaler module "
        "('official CA 1.35.2 image index aac369dc...')",
    ))

# The optional vector stores (dataTier.vectorStore), installed only by a stack that selects one: the qdrant and
# weaviate charts on EKS, or one instance running the same image with docker on the VM runtime.
VECTOR_STORE_CHARTS = frozenset({"qdrant", "weaviate"})

# Qdrant v1.19.0 (qdrant chart 1.19.0's appVersion): the index digest is pinned by independent public repositories
# (found with find_string 'qdrant:v1.19.0@sha256').
_QDRANT_DIGEST = "sha256:057ee3a8da769fe7310dd3537b4dc7583bf87a95ce8ac43c0af5a46bc580d1fc"
_QDRANT_SOURCES = (
    "a Go benchmark harness's qdrantComparisonServer Image 'qdrant/qdrant:v1.19.0@sha256:057ee3a8...'",
    "an unrelated knowledge-base project's docker compose service qdrant image "
    "'qdrant/qdrant:v1.19.0@sha256:057ee3a8...'",
    "a third project's install script (docker run ... qdrant/qdrant:v1.19.0@sha256:057ee3a8...)",
)
# qdrant chart 1.19.0 (qdrant/qdrant-helm tag qdrant-1.19.0, templates/statefulset.yaml) renders the container as
# "{{ image.repository }}:{{ image.tag | default .Chart.AppVersion }}{{ useUnprivilegedImage | ternary "-unprivileged"
# "" }}", so the tag carries the digest; its readiness probe path reads the same tag through semverCompare, which a
# "<tag>@sha256:" tag fails, so the chart's probe is off and the values add the same probe on a sidecar
# (components/services/eks/vector_store.py qdrant_values). No chart release has a digest key: qdrant-helm#388 asks
# for one, PRs #389, #457 and #480 are open, 1.19.0 is the newest release.
QDRANT_IMAGE = Image("qdrant", "image", "", "docker.io/qdrant/qdrant", "v1.19.0", _QDRANT_DIGEST,
                     sources=_QDRANT_SOURCES)
QDRANT_VM_IMAGE = Image(
    "", "qdrant vector store instance (VM runtime)", "", "docker.io/qdrant/qdrant", "v1.19.0", _QDRANT_DIGEST,
    sources=_QDRANT_SOURCES)

# Weaviate 1.38.2 (weaviate chart 17.8.3's appVersion and values image.tag): no digest found (tag-only references;
# searched with find_string 'weaviate:1.38.2@sha256' and the code corpus), so resolved at deploy time from
# cr.weaviate.io, the chart's registry. cr.weaviate.io fronts Docker Hub: a pull of
# cr.weaviate.io/semitechnologies/weaviate:1.39.2 goes on to HEAD registry-1.docker.io/v2/semitechnologies/
# weaviate/manifests/1.39.2 (the daemon's error quoted in langgenius/dify#42156), so the lookup follows that
# redirect and gets Docker Hub's anonymous pull token (components/core/registry.py). The chart renders
# "{{ image.registry }}/{{ image.repo }}:{{ image.tag }}" (templates/weaviateStatefulset.yaml; no label or
# semverCompare reads image.tag), so the tag carries the digest.
_WEAVIATE_REASON = ("No digest of 1.38.2 found (tag-only references); searched with find_string "
                    "'weaviate:1.38.2@sha256' and the code corpus.")
WEAVIATE_IMAGE = Image("weaviate", "image", "cr.weaviate.io", "semitechnologies/weaviate", "1.38.2", "",
                       reason=_WEAVIATE_REASON, at_deploy=True, repository_key="repo")
WEAVIATE_VM_IMAGE = Image(
    "", "weaviate vector store instance (VM runtime)", "cr.weaviate.io", "semitechnologies/weaviate", "1.38.2", "",
    reason=_WEAVIATE_REASON, at_deploy=True)
VM_VECTOR_STORE_IMAGES = {"qdrant": QDRANT_VM_IMAGE, "weaviate": WEAVIATE_VM_IMAGE}

PINNED: tuple[Image, ...] = (POSTGRES_EXPORTER_IMAGE, KEDA_OPERATOR_IMAGE, KEDA_METRICS_SERVER_IMAGE,
                             KEDA_WEBHOOKS_IMAGE, LOAD_BALANCER_CONTROLLER_IMAGE, ALERTMANAGER_IMAGE, PROMETHEUS_IMAGE,
                             WEBHOOK_CERTGEN_IMAGE, GRAFANA_IMAGE, KUBE_STATE_METRICS_IMAGE, NODE_EXPORTER_IMAGE,
                             REDIS_EXPORTER_IMAGE, CLUSTER_AUTOSCALER_IMAGE, QDRANT_IMAGE, QDRANT_VM_IMAGE)

_SEARCH = "find_string on '<image>:<tag>@sha256' and on the bare digest, search in the code and issues corpora"

# Images resolved at deploy time (see the module docstring): no two public sources agree on a digest, so the
# program asks the registry which digest the tag serves now and runs that (components/core/registry.py). Each
# entry says why it is not in PINNED; ``expected`` keeps a one-source digest the registry must confirm. The forms
# were read in the charts at their pinned versions (comments above PINNED; external-secrets 2.9.0 at commit
# cc5bfbc22 templates/_helpers.tpl "external-secrets.image" prints "<repository>:<tag>"; aws-for-fluent-bit 0.2.0
# templates/daemonset.yaml "<repository>:<tag>"; kube-prometheus-stack 79.7.1 templates/prometheus-operator/
# deployment.yaml and grafana 10.2.0 templates/_pod.tpl add "@sha256:<sha>" when image.sha is set).
_ESO_REASON = ("One source only: a GitOps pilot's research notes give the v2.9.0 index digest; no second source "
               "found (the v2.9.0 release notes, quoted in Renovate PRs, print tags only). Searched: " + _SEARCH + ".")
_ESO_DIGEST = "sha256:44eb290f1c7f5d8f4eec2168cea4a6cfbc72a955c6781eb835e1c40700475dbd"
_OPERATOR_REASON = ("One source only: the NixOS kube-prometheus-stack 79.5.0 image set. Searched: " + _SEARCH + ".")
UNPINNED: tuple[Image, ...] = (
    Image("external-secrets", "image", "", "ghcr.io/external-secrets/external-secrets", "v2.9.0", "",
          reason=_ESO_REASON, expected=_ESO_DIGEST, at_deploy=True),
    Image("external-secrets", "webhook.image", "", "ghcr.io/external-secrets/external-secrets", "v2.9.0", "",
          reason=_ESO_REASON, expected=_ESO_DIGEST, at_deploy=True),
    Image("external-secrets", "certController.image", "", "ghcr.io/external-secrets/external-secrets", "v2.9.0", "",
          reason=_ESO_REASON, expected=_ESO_DIGEST, at_deploy=True),
    Image("aws-for-fluent-bit", "image", "", "public.ecr.aws/aws-observability/aws-for-fluent-bit", "3.2.1", "",
          reason="No digest of 3.2.1 found anywhere (tag-only references; the aws-for-fluent-bit@sha256 pins found "
                 f"are of 2.x releases or single-platform). Searched: {_SEARCH}.", at_deploy=True),
    Image(KPS, "prometheusOperator.image", "quay.io", "prometheus-operator/prometheus-operator", "v0.86.2", "",
          form="sha", reason=_OPERATOR_REASON, at_deploy=True,
          expected="sha256:92757e4b90027e153dc09f2e01254c8402fd5268827d95532760836c2a117062"),
    Image(KPS, "prometheusOperator.prometheusConfigReloader.image", "quay.io",
          "prometheus-operator/prometheus-config-reloader", "v0.86.2", "", form="sha",
          reason=f"No digest of v0.86.2 found. Searched: {_SEARCH}.", at_deploy=True),
    Image(KPS, "grafana.sidecar.image", "quay.io", "kiwigrid/k8s-sidecar", "1.30.10", "", form="sha",
          reason="One source only: the NixOS kube-prometheus-stack 79.5.0 image set. Kiwigrid has re-pushed released "
                 "tags (kiwigrid/k8s-sidecar#468: 2.1.2 moved from sha256:8b875915... to 5304aa2b...) and quay.io "
                 "garbage-collects a manifest no tag points at, so a second source must also be recent enough to "
                 f"show the digest the tag serves now. Searched: {_SEARCH}.",
          expected="sha256:835d79d8fbae62e42d8a86929d4e3c5eec2e869255dd37756b5a3166c2f22309", at_deploy=True),
    # Passed to the operator as --thanos-default-base-image (kube-prometheus-stack 79.7.1 values.yaml
    # prometheusOperator.thanosImage, tag v0.40.1): used only by a Thanos sidecar or ruler, which the program does
    # not enable, but resolved like the others so no image reference the program sets is a bare tag.
    Image(KPS, "prometheusOperator.thanosImage", "quay.io", "thanos/thanos", "v0.40.1", "", form="sha",
          reason="Not run (no Thanos sidecar or ruler is enabled); not searched.", at_deploy=True),
    WEAVIATE_IMAGE,
    WEAVIATE_VM_IMAGE,
)

# The UNPINNED images the program resolves to their registry's digest when it runs.
RESOLVED_AT_DEPLOY: tuple[Image, ...] = tuple(i for i in UNPINNED if i.at_deploy)
