"""Container image references: what counts as pinned, for services and for the data tier's bootstrap images."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_IMAGE = re.compile(
    r"^(?P<repo>[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)"
    r"(:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(@sha256:(?P<digest>[0-9a-f]{64}))?$"
)


def is_digest_pinned(image: str) -> bool:
    """True for ``repo@sha256:<64 hex>``: the only reference that cannot change under a running service."""
    return bool(_DIGEST.search(image))


def image_problem(value: str) -> str | None:
    """Why ``value`` is not a pinned image reference, or None (shared by services and the data tier bootstrap)."""
    match = _IMAGE.match(value)
    if not match:
        return (f"'{value}' is not an image reference (registry/repository:tag or repository@sha256:<digest>, e.g. "
                "postgres:16-alpine)")
    if not match["tag"] and not match["digest"]:
        return f"'{value}' names no tag or digest, so it means ':latest'; pin a version or a digest " \
               "(e.g. postgres:16-alpine)"
    if match["tag"] == "latest":
        return f"'{value}' uses the mutable ':latest' tag; pin a version or a digest (e.g. postgres:16-alpine)"
    return None


def _image(value: str) -> str:
    problem = image_problem(value)
    if problem:
        raise ValueError(problem)
    return value


ImageRef = Annotated[str, AfterValidator(_image)]
