"""Reading stack files: libyaml's safe loader when PyYAML has it, the pure-Python one otherwise.

A plan reads its stack file four to six times (config, overrides, ESC imports, notes); the pure-Python loader
takes about 15 ms per read of Pulumi.prod.yaml, libyaml's about 1.5 ms, and both build the same documents from
the safe subset of YAML the stack files use (``tests/test_stack_yaml.py`` compares them on every stack file).

A text already parsed in this process is not parsed again: its document is kept as JSON and every read gets a
fresh copy from ``json.loads`` (a tenth of a parse, and of a ``copy.deepcopy``), so callers may change what they
get. Only a document JSON gives back equal (plain maps with string keys, lists, strings, numbers, booleans, null)
is kept that way; any other (a YAML date, a non-string key) is parsed on every read, as before. Config validation
reads the files thousands of times in the tests (tests/test_config_fuzz.py).
"""

import json
from functools import lru_cache
from typing import Any

import yaml

LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str) -> Any:
    """``yaml.safe_load(text)`` with libyaml when available, on every call."""
    return yaml.load(text, Loader=LOADER)  # a safe loader: CSafeLoader or SafeLoader


@lru_cache(maxsize=64)
def _as_json(text: str) -> str | None:
    document = parse(text)
    try:
        dumped = json.dumps(document, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return dumped if json.loads(dumped) == document else None


def load(text: str) -> Any:
    """``yaml.safe_load(text)``, faster: a new document on every call, equal to what the parser builds."""
    dumped = _as_json(text)
    return parse(text) if dumped is None else json.loads(dumped)
