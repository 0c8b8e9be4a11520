"""Credential detection by the value's shape, whatever the setting is called.

A setting named ``MAX_TOKENS_HINT`` holding ``sk-proj-...`` is still an OpenAI key in a ConfigMap. Known key
prefixes are matched first; otherwise a long, random-looking token (high Shannon entropy, letters and digits mixed)
is treated as a secret. Digests, ARNs, URLs and paths are shaped data, not secrets, and are left alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from agent_contract.kubernetes import CREDENTIAL_VALUE_PATTERN

# Prefixes of credentials issued by the providers this platform talks to and by common SaaS: the expression the
# pack's k8s-no-secret-literals uses by default (agent_contract.kubernetes).
KNOWN_PREFIXES = re.compile(CREDENTIAL_VALUE_PATTERN)
_TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
_SHAPED = re.compile(r"^(sha256:)?[0-9a-f]+$|^arn:|^https?://|^/|@sha256:")
_MIN_ENTROPY = 4.0  # bits per character; English words and hex digests stay below, random base64 is near 6


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def looks_like_credential(value: str) -> bool:
    if KNOWN_PREFIXES.search(value):
        return True
    if _SHAPED.search(value):
        return False
    for token in _TOKEN.findall(value):
        classes = sum(bool(re.search(p, token)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
        if classes == 3 and _entropy(token) >= _MIN_ENTROPY:
            return True
    return False


def credential_problem(value: str) -> str | None:
    if looks_like_credential(value):
        return ("looks like a credential (a known key prefix or a long random token); settings are stored in "
                "plain text. Put it in Secrets Manager and list it under secrets, or set it with "
                "pulumi config set --secret")
    return None
