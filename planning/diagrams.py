"""Architecture diagrams as code: Mermaid generated from the plan and the workflows, checked fresh by a test.

A hand-drawn diagram drifts the day a rule or a job changes; these are read from what the repository
actually deploys: security-group paths from the planned rules, the backup and DR flow from the planned
backup resources, the CI and approval flow from ``.github/workflows``. GitHub renders Mermaid in Markdown.
Each lands between ``<!-- diagram:<name>:start -->`` and ``<!-- diagram:<name>:end -->`` in docs/diagrams.md.

    python -m planning.diagrams            # rewrite the generated regions of docs/diagrams.md
    python -m planning.diagrams --check    # exit 1 if one is stale
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from planning import docgen
from planning.docgen import replace_region
from planning.engine import ROOT
from planning.model import Plan, PlannedResource

DOC = ROOT / "docs" / "diagrams.md"
WORKFLOWS = ROOT / ".github" / "workflows"
DIAGRAM_STACK = "prod"
COMMAND = "python -m planning.diagrams"

_SG = "aws:ec2/securityGroup:SecurityGroup"
_RULES = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
          "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress"}


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _label(text: str) -> str:
    """Mermaid labels go in double quotes: quotes, angle brackets and GitHub expressions are neutralised."""
    text = re.sub(r"\$\{\{\s*(.*?)\s*\}\}", r"\1", text)
    text = text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return text.replace("#lt;br/#gt;", "<br/>")  # the line breaks this module puts in


def _ports(rule: Mapping[str, Any]) -> str:
    proto = str(rule.get("ipProtocol", "tcp"))
    if proto == "-1":
        return "all traffic"
    low, high = int(rule.get("fromPort", 0)), int(rule.get("toPort", 0))
    return f"{proto} {low}" if low == high else f"{proto} {low}-{high}"


def _dep(plan: Plan, res: PlannedResource, prop: str) -> PlannedResource | None:
    urns = res.property_dependencies.get(prop) or ()
    return plan.by_urn(urns[0]) if urns else None


# --- security-group paths ----------------------------------------------------------------------------------------


def security_group_paths(plan: Plan) -> str:
    """Who may open a connection to whom: every standalone SG rule of the plan, as an edge with its ports."""
    nodes: dict[str, str] = {}
    edges: set[tuple[str, str, str]] = set()

    def group(res: PlannedResource | None, fallback: str) -> str:
        if res is None:
            name = f"{fallback} (outside the plan)"
        elif res.type == _SG:
            name = f"{res.name}<br/>{res.props.get('description', '')}"
        elif res.type == "aws:eks/cluster:Cluster":
            name = f"{res.name} cluster security group<br/>(nodes and pods)"
        else:
            name = f"{res.name} ({res.type.rsplit(':', 1)[-1]})"
        key = _id(res.name if res is not None else fallback)
        nodes[key] = name
        return key

    def peer(rule: Mapping[str, Any], res: PlannedResource) -> str:
        if rule.get("referencedSecurityGroupId"):
            return group(_dep(plan, res, "referencedSecurityGroupId"), str(rule["referencedSecurityGroupId"]))
        cidr = rule.get("cidrIpv4") or rule.get("cidrIpv6") or rule.get("prefixListId") or "?"
        internet = cidr in ("0.0.0.0/0", "::/0")
        key = "internet" if internet else _id(f"cidr_{cidr}")
        nodes[key] = "internet (0.0.0.0/0, ::/0)" if internet else f"{cidr}"
        return key

    for res in plan:
        kind = _RULES.get(res.type)
        if kind is None:
            continue
        rule = res.props
        own = group(_dep(plan, res, "securityGroupId"), str(rule.get("securityGroupId")))
        other = peer(rule, res)
        source, target = (other, own) if kind == "ingress" else (own, other)
        edges.add((source, target, _ports(rule)))
    lines = ["flowchart LR"]
    lines += [f'    {key}["{_label(text)}"]' for key, text in sorted(nodes.items())]
    merged: dict[tuple[str, str], list[str]] = {}
    for source, target, ports in sorted(edges):
        merged.setdefault((source, target), []).append(ports)
    lines += [f'    {s} -->|"{", ".join(p)}"| {t}' for (s, t), p in sorted(merged.items())]
    return "\n".join(lines)


# --- backup and disaster recovery ----------------------------------------------------------------------------------


def _region(plan: Plan, res: PlannedResource, default: str) -> str:
    provider = plan.by_urn(res.provider_urn) if res.provider_urn else None
    return str(provider.props.get("region")) if provider is not None else default


def backup_flow(plan: Plan, region: str) -> str:
    """What is backed up, where copies go, how long they are kept and locked, and how restores are tested."""
    lines = ["flowchart LR"]

    def of_type(type_: str) -> list[PlannedResource]:
        return sorted(plan.of_type(type_), key=lambda r: r.name)  # the engine's registration order varies

    vaults = sorted(plan.of_type("aws:backup/vault:Vault"), key=lambda v: (v.provider_urn is not None, v.name))
    locks = {(_dep(plan, r, "backupVaultName") or r).name: r.props for r in
             of_type("aws:backup/vaultLockConfiguration:VaultLockConfiguration")}
    for vault in vaults:
        lock = locks.get(vault.name)
        text = f"{vault.name}<br/>{_region(plan, vault, region)}, KMS-encrypted"
        if lock:
            text += (f"<br/>locked: keep {int(lock['minRetentionDays'])}-{int(lock['maxRetentionDays'])} days")
        lines.append(f'    {_id(vault.name)}[("{_label(text)}")]')
    for selection in of_type("aws:backup/selection:Selection"):
        props = selection.props
        kinds = sorted({arn.split(":")[2].upper() for arn in props.get("resources") or [] if arn.count(":") > 2})
        tags = [f"{c['key'].split('/')[-1]}={c['value']}" for cond in props.get("conditions") or []
                for c in cond.get("stringEquals") or []]
        lines.append(f'    {_id(selection.name)}["{_label(selection.name)}<br/>{", ".join(kinds)} tagged '
                     f'{_label(", ".join(tags))}"]')
        backup_plan = _dep(plan, selection, "planId")
        if backup_plan is None:
            continue
        primary = next((v for v in vaults if v.provider_urn is None), None)
        for rule in backup_plan.props.get("rules") or []:
            keep = (rule.get("lifecycle") or {}).get("deleteAfter")
            how = "continuous (point-in-time)" if rule.get("enableContinuousBackup") else "snapshot"
            label = f"rule {rule['ruleName']}: {how}, {rule.get('schedule', '')}" + (
                f", keep {int(keep)} d" if keep else "")
            if primary is not None:
                lines.append(f'    {_id(selection.name)} -->|"{_label(label)}"| {_id(primary.name)}')
            for copy in rule.get("copyActions") or []:
                # The ARN ends with the vault's physical name: the logical name plus Pulumi's random suffix.
                physical = str(copy.get("destinationVaultArn", "")).rsplit(":", 1)[-1]
                named = [v for v in vaults if physical.startswith(f"{v.name}-") or physical == v.name]
                target = max(named, key=lambda v: len(v.name)) if named else None
                keep_copy = (copy.get("lifecycle") or {}).get("deleteAfter")
                if primary is not None and target is not None:
                    lines.append(f'    {_id(primary.name)} -->|"copy ({rule["ruleName"]})'
                                 + (f", keep {int(keep_copy)} d" if keep_copy else "") + f'"| {_id(target.name)}')
    for testing in of_type("aws:backup/restoreTestingPlan:RestoreTestingPlan"):
        props = testing.props
        schedule = _label(str(props.get("scheduleExpression", "")))
        lines.append(f'    {_id(testing.name)}{{{{"{_label(testing.name)}<br/>{schedule}"}}}}')
        source = _dep(plan, testing, "recoveryPointSelection")
        if source is not None:
            lines.append(f'    {_id(source.name)} -.->|"latest recovery point"| {_id(testing.name)}')
        for sel in of_type("aws:backup/restoreTestingSelection:RestoreTestingSelection"):
            if _dep(plan, sel, "restoreTestingPlanName") is testing:
                sp = sel.props
                lines.append(f'    {_id(testing.name)} --> {_id(sel.name)}["restore {sp.get("protectedResourceType")}'
                             f', validate within {int(sp.get("validationWindowHours", 0))} h, then delete"]')
    for note in of_type("aws:backup/vaultNotifications:VaultNotifications"):
        vault, topic = _dep(plan, note, "backupVaultName"), _dep(plan, note, "snsTopicArn")
        if vault is not None and topic is not None:
            events = ", ".join(e.lower().replace("_", " ") for e in note.props.get("backupVaultEvents") or [])
            lines.append(f'    {_id(vault.name)} -.->|"{_label(events)}"| {_id(topic.name)}["{topic.name} (SNS)"]')
    for db in of_type("aws:rds/instance:Instance"):
        days = db.props.get("backupRetentionPeriod")
        if days:
            lines.append(f'    {_id(db.name)}[("{db.name}<br/>RDS automated backups: point-in-time restore, '
                         f'{int(days)} days")]')
    return "\n".join(lines)


# --- CI, approvals and release -------------------------------------------------------------------------------------


def _triggers(workflow: Mapping[Any, Any]) -> list[str]:
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    if isinstance(on, str):
        return [on]
    return [str(k) for k in (on or {})]


def ci_flow(workflows: Iterable[Path]) -> str:
    """Each workflow's triggers and jobs, the order ``needs`` imposes, environments (approvals) and calls."""
    lines = ["flowchart TD"]
    calls: list[str] = []
    for path in sorted(workflows):
        workflow = yaml.safe_load(path.read_text()) or {}
        wid = _id(path.stem)
        lines.append(f'    subgraph {wid}["{_label(path.name)}: {_label(str(workflow.get("name", path.stem)))}"]')
        lines.append(f'        {wid}__on(["on: {_label(", ".join(_triggers(workflow)))}"])')
        for job_id, job in (workflow.get("jobs") or {}).items():
            jid = f"{wid}__{_id(job_id)}"
            text = str(job.get("name", job_id))
            matrix = ((job.get("strategy") or {}).get("matrix") or {})
            stacks = matrix.get("stack") or [i.get("stack") for i in matrix.get("include") or [] if "stack" in i]
            if stacks:
                text = f"{job_id} x {', '.join(map(str, stacks))}"
            env = job.get("environment")
            env_name = env.get("name") if isinstance(env, dict) else env
            if env_name:
                text += f"<br/>environment {env_name}: its required reviewers approve"
            if "with" in job and isinstance(job["with"], dict) and "stack" in job["with"]:
                text += f"<br/>stack {job['with']['stack']}"
            lines.append(f'        {jid}["{_label(text)}"]')
            needs = job.get("needs") or []
            for need in [needs] if isinstance(needs, str) else needs:
                lines.append(f"        {wid}__{_id(need)} --> {jid}")
            if not needs:
                lines.append(f"        {wid}__on --> {jid}")
            uses = job.get("uses")
            if isinstance(uses, str) and uses.startswith("./.github/workflows/"):
                calls.append(f"    {jid} -.->|calls| {_id(Path(uses).stem)}")
        lines.append("    end")
    return "\n".join(lines + calls)


# --- request path through the edge ---------------------------------------------------------------------------------

_LB = "aws:lb/loadBalancer:LoadBalancer"
_LISTENER = "aws:lb/listener:Listener"
_LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
_TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
_BINDING = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
_ASG = "aws:autoscaling/group:Group"


def _deps_of_type(plan: Plan, res: PlannedResource, prop: str, type_: str) -> list[PlannedResource]:
    found = (plan.by_urn(urn) for urn in res.property_dependencies.get(prop) or ())
    return [dep for dep in found if dep is not None and dep.type == type_]


def _conditions(rule: Mapping[str, Any]) -> str:
    parts = []
    for condition in rule.get("conditions") or ():
        for key, label in (("hostHeader", "host"), ("pathPattern", "path"), ("httpHeader", "header")):
            if key in condition:
                parts.append(f"{label} {' '.join(map(str, condition[key].get('values') or ()))}")
    return ", ".join(parts) or "any request"


def request_path(plan: Plan) -> str:
    """How a request reaches a service: DNS name, WAF, load balancer, listener, rule, target group, workload."""
    lines = ["flowchart LR", '    clients(["Clients"])']
    edges: list[str] = []
    redirects: list[tuple[PlannedResource, Mapping[str, Any]]] = []
    for res in plan:
        if res.type == _LB:
            lb = _id(res.name)
            kind = "internal" if res.props.get("internal") else "internet-facing"
            kind += f' {res.props.get("loadBalancerType", "")} load balancer'
            lines.append(f'    {lb}["{_label(res.name)}<br/>{kind}"]')
        elif res.type == "aws:route53/record:Record" and res.property_dependencies.get("aliases"):
            for lb in _deps_of_type(plan, res, "aliases", _LB):
                lines.append(f'    {_id(res.name)}["{_label(str(res.props.get("name")))}<br/>Route 53 alias"]')
                edges += [f"    clients --> {_id(res.name)}", f"    {_id(res.name)} --> {_id(lb.name)}"]
        elif res.type == "aws:wafv2/webAclAssociation:WebAclAssociation":
            for acl in (_dep(plan, res, "webAclArn"),):
                if acl is None:
                    continue
                lines.append(f'    {_id(acl.name)}{{{{"{_label(acl.name)}<br/>WAF web ACL"}}}}')
                edges += [f'    {_id(acl.name)} -. "inspects every request" .-> {_id(lb.name)}'
                          for lb in _deps_of_type(plan, res, "resourceArn", _LB)]
        elif res.type == _LISTENER:
            listener = _id(res.name)
            policy = f"<br/>{res.props['sslPolicy']}" if res.props.get("sslPolicy") else ""
            lines.append(f'    {listener}["{res.props.get("protocol")} :{int(res.props.get("port") or 0)}{policy}"]')
            edges += [f"    {_id(lb.name)} --> {listener}" for lb in _deps_of_type(plan, res, "loadBalancerArn", _LB)]
            for action in res.props.get("defaultActions") or ():
                if action.get("type") == "redirect":
                    redirects.append((res, action.get("redirect") or {}))
                elif action.get("type") == "fixed-response":
                    answer = _id(f"{res.name}-default")
                    lines.append(f'    {answer}["{(action.get("fixedResponse") or {}).get("statusCode")}"]')
                    edges.append(f'    {listener} -. "no rule matches" .-> {answer}')
        elif res.type == _LISTENER_RULE:
            label = f"{_conditions(res.props)} (priority {int(res.props.get('priority') or 0)})"
            for listener in _deps_of_type(plan, res, "listenerArn", _LISTENER):
                edges += [f'    {_id(listener.name)} -->|"{_label(label)}"| {_id(group.name)}'
                          for group in _deps_of_type(plan, res, "actions", _TARGET_GROUP)]
        elif res.type == _TARGET_GROUP:
            lines.append(f'    {_id(res.name)}[("{_label(res.name)}<br/>{res.props.get("protocol")} '
                         f':{int(res.props.get("port") or 0)}, {res.props.get("targetType")} targets")]')
        elif res.type == _BINDING:
            spec = res.props.get("spec") or {}
            service = (spec.get("serviceRef") or {}).get("name")
            namespace = (res.props.get("metadata") or {}).get("namespace", "")
            node = _id(f"svc-{namespace}-{service}")
            lines.append(f'    {node}["Service {namespace}/{service}<br/>pods registered by the LB controller"]')
            edges += [f"    {_id(group.name)} --> {node}" for group in _deps_of_type(plan, res, "spec", _TARGET_GROUP)]
        elif res.type == _ASG and res.property_dependencies.get("targetGroupArns"):
            groups = _deps_of_type(plan, res, "targetGroupArns", _TARGET_GROUP)
            if groups:
                lines.append(f'    {_id(res.name)}["{_label(res.name)}<br/>instances: nginx, then the container"]')
                edges += [f"    {_id(group.name)} --> {_id(res.name)}" for group in groups]
    listeners = [res for res in plan if res.type == _LISTENER]
    for source, target in redirects:
        edges += [f'    {_id(source.name)} -. "{target.get("statusCode")} redirect" .-> {_id(other.name)}'
                  for other in listeners if other.props.get("protocol") == target.get("protocol")
                  and str(int(other.props.get("port") or 0)) == str(target.get("port"))]
    # Sorted: the mock engine's registration order varies between runs, the document must not.
    return "\n".join(lines[:2] + sorted(set(lines[2:])) + sorted(set(edges)))


# --- the document ----------------------------------------------------------------------------------------------


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- diagram:{name}:start -->", f"<!-- diagram:{name}:end -->"


def generators(plan_of: Callable[[str], Plan]) -> dict[str, Callable[[], str]]:
    def plan() -> Plan:
        return plan_of(DIAGRAM_STACK)

    def region() -> str:
        from planning.engine import region_of, runtime_config

        return region_of(runtime_config(DIAGRAM_STACK)[0])

    return {
        "request-path": lambda: request_path(plan()),
        "security-groups": lambda: security_group_paths(plan()),
        "backup-dr": lambda: backup_flow(plan(), region()),
        "ci": lambda: ci_flow(WORKFLOWS.glob("*.yml")),
    }


def render_region(name: str, body: str) -> str:
    start, end = _markers(name)
    return (f"{start}\n<!-- generated by `{COMMAND}` from the {DIAGRAM_STACK} plan and .github/workflows; "
            f"do not edit by hand -->\n```mermaid\n{body}\n```\n{end}")


def render_file(text: str, plan_of: Callable[[str], Plan]) -> str:
    for name, make in generators(plan_of).items():
        start, end = _markers(name)
        text = replace_region(text, start, end, render_region(name, make()), DOC)
    return text


def main(argv: list[str] | None = None) -> int:
    return docgen.main(argv, prog=COMMAND, description=__doc__, doc=DOC, render_file=render_file)


if __name__ == "__main__":
    raise SystemExit(main())
