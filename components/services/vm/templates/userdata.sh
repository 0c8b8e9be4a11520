#!/bin/bash
# @@{svc}: one container per instance. No secret values below: only references fetched at start.
set -euo pipefail
dnf install -y @@{packages}
systemctl enable --now docker
install -d -m 0755 /etc/agent-platform
cat > /etc/agent-platform/@@{svc}.env <<'EOF'
@@{env_file}
EOF
cat > /usr/local/bin/agent-start-@@{svc} <<'EOF'
#!/bin/bash
set -euo pipefail
@@{fetch_secrets}
aws ecr get-login-password --region @@{region} | docker login --username AWS --password-stdin @@{registry}
docker pull @@{image}
EOF
chmod 0700 /usr/local/bin/agent-start-@@{svc}
@@{probe_scripts}
@@{systemd_units}
cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'EOF'
@@{agent_config}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
systemctl daemon-reload
systemctl enable --now @@{svc}.service agent-live-@@{svc}.timer
@@{proxy}@@{queue_publisher}