# -- @@{svc} ------------------------------------------------------------------------------------------------
cat > /etc/agent-platform/@@{svc}.env <<'EOF2'
@@{env_file}
EOF2
cat > /usr/local/bin/agent-start-@@{svc} <<'EOF2'
#!/bin/bash
set -euo pipefail
/usr/local/bin/agent-credentials @@{svc} @@{role_arn}
export AWS_CONFIG_FILE=/etc/agent-platform/@@{svc}.aws-config
@@{fetch_secrets}
unset AWS_CONFIG_FILE
aws ecr get-login-password --region @@{region} | docker login --username AWS --password-stdin @@{registry}
docker pull @@{image}
EOF2
chmod 0700 /usr/local/bin/agent-start-@@{svc}
@@{probe_scripts}
cat > /etc/systemd/system/@@{svc}.service <<'EOF2'
[Unit]
Description=agent service @@{svc}
After=docker.service network-online.target agent-imds-block.service
Requires=docker.service agent-imds-block.service
[Service]
Restart=always
RestartSec=5
TimeoutStartSec=@@{start_timeout}
TimeoutStopSec=@@{stop_timeout}
ExecStartPre=/usr/local/bin/agent-start-@@{svc}
ExecStart=@@{docker_run}
ExecStartPost=/usr/local/bin/agent-ready-@@{svc}
ExecStop=/bin/sleep @@{pre_stop_delay}
ExecStop=/usr/bin/docker stop --time @@{docker_stop_time} @@{svc}
[Install]
WantedBy=multi-user.target
EOF2
cat > /etc/systemd/system/agent-live-@@{svc}.service <<'EOF2'
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-live-@@{svc}
EOF2
cat > /etc/systemd/system/agent-live-@@{svc}.timer <<'EOF2'
[Timer]
OnActiveSec=@@{startup_timeout}
OnUnitActiveSec=@@{liveness_interval}
[Install]
WantedBy=timers.target
EOF2
