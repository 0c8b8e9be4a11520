cat > /etc/systemd/system/@@{svc}.service <<'@@{eof}'
[Unit]
Description=agent service @@{svc}
After=@@{after}
Requires=@@{requires}
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
@@{eof}
cat > /etc/systemd/system/agent-live-@@{svc}.service <<'@@{eof}'
[Service]
Type=oneshot
ExecStart=/usr/local/bin/agent-live-@@{svc}
@@{eof}
cat > /etc/systemd/system/agent-live-@@{svc}.timer <<'@@{eof}'
[Timer]
OnActiveSec=@@{startup_timeout}
OnUnitActiveSec=@@{liveness_interval}
[Install]
WantedBy=timers.target
@@{eof}