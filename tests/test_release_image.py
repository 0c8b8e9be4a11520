"""tools/release-image.sh promote/record: a released digest crosses from dev's registry into the target stack's.

The AWS CLI, docker and pulumi are stubs on PATH that log their arguments; `describe-images` finds the digest in
the target repository only once `imagetools create` has copied it there (or when the test says it already is).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "release-image.sh"
DIGEST = "sha256:" + "ab" * 32
DEV = "111122223333.dkr.ecr.us-east-1.amazonaws.com"
STAGING = "444455556666.dkr.ecr.us-east-1.amazonaws.com"
RELEASED = f"{DEV}/agent-platform-dev/api@{DIGEST}"

_AWS = """#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
case "$1 $2" in
  "sts get-caller-identity") echo "$CALLER" ;;
  "ecr get-login-password") echo token ;;
  "ecr describe-images") [[ -e "$COPIED" ]] || { echo "ImageNotFoundException" >&2; exit 254; } ;;
esac
"""
_DOCKER = """#!/usr/bin/env bash
echo "docker $*" >> "$CALLS"
[[ "$1 $2 $3" == "buildx imagetools create" ]] && touch "$COPIED"
cat > /dev/null
exit 0
"""
_PULUMI = """#!/usr/bin/env bash
echo "pulumi $*" >> "$CALLS"
"""


def _run(tmp_path: Path, *args: str, caller: str = "444455556666", already_there: bool = False):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("aws", _AWS), ("docker", _DOCKER), ("pulumi", _PULUMI)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    copied = tmp_path / "copied"
    if already_there:
        copied.touch()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "AWS_REGION": "us-east-1",
           "CALLS": str(tmp_path / "calls"), "COPIED": str(copied), "CALLER": caller,
           "GITHUB_OUTPUT": str(tmp_path / "output")}
    out = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)
    calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    output = (tmp_path / "output").read_text() if (tmp_path / "output").exists() else ""
    return out, calls, output


def test_promotion_copies_the_digest_from_devs_account_into_the_stacks_own(tmp_path):
    out, calls, output = _run(tmp_path, "promote", "staging", "api", RELEASED)
    assert out.returncode == 0, out.stderr
    assert output == f"image={STAGING}/agent-platform-staging/api@{DIGEST}\n"
    assert f"docker login --username AWS --password-stdin {DEV}" in calls
    assert f"docker login --username AWS --password-stdin {STAGING}" in calls
    assert f"docker buildx imagetools create --tag {STAGING}/agent-platform-staging/api:{'ab' * 32} {RELEASED}" in calls
    # The copy is checked by digest in the target repository afterwards.
    assert calls[-1] == (f"aws ecr describe-images --repository-name agent-platform-staging/api "
                         f"--image-ids imageDigest={DIGEST}")


def test_each_registry_is_opened_with_a_token_from_its_own_region(tmp_path):
    released = f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/agent-platform-dev/api@{DIGEST}"
    out, calls, _ = _run(tmp_path, "promote", "prod", "api", released)
    assert out.returncode == 0, out.stderr
    assert "aws ecr get-login-password --region eu-west-1" in calls
    assert "aws ecr get-login-password --region us-east-1" in calls


def test_a_digest_the_stack_already_holds_is_not_copied_again(tmp_path):
    """Tags are immutable: a rollback to a digest promoted before must not push its tag a second time."""
    out, calls, output = _run(tmp_path, "promote", "prod", "api", RELEASED, already_there=True)
    assert out.returncode == 0, out.stderr
    assert output == f"image={STAGING}/agent-platform-prod/api@{DIGEST}\n"
    assert not [c for c in calls if c.startswith("docker")]


def test_dev_promotes_its_own_image_without_a_copy(tmp_path):
    out, calls, output = _run(tmp_path, "promote", "dev", "api", RELEASED, caller="111122223333")
    assert out.returncode == 0, out.stderr
    assert output == f"image={RELEASED}\n"
    assert not [c for c in calls if c.startswith("docker")]


@pytest.mark.parametrize("image", [
    f"{DEV}/agent-platform-prod/api@{DIGEST}",        # another stack's repository, not dev's
    f"{DEV}/agent-platform-dev/worker@{DIGEST}",      # another service
    f"{DEV}/agent-platform-dev/api:v1",               # a tag, not a digest
])
def test_only_this_services_dev_image_is_promoted(tmp_path, image):
    out, calls, _ = _run(tmp_path, "promote", "staging", "api", image)
    assert out.returncode != 0
    assert not [c for c in calls if c.startswith("docker")]


def test_record_writes_the_promoted_image_to_the_stacks_release_environment(tmp_path):
    promoted = f"{STAGING}/agent-platform-staging/api@{DIGEST}"
    out, calls, _ = _run(tmp_path, "record", "example-org", "staging", "api", promoted)
    assert out.returncode == 0, out.stderr
    assert calls[-1] == ('pulumi env set example-org/agent-platform/staging-images '
                         f'pulumiConfig["agent-platform:images"]["api"] {promoted}')


def test_record_refuses_an_image_outside_the_stacks_repository(tmp_path):
    out, calls, _ = _run(tmp_path, "record", "example-org", "staging", "api", RELEASED)
    assert out.returncode != 0 and "promote it first" in out.stderr
    assert not [c for c in calls if c.startswith("pulumi")]
