"""The database bootstrap without Kubernetes (``runtime: vm``): a one-shot instance in its own Auto Scaling group.

It runs the same scripts and SQL as the Kubernetes Job (``data_bootstrap``), installed under /scripts, with the
logins fetched into a tmpfs at /creds by an instance role that may read exactly those secrets; with a document
store it installs mongosh from MongoDB's own Amazon Linux 2023 repository and converges the DocumentDB user too.
When the database has converged the instance sets its own group's desired capacity to 0, so nothing keeps running. The
group's name carries the digest of the scripts, their inputs and the boot script: any change creates a new group
(desired 1), which runs the bootstrap again; a failed run keeps its instance up for Session Manager.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from agent_contract.tags import DB_BOOTSTRAP_ROLE

from components.core import iam
from components.core.context import StackContext
from components.core.instances import SSM_CORE_POLICY, hardened_template_args
from components.core.logs import log_group
from components.core.tags import CAPACITY_TAG, RUN_ONCE
from components.core.templates import render as render_template
from components.data.bootstrap_job import (
    CREDENTIALS_DIR,
    NAME,
    TEMPLATES,
    BootstrapInputs,
    credential_statements,
    fetch_environment,
    mongosh_environment,
    psql_environment,
    script_digest,
    script_files,
    static_inputs,
)
from components.data.naming import COMPONENT, MONGODB_PORT, POSTGRES_PORT, physical_name
from config.data import DataTierConfig

DIGEST_TAG = "agent-platform/bootstrap-digest"
LOG_FILE = "/var/log/db-bootstrap.log"
ATTEMPTS = 5  # the first run may wait for IAM propagation and the database's DNS name
RETRY_SECONDS = 60
_HEREDOC = "__AGENT_PLATFORM_DB_BOOTSTRAP__"
# mongosh on Amazon Linux 2023 (x86_64 and aarch64), from MongoDB's repository as its "Install MongoDB Community
# Edition on Amazon Linux" page gives it for 8.0; the package is mongodb-mongosh.
MONGODB_REPO = """[mongodb-org-8.0]
name=MongoDB Repository
baseurl=https://repo.mongodb.org/yum/amazon/2023/mongodb-org/8.0/$basearch/
gpgcheck=1
enabled=1
gpgkey=https://pgp.mongodb.com/server-8.0.asc
"""


@dataclass(frozen=True)
class VmBootstrapNetwork:
    """Where the instance runs and what it may reach: private subnets, the database's subnets, its SG."""

    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    database_cidrs: Sequence[str]
    database_security_group: aws.ec2.SecurityGroup
    volume_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]


def render_body(*, region: str, log_group_name: str, environment: Mapping[str, str], documents: bool = False) -> str:
    """The boot script after its header: install psql, fetch the logins, run the shared scripts, log it all.

    Only references appear here (secret ARNs, host, names): the values are read at run time by the role. With
    ``documents`` it also installs mongosh and converges the DocumentDB user after the database.
    """
    files = "\n".join(f"cat > /scripts/{name} <<'{_HEREDOC}'\n{text}{_HEREDOC}"
                      for name, text in sorted(script_files(documents).items()))
    mongosh = (f"cat > /etc/yum.repos.d/mongodb-org-8.0.repo <<'{_HEREDOC}'\n{MONGODB_REPO}{_HEREDOC}\n"
               'dnf install -y mongodb-mongosh || { echo "db-bootstrap: mongosh install failed" >&2; exit 1; }\n'
               if documents else "")
    exports = "\n".join(f"export {key}={shlex.quote(value)}" for key, value in sorted(environment.items()))
    agent = ('{"agent": {"run_as_user": "cwagent"}, "logs": {"force_flush_interval": 5, "logs_collected": '
             '{"files": {"collect_list": [{"file_path": "' + LOG_FILE + '", "log_group_name": "' + log_group_name
             + '", "log_stream_name": "{instance_id}"}]}}}}')
    return render_template(TEMPLATES, "vm-bootstrap-body.sh", region=region, log_file=LOG_FILE, heredoc=_HEREDOC,
                           agent=agent,
                           credentials_dir=CREDENTIALS_DIR, files=files, exports=exports, mongosh=mongosh,
                           documents=" && sh /scripts/docdb-bootstrap.sh" if documents else "",
                           attempts=str(ATTEMPTS), retry_seconds=str(RETRY_SECONDS))


def render(*, digest: str, group_name: str, body: str) -> str:
    """The full boot script: the digest and group name, then the body the digest was computed over."""
    return render_template(TEMPLATES, "vm-bootstrap.sh", digest=digest, group=shlex.quote(group_name), body=body)


@dataclass(frozen=True)
class VmBootstrap:
    """The VM runtime's DatabaseBootstrap: a one-shot instance in the private subnets (no cluster to run a Job)."""

    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    volume_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]

    def run(self, parent: pulumi.Resource, name: str, config: DataTierConfig, context: StackContext, *,
            inputs: BootstrapInputs, database_security_group: aws.ec2.SecurityGroup) -> pulumi.Resource:
        # Pulumi does not wait for the instance to finish (rotation is not immediate, so nothing needs to):
        # the group existing is what later resources can order on.
        network = VmBootstrapNetwork(
            vpc_id=self.vpc_id, private_subnet_ids=self.private_subnet_ids, database_cidrs=inputs.database_cidrs,
            database_security_group=database_security_group, volume_key_arn=self.volume_key_arn,
            logs_key_arn=self.logs_key_arn)
        return vm_bootstrap(parent, name, config, context, inputs=inputs, network=network)


def vm_bootstrap(parent: pulumi.Resource, name: str, config: DataTierConfig, context: StackContext, *,
                 network: VmBootstrapNetwork, inputs: BootstrapInputs) -> aws.autoscaling.Group:
    cfg, stack = config.bootstrap, context
    tags = context.tags(COMPONENT)
    child = pulumi.ResourceOptions(parent=parent)

    logs = log_group(f"{name}-bootstrap-logs", f"/{stack.project}/{stack.stack}/{NAME}",
                     retention_days=config.log_retention_days, kms_key_arn=network.logs_key_arn, tags=tags,
                     parent=parent)
    sg = _security_group(name, network, tags, f"{stack.name}-{NAME}", parent, inputs)

    static = static_inputs(config, cfg.instance_type, "vm")
    documents = inputs.documents
    rendered = pulumi.Output.all(
        host=inputs.host, log_group=logs.name,
        fetch=pulumi.Output.all(**fetch_environment(config, inputs)),
        secrets=pulumi.Output.all(inputs.master_secret_arn, inputs.app_secret_arn, inputs.app_secret_version,
                                  inputs.monitor_secret_arn, inputs.monitor_secret_version,
                                  *([documents.app_secret_version] if documents else [])),
        mongosh=pulumi.Output.all(**mongosh_environment(config, documents.host)) if documents else {},
    ).apply(lambda v: _rendered(context.region, v, config, static, stack.name))
    digest = rendered.apply(lambda r: r["digest"])
    group_name = rendered.apply(lambda r: r["group"])

    group_arn = pulumi.Output.concat("arn:", context.partition, ":autoscaling:", context.region, ":",
                                     context.account_id, ":autoScalingGroup:*:autoScalingGroupName/", group_name)
    # Tagged as the bootstrap's: the one identity docdb-master-secret-bootstrap-only lets read a master login.
    own_tags = context.tags(COMPONENT, role=DB_BOOTSTRAP_ROLE)
    role = aws.iam.Role(
        f"{name}-bootstrap-instance-role", assume_role_policy=iam.trust_policy({"Service": "ec2.amazonaws.com"}),
        description="One-shot database bootstrap instance", tags=own_tags, opts=child)
    in_role = pulumi.ResourceOptions(parent=role)
    access = aws.iam.RolePolicy(
        f"{name}-bootstrap-instance-policy", role=role.id,
        policy=iam.document(
            *credential_statements(inputs, context.region),
            iam.statement(["autoscaling:SetDesiredCapacity"], [group_arn], sid="ScaleOwnGroupToZero"),
            iam.statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                          [logs.arn, pulumi.Output.concat(logs.arn, ":log-stream:*")], sid="WriteOwnLogs"),
        ),
        opts=in_role)
    ssm = aws.iam.RolePolicyAttachment(
        f"{name}-bootstrap-instance-ssm", role=role.name,
        policy_arn=context.partition.apply(lambda p: SSM_CORE_POLICY.format(partition=p)), opts=in_role)
    profile = aws.iam.InstanceProfile(f"{name}-bootstrap-profile", role=role.name, tags=tags, opts=child)

    instance_tags = {**tags, "Name": f"{stack.name}-{NAME}"}
    template = aws.ec2.LaunchTemplate(
        f"{name}-bootstrap-template",
        description="One-shot database bootstrap",
        **hardened_template_args(instance_type=cfg.instance_type, instance_profile_arn=profile.arn,
                                 root_size_gib=8, volume_key_arn=network.volume_key_arn,
                                 security_group_ids=[sg.id], parent=parent),
        user_data=rendered.apply(lambda r: base64.b64encode(r["user_data"].encode()).decode()),
        tag_specifications=[{"resource_type": kind, "tags": instance_tags} for kind in ("instance", "volume")],
        tags=digest.apply(lambda d: {**tags, DIGEST_TAG: d}),
        opts=child)
    return aws.autoscaling.Group(
        f"{name}-bootstrap-asg",
        # A new digest is a new name: the replacement group starts at desired 1 and runs the bootstrap again.
        name=group_name,
        vpc_zone_identifiers=list(network.private_subnet_ids),
        min_size=0, max_size=1, desired_capacity=1,
        launch_template={"id": template.id, "version": template.latest_version.apply(str)},
        health_check_type="EC2",
        # A new template version for the same digest (AMI) replaces a still-running (failed) instance.
        instance_refresh={"strategy": "Rolling", "preferences": {"min_healthy_percentage": 0}},
        tags=[*({"key": k, "value": v, "propagate_at_launch": True} for k, v in tags.items()),
              {"key": CAPACITY_TAG, "value": RUN_ONCE, "propagate_at_launch": False}],
        # The instance sets the capacity to 0 when done; a refresh must not start it again.
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["desiredCapacity"],
                                    depends_on=[access, ssm, *inputs.after]),
    )


def _rendered(region: str, v: dict[str, Any], config: DataTierConfig, static: list[Any],
              stack_name: str) -> dict[str, str]:
    environment = {**{k: str(x) for k, x in v["fetch"].items()},
                   **{k: str(x) for k, x in psql_environment(config, str(v["host"])).items()},
                   **{k: str(x) for k, x in v["mongosh"].items()}}
    body = render_body(region=region, log_group_name=str(v["log_group"]), environment=environment,
                       documents=bool(v["mongosh"]))
    digest = script_digest([*static, str(v["host"]), *v["secrets"], body])
    group = physical_name(stack_name, f"{NAME}-{digest[:10]}", 255)
    return {"digest": digest, "group": group, "user_data": render(digest=digest, group_name=group, body=body)}


def _security_group(name: str, network: VmBootstrapNetwork, tags: Mapping[str, str], label: str,
                    parent: pulumi.Resource, inputs: BootstrapInputs) -> aws.ec2.SecurityGroup:
    """Nothing in; out only PostgreSQL (and DocumentDB) to the database subnets and HTTPS (packages, AWS APIs,
    the RDS CA).

    DNS needs no rule: security groups do not filter the VPC's Amazon-provided resolver.
    """
    group = aws.ec2.SecurityGroup(
        f"{name}-bootstrap-sg", vpc_id=network.vpc_id,
        description="Database bootstrap instance: PostgreSQL and HTTPS out, nothing in",
        tags={**tags, "Name": label}, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=group)
    for i, cidr in enumerate(network.database_cidrs):
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-bootstrap-to-postgres-{cidr}", security_group_id=group.id, cidr_ipv4=cidr, ip_protocol="tcp",
            from_port=POSTGRES_PORT, to_port=POSTGRES_PORT, description="PostgreSQL (database subnets)",
            tags=dict(tags), opts=pulumi.ResourceOptions(
                parent=group, aliases=[pulumi.Alias(name=f"{name}-bootstrap-to-postgres-{i}")]))
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-bootstrap-to-https", security_group_id=group.id, cidr_ipv4="0.0.0.0/0", ip_protocol="tcp",
        from_port=443, to_port=443, description="AWS APIs, AL2023 packages and the RDS CA bundle",
        tags=dict(tags), opts=opts)
    database = network.database_security_group
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-postgres-from-bootstrap", security_group_id=database.id, referenced_security_group_id=group.id,
        ip_protocol="tcp", from_port=POSTGRES_PORT, to_port=POSTGRES_PORT,
        description="PostgreSQL from the database bootstrap instance", tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=database))
    if inputs.documents is not None:
        for cidr in network.database_cidrs:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-bootstrap-to-docdb-{cidr}", security_group_id=group.id, cidr_ipv4=cidr, ip_protocol="tcp",
                from_port=MONGODB_PORT, to_port=MONGODB_PORT, description="DocumentDB (database subnets)",
                tags=dict(tags), opts=opts)
        documents = inputs.documents.security_group
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-docdb-from-bootstrap", security_group_id=documents.id, referenced_security_group_id=group.id,
            ip_protocol="tcp", from_port=MONGODB_PORT, to_port=MONGODB_PORT,
            description="DocumentDB from the database bootstrap instance", tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=documents))
    return group
