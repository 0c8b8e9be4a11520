#!/bin/sh
# Starts a Weaviate backup to the data bucket (backup-s3 module: Weaviate itself writes to BACKUP_S3_BUCKET under
# BACKUP_S3_PATH with its own IAM role) and waits for it to finish. Backup ids are lowercase letters, digits, '-'.
# Weaviate REST API: POST /v1/backups/s3 {"id": ...}, GET /v1/backups/s3/{id} (status SUCCESS, FAILED, ...).
# The first backup of the UTC day is daily-YYYYMMDD (kept snapshotRetentionDays; -2, -3 if earlier attempts failed);
# once the day has one the others are recent-YYYYMMDD-HHMMSS, which S3 expires after recentSnapshotRetentionDays
# (the module writes <BACKUP_S3_PATH>/<id>/..., so the recent ones share the prefix <path>/recent-).
set -eu
umask 077
auth="Authorization: Bearer $(cat "$API_KEY_FILE")"
daily="daily-$(date -u +%Y%m%d)"
id=""
for attempt in "" -2 -3; do
  # No status: no backup with that id (an error body).
  known=$(curl --silent --show-error -H "$auth" "$STORE_URL/v1/backups/s3/$daily$attempt" \
    | sed -n 's/.*"status":"\([A-Z]*\)".*/\1/p' || true)
  case "$known" in
    "") id="$daily$attempt"; break ;;
    FAILED|CANCELED) continue ;;
    *) break ;;
  esac
done
if [ -z "$id" ]; then
  id="recent-$(date -u +%Y%m%d-%H%M%S)"
fi
curl --fail --silent --show-error -X POST -H "$auth" -H "Content-Type: application/json" \
  --data "{\"id\":\"$id\"}" "$STORE_URL/v1/backups/s3" > /dev/null
waited=0
while [ "$waited" -lt "$TIMEOUT_SECONDS" ]; do
  status=$(curl --fail --silent --show-error -H "$auth" "$STORE_URL/v1/backups/s3/$id" \
    | sed -n 's/.*"status":"\([A-Z]*\)".*/\1/p')
  case "$status" in
    SUCCESS) echo "backup $id written"; exit 0 ;;
    FAILED|CANCELED) echo "backup $id ended $status" >&2; exit 1 ;;
  esac
  sleep 15
  waited=$((waited + 15))
done
echo "backup $id still running after $TIMEOUT_SECONDS s" >&2
exit 1
