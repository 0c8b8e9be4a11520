"""The per-stack facts in ``policies/config/<stack>.json``, generated from the stack's own config.

The pack never imports the program it judges, so a policy learns a stack's facts through its config file
(``--policy-pack-config``). Facts the stack config already states are written here from it, never by hand:

- ``monthly-cost-budget``: ``budgetUsd``, ``region`` and ``usage`` (``cost:`` and ``aws:region``);
- ``monthly-llm-budget``: ``budgetUsd`` and each service's LLM ``services`` usage (``cost.llm``, ``defaultModel``);
- ``llm-alarm-within-budget``: ``dailyAlarmUsd``, ``monthlyBudgetUsd``, ``factor`` (``observability.alerts``,
  ``cost.llm``);
- ``protectedEnvironment`` of every policy that has the setting (``protect:``);
- ``backup-rpo.maxRpoMinutes`` (``backup.rpoTargetMinutes``) and ``backup-retention-minimum.minRetentionDays``
  (the shortest retention any recovery point gets under ``backup:``);
- ``docdb-backup-retention.minRetentionDays``: the tier's minimum (7 days in staging and prod, 1 in dev);
- ``backup-vault-locked``: ``minLockRetentionDays`` and ``requireComplianceMode`` (``backup.lock``), for a
  stack that locks its vaults.
- ``edge-matches-exposure``: ``exposure`` and ``routedServices`` (``edge.exposure``, the api services' routes);
- ``dr-cross-region-replication`` and ``dr-restore-testing``: ``required`` (prod, or ``backup.drRegion`` with
  ``backup.replication`` on), ``maxRpoMinutes`` and ``requireImageReplication`` (``backup.replication.images``).

Everything else in the file (enforcement levels, thresholds, reviewed exemptions) stays hand-owned: this
command keeps it as it is. ``tests/test_policy_config.py`` fails when a file is stale.

A stack file outside the project's three (a blueprint, a developer's stack) has no committed file: it is reviewed
with its tier's hand-owned settings (``policies/config/<environment>.json``) and the facts of its own config laid
over them (``for_stack``), so a blueprint is judged against its own budget, usage, protection and backup targets
and never against another stack's. ``--stack-file PATH`` prints that config, to commit as
``policies/config/<stack>.json`` when the file becomes a real stack.

    python -m planning.policy_config --write     # rewrite the generated facts of every stack's file
    python -m planning.policy_config --check     # exit 1 if a file differs from what it would write
    python -m planning.policy_config --stack-file blueprints/003-bsc-rag/Pulumi.dev.yaml   # print its config
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from agent_policies.pack import all_policies

from config import PlatformConfig
from config.edge import routes
from planning.cost_report.usage import llm_usage, platform_config
from planning.engine import STACKS, StackRef, as_ref
from planning.review import CONFIG_DIR, load_policy_config
from planning.stacks import stack_file_argument

COMMAND = "python -m planning.policy_config --write"
PROTECTED = "protectedEnvironment"


def _policies_with(setting: str) -> list[str]:
    return [p.name for p in all_policies() if p.config_schema and setting in (p.config_schema.properties or {})]


def facts(cfg: PlatformConfig) -> dict[str, dict[str, Any]]:
    """The settings of each policy that the stack config determines."""
    out: dict[str, dict[str, Any]] = {
        "monthly-cost-budget": {
            "budgetUsd": cfg.cost.monthly_budget_usd,
            "region": cfg.region,
            "usage": cfg.cost.usage.model_dump(by_alias=True),
        },
        "monthly-llm-budget": {
            "budgetUsd": cfg.cost.llm.monthly_budget_usd,
            "services": {u.service: u.to_json() for u in llm_usage(cfg)},
        },
        "llm-alarm-within-budget": {
            "dailyAlarmUsd": cfg.observability.alerts.llm_daily_budget_usd,
            "monthlyBudgetUsd": cfg.cost.llm.monthly_budget_usd,
            "factor": cfg.cost.llm.daily_alarm_factor,
        },
    }
    # The edge the stack declares; edge-matches-exposure checks the plan builds that edge.
    out["edge-matches-exposure"] = {"exposure": cfg.edge.exposure,
                                    "routedServices": [r.service for r in routes(cfg.edge, cfg.services)]}
    for name in _policies_with(PROTECTED):
        out.setdefault(name, {})[PROTECTED] = cfg.protect
    # The tier minimum of document store backups (config/platform.py enforces the same for protected tiers).
    out["docdb-backup-retention"] = {"minRetentionDays": 7 if cfg.protected_tier else 1}
    backup = cfg.backup
    if backup is not None:
        out["backup-rpo"] = {"maxRpoMinutes": backup.rpo_target_minutes}
        retentions = [days for _, days in backup.retentions()]
        if retentions:
            out["backup-retention-minimum"] = {"minRetentionDays": min(retentions)}
        if backup.lock.mode != "none":
            out.setdefault("backup-vault-locked", {}).update(
                minLockRetentionDays=backup.lock.min_retention_days,
                requireComplianceMode=backup.lock.mode == "compliance")
        # prod always keeps cross-region copies; another tier when it configures a DR region.
        required = cfg.environment == "prod" or backup.replicates
        out["dr-cross-region-replication"] = {
            "required": required, "maxRpoMinutes": backup.rpo_target_minutes,
            "requireImageReplication": backup.replicates and backup.replication.images}
        out["dr-restore-testing"] = {"required": required}
    return out


def _number(value: Any) -> Any:
    """Whole floats as integers, as the hand-written files have them (``budgetUsd: 400``, not ``400.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def merged(current: Mapping[str, Any], generated: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``current`` with the generated settings laid over it; a bare level becomes ``{"enforcementLevel": ...}``."""
    out = dict(current)
    for policy, settings in generated.items():
        entry = out.get(policy, {})
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        for key, value in settings.items():
            if entry.get(key) != value:  # an equal value keeps its written form (2 stays 2, 1.0 stays 1.0)
                entry[key] = _number(value)
        out[policy] = entry
    return out


def render(stack: str) -> str:
    return json.dumps(merged(load_policy_config(stack), facts(platform_config(stack))), indent=2) + "\n"


def for_stack(stack: str | StackRef) -> dict[str, Any]:
    """The policy settings ``stack`` is reviewed with (what ``--policy-pack-config`` would be given).

    A project stack: its committed, generated-fresh file. Any other stack file: its tier's file with the facts of
    its own config laid over it (the tier file's facts belong to the project stack of that name, not to this one).
    """
    ref = as_ref(stack)
    if ref.is_project_stack:
        return load_policy_config(ref.name)
    tier = ref.environment()
    base = load_policy_config(tier) if tier in STACKS else {}
    return merged(base, facts(platform_config(ref)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m planning.policy_config", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite policies/config/<stack>.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    mode.add_argument("--stack-file", type=stack_file_argument, metavar="PATH",
                      help="print the policy config a stack file is reviewed with (Pulumi.<stack>.yaml anywhere)")
    args = parser.parse_args(argv)
    if args.stack_file:
        print(json.dumps(for_stack(args.stack_file), indent=2))
        return 0
    stale = []
    for stack in STACKS:
        path = CONFIG_DIR / f"{stack}.json"
        text = render(stack)
        if path.exists() and path.read_text() == text:
            continue
        if args.write:
            path.write_text(text)
            print(f"wrote {path.name}")
        else:
            stale.append(path.name)
    if stale:
        print(f"stale: {', '.join(stale)}; regenerate with: {COMMAND}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
