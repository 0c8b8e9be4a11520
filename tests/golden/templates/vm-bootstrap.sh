#!/bin/bash
# Database bootstrap 0123456789abcdef: converges the application database once, then scales its group to 0.
# No secret values below: the instance role reads the two logins into a tmpfs at run time.
DIGEST=0123456789abcdef
GROUP=agent-platform-dev-db-bootstrap-0123456789
set -uo pipefail
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
install -m 0644 /dev/null /var/log/db-bootstrap.log
exec > >(tee -a /var/log/db-bootstrap.log) 2>&1
echo "db-bootstrap $DIGEST starting"
dnf install -y postgresql16 amazon-cloudwatch-agent || { echo "db-bootstrap: package install failed" >&2; exit 1; }
cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'__AGENT_PLATFORM_DB_BOOTSTRAP__'
{"agent": {"run_as_user": "cwagent"}, "logs": {"force_flush_interval": 5, "logs_collected": {"files": {"collect_list": [{"file_path": "/var/log/db-bootstrap.log", "log_group_name": "/agent-platform/dev/db-bootstrap", "log_stream_name": "{instance_id}"}]}}}}
__AGENT_PLATFORM_DB_BOOTSTRAP__
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
# The logins live only in memory and only for the run.
install -d -m 0700 /creds
mount -t tmpfs -o size=1m,mode=0700,noexec,nosuid,nodev tmpfs /creds
install -d -m 0755 /scripts
cat > /scripts/bootstrap.sh <<'__AGENT_PLATFORM_DB_BOOTSTRAP__'
#!/bin/sh
# Converges the application database as the RDS master user. Passwords are read from files and reach
# psql through PGPASSWORD and a psql variable, never through the command line.
set -eu
umask 077

# json_string KEY FILE: the top-level string KEY of a JSON object, with JSON escapes decoded.
json_string() {
  awk -v key="$1" '
    function hexval(h,    i, d, v) {
      v = 0
      for (i = 1; i <= length(h); i++) {
        d = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
        if (d < 0) { return -1 }
        v = v * 16 + d
      }
      return v
    }
    { text = text $0 "\n" }
    END {
      pattern = "\"" key "\""
      start = index(text, pattern)
      if (start == 0) { exit 2 }
      rest = substr(text, start + length(pattern))
      if (!match(rest, /^[ \t\r\n]*:[ \t\r\n]*"/)) { exit 3 }
      rest = substr(rest, RLENGTH + 1)
      out = ""
      while (length(rest) > 0) {
        c = substr(rest, 1, 1)
        if (c == "\"") { printf "%s", out; exit 0 }
        if (c == "\\") {
          e = substr(rest, 2, 1)
          rest = substr(rest, 3)
          if (e == "n") { c = "\n" }
          else if (e == "t") { c = "\t" }
          else if (e == "r") { c = "\r" }
          else if (e == "b") { c = "\b" }
          else if (e == "f") { c = "\f" }
          else if (e == "u") {
            v = hexval(substr(rest, 1, 4))
            if (v < 1 || v > 126) { exit 4 }
            c = sprintf("%c", v)
            rest = substr(rest, 5)
          }
          else { c = e }
        } else {
          rest = substr(rest, 2)
        }
        out = out c
      }
      exit 5
    }' "$2"
}

master_user=$(json_string username /creds/master.json)
PGPASSWORD=$(json_string password /creds/master.json)
export PGPASSWORD
app_user=$(json_string username /creds/app.json)
json_string password /creds/app.json > /creds/app-password
if [ "$app_user" != "$APP_USER" ]; then
  echo "the application secret names user '$app_user', expected '$APP_USER'" >&2
  exit 1
fi
if [ "$master_user" = "$APP_USER" ]; then
  echo "refusing to bootstrap: the application role would be the master user" >&2
  exit 1
fi
monitor_user=$(json_string username /creds/monitor.json)
json_string password /creds/monitor.json > /creds/monitor-password
if [ "$monitor_user" != "$MONITOR_USER" ]; then
  echo "the monitoring secret names user '$monitor_user', expected '$MONITOR_USER'" >&2
  exit 1
fi
exec psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username "$master_user" --dbname postgres \
  --set app_user="$APP_USER" --set app_database="$APP_DATABASE" \
  --set connection_limit="$APP_CONNECTION_LIMIT" --set app_password_file=/creds/app-password \
  --set monitor_user="$MONITOR_USER" --set monitor_password_file=/creds/monitor-password \
  --file /scripts/bootstrap.sql
__AGENT_PLATFORM_DB_BOOTSTRAP__
cat > /scripts/bootstrap.sql <<'__AGENT_PLATFORM_DB_BOOTSTRAP__'
-- Converges the application database: its role, database, schema and extensions. Every statement
-- checks before it creates, so running it again changes nothing that is already right.
-- psql variables: app_user, app_database, connection_limit, app_password_file, monitor_user,
-- monitor_password_file.
\set ON_ERROR_STOP on
\set app_password `cat :'app_password_file'`
\set monitor_password `cat :'monitor_password_file'`

-- The application role may log in and nothing more: created NOSUPERUSER NOCREATEDB NOCREATEROLE
-- NOREPLICATION NOBYPASSRLS, never the database owner, never a member of another role.
SELECT set_config('bootstrap.app_user', :'app_user', false) \g /dev/null
SELECT set_config('bootstrap.connection_limit', :'connection_limit', false) \g /dev/null
DO $$
DECLARE
  app text := current_setting('bootstrap.app_user');
  conn_limit int := current_setting('bootstrap.connection_limit')::int;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = app) THEN
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                   app);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN CONNECTION LIMIT %s', app, conn_limit);
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = app
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role % holds privileges beyond LOGIN; the bootstrap never grants them, revoke them', app;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
             WHERE r.rolname = app) THEN
    RAISE EXCEPTION 'role % is a member of another role; it may hold only its own grants', app;
  END IF;
END
$$;
-- The password is the application secret's current value (the rotation function keeps them in step).
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'app_user', :'app_password') \gexec

-- The metrics exporter's own login: LOGIN and membership of pg_monitor (read statistics and settings), nothing
-- else, so the application's password rotation never cuts the exporter off.
SELECT set_config('bootstrap.monitor_user', :'monitor_user', false) \g /dev/null
DO $$
DECLARE
  mon text := current_setting('bootstrap.monitor_user');
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = mon) THEN
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                   mon);
  END IF;
  EXECUTE format('ALTER ROLE %I WITH LOGIN CONNECTION LIMIT 5', mon);
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = mon
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role % holds privileges beyond LOGIN; the bootstrap never grants them, revoke them', mon;
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
             WHERE r.rolname = mon AND g.rolname <> 'pg_monitor') THEN
    RAISE EXCEPTION 'role % is a member of a role other than pg_monitor; revoke it', mon;
  END IF;
END
$$;
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'monitor_user', :'monitor_password') \gexec
SELECT format('GRANT pg_monitor TO %I', :'monitor_user') \gexec

-- The database belongs to the master user; the application may only connect and use temp tables.
SELECT format('CREATE DATABASE %I', :'app_database')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = :'app_database') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'app_database') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'app_database', :'app_user') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'app_database', :'monitor_user') \gexec

\connect :app_database
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- public holds the extensions and stays read-only; the application writes to its own schema, which
-- PostgreSQL's default search_path ("$user", public) finds first.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('CREATE SCHEMA IF NOT EXISTS %I', :'app_user') \gexec
SELECT format('GRANT USAGE, CREATE ON SCHEMA %I TO %I', :'app_user', :'app_user') \gexec
__AGENT_PLATFORM_DB_BOOTSTRAP__
cat > /scripts/fetch-logins.sh <<'__AGENT_PLATFORM_DB_BOOTSTRAP__'
#!/bin/sh
# Reads the three Secrets Manager entries this pod's IAM role allows (MASTER_LOGIN_ARN: the RDS-managed master
# login, APP_LOGIN_ARN: the application role's, MONITOR_LOGIN_ARN: the metrics exporter's) into a memory-backed
# volume, plus the RDS CA bundle so psql (and mongosh) can verify the server certificate. With a document store,
# also the DocumentDB-managed master login (DOCDB_MASTER_LOGIN_ARN) and the services' user (DOCDB_APP_LOGIN_ARN).
set -eu
umask 077
aws secretsmanager get-secret-value --secret-id "$MASTER_LOGIN_ARN" --query SecretString --output text \
  > /creds/master.json
aws secretsmanager get-secret-value --secret-id "$APP_LOGIN_ARN" --query SecretString --output text \
  > /creds/app.json
aws secretsmanager get-secret-value --secret-id "$MONITOR_LOGIN_ARN" --query SecretString --output text \
  > /creds/monitor.json
if [ -n "${DOCDB_MASTER_LOGIN_ARN:-}" ]; then
  aws secretsmanager get-secret-value --secret-id "$DOCDB_MASTER_LOGIN_ARN" --query SecretString --output text \
    > /creds/docdb-master.json
  aws secretsmanager get-secret-value --secret-id "$DOCDB_APP_LOGIN_ARN" --query SecretString --output text \
    > /creds/docdb-app.json
fi
curl --fail --silent --show-error --retry 3 --proto '=https' --output /creds/rds-ca.pem "$RDS_CA_BUNDLE_URL"
__AGENT_PLATFORM_DB_BOOTSTRAP__
export APP_LOGIN_ARN=arn:aws:secretsmanager:us-east-1:111122223333:secret:app-AbCdEf
export APP_USER='agent'"'"'s app'
export MASTER_LOGIN_ARN=arn:aws:secretsmanager:us-east-1:111122223333:secret:master-AbCdEf
export PGHOST=db.example.internal
status=1
for attempt in $(seq 1 5); do
  if sh /scripts/fetch-logins.sh && sh /scripts/bootstrap.sh; then status=0; break; fi
  echo "db-bootstrap: attempt $attempt of 5 failed" >&2
  rm -f /creds/*
  [ "$attempt" -lt 5 ] && sleep 60
done
umount /creds
if [ "$status" -ne 0 ]; then
  echo "db-bootstrap $DIGEST FAILED: the instance stays up for Session Manager; see this log" >&2
  exit 1
fi
echo "db-bootstrap $DIGEST converged; scaling $GROUP to 0"
sleep 30  # the CloudWatch agent ships the last lines
aws autoscaling set-desired-capacity --auto-scaling-group-name "$GROUP" --desired-capacity 0 --no-honor-cooldown
