"""Shared model base and field types for the config tree."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
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
        # Infinity and NaN are JSON-ish but never a size, a budget or a threshold.
        allow_inf_nan=False,
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_block_defaults(cls, data: Any) -> Any:
        """Setting one key of a block keeps the block's other defaults.

        A nested block whose model has required keys (``edge.proxy.rateLimit``) gets its defaults from the
        parent's default value; a stack setting only ``burst`` must not lose ``requests``. Blocks whose keys
        all have defaults need nothing: pydantic fills them.
        """
        if not isinstance(data, dict):
            return data
        out = None
        for name, (alias, base, inner) in _block_defaults(cls).items():
            key = alias if alias in data else name if name in data else None
            given = data.get(key) if key else None
            if not isinstance(given, dict):
                continue
            merged = copy.deepcopy(base)
            for field_name, field in inner.model_fields.items():
                if field_name in given and field.alias != field_name:
                    merged.pop(field.alias or field_name, None)  # the key was written by its field name
            out = dict(data) if out is None else out
            out[key] = {**merged, **given}
        return data if out is None else out


_BLOCK_DEFAULTS: dict[type[BaseModel], dict[str, tuple[str, dict[str, Any], type[BaseModel]]]] = {}


def _block_defaults(model: type[BaseModel]) -> dict[str, tuple[str, dict[str, Any], type[BaseModel]]]:
    """Fields of ``model`` whose default is a block with required keys: (alias, default as a dict, block model)."""
    found = _BLOCK_DEFAULTS.get(model)
    if found is None:
        found = {}
        for name, field in model.model_fields.items():
            if field.is_required():
                continue
            default = field.get_default(call_default_factory=True)
            if isinstance(default, BaseModel) and any(f.is_required() for f in type(default).model_fields.values()):
                found[name] = (field.alias or name, default.model_dump(by_alias=True), type(default))
        _BLOCK_DEFAULTS[model] = found
    return found


def matching(regex: str, what: str, example: str) -> Callable[[str], str]:
    """A validator that refuses a string not matching ``regex`` in words: what it is not, and an example."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"'{value}' is not {what} (e.g. {example})")
        return value

    check.allowed = what  # type: ignore[attr-defined]  # read by the config reference generator
    return check


def Matching(regex: str, what: str, example: str) -> Any:  # noqa: N802 - reads as a type
    """``Annotated[str, ...]`` for a string shape; the message says what is expected, never the regex."""
    return Annotated[str, AfterValidator(matching(regex, what, example))]


def unique(values: list[Any], what: str) -> list[Any]:
    """Refuse duplicates, naming them (lists of roles, CIDRs, services)."""
    seen, dupes = set(), []
    for value in values:
        key = json.dumps(value, sort_keys=True, default=str)
        if key in seen and value not in dupes:
            dupes.append(value)
        seen.add(key)
    if dupes:
        raise ValueError(f"lists {', '.join(map(str, dupes))} more than once; each {what} may be listed only once")
    return values


# Kubernetes label syntax (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set):
# an optional DNS-subdomain prefix and '/', then a name of at most 63 alphanumerics, '-', '_' or '.', starting and
# ending alphanumeric; values follow the name rule and may be empty.
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if (slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.match(prefix))) or not _LABEL_NAME.match(name):
        return (f"'{key}' is not a Kubernetes label key (an optional DNS prefix and '/', then up to 63 letters, "
                "digits, '-', '_' or '.', starting and ending with a letter or digit; e.g. workload-type or "
                "example.com/team)")
    return None


def label_value_problem(value: str) -> str | None:
    if value and not _LABEL_NAME.match(value):
        return (f"'{value}' is not a Kubernetes label value (empty, or up to 63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit; e.g. general)")
    return None


def _label_key(value: str) -> str:
    problem = label_key_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _label_value(value: str) -> str:
    problem = label_value_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _dns1123(value: str) -> str:
    if len(value) > 63 or not _DNS1123.match(value):
        raise ValueError(f"'{value}' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63, "
                         "starting and ending with a letter or digit; e.g. general)")
    return value


def _cidr(value: str) -> str:
    try:
        if "/" not in value:
            raise ValueError("no prefix length")
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"'{value}' is not a valid CIDR block ({exc}; e.g. 10.0.0.0/16)") from None
    return str(net)


def _role_arn(value: str) -> str:
    if not _ROLE_ARN.match(value):
        raise ValueError(f"'{value}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>, e.g. "
                         "arn:aws:iam::111122223333:role/PlatformAdmin)")
    return value


def _region(value: str) -> str:
    from config.catalog import region_problem

    problem = region_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def log_retention(value: int) -> int:
    """CloudWatch Logs takes only some retentions; shared by every log group setting."""
    from config.catalog import LOG_RETENTION_DAYS

    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"{value} is not a CloudWatch Logs retention; use one of "
                         f"{', '.join(map(str, LOG_RETENTION_DAYS))} (e.g. 30)")
    return value


# What each shared type allows, in the words of the generated config reference (docs/config-reference.md).
_dns1123.allowed = "a DNS-1123 label: lowercase letters, digits and '-', at most 63"  # type: ignore[attr-defined]
log_retention.allowed = "a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, " \
                        "731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653"  # type: ignore[attr-defined]
_region.allowed = "an AWS region (pulumi-aws's Region list)"  # type: ignore[attr-defined]
_label_key.allowed = "a Kubernetes label key"  # type: ignore[attr-defined]
_label_value.allowed = "a Kubernetes label value (may be empty)"  # type: ignore[attr-defined]
_cidr.allowed = "an IPv4 or IPv6 CIDR block"  # type: ignore[attr-defined]
_role_arn.allowed = "an IAM role ARN"  # type: ignore[attr-defined]

DnsName = Annotated[str, AfterValidator(_dns1123)]
LogRetentionDays = Annotated[int, AfterValidator(log_retention)]
Region = Annotated[str, AfterValidator(_region)]
LabelKey = Annotated[str, AfterValidator(_label_key)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
Cidr = Annotated[str, AfterValidator(_cidr)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]


def overlaps(a: str, b: str) -> bool:
    return ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b))
