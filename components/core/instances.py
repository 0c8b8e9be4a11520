"""Launch-template settings every platform EC2 instance shares, so one hardening applies everywhere.

AL2023 (its AMI ID read from AWS's public SSM parameter at deploy time), IMDSv2 only with one hop (only
the host reaches metadata), an encrypted gp3 root volume on a CMK, no public address and no key pair
(Session Manager is the access path).

Why the AMI ID and not ``resolve:ssm:<parameter>`` in the template: instance refresh cannot roll back to
a launch template that names its AMI through a Systems Manager parameter ("You also cannot roll back to
a launch template that is configured to use an AMI alias from the AWS Systems Manager Parameter Store",
https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-rollback.html; the
RollbackInstanceRefresh API reference lists the same exclusion), and the service groups refresh with
auto rollback. A concrete ID also makes every instance of a template version boot the same image; a new
AL2023 release reaches the groups as a reviewed launch-template change on the next ``pulumi up``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from config.services import instance_architecture

# A public parameter AWS maintains for its AL2023 AMIs, readable from every account with no setup ("a public
# parameter for a public AMI maintained by AWS", EC2 Auto Scaling user guide, Use AWS Systems Manager parameters
# instead of AMI IDs in launch templates); kernel-default names the default kernel, one per architecture
# (x86_64, arm64), as in aws-cdk-lib's AmazonLinux2023Kernel.DEFAULT.
AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
SSM_CORE_POLICY = "arn:{partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
ROOT_DEVICE = "/dev/xvda"


def al2023_ami_id(instance_type: str, parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """The current AL2023 AMI ID for ``instance_type``'s architecture, read when the program runs.

    ``insecure_value``: the parameter is public, and ``value`` is marked secret by the provider, which
    would hide every AMI change in the launch template's diff.
    """
    found = aws.ssm.get_parameter_output(name=AMI_PARAMETER.format(arch=instance_architecture(instance_type)),
                                         opts=pulumi.InvokeOptions(parent=parent))
    return found.insecure_value


def hardened_template_args(
    *,
    instance_type: str,
    instance_profile_arn: pulumi.Input[str],
    root_size_gib: int,
    volume_key_arn: pulumi.Input[str],
    security_group_ids: Sequence[pulumi.Input[str]],
    public_address: bool = False,
    parent: pulumi.Resource | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``aws.ec2.LaunchTemplate`` carrying the shared hardening.

    ``public_address`` is for the NAT instance only (its own traffic and what it translates leave through it);
    every other instance is private and the pack refuses a public address on it (ec2-no-public-ip).
    """
    return {
        "image_id": al2023_ami_id(instance_type, parent),
        "instance_type": instance_type,
        "update_default_version": True,
        "iam_instance_profile": {"arn": instance_profile_arn},
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required",
                             "http_put_response_hop_limit": 1, "instance_metadata_tags": "disabled"},
        "block_device_mappings": [{"device_name": ROOT_DEVICE, "ebs": {
            "volume_size": root_size_gib, "volume_type": "gp3", "encrypted": "true", "kms_key_id": volume_key_arn,
            "delete_on_termination": "true"}}],
        "network_interfaces": [{"associate_public_ip_address": "true" if public_address else "false",
                                "delete_on_termination": "true",
                                "security_groups": list(security_group_ids)}],
    }
