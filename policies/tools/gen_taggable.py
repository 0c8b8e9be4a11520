"""Regenerate ``agent_policies/data/taggable_aws_types.json`` from the installed pulumi-aws SDK.

A resource type is taggable when its ``<Class>Args`` accepts a ``tags`` input; the SDK's own resource
registry maps classes to type tokens. Run after bumping pulumi-aws (a test compares the recorded version
with the pinned one):

    .venv/bin/python policies/tools/gen_taggable.py
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from importlib import metadata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "agent_policies" / "data" / "taggable_aws_types.json"

# Types whose ``tags`` input is not a resource tag set.
EXCLUDED = {
    "aws:devopsguru/resourceCollection:ResourceCollection": "tags selects the resources DevOps Guru analyses "
                                                            "(appBoundaryKey/tagValues); the collection itself "
                                                            "is not tagged",
}


def _registry() -> list[dict[str, object]]:
    import pulumi_aws

    source = Path(pulumi_aws.__file__).read_text()
    match = re.search(r'resource_modules="""(.*?)"""', source, re.S)
    if match is None:
        raise SystemExit("pulumi_aws/__init__.py no longer carries the resource registry; update this script")
    return json.loads(match.group(1))


def _shape(annotation: object) -> str | None:
    text = str(annotation)
    if "Mapping[" in text:
        return "map"
    if "Sequence[" in text:
        return "list"
    return None


def generate() -> dict[str, object]:
    map_tags: list[str] = []
    list_tags: list[str] = []
    for module in _registry():
        package = importlib.import_module(str(module["fqn"]))
        for token, cls in dict(module["classes"]).items():  # type: ignore[call-overload]
            args = getattr(package, f"{cls}Args", None)
            if args is None or token in EXCLUDED:
                continue
            param = inspect.signature(args.__init__).parameters.get("tags")
            if param is None:
                continue
            shape = _shape(param.annotation)
            if shape == "map":
                map_tags.append(token)
            elif shape == "list":
                list_tags.append(token)
            else:
                raise SystemExit(f"{token}: unrecognised tags input {param.annotation}; classify it in EXCLUDED")
    return {
        "generatedBy": "policies/tools/gen_taggable.py",
        "pulumiAws": metadata.version("pulumi-aws"),
        "excluded": EXCLUDED,
        "listTags": sorted(list_tags),
        "mapTags": sorted(map_tags),
    }


def main() -> int:
    data = generate()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(data['mapTags'])} map-tagged, {len(data['listTags'])} list-tagged types)")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
