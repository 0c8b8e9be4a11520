"""Values AWS judges that exist only on AWS's side: checked against their published sources.

- SecretsManagerRDSPostgreSQLRotationSingleUser versions per partition, as aws-cdk-lib's
  SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER deploys them (aws/aws-cdk,
  packages/aws-cdk-lib/aws-secretsmanager/lib/secret-rotation.ts): 1.1.671 (aws), 1.1.440 (aws-cn),
  1.1.383 (aws-us-gov). A version of one publisher does not exist in another partition.
- Restore testing: the RestoreMetadataOverrides keys AWS Backup accepts for "Amazon RDS instances"
  (AWS Backup developer guide, "Restore testing inferred metadata"; keys are not case sensitive).
"""

from __future__ import annotations

import pytest

from components.data.secrets import rotation_application
from tests.harness import plan

RDS_INSTANCE_OVERRIDABLE = {
    "allocatedstorage", "availabilityzones", "dbinstanceclass", "dbname", "dbparametergroupname",
    "dbsubnetgroupname", "domain", "domainiamrolename", "enablecloudwatchlogsexports",
    "enableiamdatabaseauthentication", "iops", "licensemodel", "multiaz", "optiongroupname", "port",
    "processorfeatures", "publiclyaccessible", "storagetype", "vpcsecuritygroupids",
}


@pytest.mark.parametrize("region,publisher,version", [
    ("us-east-1", "arn:aws:serverlessrepo:us-east-1:297356227824", "1.1.671"),
    ("eu-west-1", "arn:aws:serverlessrepo:us-east-1:297356227824", "1.1.671"),
    ("cn-north-1", "arn:aws-cn:serverlessrepo:cn-north-1:193023089310", "1.1.440"),
    ("us-gov-west-1", "arn:aws-us-gov:serverlessrepo:us-gov-west-1:023102451235", "1.1.383"),
])
def test_the_rotation_application_version_is_one_its_partition_publishes(region, publisher, version):
    application, semantic_version = rotation_application(region)
    assert application == f"{publisher}:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"
    assert semantic_version == version


def test_the_stack_deploys_the_published_version_unless_config_pins_another():
    app = plan("prod").one("aws:serverlessrepository/cloudFormationStack:CloudFormationStack",
                           "data-rotation-function")
    assert app.props["semanticVersion"] == "1.1.671"
    pinned = plan("prod", {"dataTier.secrets.rotationApplicationVersion": "1.1.607"})
    assert pinned.one("aws:serverlessrepository/cloudFormationStack:CloudFormationStack",
                      "data-rotation-function").props["semanticVersion"] == "1.1.607"


@pytest.mark.parametrize("stack", ["staging", "prod"])  # dev runs no restore tests
def test_restore_test_overrides_are_keys_aws_backup_accepts_for_rds_instances(stack):
    selection = plan(stack).one("aws:backup/restoreTestingSelection:RestoreTestingSelection",
                                "backup-restore-tests-database")
    overrides = selection.props["restoreMetadataOverrides"]
    assert {k.lower() for k in overrides} <= RDS_INSTANCE_OVERRIDABLE
    # What the isolation relies on is among them: private, single-AZ, in the sealed subnets and group.
    assert (overrides["publiclyAccessible"], overrides["multiAZ"]) == ("false", "false")
    assert {"dbsubnetgroupname", "vpcsecuritygroupids"} <= {k.lower() for k in overrides}
