"""Launch-template settings every platform EC2 instance shares, so one hardening applies everywhere.

AL2023 from the public SSM parameter, IMDSv2 only with one hop (only the host reaches metadata),
an encrypted gp3 root volume on a CMK, no public address and no key pair (Session Manager is the
access path).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from config.services import instance_architecture

AMI_PARAMETER = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
SSM_CORE_POLICY = "arn:{partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
ROOT_DEVICE = "/dev/xvda"


def hardened_template_args(
    *,
    instance_type: str,
    instance_profile_arn: pulumi.Input[str],
    root_size_gib: int,
    volume_key_arn: pulumi.Input[str],
    security_group_ids: Sequence[pulumi.Input[str]],
) -> dict[str, Any]:
    """Keyword arguments for ``aws.ec2.LaunchTemplate`` carrying the shared hardening."""
    return {
        "image_id": AMI_PARAMETER.format(arch=instance_architecture(instance_type)),
        "instance_type": instance_type,
        "update_default_version": True,
        "iam_instance_profile": {"arn": instance_profile_arn},
        "metadata_options": {"http_endpoint": "enabled", "http_tokens": "required",
                             "http_put_response_hop_limit": 1, "instance_metadata_tags": "disabled"},
        "block_device_mappings": [{"device_name": ROOT_DEVICE, "ebs": {
            "volume_size": root_size_gib, "volume_type": "gp3", "encrypted": "true", "kms_key_id": volume_key_arn,
            "delete_on_termination": "true"}}],
        "network_interfaces": [{"associate_public_ip_address": "false", "delete_on_termination": "true",
                                "security_groups": list(security_group_ids)}],
    }
