"""How the edge reaches one service: the field types and the route settings a service entry may carry.

Both ``services.<name>.ingress`` (config/services.py) and the edge (config/edge.py) use these, so they sit
below both: the edge reads services, services never read the edge.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from config.base import Model

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# What ingress-nginx's strict path validation accepts for Prefix and Exact paths.
_SEGMENT = r"[A-Za-z0-9._-]+"
_PATH = re.compile(rf"^/({_SEGMENT}(/{_SEGMENT})*/?)?$")
_SIZE = re.compile(r"^[1-9][0-9]*[kmg]?$")


def _hostname(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(len(lb) <= 63 and _LABEL.match(lb) for lb in labels):
        raise ValueError(f"'{value}' is not a fully qualified lowercase DNS name (e.g. api.example.com)")
    return value


def _path(value: str) -> str:
    if not _PATH.match(value):
        raise ValueError(f"'{value}' is not a URL path prefix (starts with '/', letters, digits and ._- only)")
    return value if value == "/" else value.rstrip("/")


def _body_size(value: str) -> str:
    if not _SIZE.match(value):
        raise ValueError(f"'{value}' is not an nginx size (a number with optional k, m or g suffix, e.g. 50m)")
    return value


Hostname = Annotated[str, AfterValidator(_hostname)]
PathPrefix = Annotated[str, AfterValidator(_path)]
BodySize = Annotated[str, AfterValidator(_body_size)]


class ClientRateLimit(Model):
    """Per-client-IP limit nginx applies to one route (ingress-nginx limit-rps / limit-rpm annotations)."""

    requests: int = Field(ge=1, le=100_000, description="Sustained requests per `per` from one client IP.",
                          examples=[10])
    per: Literal["second", "minute"] = "second"
    burst: int = Field(
        ge=1, examples=[20],
        description="Requests allowed above the rate before nginx answers 429; a multiple of `requests` "
                    "(ingress-nginx sets burst = rate x limit-burst-multiplier).")
    connections: int | None = Field(
        default=None, ge=1, le=10_000, description="Concurrent connections per client IP (limit-connections).")

    @model_validator(mode="after")
    def _burst_is_a_multiple(self) -> ClientRateLimit:
        if self.burst < self.requests or self.burst % self.requests:
            raise ValueError(f"burst must be a multiple of requests (got burst {self.burst} for {self.requests} "
                             f"per {self.per}); ingress-nginx expresses burst as rate x a whole multiplier")
        return self

    @property
    def burst_multiplier(self) -> int:
        return self.burst // self.requests


class ServiceIngress(Model):
    """How the edge routes to one `api` service (set under `services.<name>.ingress`)."""

    host: Hostname | None = Field(default=None, description="Public host name; default `<service>.<edge.domain>`.")
    path: PathPrefix = Field(default="/", description="Path prefix routed to the service (not rewritten).")
    rate_limit: ClientRateLimit | None = Field(default=None,
                                               description="Overrides `edge.proxy.rateLimit` for this route.")
    max_body_size: BodySize | None = Field(default=None, description="Overrides `edge.proxy.maxBodySize`.")
