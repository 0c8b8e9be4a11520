"""Read the stack's config namespace, apply the tier preset and validate it as one tree."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, TypeAdapter, ValidationError

from config.base import RoleArn
from config.catalog import region_problem
from config.data import LlmProvider
from config.errors import ConfigError, issues_from, show
from config.platform import PlatformConfig, cross_section_problems
from config.services import ServiceConfig
from config.tiers import TIER_PRESETS, with_preset

PROJECT = "agent-platform"
TIERS = tuple(TIER_PRESETS)
# Built once: a TypeAdapter compiles its validator when constructed, and every validation used two.
_ROLE_ARNS = TypeAdapter(list[RoleArn])
_BOOL = TypeAdapter(bool)

# Top-level keys that hold Pulumi secrets rather than structured intent. They are never parsed
# here (their values stay Output secrets); they only have to exist and be encrypted.
LLM_KEY_SUFFIX = "ApiKey"
SECRET_KEYS = frozenset({f"{p}{LLM_KEY_SUFFIX}" for p in LlmProvider.__args__} | {"alertSlackWebhookUrl"})


# Keys that look like settings but are not read from this namespace: a `--set region=...` must not be ignored.
NOT_SETTINGS = {
    "region": "is not a setting of agent-platform: the stack's region is aws:region "
              "(pulumi config set aws:region <region>, e.g. us-east-1)",
}


def llm_key_name(provider: str) -> str:
    return f"{provider}{LLM_KEY_SUFFIX}"


def _parse(value: Any) -> Any:
    """The CLI hands every value over as a string; structured values are JSON."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _namespace() -> tuple[dict[str, Any], set[str]]:
    """All ``agent-platform:*`` keys the CLI (or the mock engine) provided, and which are secret."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = {*runtime_config.get_config_secret_keys_env(), *filter(runtime_config.is_config_secret, values)}
    prefix = f"{PROJECT}:"
    ours = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
    return ours, {k[len(prefix):] for k in secret if k.startswith(prefix)}


def _partial_cross_section_issues(merged: Mapping[str, Any], region: str | None) -> list[tuple[str, str]]:
    """Cross-section rules over the sections that are valid on their own, so they report too.

    A stack with a bad ``owner`` and a DR region equal to its own region hears about both at once.
    """
    sections: dict[str, Any] = {"region": region}
    for field_name, field in PlatformConfig.model_fields.items():
        annotation = field.annotation
        alias = field.alias or field_name
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            continue
        if alias in merged:
            try:
                sections[field_name] = annotation.model_validate(merged[alias])
            except ValidationError:
                continue
        else:
            sections[field_name] = annotation()
    runtime = merged.get("runtime", "eks")
    sections["runtime"] = runtime if runtime in ("eks", "vm") else None
    try:
        sections["deploy_role_arns"] = _ROLE_ARNS.validate_python(merged.get("deployRoleArns", []))
    except ValidationError:
        sections["deploy_role_arns"] = None
    services = merged.get("services", {})
    if isinstance(services, Mapping):
        valid = {}
        for name, entry in services.items():
            try:
                valid[name] = ServiceConfig.model_validate(entry)
            except ValidationError:
                continue
        sections["services"] = valid
        sections["service_names"] = [str(n) for n in services]
    try:
        protect: bool | None = _BOOL.validate_python(merged.get("protect"))
    except ValidationError:
        protect = None
    lines = cross_section_problems(str(merged.get("environment")), protect, sections, runtime=sections["runtime"])
    return [(line.partition(": ")[0], line.partition(": ")[2]) for line in lines]


def _unexpected(section: str, exc: Exception) -> tuple[str, str]:
    """A validator bug must still end in the config error, never a traceback; the test suite keeps this unused."""
    return section, f"could not be validated ({type(exc).__name__}: {exc}); please report this"


# Released image digests, recorded by the release workflow in the stack's ESC release environment
# (<org>/agent-platform/<stack>-images, pulumiConfig "agent-platform:images"), never in the stack file.
RELEASED_IMAGES_KEY = "images"


def _apply_released_images(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Move ``images.<service>`` onto ``services.<service>.image`` (the release wins over the stack file).

    A release must not need an infrastructure commit: the workflow writes the digest to the stack's ESC release
    environment and runs `pulumi up`; validation of the reference is the service's own (``services.<s>.image``).
    """
    images = values.pop(RELEASED_IMAGES_KEY, None)
    if images is None:
        return []
    if not isinstance(images, Mapping):
        return [(RELEASED_IMAGES_KEY, "must map service names to released images (<repository>@sha256:<digest>)")]
    services = values.get("services")
    services = dict(services) if isinstance(services, Mapping) else {}
    issues = []
    for name, ref in images.items():
        entry = services.get(name)
        if not isinstance(entry, Mapping):
            issues.append((f"{RELEASED_IMAGES_KEY}.{name}", f"names no service in services ({', '.join(services)})"))
            continue
        services[name] = {**entry, "image": ref}
    values["services"] = services
    return issues


def load_config() -> PlatformConfig:
    """Validate the running stack's config, or raise one ConfigError before anything is registered."""
    raw, secret_keys = _namespace()
    region = runtime_config.get_config("aws:region")
    return validate_config(raw, stack=pulumi.get_stack(), region=region, secret_keys=secret_keys)


def validate_config(
    raw: Mapping[str, Any],
    *,
    stack: str,
    region: str | None,
    secret_keys: Collection[str] = (),
) -> PlatformConfig:
    issues: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in NOT_SETTINGS:
            issues.append((key, NOT_SETTINGS[key]))
            continue
        if key in SECRET_KEYS:
            if key not in secret_keys:
                issues.append((key, f"must be a secret: pulumi config set --secret {key} <value>"))
            continue
        if key in secret_keys:
            issues.append((key, "structured settings must not be secrets; secrets belong in Secrets Manager keys "
                                f"({', '.join(sorted(SECRET_KEYS))})"))
            continue
        values[key] = _parse(value)

    issues.extend(_apply_released_images(values))

    tier = values.get("environment")
    if tier not in TIERS:
        issues.append(("environment", f"must be one of {', '.join(TIERS)} (got {show(tier)})"))
        tier = None
    if not region:
        issues.append(("aws:region", "is required (pulumi config set aws:region <region>, e.g. us-east-1)"))
    elif region_problem(region):
        issues.append(("aws:region", str(region_problem(region))))
        region = None

    merged = with_preset(tier, values) if tier else values
    merged.setdefault("stack", stack)
    merged["region"] = region or ""
    if tier:
        merged.setdefault("protect", TIER_PRESETS[tier]["protect"])
    cfg: PlatformConfig | None = None
    try:
        cfg = PlatformConfig.model_validate(merged)
    except ValidationError as exc:
        issues.extend(("aws:region" if path == "region" else path, why)
                      for path, why in issues_from(exc, root=PlatformConfig)
                      if not (path == "region" and not region) and not (path == "environment" and not tier))
        try:
            issues.extend(_partial_cross_section_issues(merged, region))
        except Exception as inner:
            issues.append(_unexpected("(cross-section rules)", inner))
    except Exception as exc:
        issues.append(_unexpected("(config)", exc))

    if cfg is not None:
        for provider in cfg.data_tier.secrets.llm_providers:
            key = llm_key_name(provider)
            if key not in raw:
                issues.append((key, f"provider '{provider}' is configured but its key is not set: "
                                    f"pulumi config set --secret {key} <value>"))
    if issues:
        raise ConfigError(stack, issues)
    assert cfg is not None
    return cfg
