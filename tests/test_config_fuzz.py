"""No exception but the config error ever escapes validation, whatever a leaf of the schema is set to.

Every key path of the schema gets a value of every JSON type (object, list, string, number, Infinity, NaN,
null, bool); then hypothesis feeds random JSON to random paths of every stack. Each run must end in
acceptance or one ConfigError whose every line names a key and reads as words. Config validation only: no
program is planned, so the thousands of cases take seconds.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import ConfigError
from tests.config_support import HINTS, RAW_PYDANTIC, validated
from tests.harness import STACKS
from tests.schema_leaves import leaves

LEAVES = leaves()


def _snake_names() -> set[str]:
    from config.base import Model

    def models(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from models(sub)

    return {name for model in models(Model) for name in model.model_fields if "_" in name}


SNAKE_NAMES = _snake_names()
# One value of each JSON type, plus the non-standard numbers json.loads accepts from `--set`.
EVERY_TYPE = {"object": {"x": 1}, "list": ["x"], "string": "x", "number": 7, "negative": -1.5,
              "infinity": math.inf, "nan": math.nan, "null": None, "bool": True}

json_scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | st.text(
    max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=3), max_leaves=6)


def _check(stack: str, path: str, value: object) -> None:
    try:
        validated(stack, {path: value})
    except ConfigError as err:
        assert err.issues, "an error names at least one key"
        for key, reason in err.issues:
            assert key and reason, err
            assert "could not be validated" not in reason, f"a validator crashed on {path}={value!r}:\n{err}"
            leaked = [w for w in RAW_PYDANTIC if w in reason]
            assert not leaked, f"{path}={value!r} reported in pydantic's words ({leaked}): {key}: {reason}"
            assert any(h in reason for h in HINTS), f"{path}={value!r}: no allowed-values hint in {key}: {reason}"
            snake = SNAKE_NAMES & set(re.findall(r"[a-z]+(?:_[a-z]+)+", f"{key} {reason}"))
            assert not snake, f"{path}={value!r}: Python names {snake} where users write camelCase: {key}: {reason}"


def test_the_schema_has_every_section():
    assert {"network.cidr", "services.api.image", "cluster.nodeGroups.general.instanceTypes",
            "edge.proxy.rateLimit.burst", "backup.restoreTesting.schedule", "cost.usage.spotPriceFactor"} <= set(LEAVES)


@pytest.mark.parametrize("kind", list(EVERY_TYPE))
def test_every_leaf_takes_every_json_type_without_crashing(kind):
    value = EVERY_TYPE[kind]
    for i, path in enumerate(LEAVES):
        _check(STACKS[i % len(STACKS)], path, value)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(stack=st.sampled_from(STACKS), path=st.sampled_from(LEAVES), value=json_values)
def test_random_json_at_random_leaves_is_accepted_or_refused_cleanly(stack, path, value):
    _check(stack, path, value)
