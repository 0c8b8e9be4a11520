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
@@{systemd_units}
