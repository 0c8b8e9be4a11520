"""The read-only IAM policy a preflight role needs: exactly the actions the checks call, generated.

    python -m planning.preflight.iam_policy            # rewrite docs/preflight-iam-policy.json
    python -m planning.preflight.iam_policy --check    # exit 1 when the file is stale

Every action is a read (Describe/Get/List). Those that support resource-level permissions are limited to their
resource type (or, for SSM, to AWS's public parameters, the only ones the program reads); the rest describe
region-wide offerings or account-wide lists and take only "*" (Service Authorization Reference: no resource
type in the action's row means "*").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from planning.preflight.framework import all_checks

ROOT = Path(__file__).resolve().parents[2]
POLICY_PATH = ROOT / "docs" / "preflight-iam-policy.json"


# Resource ARNs per the Service Authorization Reference resource types (ecr repository, iam role, rds db,
# route53 hostedzone); public SSM parameters have no account in their ARN, as in Karpenter's controller policy
# (ssm:GetParameter on arn:<partition>:ssm:<region>::parameter/aws/service/*).
RESOURCES = {
    "ecr:DescribeImages": "arn:aws:ecr:*:*:repository/*",
    "iam:GetRole": "arn:aws:iam::*:role/*",
    "rds:DescribeDBInstances": "arn:aws:rds:*:*:db:*",
    "route53:GetHostedZone": "arn:aws:route53:::hostedzone/*",
    "ssm:GetParameter": "arn:aws:ssm:*::parameter/aws/service/*",
}


def actions() -> list[str]:
    return sorted({a for c in all_checks() for a in c.calls})


def _sid(action: str) -> str:
    service, name = action.split(":", 1)
    return f"Preflight{service.capitalize()}{name}"


def policy_document() -> dict[str, Any]:
    every = actions()
    statements: list[dict[str, Any]] = [{"Sid": "PreflightReadOnly", "Effect": "Allow",
                                         "Action": [a for a in every if a not in RESOURCES], "Resource": "*"}]
    statements += [{"Sid": _sid(a), "Effect": "Allow", "Action": [a], "Resource": RESOURCES[a]}
                   for a in every if a in RESOURCES]
    return {"Version": "2012-10-17", "Statement": statements}


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
