cat > /usr/local/bin/agent-ready-@@{svc} <<'@@{eof}'
#!/bin/bash
for _ in $(seq 1 @@{startup_timeout}); do
  curl -fsS --max-time 2 -o /dev/null @@{probe}@@{startup_path} && exit 0
  sleep 1
done
exit 1
@@{eof}
chmod 0755 /usr/local/bin/agent-ready-@@{svc}
cat > /usr/local/bin/agent-live-@@{svc} <<'@@{eof}'
#!/bin/bash
state=/run/agent-live-@@{svc}
if curl -fsS --max-time 5 -o /dev/null @@{probe}@@{liveness_path}; then echo 0 > "$state"; exit 0; fi
failures=$(( $(cat "$state" 2>/dev/null || echo 0) + 1 ))
echo "$failures" > "$state"
if [ "$failures" -ge @@{liveness_failures} ]; then echo 0 > "$state"; systemctl restart @@{svc}.service; fi
@@{eof}
chmod 0755 /usr/local/bin/agent-live-@@{svc}