"""The IAM permissions of one agent service: its own secrets, its own S3 prefix, and the keys behind them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from components.core import iam


def service_policy(
    *,
    region: str,
    secret_arns: Sequence[pulumi.Input[str]],
    secrets_key_arn: pulumi.Input[str],
    bucket_arn: pulumi.Input[str],
    prefix: str,
    data_key_arn: pulumi.Input[str],
) -> pulumi.Output[str]:
    """Least privilege for a service: nothing beyond what its config lists.

    KMS use is tied to the calling service (``kms:ViaService``) so the role cannot decrypt arbitrary
    ciphertext with the platform keys; secret decryption is further tied to the service's own secret
    ARNs through the encryption context Secrets Manager sends.
    """
    statements: list[dict[str, Any]] = []
    if secret_arns:
        statements.append(iam.statement(
            ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], list(secret_arns),
            sid="ReadOwnSecrets"))
        statements.append(iam.statement(
            ["kms:Decrypt"], [secrets_key_arn], sid="DecryptOwnSecrets",
            condition={"StringEquals": {
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                "kms:EncryptionContext:SecretARN": list(secret_arns),
            }}))
    statements.append(iam.statement(
        ["s3:ListBucket"], [bucket_arn], sid="ListOwnPrefix",
        condition={"StringLike": {"s3:prefix": [f"{prefix}/", f"{prefix}/*"]}}))
    statements.append(iam.statement(
        ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        [pulumi.Output.concat(bucket_arn, "/", prefix, "/*")], sid="ReadWriteOwnPrefix"))
    statements.append(iam.statement(
        ["kms:GenerateDataKey", "kms:Decrypt"], [data_key_arn], sid="UseDataKeyThroughS3",
        condition={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}))
    return iam.document(*statements)
