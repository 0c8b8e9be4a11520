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
