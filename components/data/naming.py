"""Names and tags shared by the data tier's modules."""

from __future__ import annotations

import hashlib
import re

# Every secret says what it holds (the rotation policy reads the tag): defined once in the contract.
from agent_contract.tags import API_KEY as API_KEY
from agent_contract.tags import CACHE_CREDENTIALS as CACHE_CREDENTIALS
from agent_contract.tags import DATABASE_CREDENTIALS as DATABASE_CREDENTIALS
from agent_contract.tags import ENCRYPTION_KEY as ENCRYPTION_KEY
from agent_contract.tags import SECRET_KIND_TAG as SECRET_KIND_TAG
from agent_contract.tags import SIGNING_KEY as SIGNING_KEY

COMPONENT = "data"
POSTGRES_PORT = 5432
REDIS_PORT = 6379
MONGODB_PORT = 27017


def physical_name(prefix: str, suffix: str, limit: int) -> str:
    """A stable AWS name for services that need one up front (log group paths depend on it).

    Letters, digits and single hyphens, starting with a letter; names over ``limit`` keep a hash of
    the full name so two long stacks never collide.
    """
    name = re.sub(r"-+", "-", f"{prefix}-{suffix}".lower()).strip("-")
    if not name[0].isalpha():
        name = f"x{name}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    head = name[: limit - len(suffix) - len(digest) - 2].rstrip("-")
    return f"{head}-{digest}-{suffix}"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
