"""Container images the charts run, pinned by digest, each digest with the two public sources that confirm it.

A chart that deploys its image by tag runs whatever the registry serves under that tag the day a node pulls it;
a digest fixes the bytes. The mock engine accepts any string, and a wrong digest fails only at the first pull
(ImagePullBackOff, then the Helm release's atomic rollback): so a digest goes into ``PINNED`` only when two
independent public sources agree on it (a registry's own record such as a promotion PR, a chart's values.yaml
that carries the digest, a repository that pins ``image:tag@sha256:...``). An image whose digest could not be
confirmed that way, or whose chart cannot carry a digest, stays on the chart's own tag and is listed in
``UNPINNED`` with the reason (what was searched), so the gap is visible rather than papered over with a guess.

Stdlib only: the values builders, the tests and the docs read the same table.

To add or move a pin: find the digest in two independent sources, check the chart at its pinned version renders
the values key used (``values_path``), and update the entry's ``sources``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Image:
    """One image a chart runs: set at ``values_path`` of ``chart``'s values.

    ``registry`` is empty where the chart's values have no separate registry key (the repository then holds the
    whole name). ``digest`` is empty for an image left on its tag; ``reason`` then says why (where the digest was
    looked for, or why the chart cannot carry one).
    """

    chart: str
    values_path: str
    registry: str
    repository: str
    tag: str
    digest: str
    sources: tuple[str, ...] = ()
    reason: str = ""

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def pinned_tag(self) -> str:
        """The tag value the chart templates as ``<repository>:<tag>``: ``v1.2.3@sha256:<digest>``."""
        return f"{self.tag}@{self.digest}"

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.pinned_tag}" if self.digest else f"{self.name}:{self.tag}"


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

PINNED: tuple[Image, ...] = (POSTGRES_EXPORTER_IMAGE,)

_SEARCH = "find_string on '<image>:<tag>@sha256' and on the bare digest, search in the code and issues corpora"

# Images still deployed by the chart's own tag (see the module docstring), each with the reason.
UNPINNED: tuple[Image, ...] = (
    Image("prometheus-redis-exporter", "image", "", "oliver006/redis_exporter", "v1.80.0", "",
          reason="The chart cannot carry a digest: prometheus-redis-exporter 6.20.0 (and every release up to 6.29.0) "
                 "has no image.digest key and templates image.tag into the app.kubernetes.io/version label "
                 "(templates/_helpers.tpl), so 'v1.84.0@sha256:...' there is an invalid label value the API server "
                 "rejects. A digest is confirmed for v1.84.0 (oliver006/redis_exporter:v1.84.0@sha256:"
                 "7ef8e9c26638158fa4e7ad60df8c7e53d1919986753d6c1d2d1876b6ec38d87b: Dokploy's OBSERVABILITY_IMAGES "
                 "and an unrelated monitoring compose test pin it); none for the chart's v1.80.0. To pin, deploy the "
                 "exporter without the chart or upstream an image.digest key."),
    Image("cluster-autoscaler", "image", "", "registry.k8s.io/autoscaling/cluster-autoscaler", "v1.36.1", "",
          reason="One source only: a third-party tooling doc pins v1.36.1@sha256:461388d03eb5b55db58941ee7a81d9a6"
                 "19dd15302b01cbab9f5a9946715994b4; kubernetes/k8s.io PR #9760 (the promotion of 1.36.1, with gcrane "
                 "digests) is stored only up to its 1.35.2 line (aac369dc..., which the same doc also gives). Until a "
                 f"second source is read the chart keeps its own image (v1.35.0, by tag). Searched: {_SEARCH}."),
)
