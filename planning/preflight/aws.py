"""AWS clients for preflight: read-only calls, retried with backoff, and errors sorted into fail or skip.

boto3 is a development dependency (requirements-dev.txt): the Pulumi program never imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from planning.preflight.framework import Skip

# Throttling and transient errors are retried with exponential backoff and jitter by botocore's "standard"
# retry mode (botocore docs, "Retries": standard mode retries throttling, transient and 5xx errors up to
# max_attempts); the timeouts keep an unreachable endpoint from holding a run for minutes.
RETRIES = {"mode": "standard", "max_attempts": 6}
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 20

# Error codes that mean "this caller may not ask", not "the thing is missing": the check is skipped.
DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure", "UnrecognizedClientException",
    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "ForbiddenException",
    "UnauthorizedException", "SignatureDoesNotMatch",
})


class Boto3Clients:
    """One client per (service, region), created on first use and shared by the check threads. boto3 clients
    are thread-safe and sessions are not, so clients are created under a lock from one session (which resolves
    the credentials once)."""

    def __init__(self, profile: str | None = None) -> None:
        self._profile = profile
        self._session: Any = None
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        key = (service, region)
        with self._lock:
            if self._session is None:
                self._session = boto3.session.Session(profile_name=self._profile)
            if key not in self._clients:
                config = Config(retries=RETRIES, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)
                self._clients[key] = self._session.client(service, region_name=region, config=config)
            return self._clients[key]


def error_code(exc: BaseException) -> str | None:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "")
    return None


def call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """``client.<operation>(**params)``; a denied call or an unreachable endpoint raises :class:`Skip`."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return getattr(client, operation)(**params)
    except ClientError as exc:
        if error_code(exc) in DENIED:
            raise Skip(f"{_action(client, operation)} denied: {exc}") from exc
        raise
    except NoCredentialsError as exc:
        raise Skip(f"no AWS credentials ({exc})") from exc
    except BotoCoreError as exc:  # endpoint unreachable, timeouts after retries, bad region
        raise Skip(f"{_action(client, operation)} could not be called: {exc}") from exc


def pages(client: Any, operation: str, result_key: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated operation (the paginator names come from botocore's paginator model)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(result_key) or []
    except ClientError as exc:
        if error_code(exc) in DENIED:
            raise Skip(f"{_action(client, operation)} denied: {exc}") from exc
        raise
    except NoCredentialsError as exc:
        raise Skip(f"no AWS credentials ({exc})") from exc
    except BotoCoreError as exc:
        raise Skip(f"{_action(client, operation)} could not be called: {exc}") from exc


def _action(client: Any, operation: str) -> str:
    model = client.meta.service_model
    op_name = next((n for n in model.operation_names if client.meta.method_to_api_mapping.get(operation) == n),
                   operation)
    return f"{model.signing_name}:{op_name}"


def iam_action(client: Any, operation_name: str) -> str:
    """The IAM action an API operation is authorised as: the service's signing name (its IAM prefix for every
    service preflight calls: ec2, eks, rds, elasticache, serverlessrepo, ecr, route53, iam, ssm, servicequotas,
    sts) and the operation name."""
    return f"{client.meta.service_model.signing_name}:{operation_name}"
