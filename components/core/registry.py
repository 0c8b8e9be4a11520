"""Resolve an image tag to the digest its registry serves, when `pulumi preview` / `pulumi up` runs.

Images without two public sources for their digest (``config.image_pins.UNPINNED``) still run by digest: the
program asks the registry (Distribution API v2, anonymously) which manifest the tag points at and deploys
``<tag>@sha256:<digest>``. Every tier therefore runs a digest, and a tag the publisher re-pushes changes the Helm
values, so the next preview shows the change instead of new pods silently pulling other bytes.

Why not ``pulumi_docker.get_registry_image``: its data source (terraform-provider-docker v4.5.0,
internal/provider/data_source_docker_registry_image.go) does the same HEAD request without a daemon, but
pulumi-docker's own provider pings a Docker daemon in ``Configure`` and fails with "failed to connect to any docker
daemon" when there is none (pulumi-docker provider/provider.go ``Configure`` -> image.go ``configureDockerClient``
with verify=true; pulumi/pulumi-docker#1106), and the CI runners that preview and deploy have no daemon.

The request asks for an OCI image index or a Docker manifest list first (``Accept``), so a multi-platform tag
resolves to its index digest (the one every node's platform is pulled through), as ``docker buildx imagetools
inspect`` prints it. Under the offline planner's mock engine nothing is fetched: the lookup goes through the mock
engine as the invoke ``REGISTRY_DIGEST_INVOKE`` (answered by planning/mock_outputs.py with an obvious stand-in
digest), so plans stay deterministic and preflight knows which references to resolve for real.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pulumi
from pulumi.runtime import invoke as pulumi_invoke
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings

from config.image_pins import DIGEST, RESOLVED_AT_DEPLOY, Image, chart_image_values

# Not a provider function: the mock engine's name for this module's lookup (see the module docstring).
REGISTRY_DIGEST_INVOKE = "agent-platform:registry:getDigest"

# Index and list types first, then single-platform manifests for a tag that has no index (OCI image-spec
# image-index.md / manifest.md media types; Docker "Image Manifest V2, Schema 2").
ACCEPT = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
TIMEOUT_SECONDS = 15
DOCKER_HUB = "registry-1.docker.io"
USER_AGENT = "agent-platform-digest-resolver"


class RegistryError(pulumi.RunError):
    """A tag could not be resolved, or resolved to a digest other than the recorded one. A ``RunError``, so
    ``pulumi preview``/``up`` stops with this message alone, not a Python traceback."""


class ManifestNotFound(RegistryError):  # noqa: N818 - an answer (404), named as the registry gives it
    """The registry answered 404: no manifest under that tag or digest."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


# (method, url, headers) -> Response; tests pass a fake, the program the urllib one below.
Transport = Callable[[str, str, Mapping[str, str]], Response]


def _urllib_transport(method: str, url: str, headers: Mapping[str, str]) -> Response:
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
            return Response(reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, b"")


def split_reference(reference: str) -> tuple[str, str, str]:
    """``(registry host, repository, tag or digest)`` of ``host/repo:tag`` or ``host/repo[:tag]@sha256:...``
    (Docker Hub names get its host and library/); a digest wins over a tag, as a pull does."""
    name, _, tag = reference.partition("@")
    if tag:
        head, _, last = name.rpartition("/")
        name = f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]
    else:
        name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:
        raise RegistryError(f"{reference}: no tag to resolve")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, repository = first, rest
    else:
        host, repository = DOCKER_HUB, name if "/" in name else f"library/{name}"
    return ("registry-1.docker.io" if host == "docker.io" else host), repository, tag


_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def _token(challenge: str, repository: str, transport: Transport) -> str:
    """An anonymous pull token from the realm a 401 names (the registry token flow, "Token Authentication
    Specification" of the Distribution project): scope ``repository:<repo>:pull`` unless the registry names one."""
    if not challenge.lower().startswith("bearer "):
        raise RegistryError(f"the registry asks for {challenge.split(' ', 1)[0] or 'no'} authentication, not a token")
    params = dict(_CHALLENGE.findall(challenge))
    realm = params.pop("realm", "")
    if not realm.startswith("https://"):
        raise RegistryError(f"token realm {realm!r} is not https")
    params.setdefault("scope", f"repository:{repository}:pull")
    reply = transport("GET", f"{realm}?{urllib.parse.urlencode(params)}", {"Accept": "application/json"})
    if reply.status != 200:
        raise RegistryError(f"token request to {realm} answered HTTP {reply.status}")
    body = json.loads(reply.body or b"{}")
    token = body.get("token") or body.get("access_token")
    if not token:
        raise RegistryError(f"token request to {realm} returned no token")
    return str(token)


def resolve_digest(reference: str, transport: Transport = _urllib_transport) -> str:
    """The digest ``host/repo:tag`` points at now: the ``Docker-Content-Digest`` of a manifest HEAD (a GET and the
    body's sha256 when a registry leaves the header out), the index digest for a multi-platform tag."""
    host, repository, tag = split_reference(reference)
    url = f"https://{host}/v2/{repository}/manifests/{tag}"
    headers = {"Accept": ACCEPT}
    try:
        reply = transport("HEAD", url, headers)
        if reply.status == 401:
            headers["Authorization"] = "Bearer " + _token(reply.headers.get("www-authenticate", ""), repository,
                                                         transport)
            reply = transport("HEAD", url, headers)
        digest = reply.headers.get("docker-content-digest", "") if reply.status == 200 else ""
        if not digest and reply.status != 404:
            # A registry that refuses HEAD or leaves the header out: GET the manifest (as the Terraform data source
            # does) and take its header, else the sha256 of the exact bytes served, which is the digest by definition.
            reply = transport("GET", url, headers)
            if reply.status == 200:
                body_digest = "sha256:" + hashlib.sha256(reply.body).hexdigest()
                digest = reply.headers.get("docker-content-digest") or body_digest
    except (OSError, ValueError) as exc:  # URLError, timeouts, TLS and JSON errors
        raise RegistryError(f"{reference}: {host} could not be reached ({exc})") from exc
    if reply.status == 404:
        raise ManifestNotFound(f"{reference}: {url} answered HTTP 404 (no such manifest)")
    if reply.status != 200:
        raise RegistryError(f"{reference}: {url} answered HTTP {reply.status}")
    if not DIGEST.match(digest):
        raise RegistryError(f"{reference}: the registry returned {digest!r}, not a sha256 digest")
    return digest


def digest_exists(reference: str, transport: Transport = _urllib_transport) -> bool:
    """Whether the registry serves ``name[:tag]@sha256:...`` (a manifest request by digest answers 200 with that
    digest; 404 when no manifest has it). Network and auth failures raise RegistryError."""
    try:
        return resolve_digest(reference, transport) == reference.partition("@")[2]
    except ManifestNotFound:
        return False


class Registries:
    """The public registries over HTTPS, as preflight asks them (tests pass a fake with the same two methods)."""

    def digest(self, reference: str) -> str:
        return resolve_digest(reference)

    def exists(self, reference: str) -> bool:
        return digest_exists(reference)


@lru_cache(maxsize=64)
def _resolved_once(reference: str) -> str:
    """One lookup per reference per program run (a Pulumi program runs once per preview or update)."""
    return resolve_digest(reference)


def check_expected(image: Image, digest: str) -> str:
    """``digest``, or a RegistryError when the entry records a one-source digest the registry does not serve."""
    if image.expected and digest != image.expected:
        raise RegistryError(
            f"{image.tag_reference}: the registry serves {digest}, but config/image_pins.py records "
            f"{image.expected} (one public source) for it. The tag was re-pushed or the source was wrong: check the "
            "publisher's release, then set `expected` to the digest you confirmed (or move the image to PINNED).")
    return digest


def _under_mocks() -> bool:
    return isinstance(pulumi_settings.get_monitor(), pulumi_mocks.MockMonitor)


def deployed_digest(image: Image) -> str:
    """The digest the program deploys ``image`` by: the registry's answer now, checked against ``expected``."""
    if _under_mocks():
        answer = pulumi_invoke(REGISTRY_DIGEST_INVOKE, {"reference": image.tag_reference, "expected": image.expected})
        return str(answer.value["digest"])
    return check_expected(image, _resolved_once(image.tag_reference))


def deployed_reference(image: Image) -> str:
    """``<name>:<tag>@sha256:...`` of an image the program runs itself, outside a chart (the VM runtime's vector
    store): its recorded digest, or the digest its registry serves now for an image resolved at deploy time."""
    if image.digest:
        return image.reference
    if not image.at_deploy:
        raise ValueError(f"{image.tag_reference} has neither a recorded digest nor at_deploy: it would run by tag")
    return f"{image.tag_reference}@{deployed_digest(image)}"


def resolved_digests(images: Iterable[Image]) -> dict[str, str]:
    """``tag_reference -> digest`` for each image (one lookup per distinct reference)."""
    found: dict[str, str] = {}
    for image in images:
        if image.tag_reference not in found:
            found[image.tag_reference] = deployed_digest(image)
    return found


def chart_images(chart: str) -> dict[str, Any]:
    """Every image value of ``chart`` by digest: the recorded pins and, resolved now, the chart's images in
    ``RESOLVED_AT_DEPLOY``."""
    return chart_image_values(chart, resolved_digests(i for i in RESOLVED_AT_DEPLOY if i.chart == chart))
