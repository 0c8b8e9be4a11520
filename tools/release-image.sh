#!/usr/bin/env bash
# Image release steps for .github/workflows/release.yml and deploy-stack.yml (docs/ci.md). Values arrive as
# arguments (never interpolated into the workflow's shell), and every one is checked before use.
#
#   release-image.sh build   <stack> <service> <context> <tag>  build, push, wait for the ECR scan, print image=
#   release-image.sh promote <stack> <service> <image>          copy that digest from dev's repository (possibly in
#                                                               another account) into this stack's, print image=
#   release-image.sh record  <org> <stack> <service> <image>    record an image of this stack's repository in the
#                                                               ESC release environment <org>/agent-platform/<stack>-images
set -euo pipefail

PROJECT=agent-platform
name_re='^[a-z0-9][a-z0-9-]{0,62}$'
image_re='^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$'

die() { echo "release-image: $*" >&2; exit 1; }
check_name() { [[ "$2" =~ $name_re ]] || die "$1 '$2' is not a stack or service name"; }
registry() { echo "$(aws sts get-caller-identity --query Account --output text).dkr.ecr.${AWS_REGION:?}.amazonaws.com"; }
# <account>.dkr.ecr.<region>.amazonaws.com -> <region>: a registry's token comes from its own region's endpoint.
region_of() { local host=${1#*.dkr.ecr.}; echo "${host%.amazonaws.com}"; }
# The caller's token opens any registry whose repository policy lets the caller in (another account's too).
login() { aws ecr get-login-password --region "$(region_of "$1")" | docker login --username AWS --password-stdin "$1" >/dev/null; }

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
    # The repositories scan on push (components/services/image.py); a release waits for the result.
    aws ecr wait image-scan-complete --repository-name "$repo" --image-id "imageDigest=$digest"
    local blocking
    blocking=$(aws ecr describe-image-scan-findings --repository-name "$repo" --image-id "imageDigest=$digest" \
        --query '[imageScanFindings.findingSeverityCounts.CRITICAL, imageScanFindings.findingSeverityCounts.HIGH]' \
        --output text)
    [[ "$blocking" =~ ^(None|0)[[:space:]]+(None|0)$ ]] || die "$repo@$digest has CRITICAL/HIGH findings ($blocking)"
    echo "image=$reg/$repo@$digest" >> "${GITHUB_OUTPUT:-/dev/stdout}"
}

promote() {
    local stack=$1 service=$2 image=$3
    check_name stack "$stack"; check_name service "$service"
    [[ "$image" =~ $image_re ]] || die "image '$image' is not an ECR image pinned by digest"
    local source_repo=${image#*/}; source_repo=${source_repo%@*}
    # Releases are built and scanned in dev; a stack takes an image from dev's repository or already holds it.
    [[ "$source_repo" == "$PROJECT-dev/$service" || "$source_repo" == "$PROJECT-$stack/$service" ]] \
        || die "image '$image' is not in $PROJECT-dev/$service (where releases are built) nor in $PROJECT-$stack/$service"
    local reg digest repo target
    reg=$(registry); digest=${image##*@}; repo="$PROJECT-$stack/$service"
    target="$reg/$repo@$digest"
    # A rollback or a re-run finds the digest already here: tags are immutable, so copy only what is missing.
    if [[ "$image" != "$target" ]] && \
        ! aws ecr describe-images --repository-name "$repo" --image-ids "imageDigest=$digest" >/dev/null 2>&1; then
        # The same bytes (same digest) into this stack's repository. Across accounts, dev's repository policy
        # (delivery.imagePull) lets this deploy role pull: BatchGetImage, GetDownloadUrlForLayer and
        # BatchCheckLayerAvailability, nothing else (docs/ci.md, "Image releases").
        login "${image%%/*}"; login "$reg"
        docker buildx imagetools create --tag "$reg/$repo:${digest#sha256:}" "$image"
        aws ecr describe-images --repository-name "$repo" --image-ids "imageDigest=$digest" >/dev/null
    fi
    echo "image=$target" >> "${GITHUB_OUTPUT:-/dev/stdout}"
}

record() {
    local org=$1 stack=$2 service=$3 image=$4
    check_name org "$org"; check_name stack "$stack"; check_name service "$service"
    [[ "$image" =~ $image_re ]] || die "image '$image' is not an ECR image pinned by digest"
    local reg
    reg=$(registry)
    [[ "$image" == "$reg/$PROJECT-$stack/$service@"* ]] \
        || die "image '$image' is not in this stack's repository $reg/$PROJECT-$stack/$service (promote it first)"
    pulumi env set "$org/$PROJECT/$stack-images" "pulumiConfig[\"$PROJECT:images\"][\"$service\"]" "$image"
    echo "recorded $image for $service in $org/$PROJECT/$stack-images"
}

cmd=${1:-}; shift || true
case "$cmd" in
    build) [[ $# -eq 4 ]] || die "usage: build <stack> <service> <context> <tag>"; build "$@" ;;
    promote) [[ $# -eq 3 ]] || die "usage: promote <stack> <service> <image>"; promote "$@" ;;
    record) [[ $# -eq 4 ]] || die "usage: record <org> <stack> <service> <image>"; record "$@" ;;
    *) die "usage: $0 build|promote|record ..." ;;
esac
