"""The read-only IAM policy a preflight role needs: exactly the actions the checks call, generated.

    python -m planning.preflight.iam_policy            # rewrite docs/preflight-iam-policy.json
    python -m planning.preflight.iam_policy --check    # exit 1 when the file is stale

Every action is a read (Describe/Get/List); none of them supports resource-level permissions that would
narrow it further for this use (each describes the whole region's offerings or the account's resources),
so the statement names the actions on "*".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from planning.preflight.framework import all_checks

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "docs" / "preflight-iam-policy.json"


def actions() -> list[str]:
    return sorted({a for c in all_checks() for a in c.calls})


def policy_document() -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": "PreflightReadOnly", "Effect": "Allow", "Action": actions(), "Resource": "*"}]}


def render() -> str:
    return json.dumps(policy_document(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planning.preflight.iam_policy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if the committed policy is stale")
    args = parser.parse_args(argv)
    if args.check:
        if not POLICY_PATH.exists() or POLICY_PATH.read_text() != render():
            print(f"{POLICY_PATH.relative_to(ROOT)} is stale: run python -m planning.preflight.iam_policy")
            return 1
        return 0
    POLICY_PATH.write_text(render())
    print(f"wrote {POLICY_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
