"""The deploy-time registry lookup (components/core/registry.py) against a fake registry speaking Distribution v2.

The exchanges follow the Distribution project's "Token Authentication Specification": a manifest request without a
token gets 401 and a ``WWW-Authenticate: Bearer realm=...,service=...,scope=...`` challenge, the client fetches a
token from the realm anonymously and repeats the request with ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping

import pytest

from components.core import registry
from components.core.registry import RegistryError, Response, check_expected, resolve_digest, split_reference
from config import image_pins

INDEX = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64


class FakeRegistry:
    """One registry host: ``manifests`` maps (repository, tag) to the digest its index has; records every request."""

    def __init__(self, host: str, manifests: Mapping[tuple[str, str], str], *, challenge: str | None = None,
                 digest_header: bool = True) -> None:
        self.host = host
        self.manifests = dict(manifests)
        self.challenge = challenge
        self.digest_header = digest_header
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str]) -> Response:
        self.requests.append((method, url, dict(headers)))
        parsed = urllib.parse.urlsplit(url)
        realm = self.challenge.split('realm="', 1)[1].split('"', 1)[0] if self.challenge else None
        if realm and url.startswith(realm + "?"):
            assert "Authorization" not in headers  # anonymous
            return Response(200, {}, json.dumps({"token": "anonymous-pull"}).encode())
        if self.challenge and headers.get("Authorization") != "Bearer anonymous-pull":
            return Response(401, {"www-authenticate": self.challenge}, b"")
        repository, _, tag = parsed.path.removeprefix("/v2/").rpartition("/manifests/")
        digest = self.manifests.get((repository, tag))
        if digest is None:
            return Response(404, {}, b"")
        body = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
        headers_out = {"content-type": "application/vnd.oci.image.index.v1+json"}
        if self.digest_header:
            headers_out["docker-content-digest"] = digest
        return Response(200, headers_out, body if method == "GET" else b"")


@pytest.mark.parametrize("reference,expected", [
    ("ghcr.io/external-secrets/external-secrets:v2.9.0", ("ghcr.io", "external-secrets/external-secrets", "v2.9.0")),
    ("quay.io/kiwigrid/k8s-sidecar:1.30.10", ("quay.io", "kiwigrid/k8s-sidecar", "1.30.10")),
    ("public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1",
     ("public.ecr.aws", "aws-observability/aws-for-fluent-bit", "3.2.1")),
    ("registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2",
     ("registry.k8s.io", "autoscaling/cluster-autoscaler", "v1.35.2")),
    ("oliver006/redis_exporter:v1.84.0", ("registry-1.docker.io", "oliver006/redis_exporter", "v1.84.0")),
    ("postgres:16-alpine", ("registry-1.docker.io", "library/postgres", "16-alpine")),
    ("localhost:5000/team/app:1", ("localhost:5000", "team/app", "1")),
])
def test_references_split_into_host_repository_and_tag(reference, expected):
    assert split_reference(reference) == expected


@pytest.mark.parametrize("reference,expected", [
    ("quay.io/prometheus/prometheus:v3.7.3@" + INDEX, ("quay.io", "prometheus/prometheus", INDEX)),
    ("registry.k8s.io/kube-state-metrics/kube-state-metrics@" + INDEX,
     ("registry.k8s.io", "kube-state-metrics/kube-state-metrics", INDEX)),
    ("postgres:16-alpine@" + INDEX, ("registry-1.docker.io", "library/postgres", INDEX)),
    ("localhost:5000/team/app@" + INDEX, ("localhost:5000", "team/app", INDEX)),
])
def test_a_digest_wins_over_the_tag_as_a_pull_does(reference, expected):
    assert split_reference(reference) == expected


def test_a_pinned_digest_exists_only_when_its_manifest_is_served():
    fake = FakeRegistry("quay.io", {("prometheus/prometheus", INDEX): INDEX})
    assert registry.digest_exists("quay.io/prometheus/prometheus:v3.7.3@" + INDEX, fake)
    assert fake.requests[0][1] == f"https://quay.io/v2/prometheus/prometheus/manifests/{INDEX}"
    assert not registry.digest_exists("quay.io/prometheus/prometheus:v3.7.3@" + OTHER, fake)


def test_a_reference_without_a_tag_is_refused():
    with pytest.raises(RegistryError, match="no tag"):
        split_reference("localhost:5000/team/app")


def test_ghcr_style_token_challenge_with_its_own_scope():
    fake = FakeRegistry("ghcr.io", {("external-secrets/external-secrets", "v2.9.0"): INDEX},
                        challenge='Bearer realm="https://ghcr.io/token",service="ghcr.io",'
                                  'scope="repository:external-secrets/external-secrets:pull"')
    assert resolve_digest("ghcr.io/external-secrets/external-secrets:v2.9.0", fake) == INDEX
    methods = [(m, urllib.parse.urlsplit(u).path) for m, u, _ in fake.requests]
    assert methods == [("HEAD", "/v2/external-secrets/external-secrets/manifests/v2.9.0"), ("GET", "/token"),
                       ("HEAD", "/v2/external-secrets/external-secrets/manifests/v2.9.0")]
    token_query = urllib.parse.parse_qs(urllib.parse.urlsplit(fake.requests[1][1]).query)
    assert token_query == {"service": ["ghcr.io"], "scope": ["repository:external-secrets/external-secrets:pull"]}


def test_public_ecr_style_challenge_keeps_the_registry_scope():
    """public.ecr.aws names scope="aws" in its challenge: the token request passes it through unchanged."""
    fake = FakeRegistry("public.ecr.aws", {("aws-observability/aws-for-fluent-bit", "3.2.1"): INDEX},
                        challenge='Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws"')
    assert resolve_digest("public.ecr.aws/aws-observability/aws-for-fluent-bit:3.2.1", fake) == INDEX
    token_query = urllib.parse.parse_qs(urllib.parse.urlsplit(fake.requests[1][1]).query)
    assert token_query == {"service": ["public.ecr.aws"], "scope": ["aws"]}


def test_a_challenge_without_scope_asks_for_pull_only():
    fake = FakeRegistry("quay.io", {("kiwigrid/k8s-sidecar", "1.30.10"): INDEX},
                        challenge='Bearer realm="https://quay.io/v2/auth",service="quay.io"')
    assert resolve_digest("quay.io/kiwigrid/k8s-sidecar:1.30.10", fake) == INDEX
    token_query = urllib.parse.parse_qs(urllib.parse.urlsplit(fake.requests[1][1]).query)
    assert token_query["scope"] == ["repository:kiwigrid/k8s-sidecar:pull"]  # never push


def test_the_request_prefers_the_multi_platform_index():
    fake = FakeRegistry("registry.k8s.io", {("autoscaling/cluster-autoscaler", "v1.35.2"): INDEX})
    resolve_digest("registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2", fake)
    accept = [a.strip() for a in fake.requests[0][2]["Accept"].split(",")]
    assert accept[:2] == ["application/vnd.oci.image.index.v1+json",
                          "application/vnd.docker.distribution.manifest.list.v2+json"]


def test_without_a_digest_header_the_body_is_hashed():
    fake = FakeRegistry("quay.io", {("thanos/thanos", "v0.40.1"): INDEX}, digest_header=False)
    digest = resolve_digest("quay.io/thanos/thanos:v0.40.1", fake)
    assert [m for m, _, _ in fake.requests] == ["HEAD", "GET"]
    assert digest.startswith("sha256:") and len(digest) == 71 and digest != INDEX


def test_a_registry_refusing_head_is_asked_with_get():
    fake = FakeRegistry("public.ecr.aws", {("a/b", "1"): INDEX})
    refusing = fake

    def transport(method, url, headers):
        if method == "HEAD":
            return Response(405, {}, b"")
        return refusing(method, url, headers)

    assert resolve_digest("public.ecr.aws/a/b:1", transport) == INDEX
    assert [m for m, _, _ in fake.requests] == ["GET"]


def test_a_missing_tag_fails_with_the_registry_answer():
    fake = FakeRegistry("quay.io", {})
    with pytest.raises(RegistryError, match=r"quay.io/thanos/thanos:v9.9.9: .* answered HTTP 404"):
        resolve_digest("quay.io/thanos/thanos:v9.9.9", fake)


def test_an_unreachable_registry_fails_naming_the_host():
    def offline(method, url, headers):
        raise OSError("Name or service not known")

    with pytest.raises(RegistryError, match=r"quay\.io could not be reached"):
        resolve_digest("quay.io/thanos/thanos:v0.40.1", offline)


def test_basic_auth_only_registries_are_refused_rather_than_guessed():
    fake = FakeRegistry("example.test", {("a/b", "1"): INDEX}, challenge='Basic realm="registry"')
    with pytest.raises(RegistryError, match="Basic"):
        resolve_digest("example.test/a/b:1", fake)


def _sidecar() -> image_pins.Image:
    return next(i for i in image_pins.UNPINNED if i.repository == "kiwigrid/k8s-sidecar")


def test_a_recorded_one_source_digest_must_be_what_the_registry_serves():
    sidecar = _sidecar()
    assert check_expected(sidecar, sidecar.expected) == sidecar.expected
    with pytest.raises(RegistryError, match=r"quay.io/kiwigrid/k8s-sidecar:1.30.10: the registry serves sha256:2+"):
        check_expected(sidecar, OTHER)


def test_outside_the_mock_engine_the_program_deploys_the_registry_answer_or_stops(monkeypatch):
    """The real path (pulumi preview / up): no mock engine, the registry asked once per reference."""
    asked: list[str] = []

    def served(reference: str) -> str:
        asked.append(reference)
        return OTHER

    monkeypatch.setattr(registry, "_under_mocks", lambda: False)
    monkeypatch.setattr(registry, "_resolved_once", served)
    eso = [i for i in image_pins.UNPINNED if i.chart == "external-secrets"]
    with pytest.raises(RegistryError, match=r"config/image_pins\.py records"):
        registry.resolved_digests(eso)  # ESO records a one-source digest; the fake serves another
    reloader = next(i for i in image_pins.UNPINNED if i.repository.endswith("prometheus-config-reloader"))
    assert registry.resolved_digests([reloader]) == {reloader.tag_reference: OTHER}
    values = registry.chart_images("aws-for-fluent-bit")
    assert values == {"image": {"repository": "public.ecr.aws/aws-observability/aws-for-fluent-bit",
                                "tag": f"3.2.1@{OTHER}"}}


def test_a_registry_that_redirects_to_docker_hub_resolves_through_its_token_flow():
    """cr.weaviate.io answers a manifest request by sending the client on to Docker Hub (a pull of
    cr.weaviate.io/semitechnologies/weaviate:<tag> HEADs registry-1.docker.io/v2/semitechnologies/weaviate/manifests/
    <tag>, langgenius/dify#42156). The real urllib transport follows the redirect, surfaces the target's token
    challenge, and carries the pull token through the same redirect on the second request."""
    import http.server
    import threading

    served = "sha256:" + "3" * 64
    challenge = ('Bearer realm="https://auth.docker.test/token",service="registry.docker.io",'
                 'scope="repository:semitechnologies/weaviate:pull"')
    seen: list[tuple[str, str, str | None]] = []

    class Front(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append((self.command, self.path, self.headers.get("Authorization")))
            if self.path.startswith("/v2/"):  # the vendor's host: on to the hub
                self.send_response(307)
                self.send_header("Location", "/hub" + self.path)
            elif self.headers.get("Authorization") != "Bearer hub-token":
                self.send_response(401)
                self.send_header("WWW-Authenticate", challenge)
            else:
                self.send_response(200)
                self.send_header("Docker-Content-Digest", served)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_HEAD = do_GET = _answer  # noqa: N815 - the handler's method names

        def log_message(self, *args: object) -> None:
            """Keep the test output quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    tokens: list[str] = []

    def transport(method: str, url: str, headers: Mapping[str, str]) -> Response:
        if url.startswith("https://auth.docker.test/token?"):
            tokens.append(url)
            return Response(200, {}, json.dumps({"token": "hub-token"}).encode())
        return registry._urllib_transport(method, url.replace("https://cr.weaviate.io", origin), headers)

    try:
        assert resolve_digest("cr.weaviate.io/semitechnologies/weaviate:1.38.2", transport) == served
    finally:
        server.shutdown()
        server.server_close()
    assert "scope=repository%3Asemitechnologies%2Fweaviate%3Apull" in tokens[0]
    manifest = "/v2/semitechnologies/weaviate/manifests/1.38.2"
    assert [(path, auth) for _, path, auth in seen] == [
        (manifest, None), ("/hub" + manifest, None),
        (manifest, "Bearer hub-token"), ("/hub" + manifest, "Bearer hub-token")]
