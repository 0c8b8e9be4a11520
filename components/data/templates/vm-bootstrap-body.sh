set -uo pipefail
export AWS_REGION=@@{region} AWS_DEFAULT_REGION=@@{region}
install -m 0644 /dev/null @@{log_file}
exec > >(tee -a @@{log_file}) 2>&1
echo "db-bootstrap $DIGEST starting"
dnf install -y postgresql16 amazon-cloudwatch-agent || { echo "db-bootstrap: package install failed" >&2; exit 1; }
@@{mongosh}cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'@@{heredoc}'
@@{agent}
@@{heredoc}
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
# The logins live only in memory and only for the run.
install -d -m 0700 @@{credentials_dir}
mount -t tmpfs -o size=1m,mode=0700,noexec,nosuid,nodev tmpfs @@{credentials_dir}
install -d -m 0755 /scripts
@@{files}
@@{exports}
status=1
for attempt in $(seq 1 @@{attempts}); do
  if sh /scripts/fetch-logins.sh && sh /scripts/bootstrap.sh@@{documents}; then status=0; break; fi
  echo "db-bootstrap: attempt $attempt of @@{attempts} failed" >&2
  rm -f @@{credentials_dir}/*
  [ "$attempt" -lt @@{attempts} ] && sleep @@{retry_seconds}
done
umount @@{credentials_dir}
if [ "$status" -ne 0 ]; then
  echo "db-bootstrap $DIGEST FAILED: the instance stays up for Session Manager; see this log" >&2
  exit 1
fi
echo "db-bootstrap $DIGEST converged; scaling $GROUP to 0"
sleep 30  # the CloudWatch agent ships the last lines
aws autoscaling set-desired-capacity --auto-scaling-group-name "$GROUP" --desired-capacity 0 --no-honor-cooldown
