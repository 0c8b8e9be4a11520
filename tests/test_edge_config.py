"""Edge configuration: defaults resolve to the seeds' behaviour, and every bad edge setting is one clear error."""

from __future__ import annotations

import copy

import pytest

from config.edge import (
    DEFAULT_TLS_POLICY,
    TLS_POLICIES,
    ClientRateLimit,
    EdgeConfig,
    SecurityHeaders,
    edge_problems,
    routes,
)
from config.services import ServiceConfig
from config.tiers import TIER_PRESETS
from tests.harness import DEDICATED_VM, config_error

IMAGE = "registry.example.com/agents/chat:1.4.2"
WORKER = {"kind": "worker", "image": IMAGE, "queue": {"listName": "jobs"}, "secrets": ["redis"]}
CERT_ID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def api(**ingress: object) -> dict[str, object]:
    return {"kind": "api", "image": IMAGE, **({"ingress": ingress} if ingress else {})}


def service(raw: dict[str, object]) -> ServiceConfig:
    return ServiceConfig.model_validate(raw)


# --- what the defaults mean --------------------------------------------------------------------------------------


def test_defaults_reproduce_the_seed_proxy():
    edge = EdgeConfig(domain="agents.example.com")
    assert edge.idle_timeout_seconds == 300
    assert (edge.proxy.read_timeout_seconds, edge.proxy.send_timeout_seconds) == (300, 300)
    limit = edge.proxy.rate_limit
    assert (limit.requests, limit.per, limit.burst, limit.burst_multiplier) == (10, "second", 20, 2)
    assert edge.tls_policy == DEFAULT_TLS_POLICY == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    headers = edge.headers.rendered()
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_seeds_sixty_per_minute_limit_is_expressible():
    limit = ClientRateLimit(requests=60, per="minute", burst=120)
    assert limit.burst_multiplier == 2


def test_extra_headers_join_the_managed_ones():
    headers = SecurityHeaders(extra={"Permissions-Policy": "camera=(), microphone=()"}).rendered()
    assert headers["Permissions-Policy"] == "camera=(), microphone=()" and "X-Frame-Options" in headers


def test_routes_resolve_host_path_limits_and_health_path_per_api_service():
    edge = EdgeConfig(domain="agents.example.com")
    services = {
        "chat": service(api()),
        "docs": service(api(host="agents.example.com", path="/docs/", maxBodySize="100m",
                            rateLimit={"requests": 60, "per": "minute", "burst": 120})),
        "indexer": service(WORKER),
    }
    chat, docs = routes(edge, services)
    assert (chat.service, chat.host, chat.path, chat.port) == ("chat", "chat.agents.example.com", "/", 8000)
    assert chat.rate_limit == edge.proxy.rate_limit and chat.max_body_size == "50m"
    assert chat.health_path == "/health" and chat.url == "https://chat.agents.example.com"
    assert (docs.host, docs.path, docs.health_path) == ("agents.example.com", "/docs", "/docs/health")
    assert docs.rate_limit.per == "minute" and docs.max_body_size == "100m"
    assert docs.url == "https://agents.example.com/docs"


def test_no_domain_means_no_edge_and_no_routes():
    assert routes(EdgeConfig(), {"chat": service(api())}) == []
    assert not EdgeConfig().enabled


def test_certificate_covers_the_domain_its_wildcard_and_deeper_hosts_only():
    edge = EdgeConfig(domain="agents.example.com")
    services = {"a": service(api()), "b": service(api(host="agents.example.com", path="/b")),
                "c": service(api(host="eu.c.agents.example.com"))}
    assert edge.certificate_names(routes(edge, services)) == [
        "agents.example.com", "*.agents.example.com", "eu.c.agents.example.com"]


def test_allowed_tls_policies_are_all_tls12_or_newer():
    assert all("TLS13-1-2" in p or "TLS13-1-3" in p for p in TLS_POLICIES)


def test_tier_presets_size_the_edge_per_environment():
    dev, prod = (EdgeConfig.model_validate(TIER_PRESETS[tier]["edge"]) for tier in ("dev", "prod"))
    assert dev.controller.replicas == 1 and prod.controller.replicas == 2
    assert dev.waf.api_key_header is None and prod.waf.api_key_header == "authorization"
    assert dev.waf.log_retention_days == 14 and prod.waf.log_retention_days == 365


def test_edge_problems_skip_rules_whose_section_is_invalid():
    edge = EdgeConfig(domain="agents.example.com", ip_address_type="dualstack",
                      certificate_arn=f"arn:aws:acm:eu-west-1:111122223333:certificate/{CERT_ID}")
    assert edge_problems(edge, {}, region=None, existing_vpc=None) == []
    assert len(edge_problems(edge, {}, region="us-east-1", existing_vpc=False)) == 2


# --- bad config: one clear error, nothing registered -------------------------------------------------------------

BAD = [
    ({"services": {"chat": api()}, "edge.domain": None}, "edge.domain", "need the edge"),
    ({"services": {"chat": api(host="chat.example.org")}}, "services.chat.ingress.host",
     "is not dev.agents.example.com or a name under it"),
    ({"services": {"a": api(host="dev.agents.example.com"), "b": api(host="dev.agents.example.com")}},
     "services.b.ingress", "already routed to service a"),
    ({"services": {"indexer": {**WORKER, "ingress": {"path": "/jobs"}}}}, "services.indexer.ingress",
     "only api services are routed"),
    ({"services": {"chat": api(path="docs")}}, "services.chat.ingress.path", "not a URL path prefix"),
    ({"services": {"chat": api(maxBodySize="50MB")}}, "services.chat.ingress.maxBodySize", "not an nginx size"),
    ({"edge.proxy": {"rateLimit": {"requests": 60, "per": "minute", "burst": 100}}}, "edge.proxy.rateLimit",
     "burst must be a multiple of requests"),
    ({"edge.proxy": {"readTimeoutSeconds": 600}}, "edge.proxy.readTimeoutSeconds", "exceeds idleTimeoutSeconds"),
    ({"edge.headers": {"hstsMaxAgeSeconds": 86400}}, "edge.headers.hstsPreload", "needs hstsMaxAgeSeconds"),
    ({"edge.headers": {"contentSecurityPolicy": "default-src 'self'\"; add_header X 1"}},
     "edge.headers.contentSecurityPolicy", "nginx would interpret"),
    ({"edge.headers": {"extra": {"x-frame-options": "SAMEORIGIN"}}}, "edge.headers.extra.x-frame-options",
     "set by its own field"),
    ({"edge.tlsPolicy": "ELBSecurityPolicy-2016-08"}, "edge.tlsPolicy", "is not allowed; use one of"),
    ({"edge.certificateArn": "my-cert"}, "edge.certificateArn", "not an ACM certificate ARN"),
    ({"edge.certificateArn": f"arn:aws:acm:eu-west-1:111122223333:certificate/{CERT_ID}"}, "edge.certificateArn",
     "needs one in us-east-1"),
    ({"edge.ipAddressType": "dualstack"}, "edge.ipAddressType", "IPv4-only"),
    ({"edge.domain": "Agents.Example.com"}, "edge.domain", "fully qualified lowercase"),
    ({"edge.hostedZoneId": "zone-1"}, "edge.hostedZoneId", "is not a Route 53 hosted zone ID"),
    ({"edge.controller": {"nodePort": 30080}}, "edge.controller.nodePort", "unknown key"),
    ({"edge.controller": {"replicas": 6}}, "edge.controller.replicas", "at most 5"),
    ({"edge.controller": {"memoryRequest": "512Mi", "memoryLimit": "256Mi"}}, "edge.controller.memoryLimit",
     "at least the request"),
    ({"edge.waf": {"rateLimit": 5}}, "edge.waf.rateLimit", "must be at least 10"),
    ({"edge.waf": {"rateLimitWindowSeconds": 30}}, "edge.waf.rateLimitWindowSeconds", "use one of 60, 120, 300 or 600"),
    ({"edge.waf": {"apiKeyHeader": "X-Api-Key"}}, "edge.waf.apiKeyHeader", "is not a lowercase HTTP header name"),
    ({"edge.bogus": True}, "edge.bogus", "unknown key"),
    ({"services": {f"s{i}": api(host=f"x.s{i}.dev.agents.example.com") for i in range(9)}}, "edge",
     "ACM allows 10 by default"),
]


@pytest.mark.parametrize(("overrides", "path", "phrase"), BAD, ids=[p for _, p, _ in BAD])
def test_bad_edge_config_names_the_key_and_registers_nothing(overrides, path, phrase):
    # dev with the public edge these keys configure (the committed dev stack's edge is private).
    err = config_error("dev", {**copy.deepcopy(DEDICATED_VM), **overrides})  # asserts nothing was registered
    assert path in err.paths, f"{path} not named in:\n{err}"
    assert phrase.lower() in dict(err.issues)[path].lower(), dict(err.issues)[path]

