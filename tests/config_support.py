"""Validate a stack's config with overrides exactly as the program would, without planning it.

The same path as ``load_config``: the stack file, dotted ``--set`` overrides, the runtime config strings
and secret keys, then ``validate_config``. Milliseconds per call, so tests can try thousands of values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from config import ConfigError, PlatformConfig, validate_config
from planning.engine import PROJECT, runtime_config, with_paths

# Phrases that tell a user what is allowed: an example, the allowed values, or a bound.
HINTS = ("e.g.", "one of", "at least", "at most", "must", "use ", "needs", "keys here", "only", "allowed")
# Pydantic's own words a message must never show: regular expressions and Python class names.
RAW_PYDANTIC = ("should match pattern", "instance of", "Config", "[type=", "Field required", "Input should")


def validated(stack: str, overrides: Mapping[str, Any] | None = None) -> PlatformConfig:
    # Each read of the stack file is a copy of the document parsed once per run (planning/stack_yaml.py).
    config, secret_keys = runtime_config(stack, with_paths(stack, dict(overrides or {})))
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    secrets = {k[len(prefix):] for k in secret_keys if k.startswith(prefix)}
    return validate_config(raw, stack=stack, region=config.get("aws:region"), secret_keys=secrets)


def rejected(stack: str, overrides: Mapping[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        validated(stack, overrides)
    return info.value


def reason(err: ConfigError, path: str) -> str:
    found = dict(err.issues)
    assert path in found, f"{path} not named in:\n{err}"
    return found[path]


def assert_words(text: str) -> None:
    """A message a user can act on: an allowed-values hint, no regex or pydantic class name."""
    assert any(h in text for h in HINTS), f"no allowed-values hint in: {text}"
    bad = [w for w in RAW_PYDANTIC if w in text]
    assert not bad, f"{bad} in: {text}"
