#!/bin/bash
# qdrant vector store on its own instance. Its data lives on the EBS volume vol-0123456789abcdef0 and its address on the
# network interface eni-0123456789abcdef0: both outlive instances, so a replacement attaches them again. No secret below:
# the API key is fetched at each start into /run (tmpfs).
set -euo pipefail
dnf install -y docker
systemctl enable --now docker
imds=http://169.254.169.254/latest
token=$(curl -fsS -X PUT "$imds/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
instance=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/instance-id")
# A replaced instance may still hold them for a minute while it shuts down: retry for up to ten minutes.
for _ in $(seq 1 60); do
  aws ec2 attach-network-interface --region us-east-1 --network-interface-id eni-0123456789abcdef0 \
    --instance-id "$instance" --device-index 1 > /dev/null && break
  sleep 10
done
for _ in $(seq 1 60); do
  aws ec2 attach-volume --region us-east-1 --volume-id vol-0123456789abcdef0 --instance-id "$instance" \
    --device /dev/sdf > /dev/null && break
  sleep 10
done
# Nitro instances name EBS volumes by serial: the volume id without its hyphen.
device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0
for _ in $(seq 1 60); do [ -b "$device" ] && break; sleep 5; done
blkid "$device" > /dev/null || mkfs.xfs -L vector-data "$device"
install -d -m 0700 -o 10001 -g 10001 /data
# By label, so a reboot (user data runs once) mounts it again before the store starts.
grep -q '^LABEL=vector-data ' /etc/fstab || echo 'LABEL=vector-data /data xfs nodev,nosuid,noexec,nofail 0 2' >> /etc/fstab
mount /data
chown 10001:10001 /data
cat > /usr/local/bin/vector-store-start <<'EOF_START'
#!/bin/bash
set -euo pipefail
umask 077
install -d -m 0700 /run/vector-store
key=$(aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/data/key-AbCdEf \
  --query SecretString --output text)
printf '%s\n' "$key" > /run/vector-store/api-key
printf '%s=%s\n' QDRANT__SERVICE__API_KEY "$key" > /run/vector-store/env
docker pull docker.io/qdrant/qdrant:v1.19.0@sha256:057ee3a8da769fe7310dd3537b4dc7583bf87a95ce8ac43c0af5a46bc580d1fc
EOF_START
chmod 0700 /usr/local/bin/vector-store-start
cat > /etc/systemd/system/vector-store.service <<'EOF_UNIT'
[Unit]
Description=qdrant vector store
After=docker.service network-online.target
Requires=docker.service
RequiresMountsFor=/data
[Service]
Restart=always
RestartSec=5
TimeoutStartSec=600
ExecStartPre=/usr/local/bin/vector-store-start
ExecStart=/usr/bin/docker run --rm --name qdrant --network host --user 10001:10001 --read-only \
  --tmpfs /tmp:rw,noexec,nosuid,size=256m --cap-drop ALL --security-opt no-new-privileges --pids-limit 4096 \
  --memory 2g --env-file /run/vector-store/env -e QDRANT_INIT_FILE_PATH=/tmp/.qdrant-initialized -e QDRANT__STORAGE__SNAPSHOTS_PATH=/qdrant/data/snapshots -e QDRANT__STORAGE__STORAGE_PATH=/qdrant/data/storage -e QDRANT__TELEMETRY_DISABLED=true -v /data:/qdrant/data docker.io/qdrant/qdrant:v1.19.0@sha256:057ee3a8da769fe7310dd3537b4dc7583bf87a95ce8ac43c0af5a46bc580d1fc
ExecStop=/usr/bin/docker stop --time 60 qdrant
[Install]
WantedBy=multi-user.target
EOF_UNIT
cat > /usr/local/bin/vector-store-snapshot.sh <<'EOF_SNAPSHOT'
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
EOF_SNAPSHOT
chmod 0755 /usr/local/bin/vector-store-snapshot.sh
cat > /etc/systemd/system/vector-store-snapshot.service <<'EOF_SNAP_UNIT'
[Unit]
Description=qdrant snapshot to the data bucket
[Service]
Type=oneshot
Environment=API_KEY_FILE=/run/vector-store/api-key AWS_REGION=us-east-1 BUCKET=agent-platform-dev-data HOME=/root HOSTS=localhost KMS_KEY_ARN=arn:aws:kms:us-east-1:111122223333:key/k PORT=6333 PREFIX=vector-store/qdrant/
ExecStart=/bin/sh /usr/local/bin/vector-store-snapshot.sh
EOF_SNAP_UNIT
cat > /etc/systemd/system/vector-store-snapshot.timer <<'EOF_TIMER'
[Timer]
OnCalendar=*-*-* 03:15:00 UTC
Persistent=true
[Install]
WantedBy=timers.target
EOF_TIMER
systemctl daemon-reload
systemctl enable --now vector-store.service vector-store-snapshot.timer
