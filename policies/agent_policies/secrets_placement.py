"""Secrets in places that are not secret stores: user data, URLs, Helm values.

Instance user data is readable by anyone with ec2:DescribeInstanceAttribute and from inside the instance through
IMDS; Helm values are stored in plain text in the release Secret and in the Pulumi state; a password inside a
connection URL ends up in logs and process lists. Secrets belong in Secrets Manager, read at run time.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, Severity

from ._common import (
    ANY_TYPE,
    Report,
    Settings,
    checkov,
    cis_eks,
    dotted,
    get,
    known_plain,
    resource_policy,
    soc2,
    walk,
)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
USER_DATA_FIELDS = {
    "aws:ec2/launchTemplate:LaunchTemplate": ("userData", True),
    "aws:ec2/instance:Instance": ("userData", False),
    "aws:ec2/launchConfiguration:LaunchConfiguration": ("userData", False),
    "aws:ec2/spotInstanceRequest:SpotInstanceRequest": ("userData", False),
}
USER_DATA_BASE64_FIELD = "userDataBase64"

# Names that hold secrets when assigned a literal (KEY=value, KEY: value, --key value).
_SECRET_NAME = (r"[A-Za-z0-9_.-]*(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY"
                r"|CREDENTIALS?)")
_ASSIGNMENT = re.compile(rf"(?im)^\s*(?:export\s+)?(?P<name>{_SECRET_NAME})\s*[=:]\s*(?P<value>[^\s#;]+)")
# Well-known credential formats: AWS access key ids, PEM private keys, GitHub, Slack, OpenAI/Anthropic style keys.
_CREDENTIAL_FORMATS = {
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "a Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "an API key (sk-...)": re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\b"),
}
# scheme://user:password@host, where the password is a literal (not $VAR, ${...}, {{ }} or a mask).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<user>[^\s/:@'\"]+):(?P<password>[^\s/@'\"]+)@")
_PLACEHOLDER = re.compile(r"^(?:\$|\{\{|%|<|\*+$|\[secret\]$|x+$|changeme$|\.\.\.$)", re.IGNORECASE)
# Values that name where a secret is, not the secret itself.
_REFERENCE = re.compile(r"^(?:/|arn:|file:|secretsmanager:|ssm:|\$|`|\"?\$|\{\{|none$|null$|true$|false$|"
                        r"[a-z0-9-]+/[a-z0-9-]+$)", re.IGNORECASE)


def _literal(value: str) -> bool:
    value = value.strip().strip("'\"")
    return len(value) >= 4 and not _REFERENCE.match(value) and not _PLACEHOLDER.match(value)


def _decode(raw: str, encoded: bool) -> str:
    if not encoded:
        return raw
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except OSError:
            return ""
    return data.decode("utf-8", errors="replace")


def url_credentials(text: str) -> list[str]:
    """``scheme://user@host`` renderings of URLs in ``text`` that carry a literal password."""
    return [f"{m['scheme']}://{m['user']}:***@" for m in _URL_CREDENTIALS.finditer(text)
            if not _PLACEHOLDER.match(m["password"])]


def secret_findings(text: str) -> list[str]:
    findings = [f"{m['name']}=<literal>" for m in _ASSIGNMENT.finditer(text) if _literal(m["value"])]
    findings += [label for label, pattern in _CREDENTIAL_FORMATS.items() if pattern.search(text)]
    findings += [f"a credential in the URL {u}" for u in url_credentials(text)]
    return findings


def _check_user_data(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    field, encoded = USER_DATA_FIELDS[args.resource_type]
    texts = []
    raw = get(args.props, field)
    if isinstance(raw, str) and raw:
        texts.append(_decode(raw, encoded))
    raw64 = get(args.props, USER_DATA_BASE64_FIELD)
    if isinstance(raw64, str) and raw64:
        texts.append(_decode(raw64, True))
    allowed = [re.compile(str(p)) for p in settings["allowedNames"]]
    for text in texts:
        findings = [f for f in secret_findings(text) if not any(p.fullmatch(f.split("=", 1)[0]) for p in allowed)]
        if findings:
            report(f"User data contains {', '.join(sorted(set(findings)))}: anyone allowed DescribeInstanceAttribute, "
                   "and every process on the instance through IMDS, can read it. Fetch secrets from Secrets Manager "
                   "at boot with the instance role instead.")


def _strings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    """(dotted path, text) of every string holding a URL, in ``walk`` order; a path is built only for those."""
    found: list[tuple[str, str]] = []

    def visit(value: Any, path: list[Any]) -> None:
        if isinstance(value, str):
            if "://" in value:
                found.append((dotted(path), value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                path.append(key)
                visit(item, path)
                path.pop()
        elif isinstance(value, list):
            for i, item in enumerate(value):
                path.append(i)
                visit(item, path)
                path.pop()

    visit(value, list(path))
    return found


def _check_url_credentials(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    if args.resource_type in settings["skipTypes"]:
        return
    props = known_plain(args.props) or {}
    for path, text in _strings(props):
        creds = url_credentials(text)
        if creds:
            report(f"{path} holds a URL with a literal password ({', '.join(creds)}): it is stored in plain text in "
                   "the state and shows up in logs. Pass the password separately from a secret store.")


_HELM_SECRET_KEY = re.compile(r"(?i)(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|"
                              r"private[_-]?key|client[_-]?secret|credentials?|auth)$")
_HELM_REFERENCE_KEY = re.compile(r"(?i)^(?:existing|use|enable|create)|(?:name|key|ref|file|path|enabled|template|"
                                 r"secretname|mountpath|type)$")


def _check_helm_secrets(args: ResourceValidationArgs, settings: Settings, report: Report) -> None:
    chart = str(get(args.props, "chart") or "").rsplit("/", 1)[-1]
    values = known_plain(get(args.props, "values", default={})) or {}
    found = []
    for path, value in walk(values):
        if not isinstance(value, str) or not path:
            continue
        key = next((str(p) for p in reversed(path) if not isinstance(p, int)), "")
        named_secret = bool(_HELM_SECRET_KEY.search(key)) and not _HELM_REFERENCE_KEY.search(key) and _literal(value)
        if named_secret or any(p.search(value) for p in _CREDENTIAL_FORMATS.values()) or url_credentials(value):
            found.append(dotted(path))
    if found:
        report(f"Chart {chart} values hold secret literals at {', '.join(sorted(set(found)))}: Helm stores values in "
               "plain text in the release Secret and the Pulumi state. Reference an existing Kubernetes Secret "
               "(synced by External Secrets) with the chart's existingSecret-style keys.")


POLICIES: list[Policy] = [
    resource_policy(
        "user-data-no-secrets",
        description="Launch template and instance user data carry no secret literals, credential formats or "
                    "passwords in URLs.",
        resource_types=list(USER_DATA_FIELDS),
        check=_check_user_data,
        severity=Severity.CRITICAL,
        remediation="Keep only secret references (ARNs) in user data and read the values at boot with "
                    "`aws secretsmanager get-secret-value` under the instance role, into a tmpfs.",
        refs=[checkov("CKV_AWS_46", "Ensure no hard-coded secrets exist in EC2 user data"), soc2("CC6.1")],
        config={"allowedNames": {"type": "array", "items": {"type": "string"}, "default": [],
                                 "description": "Regexes of variable names whose literal values are reviewed as not "
                                                "secret."}},
    ),
    resource_policy(
        "no-credentials-in-urls",
        description="No resource input holds a URL with a literal password (scheme://user:password@host).",
        resource_types=[ANY_TYPE],
        check=_check_url_credentials,
        severity=Severity.HIGH,
        remediation="Build URLs without the password and pass it from Secrets Manager (or a Kubernetes Secret) in "
                    "its own variable or file.",
        refs=[soc2("CC6.1")],
        config={"skipTypes": {"type": "array", "items": {"type": "string"}, "default": [],
                              "description": "Resource types whose inputs are not checked (reviewed)."}},
    ),
    resource_policy(
        "helm-values-no-secret-literals",
        description="Helm release values hold no passwords, tokens or keys (e.g. grafana.adminPassword): they are "
                    "stored in plain text.",
        resource_types=[HELM_RELEASE],
        check=_check_helm_secrets,
        severity=Severity.HIGH,
        remediation="Sync the secret into a Kubernetes Secret with External Secrets and point the chart at it "
                    "(admin.existingSecret, auth.existingSecret ...).",
        refs=[cis_eks("4.4.2", "Consider external secret storage"), soc2("CC6.1")],
    ),
]
