"""Reading stack files: libyaml's safe loader when PyYAML has it, the pure-Python one otherwise.

A plan reads its stack file four to six times (config, overrides, ESC imports, notes); the pure-Python loader
takes about 15 ms per read of Pulumi.prod.yaml, libyaml's about 1.5 ms, and both build the same documents from
the safe subset of YAML the stack files use (``tests/test_bench.py`` compares them on every stack file).
"""

from typing import Any

import yaml

LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """``yaml.safe_load(text)``, faster."""
    return yaml.load(text, Loader=LOADER)  # a safe loader: CSafeLoader or SafeLoader
