#!/bin/bash
# @@{kind} vector store on its own instance. Its data lives on the EBS volume @@{volume_id} and its address on the
# network interface @@{eni_id}: both outlive instances, so a replacement attaches them again. No secret below:
# the API key is fetched at each start into /run (tmpfs).
set -euo pipefail
dnf install -y docker
systemctl enable --now docker
imds=http://169.254.169.254/latest
token=$(curl -fsS -X PUT "$imds/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
instance=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/instance-id")
# A replaced instance may still hold them for a minute while it shuts down: retry for up to ten minutes.
for _ in $(seq 1 60); do
  aws ec2 attach-network-interface --region @@{region} --network-interface-id @@{eni_id} \
    --instance-id "$instance" --device-index 1 > /dev/null && break
  sleep 10
done
for _ in $(seq 1 60); do
  aws ec2 attach-volume --region @@{region} --volume-id @@{volume_id} --instance-id "$instance" \
    --device /dev/sdf > /dev/null && break
  sleep 10
done
# Nitro instances name EBS volumes by serial: the volume id without its hyphen.
device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_@@{volume_serial}
for _ in $(seq 1 60); do [ -b "$device" ] && break; sleep 5; done
blkid "$device" > /dev/null || mkfs.xfs -L vector-data "$device"
install -d -m 0700 -o @@{run_as} -g @@{run_as} /data
# By label, so a reboot (user data runs once) mounts it again before the store starts.
grep -q '^LABEL=vector-data ' /etc/fstab || echo 'LABEL=vector-data /data xfs nodev,nosuid,noexec,nofail 0 2' >> /etc/fstab
mount /data
chown @@{run_as}:@@{run_as} /data
cat > /usr/local/bin/vector-store-start <<'EOF_START'
#!/bin/bash
set -euo pipefail
umask 077
install -d -m 0700 /run/vector-store
key=$(aws secretsmanager get-secret-value --region @@{region} --secret-id @@{api_key_secret_arn} \
  --query SecretString --output text)
printf '%s\n' "$key" > /run/vector-store/api-key
printf '%s=%s\n' @@{api_key_env} "$key" > /run/vector-store/env
docker pull @@{image}
EOF_START
chmod 0700 /usr/local/bin/vector-store-start
cat > /etc/systemd/system/vector-store.service <<'EOF_UNIT'
[Unit]
Description=@@{kind} vector store
After=docker.service network-online.target
Requires=docker.service
RequiresMountsFor=/data
[Service]
Restart=always
RestartSec=5
TimeoutStartSec=600
ExecStartPre=/usr/local/bin/vector-store-start
ExecStart=/usr/bin/docker run --rm --name @@{kind} --network host --user @@{run_as}:@@{run_as} --read-only \
  --tmpfs /tmp:rw,noexec,nosuid,size=256m --cap-drop ALL --security-opt no-new-privileges --pids-limit 4096 \
  --memory @@{memory_limit} --env-file /run/vector-store/env @@{store_env} -v /data:@@{data_path} @@{image}
ExecStop=/usr/bin/docker stop --time 60 @@{kind}
[Install]
WantedBy=multi-user.target
EOF_UNIT
cat > /usr/local/bin/vector-store-snapshot.sh <<'EOF_SNAPSHOT'
@@{snapshot_script}
EOF_SNAPSHOT
chmod 0755 /usr/local/bin/vector-store-snapshot.sh
cat > /etc/systemd/system/vector-store-snapshot.service <<'EOF_SNAP_UNIT'
[Unit]
Description=@@{kind} snapshot to the data bucket
[Service]
Type=oneshot
Environment=@@{snapshot_env}
ExecStart=/bin/sh /usr/local/bin/vector-store-snapshot.sh
EOF_SNAP_UNIT
cat > /etc/systemd/system/vector-store-snapshot.timer <<'EOF_TIMER'
[Timer]
OnCalendar=@@{on_calendar}
Persistent=true
[Install]
WantedBy=timers.target
EOF_TIMER
systemctl daemon-reload
systemctl enable --now vector-store.service vector-store-snapshot.timer
