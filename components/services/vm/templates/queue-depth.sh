
cat > /usr/local/bin/agent-queue-depth <<'EOF'
#!/bin/bash
set -euo pipefail
token=$(aws secretsmanager get-secret-value --region @@{region} --secret-id @@{secret_arn} \
  --query SecretString --output text)
depth=$(REDISCLI_AUTH="$token" redis6-cli --tls -h @@{redis_host} -p @@{redis_port} -n @@{database_index} \
  --no-auth-warning LLEN @@{list_name})
aws cloudwatch put-metric-data --region @@{region} --namespace @@{metrics_namespace} --metric-name @@{queue_metric} \
  --dimensions Service=@@{service} --unit Count --value "$depth"
EOF
chmod 0755 /usr/local/bin/agent-queue-depth
cat > /etc/systemd/system/agent-queue-depth.service <<'EOF'
[Unit]
Description=Publish the @@{service} queue depth
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-queue-depth
EOF
cat > /etc/systemd/system/agent-queue-depth.timer <<'EOF'
[Timer]
OnBootSec=60
OnUnitActiveSec=@@{polling_interval}
[Install]
WantedBy=timers.target
EOF
systemctl enable --now agent-queue-depth.timer
