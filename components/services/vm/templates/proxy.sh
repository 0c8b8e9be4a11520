
install -d -m 0755 @@{log_dir}
cat > /etc/nginx/nginx.conf <<'EOF'
@@{nginx_conf}EOF
cat > /etc/logrotate.d/agent-proxy <<'EOF'
@@{logrotate}EOF
install -d -m 0755 /etc/systemd/system/nginx.service.d
cat > /etc/systemd/system/nginx.service.d/agent-platform.conf <<'EOF'
[Unit]
After=@@{units}
Wants=@@{units}
[Service]
TimeoutStopSec=@@{stop_timeout}
EOF
nginx -t
systemctl daemon-reload
systemctl enable --now nginx.service
