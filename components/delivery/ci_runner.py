"""An AWS CodeBuild-hosted GitHub Actions runner in the stack's private subnets.

EKS stacks keep their Kubernetes API private (or open to a few CIDRs), and GitHub-hosted runners have no stable
egress range, so pull-request previews, deploys and drift checks of those stacks run here: CodeBuild starts one
ephemeral build per queued workflow job whose `runs-on` names this project (label
``codebuild-<project>-<run id>-<attempt>``, AWS CodeBuild user guide, "Self-hosted GitHub Actions runners").
The job's own AWS and Pulumi credentials still come from its GitHub OIDC token; the project's service role can only
attach the build to the VPC, write the build's logs and read the GitHub connection, so a job gains nothing from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.core import iam
from components.core.context import StackContext
from components.core.logs import log_group
from config.delivery import CiRunnerConfig, runner_project_name

# Curated CodeBuild image for Linux x86 containers (CodeBuild user guide, "Docker images provided by CodeBuild").
RUNNER_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
# The workflows whose jobs may run here (their `name:`); a job of any other workflow gets no runner.
WORKFLOW_NAMES = ("pull-request", "deploy", "deploy-stack", "drift", "release")


@dataclass(frozen=True)
class CiRunnerArgs:
    """The runner's settings plus the network it runs in (a narrow view, not the Network component)."""

    config: CiRunnerConfig
    context: StackContext
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    logs_key_arn: pulumi.Input[str]
    log_retention_days: int


class CiRunner(pulumi.ComponentResource):
    """One CodeBuild project (webhook on queued workflow jobs), its security group, role and log group."""

    project_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CiRunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:delivery:CiRunner", name, None, opts)
        context, cfg = args.context, args.config
        assert cfg.github_repository and cfg.connection_arn, "validated by config.delivery.delivery_problems"
        tags = context.tags("delivery")
        project_name = runner_project_name(context.stack)
        logs = log_group(f"{name}-logs", f"/aws/codebuild/{project_name}", retention_days=args.log_retention_days,
                         kms_key_arn=args.logs_key_arn, tags=tags, parent=self)
        sg = self._security_group(name, args, tags)
        role = self._role(name, args, logs, tags)
        project = aws.codebuild.Project(
            f"{name}-project",
            # Stable physical name: the workflows address the runner by it (config.delivery.runner_project_name).
            name=project_name,
            description=f"In-VPC GitHub Actions runner for stack {context.stack}",
            service_role=role.arn,
            build_timeout=cfg.timeout_minutes,
            encryption_key=args.logs_key_arn,
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "compute_type": cfg.compute_type, "image": RUNNER_IMAGE,
                         "image_pull_credentials_type": "CODEBUILD", "privileged_mode": False},
            source={"type": "GITHUB", "location": f"https://github.com/{cfg.github_repository}.git",
                    "auth": {"type": "CODECONNECTIONS", "resource": cfg.connection_arn}},
            vpc_config={"vpc_id": args.vpc_id, "subnets": list(args.private_subnet_ids),
                        "security_group_ids": [sg.id]},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": logs.name},
                         "s3_logs": {"status": "DISABLED"}},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._policy]),
        )
        aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=project.name,
            build_type="BUILD",
            filter_groups=[{"filters": [
                {"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"},
                {"type": "WORKFLOW_NAME", "pattern": "^(" + "|".join(WORKFLOW_NAMES) + ")$"},
            ]}],
            opts=pulumi.ResourceOptions(parent=project),
        )
        self.project_name = project.name
        self.security_group_id = sg.id
        self.role_arn = role.arn
        self.register_outputs({"project_name": self.project_name, "security_group_id": self.security_group_id,
                               "role_arn": self.role_arn})

    def _security_group(self, name: str, args: CiRunnerArgs, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        """Nothing in; out only HTTPS (GitHub, Pulumi Cloud, AWS APIs, the Kubernetes API) and DNS."""
        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, description="In-VPC CI runner builds",
                                   tags=tags, opts=pulumi.ResourceOptions(parent=self))
        vpc_cidr = args.vpc_cidr
        for label, cidr, protocol, port, description in (
            ("https", "0.0.0.0/0", "tcp", 443, "GitHub, Pulumi Cloud, AWS APIs and the Kubernetes API"),
            ("dns-udp", vpc_cidr, "udp", 53, "VPC resolver"),
            ("dns-tcp", vpc_cidr, "tcp", 53, "VPC resolver"),
        ):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-{label}", security_group_id=sg.id, cidr_ipv4=cidr, ip_protocol=protocol,
                from_port=port, to_port=port, description=description, tags=tags,
                opts=pulumi.ResourceOptions(parent=sg))
        return sg

    def _role(self, name: str, args: CiRunnerArgs, logs: aws.cloudwatch.LogGroup,
              tags: dict[str, str]) -> aws.iam.Role:
        context, cfg = args.context, args.config
        region, account = context.region, context.account_id
        subnet_arns = [pulumi.Output.concat("arn:", context.partition, ":ec2:", region, ":", account, ":subnet/", s)
                       for s in args.private_subnet_ids]
        policy = iam.document(
            iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"],
                          [logs.arn, pulumi.Output.concat(logs.arn, ":log-stream:*")], sid="WriteOwnLogs"),
            # CodeBuild in a VPC (CodeBuild user guide, "Allow CodeBuild access to AWS services required to create
            # a VPC network interface"): the Describe/Create/Delete calls have no resource-level permissions.
            iam.statement(["ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                           "ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                           "ec2:DescribeVpcs"], "*", sid="AttachToVpc"),
            iam.statement(["ec2:CreateNetworkInterfacePermission"],
                          [pulumi.Output.concat("arn:", context.partition, ":ec2:", region, ":", account,
                                                ":network-interface/*")],
                          sid="AttachToOwnSubnets",
                          condition={"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"},
                                     "ArnEquals": {"ec2:Subnet": subnet_arns}}),
            # The GitHub connection that registers the runner (CodeBuild user guide, "GitHub App connections").
            iam.statement(["codeconnections:GetConnectionToken", "codeconnections:GetConnection"],
                          [cfg.connection_arn], sid="UseGitHubConnection"),
            iam.statement(["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:DescribeKey"], [args.logs_key_arn], sid="EncryptBuildOutput"),
        )
        role = aws.iam.Role(
            f"{name}-role",
            description=f"CodeBuild runner of stack {context.stack}: VPC attachment and its own logs only",
            assume_role_policy=iam.service_trust("codebuild.amazonaws.com", account),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._policy = aws.iam.RolePolicy(f"{name}-role-runner", role=role.id, policy=policy,
                                          opts=pulumi.ResourceOptions(parent=role))
        return role
