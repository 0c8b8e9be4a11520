"""A stack's budget, region and usage assumptions, read from its validated config (tier defaults applied)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent_costing import ServiceLlmUsage, Usage

from config import PlatformConfig, validate_config
from config.budget import UsageAssumptions
from planning.engine import PROJECT, region_of, runtime_config


@dataclass(frozen=True)
class StackCost:
    """What the estimate of one stack needs from its config."""

    stack: str
    region: str
    budget_usd: float
    usage: Usage
    llm_budget_usd: float | None = None
    llm_usage: tuple[ServiceLlmUsage, ...] = ()


def usage_of(assumptions: UsageAssumptions) -> Usage:
    """The config model's values as the estimator's usage (same camelCase names, checked by a test)."""
    return Usage.from_mapping(assumptions.model_dump(by_alias=True))


def platform_config(stack: str, overrides: Mapping[str, Any] | None = None) -> PlatformConfig:
    """The stack's validated config exactly as the program sees it (``overrides`` replace top-level keys)."""
    config, secret_keys = runtime_config(stack, overrides)
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    secrets = {k[len(prefix):] for k in secret_keys if k.startswith(prefix)}
    return validate_config(raw, stack=stack, region=config.get("aws:region"), secret_keys=secrets)


def llm_usage(cfg: PlatformConfig) -> tuple[ServiceLlmUsage, ...]:
    """Each service's LLM traffic: ``cost.llm`` values, per-service overrides, the model mix or its defaultModel.

    A service with neither a ``defaultModel`` nor a model mix makes no LLM calls the estimate knows of.
    """
    llm = cfg.cost.llm
    out = []
    for name, service in sorted(cfg.services.items()):
        own = llm.services.get(name)
        models = (own.models if own and own.models is not None
                  else {service.default_model: 1.0} if service.default_model else None)
        if not models:
            continue
        out.append(ServiceLlmUsage(
            service=name,
            requests_per_day=own.requests_per_day if own and own.requests_per_day is not None
            else llm.requests_per_day,
            input_tokens=own.input_tokens_per_request if own and own.input_tokens_per_request is not None
            else llm.input_tokens_per_request,
            output_tokens=own.output_tokens_per_request if own and own.output_tokens_per_request is not None
            else llm.output_tokens_per_request,
            models=dict(models)))
    return tuple(out)


def stack_cost(stack: str, overrides: Mapping[str, Any] | None = None) -> StackCost:
    config, _ = runtime_config(stack, overrides)
    cfg = platform_config(stack, overrides)
    return StackCost(stack=stack, region=region_of(config), budget_usd=cfg.cost.monthly_budget_usd,
                     usage=usage_of(cfg.cost.usage), llm_budget_usd=cfg.cost.llm.monthly_budget_usd,
                     llm_usage=llm_usage(cfg))
