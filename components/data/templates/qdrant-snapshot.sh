#!/bin/sh
# Snapshots every Qdrant node into the data bucket. For each host in HOSTS (the StatefulSet's pods through its
# headless Service on EKS, localhost on the VM runtime): create a full-storage snapshot (POST /snapshots), stream
# it to s3://BUCKET/PREFIX<class>/<date>/<pod>/<name> encrypted with KMS_KEY_ARN, then delete it from the node.
# <class> is daily for the node's first snapshot of the UTC day (none under daily/<date>/<pod>/ yet), recent for the
# others: S3 expires recent/ after recentSnapshotRetentionDays, the rest after snapshotRetentionDays.
# The API key is read from the mounted Secret (API_KEY_FILE).
# Qdrant REST API: POST /snapshots, GET /snapshots/{name}, DELETE /snapshots/{name} (api-key header).
set -eu
umask 077
key_header="api-key: $(cat "$API_KEY_FILE")"
day=$(date -u +%Y/%m/%d)
for host in $HOSTS; do
  pod="${host%%.*}"
  url="http://$host:$PORT"
  created=$(curl --fail --silent --show-error -X POST -H "$key_header" "$url/snapshots?wait=true")
  name=$(echo "$created" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
  # aws s3 cp from stdin needs the size of streams over 50 GB to choose its part size.
  size=$(echo "$created" | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
  if [ -z "$name" ]; then
    echo "no snapshot name from $pod" >&2
    exit 1
  fi
  # aws s3 ls exits non-zero when nothing is under the prefix (or it cannot list): then this run is the daily one.
  class=daily
  if aws s3 ls "s3://$BUCKET/${PREFIX}daily/$day/$pod/" > /dev/null 2>&1; then
    class=recent
  fi
  curl --fail --silent --show-error -H "$key_header" "$url/snapshots/$name" \
    | aws s3 cp - "s3://$BUCKET/$PREFIX$class/$day/$pod/$name" --expected-size "${size:-0}" --sse aws:kms \
        --sse-kms-key-id "$KMS_KEY_ARN" --only-show-errors
  curl --fail --silent --show-error -X DELETE -H "$key_header" "$url/snapshots/$name?wait=true" > /dev/null
  echo "snapshot $name of $pod written to s3://$BUCKET/$PREFIX$class/$day/$pod/"
done
