#!/bin/bash
# Shared host: @@{services} side by side on one docker bridge network. No secret values below: only references.
set -euo pipefail
dnf install -y @@{packages}
systemctl enable --now docker
install -d -m 0755 /etc/agent-platform
# Containers reach each other by name on a user-defined bridge; the instance metadata service is dropped for them
# (DOCKER-USER is processed before docker's own forwarding rules), besides the hop limit of 1 on the instance.
docker network inspect @@{network} >/dev/null 2>&1 || \
  docker network create --driver bridge --subnet @@{subnet} --opt com.docker.network.bridge.name=@@{network} @@{network}
cat > /usr/local/bin/agent-imds-block <<'EOF2'
#!/bin/bash
set -euo pipefail
iptables -C DOCKER-USER -s @@{subnet} -d 169.254.169.254/32 -j DROP 2>/dev/null || \
  iptables -I DOCKER-USER -s @@{subnet} -d 169.254.169.254/32 -j DROP
EOF2
chmod 0700 /usr/local/bin/agent-imds-block
cat > /etc/systemd/system/agent-imds-block.service <<'EOF2'
[Unit]
Description=Drop instance metadata traffic from the agent containers
After=docker.service
PartOf=docker.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/bin/agent-imds-block
[Install]
WantedBy=docker.service
EOF2
systemctl daemon-reload
systemctl enable --now agent-imds-block.service
# Per service: short-lived credentials of its own role as a credential_process document, in a root-owned
# directory only that service's container mounts (read-only). The instance role may only assume these roles.
install -d -m 0755 @@{credentials_root}
cat > /usr/local/bin/agent-credentials <<'EOF2'
#!/bin/bash
# agent-credentials <service> <role ARN>: one AssumeRole, written atomically where the container reads it.
set -euo pipefail
svc=$1 role=$2 dir=@@{credentials_root}/$1
install -d -m 0750 -o root -g @@{run_as} "$dir"
aws sts assume-role --region @@{region} --role-arn "$role" --role-session-name "$svc" \
  --duration-seconds @@{session_seconds} --output json \
  --query '{Version: `1`, AccessKeyId: Credentials.AccessKeyId, SecretAccessKey: Credentials.SecretAccessKey, SessionToken: Credentials.SessionToken, Expiration: Credentials.Expiration}' \
  > "$dir/credentials.json.new"
chown root:@@{run_as} "$dir/credentials.json.new" && chmod 0440 "$dir/credentials.json.new"
mv "$dir/credentials.json.new" "$dir/credentials.json"
printf '[default]\ncredential_process = /bin/cat %s/credentials.json\n' "@@{container_credentials_dir}" > "$dir/config.new"
chown root:@@{run_as} "$dir/config.new" && chmod 0440 "$dir/config.new" && mv "$dir/config.new" "$dir/config"
printf '[default]\ncredential_process = /bin/cat %s/credentials.json\n' "$dir" > "/etc/agent-platform/$svc.aws-config"
EOF2
chmod 0700 /usr/local/bin/agent-credentials
cat > /usr/local/bin/agent-credentials-refresh <<'EOF2'
#!/bin/bash
set -uo pipefail
status=0
@@{refresh_lines}
exit $status
EOF2
chmod 0700 /usr/local/bin/agent-credentials-refresh
cat > /etc/systemd/system/agent-credentials.service <<'EOF2'
[Unit]
Description=Refresh each agent service's role credentials
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-credentials-refresh
EOF2
cat > /etc/systemd/system/agent-credentials.timer <<'EOF2'
[Timer]
OnBootSec=@@{refresh_minutes}min
OnUnitActiveSec=@@{refresh_minutes}min
[Install]
WantedBy=timers.target
EOF2
@@{service_units}
cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'EOF'
@@{agent_config}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
systemctl daemon-reload
systemctl enable --now agent-credentials.timer
systemctl enable --now @@{units}
@@{proxy}