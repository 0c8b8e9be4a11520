"""Resource identity: no change may silently make Pulumi replace a resource (delete, then create again)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from planning.engine import STACKS, run_program
from planning.identity import compare, identities, read_golden
from tests.harness import plan


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_keeps_the_identities_of_its_golden_file(stack: str) -> None:
    golden = read_golden(stack)
    assert golden, f"tests/golden/identity/{stack}.txt is missing: python -m planning.identity --update"
    diff = compare(golden, plan(stack))
    assert not diff.changed, diff.report(stack)


def _program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "program.py"
    path.write_text("import pulumi\nimport pulumi_aws as aws\n\n" + textwrap.dedent(body))
    return path


_COMPONENT = """
class Tier(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("agent-platform:data:DataTier", name, None, opts)
        aws.s3.Bucket(f"{name}-{BUCKET}", opts=pulumi.ResourceOptions(parent=self, aliases=BUCKET_ALIASES))
        self.register_outputs({})

"""


def _plan_of(tmp_path: Path, *, tier: str = "data", bucket: str = "objects", bucket_aliases: str = "[]",
             tier_aliases: str = "[]"):
    body = (f"BUCKET = {bucket!r}\nBUCKET_ALIASES = {bucket_aliases}\n" + _COMPONENT
            + f"Tier({tier!r}, pulumi.ResourceOptions(aliases={tier_aliases}))\n")
    return run_program("dev", program=_program(tmp_path, body))


def test_a_rename_without_an_alias_is_reported_as_a_replacement(tmp_path: Path) -> None:
    golden = identities(_plan_of(tmp_path))
    diff = compare(golden, _plan_of(tmp_path, bucket="bucket"))
    assert diff.replaced == ["agent-platform:data:DataTier$aws:s3/bucket:Bucket::data-objects"]
    assert diff.added == ["agent-platform:data:DataTier$aws:s3/bucket:Bucket::data-bucket"]
    assert "REPLACED" in diff.report("dev") and "aliases" in diff.report("dev")


def test_a_rename_covered_by_an_alias_is_not_a_replacement(tmp_path: Path) -> None:
    golden = identities(_plan_of(tmp_path))
    diff = compare(golden, _plan_of(tmp_path, bucket="bucket", bucket_aliases='[pulumi.Alias(name="data-objects")]'))
    assert diff.replaced == [] and diff.added == []
    assert diff.renamed == {"agent-platform:data:DataTier$aws:s3/bucket:Bucket::data-objects":
                            "agent-platform:data:DataTier$aws:s3/bucket:Bucket::data-bucket"}


def test_renaming_a_component_with_an_alias_carries_its_children(tmp_path: Path) -> None:
    golden = identities(_plan_of(tmp_path))
    renamed = _plan_of(tmp_path, tier="store", bucket="objects",
                       bucket_aliases='[pulumi.Alias(name="data-objects")]', tier_aliases='[pulumi.Alias(name="data")]')
    diff = compare(golden, renamed)
    assert diff.replaced == [] and diff.added == []
    assert set(diff.renamed) == set(golden)


def test_changing_a_component_type_without_an_alias_replaces_its_children(tmp_path: Path) -> None:
    golden = identities(_plan_of(tmp_path))
    program = _program(tmp_path, "BUCKET = 'objects'\nBUCKET_ALIASES = []\n"
                       + _COMPONENT.replace("agent-platform:data:DataTier", "agent-platform:data:Tier")
                       + "Tier('data')\n")
    diff = compare(golden, run_program("dev", program=program))
    assert sorted(diff.replaced) == sorted(golden)
