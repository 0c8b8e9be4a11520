"""EC2 for the VM runtime: no public address or key pair, IMDSv2 and encrypted volumes on instances, no admin
ports, least-privilege instance roles, ASGs (with target groups attached directly or by Attachment)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.harness import DEDICATED_VM, eks_plan, plan, review
from tests.policies.support import LB_TAGS, TAGS, UNKNOWN, found, res, stack_config

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
PROFILE = "aws:iam/instanceProfile:InstanceProfile"
ASG = "aws:autoscaling/group:Group"
SCALING = "aws:autoscaling/policy:Policy"
ASG_ATTACHMENT = "aws:autoscaling/attachment:Attachment"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
VM_SERVICE = "agent-platform:services:VmAgentService"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
SERVICE_TAGS = {**TAGS, "component": "services", "service": "api"}
SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"

GOOD_TEMPLATE: dict[str, Any] = {
    "imageId": "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                             "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN, "volumeType": "gp3", "volumeSize": 20}}],
    "networkInterfaces": [{"associatePublicIpAddress": "false", "securityGroups": ["sg-1"]}],
    "tags": SERVICE_TAGS,
}


def template(**changes: Any):
    props = copy.deepcopy(GOOD_TEMPLATE)
    for key, value in changes.items():
        props[key] = value
    return res(LAUNCH_TEMPLATE, "service-api-template", props)


def instance(**props: Any):
    return res(INSTANCE, "bastion", {"ami": "ami-1", "instanceType": "t3.micro", "tags": TAGS, **props})


IMDSV2 = {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
ENCRYPTED_ROOT = {"encrypted": True, "kmsKeyId": KEY_ARN, "volumeType": "gp3", "volumeSize": 20}
FROM_TEMPLATE = {"id": UNKNOWN, "version": UNKNOWN}


# --- existing launch-template policies cover the VM template ------------------------------------------------


@pytest.mark.parametrize("policy", ["launch-template-imdsv2", "launch-template-ebs-encrypted", "ec2-no-public-ip",
                                    "ec2-no-key-pair"])
def test_vm_launch_template_passes_every_launch_template_policy(policy: str):
    assert found(policy, template()) == []


def test_vm_root_mapping_on_xvda_must_be_encrypted():
    mappings = [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false", "volumeType": "gp3"}}]
    assert len(found("launch-template-ebs-encrypted", template(blockDeviceMappings=mappings))) == 1


# --- ec2-no-public-ip ---------------------------------------------------------------------------------------


def test_launch_template_with_public_ip_is_reported():
    interfaces = [{"associatePublicIpAddress": "true", "securityGroups": ["sg-1"]}]
    (violation,) = found("ec2-no-public-ip", template(networkInterfaces=interfaces))
    assert "networkInterfaces[0]" in violation.message and violation.enforcement == "mandatory"


def test_instance_with_public_ip_is_reported_and_private_one_passes():
    assert len(found("ec2-no-public-ip", instance(associatePublicIpAddress=True))) == 1
    assert found("ec2-no-public-ip", instance(associatePublicIpAddress=False)) == []


def test_unknown_public_ip_flag_reports_nothing():
    assert found("ec2-no-public-ip", template(networkInterfaces=[{"associatePublicIpAddress": UNKNOWN}])) == []
    assert found("ec2-no-public-ip", instance(associatePublicIpAddress=UNKNOWN)) == []


# --- ec2-no-key-pair -----------------------------------------------------------------------------------------


def test_key_pair_on_template_or_instance_is_reported():
    assert len(found("ec2-no-key-pair", template(keyName="ops"))) == 1
    assert len(found("ec2-no-key-pair", instance(keyName="ops"))) == 1
    assert found("ec2-no-key-pair", instance()) == []


def test_unknown_key_name_reports_nothing():
    assert found("ec2-no-key-pair", template(keyName=UNKNOWN)) == []


# --- ec2-instance-imdsv2 ---------------------------------------------------------------------------------------


def test_instance_requiring_imdsv2_passes():
    assert found("ec2-instance-imdsv2", instance(metadataOptions=IMDSV2)) == []
    assert found("ec2-instance-imdsv2", instance(metadataOptions={"httpEndpoint": "disabled"})) == []


def test_instance_without_metadata_options_is_reported():
    (violation,) = found("ec2-instance-imdsv2", instance())
    assert "metadataOptions" in violation.message and "IMDSv1" in violation.message
    assert violation.enforcement == "mandatory"


@pytest.mark.parametrize(("options", "prop"), [
    ({}, "httpTokens"),
    ({"httpTokens": "optional"}, "httpTokens"),
    ({"httpTokens": "required", "httpPutResponseHopLimit": 3}, "httpPutResponseHopLimit"),
], ids=["defaults", "optional-tokens", "hop-limit"])
def test_instance_allowing_imdsv1_or_many_hops_is_reported(options: dict[str, Any], prop: str):
    (violation,) = found("ec2-instance-imdsv2", instance(metadataOptions=options))
    assert f"metadataOptions.{prop}" in violation.message


def test_instance_hop_limit_comes_from_config():
    options = {"httpTokens": "required", "httpPutResponseHopLimit": 3}
    config = {"ec2-instance-imdsv2": {"maxHopLimit": 3}}
    assert found("ec2-instance-imdsv2", instance(metadataOptions=options), config=config) == []


def test_instance_from_a_launch_template_may_leave_metadata_options_to_it():
    assert found("ec2-instance-imdsv2", instance(launchTemplate=FROM_TEMPLATE)) == []
    assert found("ec2-instance-imdsv2", instance(launchTemplate=FROM_TEMPLATE, metadataOptions={})) == []


@pytest.mark.parametrize(("options", "prop"), [
    ({"httpTokens": "optional"}, "httpTokens"),
    ({"httpPutResponseHopLimit": 5}, "httpPutResponseHopLimit"),
], ids=["optional-tokens", "hop-limit"])
def test_instance_from_a_launch_template_with_weaker_explicit_options_is_reported(options: dict[str, Any],
                                                                                   prop: str):
    (violation,) = found("ec2-instance-imdsv2", instance(launchTemplate=FROM_TEMPLATE, metadataOptions=options))
    assert f"metadataOptions.{prop}" in violation.message


def test_unknown_instance_metadata_options_report_nothing():
    assert found("ec2-instance-imdsv2", instance(metadataOptions={"httpTokens": UNKNOWN})) == []
    assert found("ec2-instance-imdsv2", instance(metadataOptions=UNKNOWN)) == []
    assert found("ec2-instance-imdsv2", instance(launchTemplate=UNKNOWN)) == []


# --- ec2-instance-ebs-encrypted ---------------------------------------------------------------------------------


def test_instance_with_encrypted_volumes_passes():
    devices = [{"deviceName": "/dev/xvdb", "encrypted": True, "kmsKeyId": KEY_ARN, "volumeSize": 100}]
    assert found("ec2-instance-ebs-encrypted", instance(rootBlockDevice=ENCRYPTED_ROOT, ebsBlockDevices=devices)) == []


def test_instance_without_root_block_device_is_reported():
    (violation,) = found("ec2-instance-ebs-encrypted", instance())
    assert "rootBlockDevice" in violation.message and violation.enforcement == "mandatory"


@pytest.mark.parametrize("root", [{"encrypted": False}, {"volumeType": "gp3"}], ids=["false", "unset"])
def test_instance_with_unencrypted_root_volume_is_reported(root: dict[str, Any]):
    (violation,) = found("ec2-instance-ebs-encrypted", instance(rootBlockDevice=root))
    assert "rootBlockDevice.encrypted" in violation.message


def test_instance_with_an_unencrypted_ebs_volume_is_reported():
    devices = [{"deviceName": "/dev/xvdb", "encrypted": True}, {"deviceName": "/dev/xvdc", "volumeSize": 100}]
    (violation,) = found("ec2-instance-ebs-encrypted",
                         instance(rootBlockDevice=ENCRYPTED_ROOT, ebsBlockDevices=devices))
    assert "ebsBlockDevices[1]" in violation.message and "/dev/xvdc" in violation.message


def test_unencrypted_ebs_volume_is_reported_while_its_device_name_is_unknown():
    devices = [{"deviceName": UNKNOWN, "encrypted": False}]
    (violation,) = found("ec2-instance-ebs-encrypted",
                         instance(rootBlockDevice=ENCRYPTED_ROOT, ebsBlockDevices=devices))
    assert "ebsBlockDevices[0]" in violation.message


def test_instance_from_a_launch_template_may_leave_the_root_volume_to_it():
    assert found("ec2-instance-ebs-encrypted", instance(launchTemplate=FROM_TEMPLATE)) == []


def test_instance_from_a_launch_template_still_encrypts_the_volumes_it_declares():
    devices = [{"deviceName": "/dev/xvdb", "encrypted": False}]
    messages = sorted(v.message for v in found("ec2-instance-ebs-encrypted", instance(
        launchTemplate=FROM_TEMPLATE, rootBlockDevice={"encrypted": False}, ebsBlockDevices=devices)))
    assert len(messages) == 2
    assert messages[0].startswith("ebsBlockDevices[0]") and messages[1].startswith("rootBlockDevice.encrypted")


def test_unknown_instance_encryption_reports_nothing():
    assert found("ec2-instance-ebs-encrypted", instance(rootBlockDevice={"encrypted": UNKNOWN})) == []
    assert found("ec2-instance-ebs-encrypted", instance(rootBlockDevice=UNKNOWN)) == []
    devices = [{"deviceName": UNKNOWN, "encrypted": UNKNOWN}]
    assert found("ec2-instance-ebs-encrypted", instance(rootBlockDevice=ENCRYPTED_ROOT, ebsBlockDevices=devices)) == []


# --- security-group-no-admin-ports ----------------------------------------------------------------------------


def group(name: str = "service-sg", ingress: list[dict[str, Any]] | None = None, tags: dict[str, str] = TAGS):
    props: dict[str, Any] = {"vpcId": "vpc-1", "description": "d", "tags": tags}
    if ingress is not None:
        props["ingress"] = ingress
    return res(SG, name, props)


def ingress(sg, port_from: int, port_to: int, protocol: str = "tcp", **source: Any):
    return res(INGRESS, f"{sg.name}-in-{port_from}", {"ipProtocol": protocol, "fromPort": port_from,
                                                      "toPort": port_to, "tags": TAGS, **source},
               prop_deps={"securityGroupId": [sg]})


def test_rules_away_from_admin_ports_pass():
    sg, lb = group(), group("alb-sg", tags=LB_TAGS)
    rules = [ingress(lb, 443, 443, cidrIpv4="0.0.0.0/0"),
             res(INGRESS, "from-alb", {"ipProtocol": "tcp", "fromPort": 8000, "toPort": 8000, "tags": TAGS},
                 prop_deps={"securityGroupId": [sg], "referencedSecurityGroupId": [lb]})]
    assert found("security-group-no-admin-ports", sg, lb, *rules) == []


@pytest.mark.parametrize(("port_from", "port_to", "protocol", "source"), [
    (22, 22, "tcp", {"cidrIpv4": "10.0.0.0/8"}),
    (3389, 3389, "tcp", {"cidrIpv6": "::/0"}),
    (0, 1024, "tcp", {"cidrIpv4": "10.0.0.0/16"}),
    (-1, -1, "-1", {"cidrIpv4": "192.168.0.0/24"}),
], ids=["ssh-private", "rdp-ipv6", "range", "all-traffic"])
def test_admin_ports_from_any_source_are_reported(port_from: int, port_to: int, protocol: str, source: dict[str, str]):
    sg = group()
    rule = ingress(sg, port_from, port_to, protocol, **source)
    (violation,) = found("security-group-no-admin-ports", sg, rule)
    assert violation.urn == rule.urn and violation.enforcement == "mandatory"


def test_inline_ssh_ingress_is_reported():
    sg = group(ingress=[{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]}])
    (violation,) = found("security-group-no-admin-ports", sg)
    assert "22" in violation.message


def test_unknown_port_reports_nothing():
    sg = group()
    rule = res(INGRESS, "unknown", {"ipProtocol": "tcp", "fromPort": UNKNOWN, "toPort": 22, "tags": TAGS},
               prop_deps={"securityGroupId": [sg]})
    assert found("security-group-no-admin-ports", sg, rule) == []


# --- instance-profile-least-privilege ---------------------------------------------------------------------------


def document(*stmts: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(stmts)})


GOOD_STATEMENTS = [
    {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*",
     "Condition": {"StringEquals": {"cloudwatch:namespace": "AgentPlatform/VM"}}},
    {"Effect": "Allow", "Action": ["ecr:BatchGetImage"], "Resource": ["arn:aws:ecr:us-east-1:1:repository/a"]},
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
]


def instance_role(*stmts: dict[str, Any], managed: tuple[str, ...] = (SSM_CORE,), policy: Any = None,
                  with_profile: bool = True):
    role = res(ROLE, "service-api-role", {"assumeRolePolicy": document(), "tags": SERVICE_TAGS})
    inline = res(ROLE_POLICY, "service-api-role-host",
                 {"role": UNKNOWN, "policy": document(*stmts) if policy is None else policy},
                 prop_deps={"role": [role]})
    attachments = [res(ATTACHMENT, f"service-api-role-{i}", {"role": "service-api-role", "policyArn": arn},
                       prop_deps={"role": [role]}) for i, arn in enumerate(managed)]
    profile = [res(PROFILE, "service-api-profile", {"role": UNKNOWN, "tags": SERVICE_TAGS},
                   prop_deps={"role": [role]})] if with_profile else []
    return [role, inline, *attachments, *profile]


def test_scoped_instance_role_passes():
    assert found("instance-profile-least-privilege", *instance_role(*GOOD_STATEMENTS)) == []


@pytest.mark.parametrize("stmt", [
    {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::bucket/*"]},
    {"Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::bucket/*"]},
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
    {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": ["arn:aws:s3:::bucket"]},
], ids=["service-wildcard", "all-actions", "any-resource", "not-action"])
def test_broad_statement_on_an_instance_role_is_reported(stmt: dict[str, Any]):
    resources = instance_role(*GOOD_STATEMENTS, stmt)
    (violation,) = found("instance-profile-least-privilege", *resources)
    assert violation.urn == resources[1].urn and violation.enforcement == "mandatory"


def test_allowlisted_service_wildcards_pass_on_any_resource():
    stmt = {"Effect": "Allow", "Action": ["ssmmessages:*", "ec2messages:GetMessages"], "Resource": "*"}
    assert found("instance-profile-least-privilege", *instance_role(stmt)) == []


def test_wildcard_allowlist_is_configurable():
    stmt = {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"}
    config = {"instance-profile-least-privilege": {"wildcardResourceActions": ["s3:ListAllMyBuckets"]}}
    assert len(found("instance-profile-least-privilege", *instance_role(stmt))) == 1
    assert found("instance-profile-least-privilege", *instance_role(stmt), config=config) == []


def test_managed_policy_outside_the_allowlist_is_reported():
    resources = instance_role(*GOOD_STATEMENTS, managed=(SSM_CORE, "arn:aws:iam::aws:policy/AmazonS3FullAccess"))
    (violation,) = found("instance-profile-least-privilege", *resources)
    assert "AmazonS3FullAccess" in violation.message and violation.urn == resources[3].urn


def test_customer_managed_policy_in_the_stack_is_checked_by_its_document():
    role, inline, profile = instance_role(*GOOD_STATEMENTS, managed=())
    broad = res(MANAGED_POLICY, "extra", {"policy": document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})})
    attach = res(ATTACHMENT, "extra-attach", {"role": UNKNOWN, "policyArn": UNKNOWN},
                 prop_deps={"role": [role], "policyArn": [broad]})
    (violation,) = found("instance-profile-least-privilege", role, inline, profile, broad, attach)
    assert violation.urn == broad.urn


def test_roles_without_an_instance_profile_are_left_to_other_policies():
    stmt = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
    assert found("instance-profile-least-privilege", *instance_role(stmt, with_profile=False)) == []


def test_unknown_policy_document_reports_nothing():
    assert found("instance-profile-least-privilege", *instance_role(policy=UNKNOWN)) == []


# --- Auto Scaling groups ------------------------------------------------------------------------------------------


def target_group(**health: Any):
    check = {"enabled": True, "protocol": "HTTP", "path": "/ready", "matcher": "200", **health}
    return res(TARGET_GROUP, "service-api-targets", {"port": 8000, "protocol": "HTTP", "healthCheck": check,
                                                     "tags": SERVICE_TAGS})


def asg(tg=None, health_check_type: Any = "ELB", tags: dict[str, str] = SERVICE_TAGS, parent=None, **props: Any):
    inputs = {"minSize": 1, "maxSize": 3, "healthCheckType": health_check_type,
              "targetGroupArns": [UNKNOWN] if tg is not None else [],
              "tags": [{"key": k, "value": v, "propagateAtLaunch": False} for k, v in tags.items()], **props}
    return res(ASG, "service-api-asg", inputs, prop_deps={"targetGroupArns": [tg]} if tg is not None else None,
               parent=parent)


def scaling(group):
    return res(SCALING, "service-api-scaling", {"autoscalingGroupName": UNKNOWN,
                                                "policyType": "TargetTrackingScaling"},
               prop_deps={"autoscalingGroupName": [group]})


def test_asg_behind_a_load_balancer_with_elb_checks_passes():
    tg = target_group()
    assert found("asg-elb-health-check", tg, asg(tg)) == []
    assert found("asg-elb-health-check", asg(health_check_type="EC2")) == []


def test_asg_behind_a_load_balancer_with_ec2_checks_is_reported():
    tg = target_group()
    assert len(found("asg-elb-health-check", tg, asg(tg, health_check_type="EC2"))) == 1
    assert len(found("asg-elb-health-check", tg, asg(tg, health_check_type=None))) == 1


def test_unknown_target_groups_or_check_type_report_nothing():
    tg = target_group()
    assert found("asg-elb-health-check", tg, asg(tg, health_check_type=UNKNOWN)) == []
    assert found("asg-elb-health-check", asg(health_check_type="EC2", targetGroupArns=UNKNOWN)) == []


def test_scaled_service_group_passes():
    group = asg()
    assert found("vm-workload-has-scaling-policy", group, scaling(group)) == []


def test_service_group_matched_by_literal_name_passes():
    group = asg(name="agents-api")
    policy = res(SCALING, "by-name", {"autoscalingGroupName": "agents-api"})
    assert found("vm-workload-has-scaling-policy", group, policy) == []


def test_unscaled_service_group_is_reported_advisory_in_dev_and_mandatory_in_prod():
    group = asg()
    other = res(SCALING, "other", {"autoscalingGroupName": "someone-else"})
    (violation,) = found("vm-workload-has-scaling-policy", group, other)
    assert violation.urn == group.urn
    assert [v.enforcement for v in found("vm-workload-has-scaling-policy", group, config=stack_config("dev"))] == [
        "advisory"]
    assert [v.enforcement for v in found("vm-workload-has-scaling-policy", group, config=stack_config("prod"))] == [
        "mandatory"]


def test_service_groups_are_recognised_by_their_parent_component():
    component = res(VM_SERVICE, "service-api", custom=False)
    group = asg(tags={**TAGS, "component": "batch"}, parent=component)
    assert len(found("vm-workload-has-scaling-policy", component, group)) == 1
    assert found("vm-workload-has-scaling-policy", asg(tags={**TAGS, "component": "batch"})) == []


def test_scaling_policy_with_unknown_group_reports_nothing():
    group = asg()
    unknown = res(SCALING, "unknown", {"autoscalingGroupName": UNKNOWN})
    assert found("vm-workload-has-scaling-policy", group, unknown) == []


def test_api_group_with_readiness_health_check_passes():
    tg = target_group()
    assert found("vm-workload-target-group-health-check", tg, asg(tg)) == []


@pytest.mark.parametrize("health", [{"enabled": False}, {"path": None}, {"protocol": "TCP", "path": None}],
                         ids=["disabled", "no-path", "tcp"])
def test_api_group_without_a_readiness_probe_is_reported(health: dict[str, Any]):
    tg = target_group(**health)
    (violation,) = found("vm-workload-target-group-health-check", tg, asg(tg))
    assert violation.urn == tg.urn


def test_unknown_health_check_reports_nothing():
    tg = res(TARGET_GROUP, "service-api-targets", {"port": 8000, "healthCheck": UNKNOWN, "tags": SERVICE_TAGS})
    assert found("vm-workload-target-group-health-check", tg, asg(tg)) == []


def attachment(group, tg=None, name: str = "service-api-attachment", **props: Any):
    inputs = {"autoscalingGroupName": UNKNOWN, **({"lbTargetGroupArn": UNKNOWN} if tg is not None else {}), **props}
    prop_deps = {"autoscalingGroupName": [group]} if group is not None else {}
    if tg is not None:
        prop_deps["lbTargetGroupArn"] = [tg]
    return res(ASG_ATTACHMENT, name, inputs, prop_deps=prop_deps)


def test_group_attached_to_a_probing_target_group_passes():
    tg, group = target_group(), asg()
    resources = (tg, group, attachment(group, tg))
    assert found("vm-workload-target-group-health-check", *resources) == []
    assert found("asg-elb-health-check", *resources) == []


@pytest.mark.parametrize("health", [{"enabled": False}, {"path": None}], ids=["disabled", "no-path"])
def test_target_group_reached_through_an_attachment_is_checked(health: dict[str, Any]):
    tg, group = target_group(**health), asg()
    (violation,) = found("vm-workload-target-group-health-check", tg, group, attachment(group, tg))
    assert violation.urn == tg.urn and group.name in violation.message


def test_attachment_naming_the_group_literally_is_followed():
    tg, group = target_group(enabled=False), asg(name="agents-api")
    by_name = attachment(None, tg, autoscalingGroupName="agents-api")
    (violation,) = found("vm-workload-target-group-health-check", tg, group, by_name)
    assert violation.urn == tg.urn
    other = attachment(None, tg, autoscalingGroupName="someone-else")
    assert found("vm-workload-target-group-health-check", tg, group, other) == []


def test_target_group_both_listed_and_attached_is_reported_once():
    tg = target_group(enabled=False)
    group = asg(tg)
    assert len(found("vm-workload-target-group-health-check", tg, group, attachment(group, tg))) == 1


def test_attachment_to_a_non_workload_group_is_left_alone():
    tg, group = target_group(enabled=False), asg(health_check_type="EC2", tags={**TAGS, "component": "batch"})
    assert found("vm-workload-target-group-health-check", tg, group, attachment(group, tg)) == []


@pytest.mark.parametrize("lb", ["target-group", "classic-elb"])
def test_group_attached_by_an_attachment_with_ec2_checks_is_reported(lb: str):
    tg, group = target_group(), asg(health_check_type="EC2")
    attach = attachment(group, tg) if lb == "target-group" else attachment(group, elb="legacy-elb")
    (violation,) = found("vm-workload-target-group-health-check", tg, group, attach)
    assert violation.urn == group.urn
    assert "healthCheckType" in violation.message and attach.name in violation.message
    # The resource policy sees no registration on the group itself, so the finding is not duplicated there.
    assert found("asg-elb-health-check", tg, group, attach) == []


def test_group_registered_directly_and_attached_leaves_the_check_type_to_asg_elb_health_check():
    tg = target_group()
    group = asg(tg, health_check_type="EC2")
    resources = (tg, group, attachment(group, tg))
    assert found("vm-workload-target-group-health-check", *resources) == []
    assert len(found("asg-elb-health-check", *resources)) == 1


def test_unknown_attachment_target_or_check_type_reports_nothing():
    tg = target_group(enabled=False)
    group = asg(health_check_type="EC2")
    unknown_group = attachment(None, tg)
    assert found("vm-workload-target-group-health-check", tg, group, unknown_group) == []
    unknown_type = asg(health_check_type=UNKNOWN)
    assert found("vm-workload-target-group-health-check", unknown_type, attachment(unknown_type)) == []
    unknown_arns = asg(health_check_type="EC2", targetGroupArns=UNKNOWN)
    assert found("vm-workload-target-group-health-check", unknown_arns, attachment(unknown_arns)) == []


# --- the real stacks -----------------------------------------------------------------------------------------------


def test_dev_on_the_vm_runtime_has_no_mandatory_violations():
    result = review(plan("dev", {"runtime": "vm"}), stack_config("dev"))
    assert result.resources > 0 and result.mandatory == []


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_eks_stacks_still_have_no_mandatory_violations(stack: str):
    planned = eks_plan(stack)  # staging and prod run on EKS by default: the plan the rest of the suite makes of them
    assert planned.of_type("aws:eks/cluster:Cluster")
    result = review(planned, stack_config(stack))
    assert result.mandatory == []


@pytest.mark.parametrize(("overrides", "name"), [(DEDICATED_VM, "service-api"), ({}, "shared-host")])
def test_vm_instance_roles_are_found_and_checked(overrides, name):
    # The real VM instance roles (each service's, or the shared host's) are behind instance profiles: broadening
    # one is caught.
    dev = plan("dev", overrides)
    host = dev.one(ROLE_POLICY, f"{name}-role-host")
    policy = json.loads(host.props["policy"])
    policy["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    role = dev.one(ROLE, f"{name}-role")
    profile = dev.one(PROFILE, f"{name}-profile")
    broadened = res(ROLE_POLICY, host.name, {"role": UNKNOWN, "policy": json.dumps(policy)},
                    prop_deps={"role": [role]})
    (violation,) = found("instance-profile-least-privilege", role, profile, broadened)
    assert "s3:*" in violation.message


# --- asg-rollback-template-pinned -----------------------------------------------------------------------------

ROLLBACK = {"strategy": "Rolling", "preferences": {"autoRollback": True, "minHealthyPercentage": 100}}


def _rolling_group(tpl, version: Any = UNKNOWN, refresh: dict[str, Any] | None = None):
    return res(ASG, "service-api-asg", {"minSize": 1, "maxSize": 3, "instanceRefresh": refresh or ROLLBACK,
                                        "launchTemplate": {"id": UNKNOWN, "version": version}, "tags": []},
               prop_deps={"launchTemplate": [tpl]})


def test_rollback_group_on_an_ami_id_and_numbered_version_passes():
    tpl = template(imageId="ami-0123456789abcdef0")
    assert found("asg-rollback-template-pinned", tpl, _rolling_group(tpl, version="3")) == []


def test_rollback_group_on_an_ssm_parameter_ami_is_reported():
    tpl = template()  # resolve:ssm:/aws/service/ami-amazon-linux-latest/...
    (violation,) = found("asg-rollback-template-pinned", tpl, _rolling_group(tpl))
    assert "resolve:ssm:" in violation.message and violation.urn.endswith("service-api-asg")


@pytest.mark.parametrize("version", ["$Latest", "$Default"])
def test_rollback_group_on_latest_or_default_version_is_reported(version: str):
    tpl = template(imageId="ami-0123456789abcdef0")
    assert len(found("asg-rollback-template-pinned", tpl, _rolling_group(tpl, version=version))) == 1


def test_ssm_parameter_ami_without_auto_rollback_and_unknown_image_report_nothing():
    tpl = template()
    no_rollback = {"strategy": "Rolling", "preferences": {"autoRollback": False}}
    assert found("asg-rollback-template-pinned", tpl, _rolling_group(tpl, refresh=no_rollback)) == []
    unknown = template(imageId=UNKNOWN)
    assert found("asg-rollback-template-pinned", unknown, _rolling_group(unknown)) == []
