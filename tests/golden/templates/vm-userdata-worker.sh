#!/bin/bash
# worker: one container per instance. No secret values below: only references fetched at start.
set -euo pipefail
dnf install -y docker amazon-cloudwatch-agent redis6
systemctl enable --now docker
install -d -m 0755 /etc/agent-platform
cat > /etc/agent-platform/worker.env <<'EOF'
LOG_LEVEL=info
QUOTED=it's
SERVICE_NAME=worker
EOF
cat > /usr/local/bin/agent-start-worker <<'EOF'
#!/bin/bash
set -euo pipefail
install -d -m 0750 -o root -g 10001 /run/agent-platform/worker
aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:database-AbCdEf --query SecretString --output text > /run/agent-platform/worker/database.new
chown root:10001 /run/agent-platform/worker/database.new && chmod 0440 /run/agent-platform/worker/database.new && mv /run/agent-platform/worker/database.new /run/agent-platform/worker/database
aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:redis-AbCdEf --query SecretString --output text > /run/agent-platform/worker/redis.new
chown root:10001 /run/agent-platform/worker/redis.new && chmod 0440 /run/agent-platform/worker/redis.new && mv /run/agent-platform/worker/redis.new /run/agent-platform/worker/redis
aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:openai-AbCdEf --query SecretString --output text > /run/agent-platform/worker/openai.new
chown root:10001 /run/agent-platform/worker/openai.new && chmod 0440 /run/agent-platform/worker/openai.new && mv /run/agent-platform/worker/openai.new /run/agent-platform/worker/openai
aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:anthropic-AbCdEf --query SecretString --output text > /run/agent-platform/worker/anthropic.new
chown root:10001 /run/agent-platform/worker/anthropic.new && chmod 0440 /run/agent-platform/worker/anthropic.new && mv /run/agent-platform/worker/anthropic.new /run/agent-platform/worker/anthropic
aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin 111122223333.dkr.ecr.us-east-1.amazonaws.com
docker pull 111122223333.dkr.ecr.us-east-1.amazonaws.com/worker@sha256:abababababababababababababababababababababababababababababababab
EOF
chmod 0700 /usr/local/bin/agent-start-worker
cat > /usr/local/bin/agent-ready-worker <<'EOF'
#!/bin/bash
for _ in $(seq 1 150); do
  curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:8080/health && exit 0
  sleep 1
done
exit 1
EOF
chmod 0755 /usr/local/bin/agent-ready-worker
cat > /usr/local/bin/agent-live-worker <<'EOF'
#!/bin/bash
state=/run/agent-live-worker
if curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8080/health; then echo 0 > "$state"; exit 0; fi
failures=$(( $(cat "$state" 2>/dev/null || echo 0) + 1 ))
echo "$failures" > "$state"
if [ "$failures" -ge 3 ]; then echo 0 > "$state"; systemctl restart worker.service; fi
EOF
chmod 0755 /usr/local/bin/agent-live-worker
cat > /etc/systemd/system/worker.service <<'EOF'
[Unit]
Description=agent service worker
After=docker.service network-online.target
Requires=docker.service
[Service]
Restart=always
RestartSec=5
TimeoutStartSec=450
TimeoutStopSec=120
ExecStartPre=/usr/local/bin/agent-start-worker
ExecStart=/usr/bin/docker run \
  --rm \
  --name worker \
  --network host \
  --user 10001:10001 \
  --read-only \
  --tmpfs /tmp:rw,noexec,nosuid,size=256m \
  --cap-drop ALL \
  --security-opt no-new-privileges \
  --pids-limit 1024 \
  --memory 512m \
  --memory-reservation 256m \
  --env-file /etc/agent-platform/worker.env \
  --stop-timeout 110 \
  --log-driver awslogs \
  --log-opt awslogs-region=us-east-1 \
  --log-opt awslogs-group=/agent-platform/dev/services/worker \
  --cpus 1 \
  --volume /run/agent-platform/worker:/var/run/secrets/agent-platform:ro \
  111122223333.dkr.ecr.us-east-1.amazonaws.com/worker@sha256:abababababababababababababababababababababababababababababababab
ExecStartPost=/usr/local/bin/agent-ready-worker
ExecStop=/bin/sleep 10
ExecStop=/usr/bin/docker stop --time 105 worker
[Install]
WantedBy=multi-user.target
EOF
cat > /etc/systemd/system/agent-live-worker.service <<'EOF'
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-live-worker
EOF
cat > /etc/systemd/system/agent-live-worker.timer <<'EOF'
[Timer]
OnActiveSec=150
OnUnitActiveSec=10
[Install]
WantedBy=timers.target
EOF
cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'EOF'
{
 "agent": {
  "run_as_user": "cwagent",
  "omit_hostname": true
 },
 "logs": {
  "logs_collected": {
   "files": {
    "collect_list": [
     {
      "file_path": "/var/log/cloud-init-output.log",
      "log_group_name": "/agent-platform/dev/services/worker",
      "log_stream_name": "boot-{instance_id}"
     }
    ]
   }
  }
 },
 "metrics": {
  "namespace": "AgentPlatform/VM",
  "append_dimensions": {
   "AutoScalingGroupName": "${aws:AutoScalingGroupName}"
  },
  "metrics_collected": {
   "mem": {
    "measurement": [
     "mem_used_percent"
    ]
   },
   "disk": {
    "measurement": [
     "used_percent"
    ],
    "resources": [
     "/"
    ],
    "drop_device": true
   }
  }
 }
}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
systemctl daemon-reload
systemctl enable --now worker.service agent-live-worker.timer

cat > /usr/local/bin/agent-queue-depth <<'EOF'
#!/bin/bash
set -euo pipefail
token=$(aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:redis-AbCdEf \
  --query SecretString --output text)
depth=$(REDISCLI_AUTH="$token" redis6-cli --tls -h redis.example.internal -p 6379 -n 0 \
  --no-auth-warning LLEN agent:jobs)
aws cloudwatch put-metric-data --region us-east-1 --namespace AgentPlatform/VM --metric-name QueueDepth \
  --dimensions Service=worker --unit Count --value "$depth"
EOF
chmod 0755 /usr/local/bin/agent-queue-depth
cat > /etc/systemd/system/agent-queue-depth.service <<'EOF'
[Unit]
Description=Publish the worker queue depth
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-queue-depth
EOF
cat > /etc/systemd/system/agent-queue-depth.timer <<'EOF'
[Timer]
OnBootSec=60
OnUnitActiveSec=15
[Install]
WantedBy=timers.target
EOF
systemctl enable --now agent-queue-depth.timer
