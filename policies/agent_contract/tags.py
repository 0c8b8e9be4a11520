"""Tag and annotation keys the program writes and the pack (or the cost estimate) reads."""

from __future__ import annotations

# AWS Backup selections pick resources by this tag (its value is the plan's name).
BACKUP_PLAN_TAG = "backup-plan"
# What a bucket or load balancer is for (``logs``, ``data``, ...): the logging and backup policies read it.
ROLE_TAG = "agent-platform/role"
# The role of the NAT instance's launch template, interface, security group and group (network.egress:
# natInstance): the one launch template allowed a public address, the one interface with its source/destination
# check off, each under the nat-instance-* policies instead.
NAT_INSTANCE_ROLE = "nat-instance"
# Declared on Auto Scaling groups for the cost estimate, which cannot see either from the plan otherwise:
# a group that runs once per change and scales itself to 0, and the custom metrics its instances publish.
CAPACITY_TAG = "agent-platform/capacity"
RUN_ONCE = "run-once"
CUSTOM_METRICS_TAG = "agent-platform/custom-metrics"

# Every secret says what it holds, so the rotation policy knows which ones AWS can rotate.
SECRET_KIND_TAG = "agent-platform/secret-kind"
DATABASE_CREDENTIALS = "database-credentials"
CACHE_CREDENTIALS = "cache-credentials"
API_KEY = "api-key"
SIGNING_KEY = "signing-key"
ENCRYPTION_KEY = "encryption-key"
# Kinds an AWS-provided rotation function can rotate (the RDS engines' single-user rotation).
ROTATABLE_SECRET_KINDS = (DATABASE_CREDENTIALS,)

# Pod annotation that records a reviewed need to reach the Kubernetes API (the token mount policy reads it).
KUBERNETES_API_ANNOTATION = "agent-platform/kubernetes-api-access"
