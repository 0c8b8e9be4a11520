"""Plan stacks offline for tests: the real ``__main__.py`` under the mock engine, cached per input.

    plan("prod").one("aws:rds/instance:Instance").props["multiAz"] is True
    plan("prod", {"dataTier.postgres.multiAz": False})      # dotted overrides of the stack file
    err = config_error("prod", {"network.azCount": 2})        # ConfigError; nothing registered
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from config import ConfigError
from planning.engine import run_program, with_paths
from planning.model import Plan, PlannedResource

STACKS = ("dev", "staging", "prod")


@lru_cache(maxsize=64)
def _plan(stack: str, frozen: str) -> Plan:
    return run_program(stack, with_paths(stack, json.loads(frozen)))


def plan(stack: str, overrides: Mapping[str, Any] | None = None) -> Plan:
    """Plan a stack (cached: treat the result as read-only)."""
    return _plan(stack, json.dumps(dict(overrides or {}), sort_keys=True))


def config_error(stack: str, overrides: Mapping[str, Any] | None = None) -> ConfigError:
    """Plan a stack expected to be rejected; returns the error after proving nothing was registered."""
    try:
        run_program(stack, with_paths(stack, dict(overrides or {})))
    except ConfigError as exc:
        registered = getattr(exc, "registered", None)
        assert registered == [], f"resources were registered before the config error: {registered}"
        return exc
    raise AssertionError(f"stack {stack} with {overrides} was accepted")


def tags_of(res: PlannedResource) -> dict[str, str]:
    return dict(res.props.get("tags") or {})
