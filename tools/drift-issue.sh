#!/usr/bin/env bash
# Opens, or comments on, the one open issue labelled "drift" for a stack (.github/workflows/drift.yml).
set -euo pipefail
stack=$1 run_url=$2
[[ "$stack" =~ ^[a-z0-9-]+$ ]] || { echo "drift-issue: bad stack '$stack'" >&2; exit 1; }
title="Drift detected in stack $stack"
body="\`pulumi preview --refresh --expect-no-changes\` found differences between the live resources of \`$stack\` and the program: $run_url

Reconcile by running \`pulumi up\` from main (the program wins) or by changing the program to match (the live change wins). docs/ci.md, \"Drift\"."
existing=$(gh issue list --label drift --state open --search "in:title \"$title\"" --json number --jq '.[0].number // empty')
if [[ -n "$existing" ]]; then
    gh issue comment "$existing" --body "$body"
else
    gh label create drift --color B60205 --description "Live resources differ from the program" 2>/dev/null || true
    gh issue create --title "$title" --label drift --body "$body"
fi
