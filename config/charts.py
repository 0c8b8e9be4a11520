"""Every Helm chart the program installs, pinned, with where and when the pin was checked.

A chart version that the repository's index does not list fails the whole update at preview, and the mock
engine accepts any string: so each pin names the index it was found in and the date that index gives for
the release, and the values keys the program sets were read from the chart at that version (the comments
beside each values builder say which file). Stdlib only: tests and docs read the same table.

To upgrade a chart: find the version in the repository's ``index.yaml`` (or the git tag of the chart),
read its ``values.yaml`` for every key the values builder sets, change the pin and its ``verified`` line.
"""

from __future__ import annotations

from dataclasses import dataclass

PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
EKS_CHARTS = "https://aws.github.io/eks-charts"
EXTERNAL_SECRETS_REPO = "https://charts.external-secrets.io"
KEDA_REPO = "https://kedacore.github.io/charts"
AUTOSCALER_REPO = "https://kubernetes.github.io/autoscaler"
QDRANT_REPO = "https://qdrant.github.io/qdrant-helm"
WEAVIATE_REPO = "https://weaviate.github.io/weaviate-helm"


@dataclass(frozen=True)
class Chart:
    """One chart release: ``name`` in ``repo`` at exactly ``version``.

    ``released`` is the date the repository gives the release (its index's ``created`` or the chart's tag);
    ``verified`` says where the version and the values keys the program sets were read.
    """

    name: str
    version: str
    repo: str
    released: str
    verified: str


KUBE_PROMETHEUS_STACK = Chart(
    "kube-prometheus-stack", "79.7.1", PROMETHEUS_COMMUNITY, released="2025-11-21",
    verified="prometheus-community/helm-charts tag kube-prometheus-stack-79.7.1, "
             "charts/kube-prometheus-stack/{Chart.yaml,values.yaml}; subcharts grafana 10.2.0 "
             "(grafana/helm-charts tag grafana-10.2.0), kube-state-metrics 6.4.1, prometheus-node-exporter 4.49.1")
POSTGRES_EXPORTER = Chart(
    "prometheus-postgres-exporter", "7.3.0", PROMETHEUS_COMMUNITY, released="2025-10-01",
    verified="prometheus-community/helm-charts tag prometheus-postgres-exporter-7.3.0, "
             "charts/prometheus-postgres-exporter/{values.yaml,templates/deployment.yaml}")
# 0.2.1 was never published (the index stops at 0.2.0; 0.2.1 exists only as an unmerged pull request).
FLUENT_BIT = Chart(
    "aws-for-fluent-bit", "0.2.0", EKS_CHARTS, released="2026-02-03",
    verified="aws/eks-charts gh-pages index.yaml (aws-for-fluent-bit-0.2.0.tgz) and master commit 2942cdc, "
             "stable/aws-for-fluent-bit/{Chart.yaml,values.yaml,templates/daemonset.yaml}")
EXTERNAL_SECRETS = Chart(
    "external-secrets", "2.9.0", EXTERNAL_SECRETS_REPO, released="2026-08-08",
    verified="external-secrets/external-secrets gh-pages index.yaml (newest listed: 2.9.0) and "
             "deploy/charts/external-secrets/{Chart.yaml,values.yaml} at commit cc5bfbc22")
KEDA = Chart(
    "keda", "2.20.2", KEDA_REPO, released="2026-07-31",
    verified="kedacore/charts docs/index.yaml (keda-2.20.2.tgz, newest listed) and keda/values.yaml at "
             "commit cbb9bb8 (tag v2.20.2)")
# The newest chart (image v1.35.0). The program runs v1.35.2 by digest (config/image_pins.py); a 1.36 cluster
# should run the 1.36 release (v1.36.1, tag 2026-07-22) once its digest has a second source.
CLUSTER_AUTOSCALER = Chart(
    "cluster-autoscaler", "9.59.0", AUTOSCALER_REPO, released="2026-07-21",
    verified="kubernetes/autoscaler gh-pages index.yaml (cluster-autoscaler-9.59.0.tgz, created 2026-07-21) and "
             "tag cluster-autoscaler-chart-9.59.0, cluster-autoscaler/charts/cluster-autoscaler/{values.yaml,"
             "templates/deployment.yaml}")

# The edge's target-group binder (config/edge.py takes its default chart version from here).
AWS_LOAD_BALANCER_CONTROLLER = Chart(
    "aws-load-balancer-controller", "3.5.0", EKS_CHARTS, released="2026-08-03",
    verified="aws/eks-charts gh-pages index.yaml (aws-load-balancer-controller 3.5.0) and master commit 5239609, "
             "stable/aws-load-balancer-controller/Chart.yaml (appVersion v3.5.0)")

# The dedicated vector stores (dataTier.vectorStore qdrant / weaviate on EKS).
QDRANT = Chart(
    "qdrant", "1.19.0", QDRANT_REPO, released="2026-08-13",
    verified="qdrant/qdrant-helm tag qdrant-1.19.0 (commit a7aeeb7, appVersion v1.19.0), charts/qdrant/{Chart.yaml,"
             "values.yaml,templates/statefulset.yaml}")
WEAVIATE = Chart(
    "weaviate", "17.8.3", WEAVIATE_REPO, released="2026-07-01",
    verified="weaviate/weaviate-helm tag v17.8.3 (commit 4213da5, appVersion 1.38.2), weaviate/{Chart.yaml,"
             "values.yaml,templates/weaviateStatefulset.yaml}")

PINNED: tuple[Chart, ...] = (KUBE_PROMETHEUS_STACK, POSTGRES_EXPORTER, FLUENT_BIT, EXTERNAL_SECRETS,
                             KEDA, CLUSTER_AUTOSCALER, AWS_LOAD_BALANCER_CONTROLLER, QDRANT, WEAVIATE)
