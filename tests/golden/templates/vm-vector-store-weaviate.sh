#!/bin/bash
# weaviate vector store on its own instance. Its data lives on the EBS volume vol-0123456789abcdef0 and its address on the
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
printf '%s=%s\n' AUTHENTICATION_APIKEY_ALLOWED_KEYS "$key" > /run/vector-store/env
docker pull cr.weaviate.io/semitechnologies/weaviate:1.38.2@sha256:0000000000000000206f18244c9a089b468ff73b68ea630b15e55f205040a57b
EOF_START
chmod 0700 /usr/local/bin/vector-store-start
cat > /etc/systemd/system/vector-store.service <<'EOF_UNIT'
[Unit]
Description=weaviate vector store
After=docker.service network-online.target
Requires=docker.service
RequiresMountsFor=/data
[Service]
Restart=always
RestartSec=5
TimeoutStartSec=600
ExecStartPre=/usr/local/bin/vector-store-start
ExecStart=/usr/bin/docker run --rm --name weaviate --network host --user 10001:10001 --read-only \
  --tmpfs /tmp:rw,noexec,nosuid,size=256m --cap-drop ALL --security-opt no-new-privileges --pids-limit 4096 \
  --memory 2g --env-file /run/vector-store/env -e AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false -e AUTHENTICATION_APIKEY_ENABLED=true -e AUTHENTICATION_APIKEY_USERS=agent-platform -e AWS_REGION=us-east-1 -e BACKUP_S3_BUCKET=agent-platform-dev-data -e BACKUP_S3_PATH=vector-store/weaviate -e CLUSTER_HOSTNAME=node1 -e DEFAULT_VECTORIZER_MODULE=none -e DISABLE_TELEMETRY=true -e ENABLE_MODULES=backup-s3 -e PERSISTENCE_DATA_PATH=/var/lib/weaviate -v /data:/var/lib/weaviate cr.weaviate.io/semitechnologies/weaviate:1.38.2@sha256:0000000000000000206f18244c9a089b468ff73b68ea630b15e55f205040a57b
ExecStop=/usr/bin/docker stop --time 60 weaviate
[Install]
WantedBy=multi-user.target
EOF_UNIT
cat > /usr/local/bin/vector-store-snapshot.sh <<'EOF_SNAPSHOT'
#!/bin/sh
# Starts a Weaviate backup to the data bucket (backup-s3 module: Weaviate itself writes to BACKUP_S3_BUCKET under
# BACKUP_S3_PATH with its own IAM role) and waits for it to finish. Backup ids are lowercase letters, digits, '-'.
# Weaviate REST API: POST /v1/backups/s3 {"id": ...}, GET /v1/backups/s3/{id} (status SUCCESS, FAILED, ...).
# The first backup of the UTC day is daily-YYYYMMDD (kept snapshotRetentionDays; -2, -3 if earlier attempts failed);
# once the day has one the others are recent-YYYYMMDD-HHMMSS, which S3 expires after recentSnapshotRetentionDays
# (the module writes <BACKUP_S3_PATH>/<id>/..., so the recent ones share the prefix <path>/recent-).
set -eu
umask 077
auth="Authorization: Bearer $(cat "$API_KEY_FILE")"
daily="daily-$(date -u +%Y%m%d)"
id=""
for attempt in "" -2 -3; do
  # No status: no backup with that id (an error body).
  known=$(curl --silent --show-error -H "$auth" "$STORE_URL/v1/backups/s3/$daily$attempt" \
    | sed -n 's/.*"status":"\([A-Z]*\)".*/\1/p' || true)
  case "$known" in
    "") id="$daily$attempt"; break ;;
    FAILED|CANCELED) continue ;;
    *) break ;;
  esac
done
if [ -z "$id" ]; then
  id="recent-$(date -u +%Y%m%d-%H%M%S)"
fi
curl --fail --silent --show-error -X POST -H "$auth" -H "Content-Type: application/json" \
  --data "{\"id\":\"$id\"}" "$STORE_URL/v1/backups/s3" > /dev/null
waited=0
while [ "$waited" -lt "$TIMEOUT_SECONDS" ]; do
  status=$(curl --fail --silent --show-error -H "$auth" "$STORE_URL/v1/backups/s3/$id" \
    | sed -n 's/.*"status":"\([A-Z]*\)".*/\1/p')
  case "$status" in
    SUCCESS) echo "backup $id written"; exit 0 ;;
    FAILED|CANCELED) echo "backup $id ended $status" >&2; exit 1 ;;
  esac
  sleep 15
  waited=$((waited + 15))
done
echo "backup $id still running after $TIMEOUT_SECONDS s" >&2
exit 1
EOF_SNAPSHOT
chmod 0755 /usr/local/bin/vector-store-snapshot.sh
cat > /etc/systemd/system/vector-store-snapshot.service <<'EOF_SNAP_UNIT'
[Unit]
Description=weaviate snapshot to the data bucket
[Service]
Type=oneshot
Environment=API_KEY_FILE=/run/vector-store/api-key AWS_REGION=us-east-1 HOME=/root STORE_URL=http://localhost:8080 TIMEOUT_SECONDS=10800
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
