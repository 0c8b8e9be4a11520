#!/usr/bin/env bash
# Image release steps for .github/workflows/release.yml and deploy-stack.yml (docs/ci.md). Values arrive as
# arguments (never interpolated into the workflow's shell), and every one is checked before use.
#
#   release-image.sh build  <stack> <service> <context> <tag>   build, push, wait for the ECR scan, print image=
#   release-image.sh record <org> <stack> <service> <image>     copy the digest into this stack's repository if
#                                                               it lives elsewhere, then record it in the stack's
#                                                               ESC release environment <org>/agent-platform/<stack>-images
set -euo pipefail

PROJECT=agent-platform
name_re='^[a-z0-9][a-z0-9-]{0,62}$'
image_re='^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$'

die() { echo "release-image: $*" >&2; exit 1; }
check_name() { [[ "$2" =~ $name_re ]] || die "$1 '$2' is not a stack or service name"; }
registry() { echo "$(aws sts get-caller-identity --query Account --output text).dkr.ecr.${AWS_REGION:?}.amazonaws.com"; }
login() { aws ecr get-login-password | docker login --username AWS --password-stdin "$1" >/dev/null; }

build() {
    local stack=$1 service=$2 context=$3 tag=$4
    check_name stack "$stack"; check_name service "$service"
    [[ -d "$context" && "$context" != /* && "$context" != *..* ]] || die "context '$context' is not a directory of the repository"
    [[ "$tag" =~ ^[0-9a-f]{40}$ ]] || die "tag '$tag' is not a commit id"
    local reg repo digest
    reg=$(registry); repo="$PROJECT-$stack/$service"
    login "$reg"
    docker buildx build --platform linux/amd64 --provenance=false --tag "$reg/$repo:$tag" --push "$context"
    digest=$(aws ecr describe-images --repository-name "$repo" --image-ids "imageTag=$tag" \
        --query 'imageDetails[0].imageDigest' --output text)
    # The repositories scan on push (components/service_image.py); a release waits for the result.
    aws ecr wait image-scan-complete --repository-name "$repo" --image-id "imageDigest=$digest"
    local blocking
    blocking=$(aws ecr describe-image-scan-findings --repository-name "$repo" --image-id "imageDigest=$digest" \
        --query '[imageScanFindings.findingSeverityCounts.CRITICAL, imageScanFindings.findingSeverityCounts.HIGH]' \
        --output text)
    [[ "$blocking" =~ ^(None|0)[[:space:]]+(None|0)$ ]] || die "$repo@$digest has CRITICAL/HIGH findings ($blocking)"
    echo "image=$reg/$repo@$digest" >> "${GITHUB_OUTPUT:-/dev/stdout}"
}

record() {
    local org=$1 stack=$2 service=$3 image=$4
    check_name org "$org"; check_name stack "$stack"; check_name service "$service"
    [[ "$image" =~ $image_re ]] || die "image '$image' is not an ECR image pinned by digest"
    local reg digest target
    reg=$(registry); digest=${image##*@}
    target="$reg/$PROJECT-$stack/$service@$digest"
    if [[ "$image" != "$target" ]]; then
        # Promotion: the same bytes (same digest) into this stack's repository; the source repository's policy
        # lets this deploy role pull (docs/ci.md, "Image releases").
        login "${image%%/*}"; login "$reg"
        docker buildx imagetools create --tag "$reg/$PROJECT-$stack/$service:${digest#sha256:}" "$image"
        aws ecr describe-images --repository-name "$PROJECT-$stack/$service" --image-ids "imageDigest=$digest" >/dev/null
    fi
    pulumi env set "$org/$PROJECT/$stack-images" "pulumiConfig[\"$PROJECT:images\"][\"$service\"]" "$target"
    echo "recorded $target for $service in $org/$PROJECT/$stack-images"
}

cmd=${1:-}; shift || true
case "$cmd" in
    build) [[ $# -eq 4 ]] || die "usage: build <stack> <service> <context> <tag>"; build "$@" ;;
    record) [[ $# -eq 4 ]] || die "usage: record <org> <stack> <service> <image>"; record "$@" ;;
    *) die "usage: $0 build|record ..." ;;
esac
