"""Typed, validated stack configuration: the single source of every environment's intent."""

from config.errors import ConfigError
from config.loader import load_config, validate_config
from config.platform import PlatformConfig

__all__ = ["ConfigError", "PlatformConfig", "load_config", "validate_config"]
