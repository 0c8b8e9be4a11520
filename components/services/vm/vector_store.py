"""A dedicated vector store (Qdrant or Weaviate) on the VM runtime: one hardened instance with a separate data volume.

How the data survives instance replacement: the data lives on a standalone encrypted gp3 EBS volume and the
store's address on a standalone network interface, both created here (not by the launch template), so neither
is deleted with an instance. An Auto Scaling group of exactly one instance, pinned to the volume's subnet (EBS
volumes are zonal), replaces a failed or refreshed instance; the new instance attaches the same volume and
interface at boot (its role may attach only resources tagged for this stack's store). The services keep one
address (the interface's private IP) across replacements, and AWS Backup snapshots the volume by its tags.

Hardening as for every platform instance (core/instances.py): AL2023, IMDSv2 with one hop, encrypted root volume,
no public address, no key pair (Session Manager only). The container runs read-only, as an unprivileged user,
without capabilities; its API key is read from Secrets Manager into /run at each start.
"""

from __future__ import annotations

import base64
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
from agent_contract.schedules import daily_times, max_gap_minutes, runs_per_day
from agent_contract.tags import (
    SNAPSHOT_GIB_ANNOTATION,
    SNAPSHOT_MAX_GAP_TAG,
    SNAPSHOT_NONCURRENT_ANNOTATION,
    SNAPSHOT_RECENT_RETENTION_ANNOTATION,
    SNAPSHOT_RETENTION_ANNOTATION,
    SNAPSHOT_RUNS_PER_DAY_TAG,
)

from components.core import iam
from components.core.context import StackContext
from components.core.instances import SSM_CORE_POLICY, hardened_template_args
from components.core.namespace import RUN_AS
from components.core.registry import deployed_reference
from components.core.templates import render
from components.data.vector import VectorStoreRefs, snapshot_script
from components.services.contract import VectorStorePeer
from config.image_pins import VM_VECTOR_STORE_IMAGES

COMPONENT = "vector-store"
TEMPLATES = Path(__file__).parent / "templates"
ROOT_SIZE_GIB = 20
DATA_DEVICE = "/dev/sdf"
# Where each image keeps its data, and the environment that turns on its authentication (values as documented by
# Qdrant: QDRANT__SERVICE__API_KEY / QDRANT__STORAGE__*; by Weaviate: AUTHENTICATION_*, backup-s3 BACKUP_S3_*).
DATA_PATHS = {"qdrant": "/qdrant/data", "weaviate": "/var/lib/weaviate"}
API_KEY_ENV = {"qdrant": "QDRANT__SERVICE__API_KEY", "weaviate": "AUTHENTICATION_APIKEY_ALLOWED_KEYS"}


@dataclass(frozen=True)
class VmVectorStoreArgs:
    store: VectorStoreRefs
    context: StackContext
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    # The store's subnet: the first private subnet (its zone is the volume's zone).
    subnet_id: pulumi.Input[str]
    volume_key_arn: pulumi.Input[str]
    # The agent services' instances carry this group: the store admits it on its ports.
    workload_security_group_id: pulumi.Input[str]


def store_environment(store: VectorStoreRefs, region: str, bucket: str) -> dict[str, str]:
    """The container's settings besides its API key (which arrives through an env file in /run)."""
    if store.kind == "qdrant":
        return {"QDRANT__STORAGE__STORAGE_PATH": f"{DATA_PATHS['qdrant']}/storage",
                "QDRANT__STORAGE__SNAPSHOTS_PATH": f"{DATA_PATHS['qdrant']}/snapshots",
                "QDRANT_INIT_FILE_PATH": "/tmp/.qdrant-initialized", "QDRANT__TELEMETRY_DISABLED": "true"}
    return {"AUTHENTICATION_APIKEY_ENABLED": "true", "AUTHENTICATION_APIKEY_USERS": "agent-platform",
            "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false", "PERSISTENCE_DATA_PATH": DATA_PATHS["weaviate"],
            "DEFAULT_VECTORIZER_MODULE": "none", "ENABLE_MODULES": "backup-s3", "CLUSTER_HOSTNAME": "node1",
            "DISABLE_TELEMETRY": "true", "AWS_REGION": region,
            "BACKUP_S3_BUCKET": bucket, "BACKUP_S3_PATH": store.snapshot_prefix.rstrip("/")}


def on_calendar(schedule: str) -> str:
    """A five-field cron schedule that runs every day (config-validated on this runtime) as a systemd OnCalendar
    time: its hours and minutes as explicit comma-separated lists, which systemd.time(7) calendar events accept in
    each field ('*-*-* 00,12:00,30:00 UTC' runs at 00:00, 00:30, 12:00 and 12:30)."""
    times = daily_times(schedule)
    if times is None:
        raise ValueError(f"snapshot schedule '{schedule}' does not run every day")
    hours, minutes = times
    return f"*-*-* {','.join(f'{h:02d}' for h in hours)}:{','.join(f'{m:02d}' for m in minutes)}:00 UTC"


def render_user_data(store: VectorStoreRefs, *, image: str, region: str, volume_id: str, eni_id: str,
                     api_key_secret_arn: str, bucket: str, kms_key_arn: str) -> str:
    """The instance's boot script (plain values: rendered inside an apply, no resource created there). ``image`` is
    the store's image by digest (``store_image``), pulled and run as such."""
    settings = store_environment(store, region, bucket)
    snapshot_env = {"API_KEY_FILE": "/run/vector-store/api-key", "HOME": "/root", "AWS_REGION": region}
    if store.kind == "qdrant":
        snapshot_env |= {"HOSTS": "localhost", "PORT": str(store.port), "BUCKET": bucket,
                         "PREFIX": store.snapshot_prefix, "KMS_KEY_ARN": kms_key_arn}
    else:
        snapshot_env |= {"STORE_URL": f"http://localhost:{store.port}", "TIMEOUT_SECONDS": str(3 * 3600)}
    return render(
        TEMPLATES, "vector-store.sh", kind=store.kind, region=region, volume_id=volume_id, eni_id=eni_id,
        volume_serial=volume_id.replace("-", ""), run_as=str(RUN_AS), api_key_secret_arn=api_key_secret_arn,
        api_key_env=API_KEY_ENV[store.kind], image=image, memory_limit=store.sizing.memory_limit.lower()[:-1],
        store_env=" ".join(f"-e {shlex.quote(f'{k}={v}')}" for k, v in sorted(settings.items())),
        data_path=DATA_PATHS[store.kind], snapshot_script=snapshot_script(store.kind).rstrip("\n"),
        snapshot_env=" ".join(shlex.quote(f"{k}={v}") for k, v in sorted(snapshot_env.items())),
        on_calendar=on_calendar(store.sizing.snapshot_schedule))


def snapshot_tags(store: VectorStoreRefs) -> dict[str, str]:
    """What one snapshot writes to S3 at most (the whole volume), how often the timer runs and how long S3 keeps each
    retention class, then its noncurrent version: the cost estimate prices them, the RPO policy reads the gap."""
    sizing = store.sizing
    return {SNAPSHOT_GIB_ANNOTATION: str(sizing.volume_size_gib),
            SNAPSHOT_RETENTION_ANNOTATION: str(sizing.snapshot_retention_days),
            SNAPSHOT_RECENT_RETENTION_ANNOTATION: str(sizing.recent_snapshot_retention_days),
            SNAPSHOT_NONCURRENT_ANNOTATION: str(store.noncurrent_days),
            SNAPSHOT_RUNS_PER_DAY_TAG: str(runs_per_day(sizing.snapshot_schedule)),
            SNAPSHOT_MAX_GAP_TAG: str(max_gap_minutes(sizing.snapshot_schedule))}


def store_image(kind: str) -> str:
    """The store's image by digest: Qdrant's recorded one, Weaviate's as its registry serves the tag when the program
    runs (config/image_pins.py VM_VECTOR_STORE_IMAGES). Resolved here, outside any apply."""
    return deployed_reference(VM_VECTOR_STORE_IMAGES[kind])


class VmVectorStore(pulumi.ComponentResource):
    """Qdrant or Weaviate on one instance; its data volume and address survive replacement."""

    host: pulumi.Output[str]
    peer: VectorStorePeer

    def __init__(self, name: str, args: VmVectorStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agent-platform:data:VmVectorStore", name, None, opts)
        store, context = args.store, args.context
        self._name, self._args = name, args
        tags = context.tags(COMPONENT)
        subnet = aws.ec2.get_subnet_output(id=args.subnet_id, opts=pulumi.InvokeOptions(parent=self))
        sg = self._security_group(tags)
        volume = aws.ebs.Volume(
            f"{name}-data",
            availability_zone=subnet.availability_zone,
            size=store.sizing.volume_size_gib,
            type="gp3",
            encrypted=True,
            kms_key_id=args.volume_key_arn,
            # Selected by the stack's AWS Backup plan (backup-plan=default, project, stack).
            tags=context.tags(COMPONENT, backup_plan="default", Name=f"{context.name}-{store.kind}-data",
                              **snapshot_tags(store)),
            final_snapshot=context.protect,
            opts=pulumi.ResourceOptions(parent=self, protect=context.protect))
        interface = aws.ec2.NetworkInterface(
            f"{name}-address", subnet_id=args.subnet_id, security_groups=[sg.id],
            description=f"{store.kind} vector store (kept across instance replacement)",
            tags=context.tags(COMPONENT, Name=f"{context.name}-{store.kind}"),
            opts=pulumi.ResourceOptions(parent=self))
        role = self._role(tags, volume, interface)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=tags,
                                          opts=pulumi.ResourceOptions(parent=role))
        image = store_image(store.kind)
        user_data = pulumi.Output.all(volume.id, interface.id, store.api_key_secret_arn, store.bucket_name,
                                      store.data_kms_key_arn).apply(
            lambda v: base64.b64encode(render_user_data(
                store, image=image, region=context.region, volume_id=v[0], eni_id=v[1], api_key_secret_arn=v[2],
                bucket=v[3], kms_key_arn=v[4]).encode()).decode())
        instance_tags = {**tags, "Name": f"{context.name}-{store.kind}"}
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description=f"{store.kind} vector store",
            **hardened_template_args(instance_type=store.sizing.instance_type, instance_profile_arn=profile.arn,
                                     root_size_gib=ROOT_SIZE_GIB, volume_key_arn=args.volume_key_arn,
                                     security_group_ids=[sg.id], parent=self),
            user_data=user_data,
            tag_specifications=[{"resource_type": kind, "tags": instance_tags} for kind in ("instance", "volume")],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self))
        aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=[args.subnet_id],
            min_size=1, desired_capacity=1, max_size=1,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            health_check_type="EC2",
            health_check_grace_period=300,
            # One instance owns the volume at a time: replace by terminating first (no overlap).
            instance_refresh={"strategy": "Rolling", "preferences": {
                "min_healthy_percentage": 0, "max_healthy_percentage": 100}},
            tags=[{"key": k, "value": v, "propagate_at_launch": False} for k, v in tags.items()],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[volume, interface]))

        self.host = interface.private_ip
        self.security_group_id = sg.id
        self.peer = VectorStorePeer(cidrs=(), security_group_id=sg.id)
        self.register_outputs({"host": self.host})

    def _security_group(self, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        """In: the agent services' instances on the store's ports. Out: HTTPS (S3, Secrets Manager, SSM, the image
        registry) and the VPC resolver."""
        args, name, store = self._args, self._name, self._args.store
        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id,
                                   description=f"{store.kind} vector store: the agent services only",
                                   tags=tags, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=sg)
        for label, port in (("rest", store.port), ("grpc", store.grpc_port)):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-workloads-{label}", security_group_id=sg.id,
                referenced_security_group_id=args.workload_security_group_id, ip_protocol="tcp", from_port=port,
                to_port=port, description=f"{store.kind} {label} from the agent services", tags=tags, opts=child)
        for label, cidr, protocol, port, description in (
                ("https", "0.0.0.0/0", "tcp", 443, "AWS APIs (S3, Secrets Manager, SSM) and the image registry"),
                ("dns-udp", args.vpc_cidr, "udp", 53, "VPC resolver"),
                ("dns-tcp", args.vpc_cidr, "tcp", 53, "VPC resolver")):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-{label}", security_group_id=sg.id, cidr_ipv4=cidr, ip_protocol=protocol, from_port=port,
                to_port=port, description=description, tags=tags, opts=child)
        return sg

    def _role(self, tags: dict[str, str], volume: aws.ebs.Volume,
              interface: aws.ec2.NetworkInterface) -> aws.iam.Role:
        store, context = self._args.store, self._args.context
        instances = pulumi.Output.concat("arn:", context.partition, ":ec2:", context.region, ":",
                                         context.account_id, ":instance/*")
        prefix = store.snapshot_prefix
        policy = iam.document(
            # Attach only this store's volume and interface, and only to this stack's store instances (tagged by the
            # launch template): both are named, and the instance must carry the store's component and stack tags.
            iam.statement(["ec2:AttachVolume", "ec2:AttachNetworkInterface"],
                          [volume.arn, pulumi.Output.concat("arn:", context.partition, ":ec2:", context.region, ":",
                                                            context.account_id, ":network-interface/", interface.id),
                           instances], sid="AttachOwnVolumeAndAddress",
                          condition={"StringEquals": {"aws:ResourceTag/component": COMPONENT,
                                                      "aws:ResourceTag/stack": context.stack}}),
            iam.statement(["secretsmanager:GetSecretValue"], [store.api_key_secret_arn], sid="ReadApiKey"),
            iam.statement(["kms:Decrypt"], [store.secrets_kms_key_arn], sid="DecryptApiKeyThroughSecretsManager",
                          condition={"StringEquals": {
                              "kms:ViaService": f"secretsmanager.{context.region}.amazonaws.com"}}),
            iam.statement(["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                          [pulumi.Output.concat(store.bucket_arn, "/", prefix, "*")], sid="WriteSnapshots"),
            iam.statement(["s3:ListBucket"], [store.bucket_arn], sid="ListSnapshotPrefix",
                          condition={"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}}),
            iam.statement(["kms:GenerateDataKey", "kms:Decrypt"], [store.data_kms_key_arn], sid="EncryptThroughS3",
                          condition={"StringEquals": {"kms:ViaService": f"s3.{context.region}.amazonaws.com"}}),
        )
        role = aws.iam.Role(f"{self._name}-role", assume_role_policy=iam.trust_policy({"Service": "ec2.amazonaws.com"}),
                            description=f"{store.kind} vector store instance", tags=tags,
                            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=role)
        aws.iam.RolePolicy(f"{self._name}-role-store", role=role.id, policy=policy, opts=child)
        aws.iam.RolePolicyAttachment(
            f"{self._name}-role-ssm", role=role.name,
            policy_arn=context.partition.apply(lambda p: SSM_CORE_POLICY.format(partition=p)), opts=child)
        return role
