"""Read the stack's config namespace, apply the tier preset and validate it as one tree."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError

from config.data import LlmProvider
from config.errors import ConfigError, issues_from
from config.platform import PlatformConfig, cross_section_problems
from config.tiers import TIER_PRESETS, with_preset

PROJECT = "agent-platform"
TIERS = tuple(TIER_PRESETS)

# Top-level keys that hold Pulumi secrets rather than structured intent. They are never parsed
# here (their values stay Output secrets); they only have to exist and be encrypted.
LLM_KEY_SUFFIX = "ApiKey"
SECRET_KEYS = frozenset({f"{p}{LLM_KEY_SUFFIX}" for p in LlmProvider.__args__} | {"alertSlackWebhookUrl"})


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
    secret = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    prefix = f"{PROJECT}:"
    ours = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
    return ours, {k[len(prefix):] for k in secret if k.startswith(prefix)}


def _partial_cross_section_issues(merged: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Cross-section rules over the sections that are valid on their own, so they report too."""
    sections: dict[str, Any] = {}
    for field_name, field in PlatformConfig.model_fields.items():
        annotation = field.annotation
        alias = field.alias or field_name
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and alias in merged:
            try:
                sections[field_name] = annotation.model_validate(merged[alias])
            except ValidationError:
                continue
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sections[field_name] = annotation()
    protect = merged.get("protect")
    lines = cross_section_problems(str(merged.get("environment")), protect if isinstance(protect, bool) else None,
                                   sections)
    return [(line.partition(": ")[0], line.partition(": ")[2]) for line in lines]


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
        if key in SECRET_KEYS:
            if key not in secret_keys:
                issues.append((key, f"must be a secret: pulumi config set --secret {key} <value>"))
            continue
        if key in secret_keys:
            issues.append((key, "structured settings must not be secrets; secrets belong in Secrets Manager keys "
                                f"({', '.join(sorted(SECRET_KEYS))})"))
            continue
        values[key] = _parse(value)

    tier = values.get("environment")
    if tier not in TIERS:
        issues.append(("environment", f"must be one of {', '.join(TIERS)} (got {tier!r})"))
        tier = None
    if not region:
        issues.append(("aws:region", "is required (pulumi config set aws:region <region>)"))

    merged = with_preset(tier, values) if tier else values
    merged.setdefault("stack", stack)
    merged["region"] = region or ""
    if tier:
        merged.setdefault("protect", TIER_PRESETS[tier]["protect"])
    try:
        cfg = PlatformConfig.model_validate(merged)
    except ValidationError as exc:
        issues.extend((path, why) for path, why in issues_from(exc) if not (path == "region" and not region))
        issues.extend(_partial_cross_section_issues(merged))
        cfg = None

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
