"""Shared model base and field types for the config tree."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

Tier = Literal["dev", "staging", "prod"]

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


class Model(BaseModel):
    """Strict, immutable, camelCase-keyed: typos are errors, not silently ignored keys."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
    )


def _dns1123(value: str) -> str:
    if len(value) > 63 or not _DNS1123.match(value):
        raise ValueError(f"'{value}' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)")
    return value


def _cidr(value: str) -> str:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid CIDR block ({exc})") from None
    return str(net)


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.match(value):
        raise ValueError(f"'{value}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    return value


DnsName = Annotated[str, AfterValidator(_dns1123)]
Cidr = Annotated[str, AfterValidator(_cidr)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]


def overlaps(a: str, b: str) -> bool:
    return ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b))
