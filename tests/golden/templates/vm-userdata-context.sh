#!/bin/bash
# context: one container per instance. No secret values below: only references fetched at start.
set -euo pipefail
dnf install -y docker amazon-cloudwatch-agent nginx logrotate
systemctl enable --now docker
install -d -m 0755 /etc/agent-platform
cat > /etc/agent-platform/context.env <<'EOF'
LOG_LEVEL=info
QUOTED=it's
SERVICE_NAME=context
EOF
cat > /usr/local/bin/agent-start-context <<'EOF'
#!/bin/bash
set -euo pipefail
install -d -m 0750 -o root -g 10001 /run/agent-platform/context
aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:database-AbCdEf --query SecretString --output text > /run/agent-platform/context/database.new
chown root:10001 /run/agent-platform/context/database.new && chmod 0440 /run/agent-platform/context/database.new && mv /run/agent-platform/context/database.new /run/agent-platform/context/database
aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:redis-AbCdEf --query SecretString --output text > /run/agent-platform/context/redis.new
chown root:10001 /run/agent-platform/context/redis.new && chmod 0440 /run/agent-platform/context/redis.new && mv /run/agent-platform/context/redis.new /run/agent-platform/context/redis
aws secretsmanager get-secret-value --region us-east-1 --secret-id arn:aws:secretsmanager:us-east-1:111122223333:secret:openai-AbCdEf --query SecretString --output text > /run/agent-platform/context/openai.new
chown root:10001 /run/agent-platform/context/openai.new && chmod 0440 /run/agent-platform/context/openai.new && mv /run/agent-platform/context/openai.new /run/agent-platform/context/openai
aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin 111122223333.dkr.ecr.us-east-1.amazonaws.com
docker pull 111122223333.dkr.ecr.us-east-1.amazonaws.com/context@sha256:abababababababababababababababababababababababababababababababab
EOF
chmod 0700 /usr/local/bin/agent-start-context
cat > /usr/local/bin/agent-ready-context <<'EOF'
#!/bin/bash
for _ in $(seq 1 150); do
  curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:8001/health && exit 0
  sleep 1
done
exit 1
EOF
chmod 0755 /usr/local/bin/agent-ready-context
cat > /usr/local/bin/agent-live-context <<'EOF'
#!/bin/bash
state=/run/agent-live-context
if curl -fsS --max-time 5 -o /dev/null http://127.0.0.1:8001/health; then echo 0 > "$state"; exit 0; fi
failures=$(( $(cat "$state" 2>/dev/null || echo 0) + 1 ))
echo "$failures" > "$state"
if [ "$failures" -ge 3 ]; then echo 0 > "$state"; systemctl restart context.service; fi
EOF
chmod 0755 /usr/local/bin/agent-live-context
cat > /etc/systemd/system/context.service <<'EOF'
[Unit]
Description=agent service context
After=docker.service network-online.target
Requires=docker.service
[Service]
Restart=always
RestartSec=5
TimeoutStartSec=450
TimeoutStopSec=120
ExecStartPre=/usr/local/bin/agent-start-context
ExecStart=/usr/bin/docker run \
  --rm \
  --name context \
  --network host \
  --user 10001:10001 \
  --read-only \
  --tmpfs /tmp:rw,noexec,nosuid,size=256m \
  --cap-drop ALL \
  --security-opt no-new-privileges \
  --pids-limit 1024 \
  --memory 512m \
  --memory-reservation 256m \
  --env-file /etc/agent-platform/context.env \
  --stop-timeout 110 \
  --log-driver awslogs \
  --log-opt awslogs-region=us-east-1 \
  --log-opt awslogs-group=/agent-platform/dev/services/context \
  --cpus 1 \
  --volume /run/agent-platform/context:/var/run/secrets/agent-platform:ro \
  111122223333.dkr.ecr.us-east-1.amazonaws.com/context@sha256:abababababababababababababababababababababababababababababababab
ExecStartPost=/usr/local/bin/agent-ready-context
ExecStop=/bin/sleep 10
ExecStop=/usr/bin/docker stop --time 105 context
[Install]
WantedBy=multi-user.target
EOF
cat > /etc/systemd/system/agent-live-context.service <<'EOF'
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-live-context
EOF
cat > /etc/systemd/system/agent-live-context.timer <<'EOF'
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
      "log_group_name": "/agent-platform/dev/services/context",
      "log_stream_name": "boot-{instance_id}"
     },
     {
      "file_path": "/var/log/agent-proxy/access.log",
      "log_group_name": "/agent-platform/dev/services/context",
      "log_stream_name": "proxy-access-{instance_id}"
     },
     {
      "file_path": "/var/log/agent-proxy/error.log",
      "log_group_name": "/agent-platform/dev/services/context",
      "log_stream_name": "proxy-error-{instance_id}"
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
systemctl enable --now context.service agent-live-context.timer

install -d -m 0755 /var/log/agent-proxy
cat > /etc/nginx/nginx.conf <<'EOF'
# context: https://context.dev.agents.example.com -> 127.0.0.1:8001. Rendered from the stack's edge config.
user nginx;
worker_processes auto;
worker_rlimit_nofile 8192;
pid /run/nginx.pid;
error_log /var/log/agent-proxy/error.log warn;
worker_shutdown_timeout 310s;

events {
    worker_connections 4096;
}

http {
    server_tokens off;
    log_format agent escape=json '{"time":"$time_iso8601","request_id":"$req_id","client_ip":"$remote_addr","host":"$host","method":"$request_method","path":"$uri","status":"$status","request_length":"$request_length","bytes_sent":"$bytes_sent","request_time":"$request_time","upstream":"$upstream_addr","upstream_status":"$upstream_status","upstream_response_time":"$upstream_response_time","user_agent":"$http_user_agent"}';
    access_log /var/log/agent-proxy/access.log agent;
    keepalive_timeout 315s;
    keepalive_requests 10000;

    # The client address is the last X-Forwarded-For entry added from outside the VPC (by the ALB).
    set_real_ip_from 10.0.0.0/16;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;

    map $http_x_request_id $req_id {
        default $http_x_request_id;
        "" $request_id;
    }
    map $http_upgrade $connection_upgrade {
        default upgrade;
        "" close;
    }
    map $http_x_forwarded_for $full_x_forwarded_for {
        default "$http_x_forwarded_for, $realip_remote_addr";
        "" $realip_remote_addr;
    }

    limit_req_zone $binary_remote_addr zone=per_client:10m rate=10r/s;
    limit_req_status 429;

    server {
        listen 80 default_server;
        server_name _;
        client_max_body_size 50m;

        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header X-Request-ID $req_id;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $full_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;
        proxy_set_header X-Forwarded-Port $http_x_forwarded_port;
        proxy_set_header X-Forwarded-Host $host;
        proxy_hide_header Content-Security-Policy;
        proxy_hide_header Referrer-Policy;
        proxy_hide_header Strict-Transport-Security;
        proxy_hide_header X-Content-Type-Options;
        proxy_hide_header X-Frame-Options;
        proxy_hide_header X-Powered-By;
        add_header Referrer-Policy "strict-origin-when-cross-origin" always;

        location / {
            limit_req zone=per_client burst=20 nodelay;
            proxy_buffering off;
            proxy_connect_timeout 5s;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
            proxy_pass http://127.0.0.1:8001;
        }
        location = /health {
            client_max_body_size 1k;
            access_log off;
            proxy_connect_timeout 5s;
            proxy_read_timeout 5s;
            proxy_send_timeout 5s;
            proxy_pass http://127.0.0.1:8001;
        }
        location = /ready {
            allow 10.0.0.0/16;
            deny all;
            client_max_body_size 1k;
            access_log off;
            proxy_connect_timeout 5s;
            proxy_read_timeout 5s;
            proxy_send_timeout 5s;
            proxy_pass http://127.0.0.1:8001;
        }
    }
}
EOF
cat > /etc/logrotate.d/agent-proxy <<'EOF'
/var/log/agent-proxy/*.log {
    daily
    maxsize 100M
    rotate 3
    missingok
    notifempty
    compress
    delaycompress
    sharedscripts
    postrotate
        /bin/kill -USR1 "$(cat /run/nginx.pid 2>/dev/null)" 2>/dev/null || true
    endscript
}
EOF
install -d -m 0755 /etc/systemd/system/nginx.service.d
cat > /etc/systemd/system/nginx.service.d/agent-platform.conf <<'EOF'
[Unit]
After=context.service
Wants=context.service
[Service]
TimeoutStopSec=320
EOF
nginx -t
systemctl daemon-reload
systemctl enable --now nginx.service
