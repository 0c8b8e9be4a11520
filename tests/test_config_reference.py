"""docs/config-reference.md is generated from the config models and stays fresh."""

from __future__ import annotations

from config import reference
from tests.schema_leaves import leaves


def test_the_config_reference_is_fresh():
    assert reference.main(["--check"]) == 0, "docs/config-reference.md is stale: run python -m config.reference"


def test_the_reference_lists_every_key_with_its_tier_defaults():
    text = reference.render()
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    for path in leaves():
        entry = path.replace("services.api", "services.<name>").replace("nodeGroups.general", "nodeGroups.<name>")
        if entry.endswith((".someKey", ".extra", ".<name>")):
            continue
        assert entry in documented, f"{entry} missing from the config reference"
    retention = next(line for line in text.splitlines() if line.startswith("| `cluster.logRetentionDays`"))
    assert "`14` / `90` / `365`" in retention and "3653" in retention
