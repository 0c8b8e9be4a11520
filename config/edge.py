"""Edge intent: the public entry point (ALB, TLS, DNS), the WAF in front of it and the proxy behind it.

Everything the edge renders (listener TLS policy, WAF limits, nginx headers, timeouts and per-route
rate limits) comes from here, so a stack can tune it without touching code and tests can prove each
value reaches the plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from agent_contract.aws import DEFAULT_TLS_POLICY, TLS12_PLUS_POLICIES
from pydantic import AfterValidator, Field, field_validator, model_validator

from config.base import LogRetentionDays, Matching, Model, unique
from config.catalog import WAF_COMMON_RULES
from config.charts import AWS_LOAD_BALANCER_CONTROLLER
from config.credentials import credential_problem
from config.errors import Problems
from config.ingress import BodySize, ClientRateLimit, Hostname, ServiceIngress
from config.services import ServiceConfig

# ALB security policies that negotiate TLS 1.2 or newer only, TLS 1.3 first: the pack's list (agent_contract).
TlsPolicy = Literal[TLS12_PLUS_POLICIES]  # type: ignore[valid-type]  # Literal of a tuple = Literal of its items
TLS_POLICIES: tuple[str, ...] = get_args(TlsPolicy)

# AWS managed rule groups every web ACL carries (vendor AWS).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)

# The pin, where and when it was verified: config/charts.py (one table for every chart).
LOAD_BALANCER_CONTROLLER_CHART_VERSION = AWS_LOAD_BALANCER_CONTROLLER.version

# A WAF rate-based rule's smallest limit ("The lowest limit setting allowed is 10", AWS WAF guide, rate-based rule
# high-level settings); per-route rules count over 60 s.
WAF_MIN_RATE_PER_MINUTE = 10

# ACM's default quota of names on one certificate.
MAX_CERTIFICATE_NAMES = 10

_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
# Header values are written into nginx configuration; these characters could end or extend a directive.
_UNSAFE_HEADER_CHARS = frozenset('"\\$`{}\n\r')
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d):\d{12}:certificate/[0-9a-f-]{36}$")


def _header_value(value: str) -> str:
    bad = sorted({c for c in value if c in _UNSAFE_HEADER_CHARS})
    if bad or not value.strip():
        raise ValueError(f"header value {value!r} is empty or contains characters nginx would interpret "
                         f"({' '.join(bad) or 'empty'}); use plain text such as max-age=31536000")
    if credential_problem(value):
        raise ValueError(f"header value {credential_problem(value)}")
    return value


# Directives whose sources decide what code may run; a source that allows everything there voids the policy.
_CSP_CODE_DIRECTIVES = ("default-src", "script-src", "script-src-elem", "object-src")
_CSP_TOO_BROAD = ("*", "http:", "https:", "data:", "'unsafe-eval'", "'unsafe-inline'")


def csp_problem(policy: str) -> str | None:
    """Why a Content-Security-Policy allows everything, or None (MDN CSP source values)."""
    for directive in policy.split(";"):
        name, *sources = directive.split()
        if "*" in sources:
            return f"{name} allows any origin ('*'); list the origins it needs (e.g. {name} 'self')"
        if name.lower() in _CSP_CODE_DIRECTIVES:
            broad = [src for src in sources if src.lower() in _CSP_TOO_BROAD]
            if broad:
                return f"{name} allows {' '.join(broad)}, which lets any script run; use 'self' and named origins " \
                       f"(e.g. {name} 'self')"
    return None


def _certificate_arn(value: str) -> str:
    if not _ACM_ARN.match(value):
        raise ValueError(f"'{value}' is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>, "
                         "e.g. arn:aws:acm:us-east-1:111122223333:certificate/0123abcd-0123-4567-89ab-0123456789ab)")
    return value


HeaderValue = Annotated[str, AfterValidator(_header_value)]
CertificateArn = Annotated[str, AfterValidator(_certificate_arn)]


class SecurityHeaders(Model):
    """Response headers nginx adds to every proxied response (controller-level add-headers)."""

    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0, le=63_072_000)
    hsts_include_subdomains: bool = True
    hsts_preload: bool = True
    frame_options: Literal["DENY", "SAMEORIGIN"] = "DENY"
    referrer_policy: Literal[
        "no-referrer", "no-referrer-when-downgrade", "origin", "origin-when-cross-origin", "same-origin",
        "strict-origin", "strict-origin-when-cross-origin",
    ] = "strict-origin-when-cross-origin"
    content_security_policy: HeaderValue = Field(  # refused when it allows everything: see csp_problem
        default="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data: https:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        description="Content-Security-Policy for every response.")
    extra: dict[str, HeaderValue] = Field(
        default_factory=dict, description="Further response headers (e.g. Permissions-Policy), name to value.")

    @field_validator("content_security_policy")
    @classmethod
    def _csp(cls, value: str) -> str:
        problem = csp_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SecurityHeaders:
        problems = []
        if self.hsts_preload and (self.hsts_max_age_seconds < 31_536_000 or not self.hsts_include_subdomains):
            problems.append(("hstsPreload", "needs hstsMaxAgeSeconds >= 31536000 and hstsIncludeSubdomains "
                                            "(the browser preload list rejects anything weaker)"))
        managed = {n.lower() for n in self.rendered_base()}
        for name in self.extra:
            if not _HEADER_NAME.match(name):
                problems.append((f"extra.{name}", f"'{name}' is not an HTTP header name (letters, digits and '-', "
                                                  "e.g. Permissions-Policy)"))
            elif name.lower() in managed:
                problems.append((f"extra.{name}", f"'{name}' is set by its own field; change that field instead"))
        if problems:
            raise Problems(problems)
        return self

    def rendered_base(self) -> dict[str, str]:
        hsts = f"max-age={self.hsts_max_age_seconds}"
        if self.hsts_include_subdomains:
            hsts += "; includeSubDomains"
        if self.hsts_preload:
            hsts += "; preload"
        return {
            "Strict-Transport-Security": hsts,
            "X-Frame-Options": self.frame_options,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": self.referrer_policy,
            "Content-Security-Policy": self.content_security_policy,
        }

    def rendered(self) -> dict[str, str]:
        """Header name to value, exactly as nginx sends them."""
        return {**self.rendered_base(), **self.extra}


class ProxyConfig(Model):
    """What nginx does for every routed request; per-route overrides live on the service's `ingress`."""

    read_timeout_seconds: int = Field(default=300, ge=1, le=3600, description="Long enough for slow LLM calls.")
    send_timeout_seconds: int = Field(
        default=300, ge=1, le=3600, description="Also the idle limit of a WebSocket's client-to-server direction.")
    connect_timeout_seconds: int = Field(default=5, ge=1, le=75)
    max_body_size: BodySize = Field(default="50m", description="Largest request body (proxy-body-size).")
    rate_limit: ClientRateLimit = Field(
        default_factory=lambda: ClientRateLimit(requests=10, per="second", burst=20),
        description="Default per-client-IP limit of every route.")
    health_timeout_seconds: int = Field(
        default=5, ge=1, le=60, description="Proxy timeouts of each service's health route (its liveness path, "
                                            "routed without rate limiting).")


class WafConfig(Model):
    rate_limit: int = Field(
        default=2000, ge=10, le=2_000_000_000,
        description="Requests one client IP may send per window before the WAF blocks it (health path exempt).")
    rate_limit_window_seconds: Literal[60, 120, 300, 600] = 300
    api_key_header: Matching(r"^[a-z0-9][a-z0-9-]*$", "a lowercase HTTP header name",  # type: ignore[valid-type]
                             "authorization") | None = Field(
        default=None,
        description="Lowercase header whose value identifies a client credential (e.g. authorization); when set, "
                    "a second rate rule limits each credential to `apiKeyRateLimit` per window.")
    api_key_rate_limit: int = Field(default=6000, ge=10, le=2_000_000_000)
    count_only_rules: list[str] = Field(
        default_factory=lambda: ["SizeRestrictions_BODY"],
        description="Rules of AWSManagedRulesCommonRuleSet that only count. SizeRestrictions_BODY blocks bodies "
                    "over 8 KB, which long prompts exceed; nginx enforces the body limit instead. Protected tiers "
                    "may count only the size and user-agent rules.",
        json_schema_extra={"allowed": "rules of AWSManagedRulesCommonRuleSet: " + ", ".join(WAF_COMMON_RULES)})
    log_retention_days: LogRetentionDays = Field(default=90, description="Retention of the WAF log group (a "
                                                                         "CloudWatch Logs retention).")
    log_allowed_requests: bool = Field(
        default=False, description="Also log allowed requests (ALB access logs already record every request).")

    @field_validator("count_only_rules")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in WAF_COMMON_RULES]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a rule of "
                             f"AWSManagedRulesCommonRuleSet; use rule names such as {', '.join(WAF_COMMON_RULES[:6])} "
                             "(e.g. SizeRestrictions_BODY)")
        return unique(value, "rule")


class LoadBalancerControllerConfig(Model):
    """The AWS Load Balancer Controller: it only registers pod IPs in the program's target groups."""

    chart_version: Matching(r"^\d+\.\d+\.\d+$", "a chart version",  # type: ignore[valid-type]
                            LOAD_BALANCER_CONTROLLER_CHART_VERSION) = LOAD_BALANCER_CONTROLLER_CHART_VERSION
    replicas: int = Field(default=2, ge=1, le=5,
                          description="Protected stacks need 2 or more (one leader, one standby; a PDB keeps one).")
    cpu_request: Matching(r"^[1-9]\d*m?$", "a CPU quantity",  # type: ignore[valid-type]
                          "100m") = "100m"
    memory_request: Matching(r"^[1-9]\d*(Mi|Gi)$", "a memory quantity in Mi or Gi",  # type: ignore[valid-type]
                             "128Mi") = "128Mi"
    memory_limit: Matching(r"^[1-9]\d*(Mi|Gi)$", "a memory quantity in Mi or Gi",  # type: ignore[valid-type]
                           "256Mi") = "256Mi"

    @model_validator(mode="after")
    def _limit_covers_request(self) -> LoadBalancerControllerConfig:
        mib = {"Mi": 1, "Gi": 1024}
        if int(self.memory_limit[:-2]) * mib[self.memory_limit[-2:]] < \
                int(self.memory_request[:-2]) * mib[self.memory_request[-2:]]:
            raise Problems([("memoryLimit", f"{self.memory_limit} is below memoryRequest {self.memory_request}; a "
                                            "limit is at least the request")])
        return self


class EdgeConfig(Model):
    exposure: Literal["public", "private"] = Field(
        default="public",
        description="public: the internet-facing ALB with TLS, WAF and DNS. private (dev only): no load balancer, "
                    "WAF, certificate, DNS or public address; developers reach the services through Session Manager "
                    "port forwarding to the shared host (runtime vm, vm.placement shared) or kubectl port-forward "
                    "(runtime eks). See docs/edge.md.")
    domain: Hostname | None = Field(
        default=None, description="DNS name the services are served under; the edge exists only when it is set.")
    hosted_zone_id: Matching(r"^Z[A-Z0-9]{1,31}$",  # type: ignore[valid-type]
                             "a Route 53 hosted zone ID (Z followed by up to 31 letters or digits)",
                             "Z0123456789ABCDEFGHIJ") | None = Field(
        default=None, description="Public Route 53 zone holding the names.")
    hosted_zone_name: Hostname | None = Field(
        default=None, description="Looked up when hostedZoneId is not given; default: `domain`.")
    certificate_arn: CertificateArn | None = Field(
        default=None, description="Existing ACM certificate to use instead of issuing a DNS-validated one.")
    tls_policy: TlsPolicy = DEFAULT_TLS_POLICY
    ip_address_type: Literal["ipv4", "dualstack"] = "ipv4"
    idle_timeout_seconds: int = Field(default=300, ge=1, le=4000, description="Long enough for slow LLM calls.")
    headers: SecurityHeaders = SecurityHeaders()
    proxy: ProxyConfig = ProxyConfig()
    waf: WafConfig = WafConfig()
    controller: LoadBalancerControllerConfig = LoadBalancerControllerConfig()

    @model_validator(mode="after")
    def _consistent(self) -> EdgeConfig:
        problems = []
        for field, value in (("readTimeoutSeconds", self.proxy.read_timeout_seconds),
                             ("sendTimeoutSeconds", self.proxy.send_timeout_seconds)):
            if value > self.idle_timeout_seconds:
                problems.append((f"proxy.{field}",
                                 f"{value} s exceeds idleTimeoutSeconds ({self.idle_timeout_seconds} s); the load "
                                 "balancer would close the connection first, so it must be at most that"))
        zone = self.hosted_zone_name
        if zone and self.domain and self.domain != zone and not self.domain.endswith(f".{zone}"):
            problems.append(("hostedZoneName", f"'{zone}' is not {self.domain} or a parent of it; the zone must hold "
                                               f"the names (e.g. {self.domain.split('.', 1)[-1]})"))
        if problems:
            raise Problems(problems)
        return self

    @property
    def enabled(self) -> bool:
        return self.domain is not None

    @property
    def private(self) -> bool:
        return self.exposure == "private"

    @property
    def public(self) -> bool:
        """Whether the stack has the internet-facing load balancer (and its WAF, certificate and DNS)."""
        return self.enabled and not self.private

    @property
    def certificate_region(self) -> str | None:
        match = _ACM_ARN.match(self.certificate_arn or "")
        return match["region"] if match else None

    def certificate_names(self, routes: list[Route]) -> list[str]:
        """The domain, its wildcard, and any routed host the wildcard does not cover (one label deep only)."""
        assert self.domain is not None
        names = [self.domain, f"*.{self.domain}"]
        for host in sorted({r.host for r in routes}):
            if host != self.domain and host.count(".") - self.domain.count(".") > 1:
                names.append(host)
        return names


@dataclass(frozen=True)
class Route:
    """One `api` service as the edge routes it, every default resolved."""

    service: str
    host: str
    path: str
    port: int
    rate_limit: ClientRateLimit
    max_body_size: str
    health_path: str
    # A private edge's route: reached on the shared host's port through a Session Manager tunnel, no TLS name.
    private: bool = False

    @property
    def url(self) -> str:
        if self.private:
            return f"http://localhost:{self.port}{'' if self.path == '/' else self.path}"
        return f"https://{self.host}{'' if self.path == '/' else self.path}"


def routes(edge: EdgeConfig, services: Mapping[str, ServiceConfig]) -> list[Route]:
    """The routes of every `api` service, in config order; workers get none.

    A private edge routes by port on the shared host (each api service's own), so it needs no domain.
    """
    if edge.domain is None and not edge.private:
        return []
    found = []
    for name, svc in services.items():
        if svc.kind != "api":
            continue
        ingress = svc.ingress or ServiceIngress()
        path = ingress.path
        found.append(Route(
            service=name,
            host=ingress.host or (f"{name}.{edge.domain}" if edge.domain else "localhost"),
            path=path,
            port=svc.port,
            rate_limit=ingress.rate_limit or edge.proxy.rate_limit,
            max_body_size=ingress.max_body_size or edge.proxy.max_body_size,
            health_path=("" if path == "/" else path) + svc.probes.liveness_path,
            private=edge.private,
        ))
    return found


def private_edge_problems(edge: EdgeConfig) -> list[str]:
    """A private edge has no name, certificate or load balancer: what only those would use is refused."""
    problems = []
    unused = [key for key, value in (("domain", edge.domain), ("hostedZoneId", edge.hosted_zone_id),
                                     ("hostedZoneName", edge.hosted_zone_name),
                                     ("certificateArn", edge.certificate_arn)) if value is not None]
    if unused:
        problems.append(f"edge.exposure: private creates no load balancer, certificate or DNS record; remove "
                        f"{', '.join(f'edge.{k}' for k in unused)}")
    return problems


def edge_problems(
    edge: EdgeConfig, services: Mapping[str, ServiceConfig], *, region: str | None, existing_vpc: bool | None,
    runtime: str | None = None,
) -> list[str]:
    """Rules between the edge and other sections, one "camelCase.path: reason" line each.

    ``region`` or ``existing_vpc`` is None when its section is itself invalid; the rule needing it is skipped.
    """
    problems = []
    api = [name for name, svc in services.items() if svc.kind == "api"]
    for name, svc in services.items():
        if svc.kind != "api" and svc.ingress is not None:
            problems.append(f"services.{name}.ingress: only api services are routed; remove it or set kind: api")
    if edge.private:
        return problems + private_edge_problems(edge)
    if api and edge.domain is None:
        problems.append(f"edge.domain: api services ({', '.join(api)}) need the edge; set edge.domain, e.g. "
                        "agents.example.com (and edge.hostedZoneId or edge.hostedZoneName)")
    if region and edge.certificate_region not in (None, region):
        problems.append(f"edge.certificateArn: the certificate is in {edge.certificate_region}; the load balancer "
                        f"needs one in {region}")
    if edge.ip_address_type == "dualstack" and existing_vpc is False:
        problems.append("edge.ipAddressType: dualstack needs public subnets with IPv6 CIDRs; the VPC this stack "
                        "creates is IPv4-only (use network.existingVpc with IPv6 subnets, or ipv4)")
    if edge.domain is None:
        return problems
    seen: dict[tuple[str, str], str] = {}
    for route in routes(edge, services):
        where = f"services.{route.service}.ingress"
        per_minute = route.rate_limit.requests * (60 if route.rate_limit.per == "second" else 1)
        if runtime == "eks" and per_minute < WAF_MIN_RATE_PER_MINUTE:
            problems.append(f"{where}.rateLimit: {per_minute} requests per minute; on EKS the WAF enforces it and a "
                            f"rate rule allows at least {WAF_MIN_RATE_PER_MINUTE} per 60 s window")
        if route.host != edge.domain and not route.host.endswith(f".{edge.domain}"):
            problems.append(f"{where}.host: '{route.host}' is not {edge.domain} or a name under it")
        key = (route.host, route.path)
        if key in seen:
            problems.append(f"{where}: {route.host}{route.path} is already routed to service {seen[key]}")
        seen.setdefault(key, route.service)
    if edge.certificate_arn is None:
        names = edge.certificate_names(routes(edge, services))
        if len(names) > MAX_CERTIFICATE_NAMES:
            problems.append(f"edge: the certificate would need {len(names)} names ({', '.join(names)}); ACM allows "
                            f"{MAX_CERTIFICATE_NAMES} by default. Use hosts one label under edge.domain, or "
                            "edge.certificateArn")
    return problems
